// The runs section describes the runs the findings are about; a clean scan describes what it saw, up to a bound.
import { describe, expect, it } from 'vitest';
import { describeRuns } from '../../src/report/runs.js';
import type { ReportedFinding, ScanResult } from '../../src/report/result.js';
import { kvData, modelOf, type Put } from '../helpers/evidence.js';
import { v2Cycle } from '../rules/state-fixtures.js';

const phases = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };
const finding = (subject: ReportedFinding['subject']) =>
  ({
    ruleId: 'false-success',
    severity: 'error',
    message: 'm',
    subject,
    evidence: [],
    fingerprint: 'f',
  }) as unknown as ReportedFinding;

function bucket(n: number): Put[] {
  const puts: Put[] = [];
  for (let i = 0; i < n; i++) {
    const prefix = `peer.spec.feature-${String(i).padStart(3, '0')}`;
    puts.push([`${prefix}.cycle.1`, v2Cycle(prefix, 1, 'COMPLETED', phases)], [`${prefix}.cycle.current`, '1']);
  }
  return puts;
}

describe('runs section', () => {
  it('holds only the runs the findings are about and counts the rest', async () => {
    const model = await modelOf({ kv: kvData(bucket(5)) });
    const runs = describeRuns(model, [
      finding({ keyPrefix: 'peer.spec.feature-003', cycle: 1 }),
      finding({ spec: 'feature-001' }),
    ]);
    expect(runs.items.map((r) => r.id)).toEqual(['peer.spec.feature-001', 'peer.spec.feature-003']);
    expect(runs.omitted).toBe(3);
  });

  it('describes the first 50 runs of a clean scan', async () => {
    const model = await modelOf({ kv: kvData(bucket(60)) });
    const runs = describeRuns(model, []);
    expect(runs.items).toHaveLength(50);
    expect(runs.items[0].id).toBe('peer.spec.feature-000');
    expect(runs.items[49].id).toBe('peer.spec.feature-049');
    expect(runs.omitted).toBe(10);
  });

  it('describes every run of a small clean scan and omits nothing', async () => {
    const model = await modelOf({ kv: kvData(bucket(3)) });
    const runs = describeRuns(model, []);
    expect(runs.items).toHaveLength(3);
    expect(runs.omitted).toBeUndefined();
  });
});

describe('findings of a run (Markdown report)', () => {
  it('are exactly the findings `belongs` assigns to it, in report order', async () => {
    const fc = (await import('fast-check')).default;
    const { belongs, findingsOf } = await import('../../src/report/markdown.js');
    const pick = (xs: string[]) => fc.option(fc.constantFrom(...xs), { nil: undefined });
    const prefixes = ['peer.spec.a', 'peer.spec.b', 'peer.instruction.c'];
    const specs = ['a', 'b', 'c'];
    const folders = ['.agent-os/specs/2025-01-01-a', '.agent-os/specs/2025-01-02-b'];
    const sessions = ['s1', 's2', 's3'];
    const run = fc.record({
      keyPrefix: pick(prefixes),
      spec: pick(specs),
      folders: fc.subarray(folders),
      sessions: fc.subarray(sessions),
    });
    const subject = fc.record({
      keyPrefix: pick(prefixes),
      spec: pick(specs),
      folder: pick(folders),
      session: pick(sessions),
    });
    fc.assert(
      fc.property(fc.array(run, { maxLength: 6 }), fc.array(subject, { maxLength: 12 }), (rs, ss) => {
        const items = rs.map((r, i) => ({
          id: `r${i}`,
          ...(r.keyPrefix !== undefined ? { keyPrefix: r.keyPrefix } : {}),
          ...(r.spec !== undefined ? { spec: r.spec } : {}),
          folders: r.folders.map((p) => ({ path: p, files: [] })),
          cycles: [],
          sessions: r.sessions.map((id) => ({ id })),
        }));
        const findings = ss.map((s, i) => ({
          ruleId: 'x',
          severity: 'error',
          message: `f${i}`,
          fingerprint: `${i}`,
          evidence: [],
          subject: Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)),
        }));
        const result = { findings, runs: { version: 1, items } } as unknown as ScanResult;
        for (const r of items) {
          expect(findingsOf(result, r as never).map((f) => f.message)).toEqual(
            findings.filter((f) => belongs(f as never, r as never)).map((f) => f.message),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});

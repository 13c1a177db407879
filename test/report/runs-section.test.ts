// The runs section describes the runs the findings are about; a clean scan describes what it saw, up to a bound.
import { describe, expect, it } from 'vitest';
import { describeRuns } from '../../src/report/runs.js';
import type { ReportedFinding } from '../../src/report/result.js';
import { kvData, modelOf, type Put } from '../helpers/evidence.js';
import { v2Cycle } from '../rules/state-fixtures.js';

const phases = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };
const finding = (subject: ReportedFinding['subject']) => ({ ruleId: 'false-success', severity: 'error', message: 'm', subject, evidence: [], fingerprint: 'f' }) as unknown as ReportedFinding;

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
    const runs = describeRuns(model, [finding({ keyPrefix: 'peer.spec.feature-003', cycle: 1 }), finding({ spec: 'feature-001' })]);
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

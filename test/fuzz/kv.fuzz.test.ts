// Property tests for KV state of every generation: decodeJson, classifyKey, readCycle, readMeta, and
// buildModel + every rule over generated buckets. Every state value is understood or reported as an
// invalid-state-value finding naming its key and revision; every kv location points at a real revision.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.js';
import { classifyKey, decodeJson, PHASES, readCycle, readMeta, type HistoryItem } from '../../src/model/state.js';
import type { KvRevision } from '../../src/model/types.js';
import { loadRules } from '../../src/engine/registry.js';
import { runRules } from '../../src/engine/run.js';
import { DEFAULT_RULE_OPTIONS, type Rule } from '../../src/engine/rule.js';
import { anyText, kvDataArb, kvKey, mutatedStateValue, valueBytes } from './gen.js';
import { params, runs, timeoutFor } from './runs.js';

const PURE_RUNS = 5000;
const MODEL_RUNS = 2000;

let rules: Rule[];
beforeAll(async () => {
  rules = await loadRules();
});

const rev = (key: string, value: Uint8Array = new Uint8Array()): KvRevision => ({
  key,
  revision: 7,
  operation: 'PUT',
  created: '2025-08-05T16:00:00.000Z',
  value,
});

describe('state decoding over generated values', () => {
  it(`decodeJson never throws and accepts exactly the non-empty UTF-8 JSON texts (${runs(PURE_RUNS)} values)`, () => {
    fc.assert(
      fc.property(valueBytes, (bytes) => {
        const d = decodeJson(new Uint8Array(bytes));
        let expected = false;
        if (isUtf8(bytes) && bytes.toString('utf8').trim() !== '') {
          try {
            JSON.parse(bytes.toString('utf8'));
            expected = true;
          } catch {
            expected = false;
          }
        }
        expect(d.ok).toBe(expected);
        if (!d.ok) expect(d.reason).toMatch(/^value is (not valid UTF-8|empty|not JSON)/);
      }),
      params(PURE_RUNS),
    );
  });

  it(`classifyKey never throws and its parts rebuild the key (${runs(PURE_RUNS)} keys)`, () => {
    fc.assert(
      fc.property(fc.oneof(kvKey, anyText(60)), (key) => {
        const info = classifyKey(key);
        expect(info.key).toBe(key);
        if (info.kind === 'cycle') {
          expect(key.startsWith(`${info.prefix}.cycle.`)).toBe(true);
          expect(Number(key.slice(`${info.prefix}.cycle.`.length))).toBe(info.cycle);
        }
        if (info.kind === 'v2-counter') expect(key).toBe(`${info.prefix}.cycle.current`);
        if (info.kind === 'v1-meta') expect(key).toBe(`${info.prefix}.meta`);
        if (info.scope === 'spec' || info.scope === 'instruction')
          expect(info.prefix).toBe(`peer.${info.scope}.${info.name}`);
      }),
      params(PURE_RUNS),
    );
  });

  it(`readCycle and readMeta never throw: a reason, or a state with all four phases (${runs(PURE_RUNS)} values)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(mutatedStateValue, fc.jsonValue({ maxDepth: 4 })),
        fc.constantFrom('peer.spec.x.cycle.1', 'peer.global.cycle.2', 'peer.spec.x.meta'),
        (json, key) => {
          const info = classifyKey(key);
          const history: HistoryItem[] = [{ revision: 7, created: '2025-08-05T16:00:00.000Z', operation: 'PUT' }];
          if (info.kind === 'v1-meta') {
            const m = readMeta('b', info, rev(key), json, history);
            if (typeof m !== 'string') {
              expect(m.key).toBe(key);
              expect(m.revision).toBe(7);
            }
          } else {
            const c = readCycle('b', info, rev(key), json, history);
            if (typeof c === 'string') expect(c).toMatch(/^cycle value/);
            else {
              expect(Object.keys(c.phases).sort()).toEqual([...PHASES].sort());
              for (const cl of [...c.claims, ...c.signals])
                expect(cl.location).toMatchObject({ kind: 'kv', key, revision: 7 });
            }
          }
        },
      ),
      params(PURE_RUNS),
    );
  });
});

describe('buildModel and every rule over generated buckets', () => {
  it(
    `${runs(MODEL_RUNS)} buckets: no rule throws; every state value is understood or an invalid-state-value finding at key@revision; every kv location exists`,
    () => {
      fc.assert(
        fc.property(kvDataArb, (kv) => {
          const model = buildModel({ projectRoot: '/nonexistent-project', bucket: kv.bucket, kv });
          const { findings, failures } = runRules(model, rules, {
            ...DEFAULT_RULE_OPTIONS,
            now: '2026-06-01T00:00:00Z',
          });
          expect(failures, failures.map((f) => f.error).join('\n')).toEqual([]);

          const invalid = new Map(
            findings
              .filter((f) => f.ruleId === 'invalid-state-value')
              .map((f) => [(f.evidence[0].location as { key: string }).key, f]),
          );
          for (const [key, revisions] of kv.keys) {
            const info = classifyKey(key);
            const latest = revisions[revisions.length - 1];
            if (info.kind === 'other' || !info.prefix || latest.operation !== 'PUT') {
              expect(invalid.has(key), `${key} is not state (or deleted) but reported invalid`).toBe(false);
              continue;
            }
            const run = model.runs.find((r) => r.prefix === info.prefix)!;
            const understood =
              (info.kind === 'v1-meta' && run.meta?.key === key) ||
              (info.kind === 'cycle' && [...run.cycles, ...run.supersededCycles].some((c) => c.key === key)) ||
              (info.kind === 'v2-counter' &&
                run.counter?.key === key &&
                (run.counter.value !== undefined || /^\s*(null)?\s*$/.test(run.counter.raw)));
            const f = invalid.get(key);
            if (!understood || f) {
              expect(f, `${key}@${latest.revision} was neither understood nor reported`).toBeDefined();
              expect(f!.evidence[0].location).toMatchObject({ kind: 'kv', key, revision: latest.revision });
              expect(f!.message).toContain(`revision ${latest.revision}`);
            }
            const bytes = Buffer.from(latest.value);
            const text = bytes.toString('utf8');
            const readable =
              isUtf8(bytes) &&
              text.trim() !== '' &&
              (() => {
                try {
                  JSON.parse(text);
                  return true;
                } catch {
                  return false;
                }
              })();
            if (!readable && info.kind !== 'v2-counter')
              expect(f, `${key}: unreadable bytes not reported`).toBeDefined();
          }

          for (const f of findings) {
            for (const e of f.evidence) {
              const l = e.location;
              if (l.kind === 'bucket') expect(l.bucket).toBe(kv.bucket);
              if (l.kind !== 'kv') continue;
              expect(l.bucket).toBe(kv.bucket);
              const revs = kv.keys.get(l.key);
              expect(revs, `${f.ruleId} points at key ${l.key}, which the bucket does not hold`).toBeDefined();
              expect(
                revs!.map((r) => r.revision),
                `${f.ruleId} points at ${l.key}@${l.revision}`,
              ).toContain(l.revision);
            }
          }
        }),
        params(MODEL_RUNS),
      );
    },
    timeoutFor(MODEL_RUNS, 3),
  );
});

import { describe, expect, it } from 'vitest';
import type { RuleOptions } from '../../src/engine/rule.js';
import type { BucketConfig } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf } from '../helpers/evidence.js';
import { v1Cycle } from './state-fixtures.js';

const RULE = 'bucket-config';

async function run(config: BucketConfig | undefined, options: Partial<RuleOptions> = {}) {
  const kv = { ...kvData([['peer.spec.demo-spec.cycle.1', v1Cycle({})]]), originRef: 'nats://127.0.0.1:4222', ...(config ? { config } : {}) };
  const fs = await findingsOf(await modelOf({ kv }), RULE, options);
  for (const f of fs) expect(f.ruleId).toBe(RULE);
  return fs;
}

describe('bucket-config', () => {
  it('warns on history 1 and notes replicas 1, each at the bucket field, with the expected value and the remedy', async () => {
    const fs = await run({ history: 1, replicas: 1, storage: 'file' });
    expect(fs.map((f) => f.severity)).toEqual(['warning', 'info']);
    expect(fs.map((f) => f.evidence.map((e) => e.location))).toEqual([
      [{ kind: 'bucket', bucket: 'agent-os-peer-state', origin: 'nats://127.0.0.1:4222', field: 'history' }],
      [{ kind: 'bucket', bucket: 'agent-os-peer-state', origin: 'nats://127.0.0.1:4222', field: 'replicas' }],
    ]);
    expect(fs[0].evidence[0]).toEqual({
      location: fs[0].evidence[0].location,
      excerpt: 'history: 1',
      note: 'expected 50; PEER creates the bucket with `nats kv add agent-os-peer-state --history=50 --replicas=3`',
    });
    expect(fs[0].message).toBe(
      'Bucket agent-os-peer-state: history 1 leaves no forensic trail: every write replaces the previous value, so lost updates and the order of the phases cannot be reconstructed.',
    );
    expect(fs[1].evidence[0].excerpt).toBe('replicas: 1');
    expect(fs[1].message).toBe('Bucket agent-os-peer-state keeps 1 replica, fewer than the 3 PEER creates it with: the state lives on one server, and one lost disk loses it.');
  });

  it('warns on a short history without calling it no trail', async () => {
    const fs = await run({ history: 5, replicas: 3 });
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('warning');
    expect(fs[0].message).toContain('history 5 keeps only the last 5 revisions of each key, fewer than PEER\'s 50');
  });

  it('stays quiet when the configuration matches, when the expectations are lowered, and when there is no configuration', async () => {
    expect(await run({ history: 50, replicas: 3 })).toEqual([]);
    expect(await run({ history: 64, replicas: 5 })).toEqual([]);
    expect(await run({ history: 10, replicas: 1 }, { expectHistory: 10, expectReplicas: 1 })).toEqual([]);
    expect(await run(undefined)).toEqual([]);
  });
});

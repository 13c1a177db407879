import { expect } from 'vitest';
import rule from '../../rules/bucket-config.js';
import type { BucketConfig, KvData } from '../../src/model/types.js';
import { kvData } from '../helpers/evidence.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { v1Cycle } from './state-fixtures.js';

/** A live bucket with one cycle key, and its configuration when given. */
function bucket(config?: BucketConfig): KvData {
  return {
    ...kvData([['peer.spec.demo-spec.cycle.1', v1Cycle({})]]),
    originRef: 'nats://127.0.0.1:4222',
    ...(config ? { config } : {}),
  };
}

const REMEDY = '`nats kv add agent-os-peer-state --history=50 --replicas=3`';

ruleTester(rule, {
  valid: [
    { name: 'the configuration matches', kv: bucket({ history: 50, replicas: 3 }) },
    { name: 'more than expected', kv: bucket({ history: 64, replicas: 5 }) },
    {
      name: 'the expectations are lowered',
      kv: bucket({ history: 10, replicas: 1 }),
      options: { expectHistory: 10, expectReplicas: 1 },
    },
    { name: 'no configuration', kv: bucket() },
  ],
  invalid: [
    {
      name: 'warns on history 1 and notes replicas 1, each at the bucket field, with the expected value and the remedy',
      kv: bucket({ history: 1, replicas: 1, storage: 'file' }),
      findings: [
        {
          severity: 'warning',
          message:
            'Bucket agent-os-peer-state: history 1 leaves no forensic trail: every write replaces the previous value, so lost updates and the order of the phases cannot be reconstructed.',
          // the whole evidence item, exactly
          check: (f) =>
            expect(f.evidence).toEqual([
              {
                location: {
                  kind: 'bucket',
                  bucket: 'agent-os-peer-state',
                  origin: 'nats://127.0.0.1:4222',
                  field: 'history',
                },
                excerpt: 'history: 1',
                note: `expected 50; PEER creates the bucket with ${REMEDY}`,
              },
            ]),
        },
        {
          severity: 'info',
          message:
            'Bucket agent-os-peer-state keeps 1 replica, fewer than the 3 PEER creates it with: the state lives on one server, and one lost disk loses it.',
          locations: ['bucket agent-os-peer-state replicas'],
          evidence: [{ excerpt: 'replicas: 1' }],
          check: (f) =>
            expect(f.evidence[0].location).toEqual({
              kind: 'bucket',
              bucket: 'agent-os-peer-state',
              origin: 'nats://127.0.0.1:4222',
              field: 'replicas',
            }),
        },
      ],
    },
    {
      name: 'warns on a short history without calling it no trail',
      kv: bucket({ history: 5, replicas: 3 }),
      findings: [
        {
          severity: 'warning',
          messageMatch: "history 5 keeps only the last 5 revisions of each key, fewer than PEER's 50",
        },
      ],
    },
  ],
});

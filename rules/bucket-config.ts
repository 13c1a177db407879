import { defineRule } from '../src/engine/rule.js';
import type { BucketLocation } from '../src/model/types.js';

export default defineRule({
  meta: {
    id: 'bucket-config',
    severity: 'warning',
    summary:
      'The state bucket keeps less history (or fewer replicas) than PEER creates it with (history 50, replicas 3).',
    sources: ['kv'],
    fixable: false,
    title: 'The bucket is configured to lose evidence',
    options: {
      expectReplicas: {
        default: 3,
        description: 'Replicas the bucket is meant to have (PEER creates it with 3): --expect-replicas.',
      },
      expectHistory: {
        default: 50,
        description: 'History the bucket is meant to keep (PEER creates it with 50): --expect-history.',
      },
    },
  },
  check({ model, options, report }) {
    const kv = model.kv;
    const config = kv?.config;
    if (!kv || !config) return;
    const where = (field: string): BucketLocation => ({
      kind: 'bucket',
      bucket: kv.bucket,
      origin: kv.originRef,
      field,
    });
    const remedy = `nats kv add ${kv.bucket} --history=${options.expectHistory} --replicas=${options.expectReplicas}`;

    const history = config.history;
    if (typeof history === 'number' && history < options.expectHistory) {
      const trail =
        history <= 1
          ? `history ${history} leaves no forensic trail: every write replaces the previous value, so lost ` +
            'updates and the order of the phases cannot be reconstructed'
          : `history ${history} keeps only the last ${history} revisions of each key, fewer than ` +
            `PEER's ${options.expectHistory} (a cycle key gets about 7 writes per cycle, more with retries and ` +
            'resumes)';
      report({
        message: `Bucket ${kv.bucket}: ${trail}.`,
        subject: {},
        evidence: [
          {
            location: where('history'),
            excerpt: `history: ${history}`,
            note: `expected ${options.expectHistory}; PEER creates the bucket with \`${remedy}\``,
          },
        ],
        target: `bucket:${kv.bucket}#history`,
      });
    }

    const replicas = config.replicas;
    if (typeof replicas === 'number' && replicas < options.expectReplicas) {
      report({
        message:
          `Bucket ${kv.bucket} keeps ${replicas} replica${replicas === 1 ? '' : 's'}, fewer than ` +
          `the ${options.expectReplicas} PEER creates it ` +
          `with${replicas === 1 ? ': the state lives on one server, and one lost disk loses it' : ''}.`,
        subject: {},
        evidence: [
          {
            location: where('replicas'),
            excerpt: `replicas: ${replicas}`,
            note:
              `expected ${options.expectReplicas}; PEER creates the bucket with \`${remedy}\` (more than ` +
              'one replica needs a NATS cluster)',
          },
        ],
        target: `bucket:${kv.bucket}#replicas`,
        severity: 'info',
      });
    }
  },
});

import { expect } from 'vitest';
import rule from '../../rules/state-not-in-bucket.js';
import { kvData } from '../helpers/evidence.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { Transcript } from '../helpers/transcript.js';
import { v1Cycle } from './state-fixtures.js';

const KEY = 'peer.spec.demo-spec.cycle.1';
const GET = `nats kv get agent-os-peer-state ${KEY} --raw`;
const PUT = `nats kv put agent-os-peer-state ${KEY} '{"cycle_number":1}'`;

/** A session that writes the cycle key, then reads it back. */
const writesAndReads = () =>
  new Transcript()
    .human('/peer --spec demo-spec')
    .bash('t1', PUT, '{"cycle_number":1}')
    .bash('t2', GET, '{"cycle_number":1}');

ruleTester(rule, {
  valid: [
    { name: 'the bucket holds the keys the transcript names', kv: [[KEY, v1Cycle({})]], transcript: writesAndReads() },
    // With --no-kv there is no bucket to compare with.
    { name: 'no bucket was read', transcript: writesAndReads() },
    {
      name: 'a failed read left nothing behind',
      kv: [],
      transcript: new Transcript().bash('t1', GET, 'nats: error: nats: key not found', true),
    },
    {
      name: 'a key with a shell variable names no key',
      kv: [],
      transcript: new Transcript().bash('t1', 'nats kv get agent-os-peer-state peer.spec.$SPEC.cycle.1 --raw', '{}'),
    },
  ],
  invalid: [
    {
      name: 'an empty bucket: names the keys, the bucket and each operation',
      kv: [],
      transcript: writesAndReads(),
      findings: [
        {
          severity: 'error',
          message:
            'The transcript session.jsonl shows 1 write and 1 read of 1 PEER key (peer.spec.demo-spec.cycle.1) ' +
            "that bucket agent-os-peer-state does not hold: the run's state is not in the evidence scanned " +
            '(the wrong --bucket, a fresh server, or an empty snapshot), so it cannot be judged.',
          subject: { session: 's-1', keyPrefix: 'peer.spec.demo-spec' },
          target: 'session.jsonl#s-1#not-in-bucket',
          locations: ['log session.jsonl:2', 'log session.jsonl:4'],
          evidence: [
            { excerpt: PUT, note: `writes ${KEY}, and the call succeeded; bucket agent-os-peer-state has no such key` },
            { excerpt: GET, note: `reads ${KEY}, and the call succeeded; bucket agent-os-peer-state has no such key` },
          ],
        },
      ],
    },
    {
      name: 'shows the first five operations and counts the rest',
      kv: [],
      transcript: [1, 2, 3, 4, 5, 6, 7].reduce((t, i) => t.bash(`g${i}`, GET, '{}'), new Transcript()),
      findings: [
        {
          severity: 'error',
          messageMatch: 'shows 7 reads of 1 PEER key (peer.spec.demo-spec.cycle.1)',
          locations: [1, 3, 5, 7, 9].map((l) => `log session.jsonl:${l}`),
          check: (f) => expect(f.evidence.at(-1)!.note).toMatch(/; 2 more operations on missing keys$/),
        },
      ],
    },
    {
      name: 'the wrong bucket: names the bucket the commands use',
      kv: kvData([], 'scratch'),
      transcript: writesAndReads(),
      findings: [
        {
          severity: 'error',
          messageMatch: 'that bucket scratch does not hold; the commands name bucket agent-os-peer-state:',
        },
      ],
    },
  ],
});

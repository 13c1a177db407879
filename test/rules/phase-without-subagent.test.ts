import rule from '../../rules/phase-without-subagent.js';
import type { Put } from '../helpers/evidence.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { Transcript } from '../helpers/transcript.js';
import { incidentModel } from './claims-fixtures.js';
import { done, v1Cycle } from './state-fixtures.js';

const KEY = 'peer.spec.demo-spec.cycle.1';
const at = (s: number, day = 5) => new Date(Date.UTC(2025, 7, day, 16, 0, s)).toISOString();

/** Plan running (16:00:01), plan complete (16:00:05), execute complete (16:00:08): the state of the cycle. */
const state = (day = 5): Put[] => [
  [KEY, v1Cycle({ plan: { status: 'running' } }), { created: at(1, day) }],
  [KEY, v1Cycle({ plan: done() }), { created: at(5, day) }],
  [KEY, v1Cycle({ plan: done(), execute: done() }), { created: at(8, day) }],
];

/** A session from 16:00:01 to 16:00:06 (one record a second) that spawns the planner and, if asked, the executor. */
const session = (executor: boolean) => {
  const t = new Transcript()
    .human('/peer --instruction=create-spec --spec=demo-spec')
    .task('p1', 'peer-planner', 'Plan stored in phases.plan.');
  return executor
    ? t.task('e1', 'peer-executor', 'Execution complete.').say('Execute done.')
    : t.bash('b1', `nats kv get agent-os-peer-state ${KEY} --raw`, '{}').say('Execute done.');
};

ruleTester(rule, {
  valid: [
    { name: 'the executor was spawned before execute was marked completed', kv: state(), transcript: session(true) },
    { name: 'no transcript covers the moment (the run was a day later)', kv: state(6), transcript: session(false) },
    { name: 'no transcripts at all', kv: state() },
    { name: 'bundled healthy v1 run', model: () => incidentModel('healthy-v1') },
    { name: 'bundled healthy v2 run', model: () => incidentModel('healthy-v2') },
  ],
  invalid: [
    {
      name: 'execute marked completed while the covering transcript spawned only the planner',
      kv: state(),
      transcript: session(false),
      findings: [
        {
          severity: 'warning',
          message:
            "Cycle 1's execute phase is marked completed (revision 3, 2025-08-05T16:00:08.000Z), but the transcript " +
            'covering that moment never spawned peer-executor.',
          target: `${KEY}#execute`,
          locations: [`kv ${KEY}@3/phases/execute`, 'log session.jsonl:1', 'log session.jsonl:2'],
          evidence: [
            { note: 'execute marked completed at 2025-08-05T16:00:08.000Z' },
            { note: 'this transcript covers that moment and spawns peer-planner, never peer-executor' },
            { note: 'peer-planner spawned' },
          ],
        },
      ],
    },
  ],
});

import rule from '../../rules/subagent-no-tool-calls.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { Transcript } from '../helpers/transcript.js';
import { incidentModel } from './claims-fixtures.js';

const run = () => new Transcript().human('/peer --instruction=create-spec --spec=demo-spec');
const zero = { status: 'completed', agentId: 'a1', totalToolUseCount: 0 };

ruleTester(rule, {
  valid: [
    {
      name: 'a planner that made its calls',
      transcript: run().task('p1', 'peer-planner', 'Plan for cycle 1 stored in phases.plan.', {
        ...zero,
        totalToolUseCount: 6,
      }),
    },
    {
      name: 'no tool call, and it says it could not do the work',
      transcript: run().task('p1', 'peer-planner', 'I could not read the cycle state: no Bash access.', zero),
    },
    {
      name: 'a general-purpose helper that answered from what it knew',
      transcript: run().task('g1', 'general-purpose', 'MCP_AVAILABLE: false — done.', zero),
    },
    {
      name: 'a result with no count (older Claude Code)',
      transcript: run().task('p1', 'peer-planner', 'Plan stored in phases.plan.'),
    },
    {
      name: 'the count says 0 but the transcript holds its calls',
      transcript: run()
        .task('p1', 'peer-planner')
        .asAgent('a1')
        .bash('b1', 'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw', '{}')
        .asMain()
        .taskResult('p1', 'Plan stored in phases.plan.', zero),
    },
    { name: 'bundled healthy v2 run', model: () => incidentModel('healthy-v2') },
  ],
  invalid: [
    {
      name: 'a planner with no tool call that says the plan is stored',
      transcript: run().task(
        'p1',
        'peer-planner',
        'Plan for cycle 1 created (3 phases) and stored in phases.plan. Status: EXECUTING.',
        zero,
      ),
      findings: [
        {
          severity: 'error',
          message:
            'peer-planner (spawned at session.jsonl:2) made no tool call (totalToolUseCount 0) yet reported: ' +
            '"Plan for cycle 1 created (3 phases) and stored in phases.plan. Status: EXECUTING.".',
          target: 'session.jsonl#p1',
          locations: ['log session.jsonl:2', 'log session.jsonl:3'],
          evidence: [
            { note: 'peer-planner spawned' },
            {
              excerpt:
                'totalToolUseCount: 0 — Plan for cycle 1 created (3 phases) and stored in phases.plan. Status: EXECUTING.',
            },
          ],
        },
      ],
    },
  ],
});

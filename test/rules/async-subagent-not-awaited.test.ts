import rule from '../../rules/async-subagent-not-awaited.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { Transcript } from '../helpers/transcript.js';
import { incidentModel } from './claims-fixtures.js';

const LAUNCHED =
  'Async agent launched successfully.\nagentId: a1 (internal ID - do not mention to user.)\n' +
  'The agent is working in the background. You will be notified automatically when it completes.';
const async = { status: 'async_launched', agentId: 'a1' };
const notification =
  '<task-notification>\n<task-id>a1</task-id>\n<status>completed</status>\n' +
  '<summary>Agent "Run peer-executor" completed</summary>\n</task-notification>';
const run = () => new Transcript().human('/peer --instruction=create-spec --spec=demo-spec');

ruleTester(rule, {
  valid: [
    {
      name: 'the coordinator waits for the notification before the next phase',
      transcript: run()
        .task('e1', 'peer-executor', LAUNCHED, async)
        .human(notification)
        .task('x1', 'peer-express', 'Summary ready.'),
    },
    {
      name: 'the coordinator reads the output with TaskOutput first',
      transcript: run()
        .task('e1', 'peer-executor', LAUNCHED, async)
        .tool('o1', 'TaskOutput', { task_id: 'a1', block: true }, 'Execution complete.')
        .task('x1', 'peer-express', 'Summary ready.'),
    },
    {
      name: 'a synchronous executor',
      transcript: run()
        .task('e1', 'peer-executor', 'Execution complete.', { status: 'completed', agentId: 'a1' })
        .task('x1', 'peer-express', 'Summary ready.'),
    },
    {
      name: 'launched in the background, and the session simply ends',
      transcript: run().task('e1', 'peer-executor', LAUNCHED, async).say('Waiting for the executor.'),
    },
    { name: 'bundled healthy v2 run', model: () => incidentModel('healthy-v2') },
  ],
  invalid: [
    {
      name: 'the express phase spawned before the background executor reported',
      transcript: run()
        .task('e1', 'peer-executor', LAUNCHED, async)
        .task('x1', 'peer-express', 'Summary ready.')
        .human(notification),
      findings: [
        {
          severity: 'error',
          message:
            'peer-executor (spawned at session.jsonl:2) was launched in the background, and the coordinator ' +
            'spawned peer-express (the next phase) before its result came.',
          target: 'session.jsonl#e1',
          locations: ['log session.jsonl:2', 'log session.jsonl:3', 'log session.jsonl:4', 'log session.jsonl:6'],
          evidence: [
            {},
            { excerpt: 'status: async_launched — Async agent launched successfully.' },
            { note: 'the coordinator spawned peer-express (the next phase)' },
            { note: 'the subagent’s result is read only here' },
          ],
        },
      ],
    },
    {
      name: 'the coordinator marks execute completed and claims success, never reading the result',
      transcript: run()
        .task('e1', 'peer-executor', LAUNCHED, async)
        .bash(
          'b1',
          `~/.agent-os/scripts/peer/update-state.sh "peer.spec.demo-spec.cycle.1" '.phases.execute.status = "completed"'`,
          'updated',
        )
        .say('✅ PEER cycle 1 completed successfully'),
      findings: [
        {
          severity: 'error',
          message:
            'peer-executor (spawned at session.jsonl:2) was launched in the background, and the coordinator ' +
            'marked execute completed without ever reading its result.',
          locations: ['log session.jsonl:2', 'log session.jsonl:3', 'log session.jsonl:4'],
        },
      ],
    },
  ],
});

import rule from '../../rules/unsuccessful-cycle.js';
import falseSuccess from '../../rules/false-success.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;

const all = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };
/** The user-cancel path: execute completes with execution_status "cancelled", review says success false, finalize COMPLETED. */
function cancelled(summary: Record<string, unknown> = { success: false, completion: 40 }) {
  const c = v2Cycle(P, 1, 'COMPLETED', all, { completed_at: '2025-08-21T10:30:00Z' });
  (c.phases.execute as Record<string, unknown>).output = {
    execution_status: 'cancelled',
    notes: 'cancelled at the review gate',
  };
  (c.phases.review as Record<string, unknown>).output = { completeness: false };
  return { ...c, cycle_summary: summary };
}

function expressingCancelled() {
  const c = v2Cycle(P, 1, 'EXPRESSING', {
    plan: 'completed',
    execute: 'completed',
    express: 'pending',
    review: 'pending',
  });
  (c.phases.execute as Record<string, unknown>).output = { execution_status: 'cancelled' };
  return c;
}

const v1Failed = {
  ...v1Cycle(
    { plan: done(), execute: done(), express: done(), review: done() },
    { status: { current_phase: 'complete', progress_percent: 100 } },
  ),
  result: { success: false },
};

ruleTester(rule, {
  valid: [
    {
      name: 'a successful cycle',
      kv: [[C1, { ...v2Cycle(P, 1, 'COMPLETED', all), cycle_summary: { success: true, completion: 100 } }]],
    },
  ],
  invalid: [
    {
      name: 'warns on a COMPLETED cycle the user cancelled, with the outcome and the lifecycle status as evidence',
      kv: [[C1, cancelled()]],
      findings: [
        {
          severity: 'warning',
          locations: [
            `kv ${C1}@1/cycle_summary/success`,
            `kv ${C1}@1/phases/execute/output/execution_status`,
            `kv ${C1}@1/metadata/status`,
          ],
          messageMatch:
            /^Cycle 1 finished unsuccessfully: cycle_summary\.success is false; the executor reported cancelled/,
        },
      ],
    },
    {
      name: 'says "records an unsuccessful outcome" when the lifecycle has not ended',
      kv: [[C1, expressingCancelled()]],
      findings: [
        {
          severity: 'warning',
          message: 'Cycle 1 records an unsuccessful outcome: the executor reported cancelled (the user cancelled).',
        },
      ],
    },
    {
      name: 'v1: result.success false after review',
      kv: [
        [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'complete' }, { status: 'complete' })],
        [C1, v1Failed],
      ],
      findings: [{ severity: 'warning', locations: [`kv ${C1}@2/result/success`, `kv ${C1}@2/status/current_phase`] }],
    },
  ],
});

// The same cycles are not false-success: lifecycle is not outcome; but a success claim next to the cancel is
// contradicted by it.
ruleTester(
  falseSuccess,
  {
    valid: [
      { name: 'a cancelled cycle', kv: [[C1, cancelled()]] },
      {
        name: 'a literal "cancelled" phase status',
        kv: [[C1, v2Cycle(P, 1, 'COMPLETED', { ...all, execute: 'cancelled' })]],
      },
    ],
    invalid: [
      {
        name: 'a success claim next to the cancel',
        kv: [[C1, cancelled({ success: true, completion: 100 })]],
        findings: [{ severity: 'error', messageMatch: 'the executor reported cancelled' }],
      },
    ],
  },
  'unsuccessful cycles and false-success',
);

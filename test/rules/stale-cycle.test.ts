import rule from '../../rules/stale-cycle.js';
import type { Put } from '../helpers/evidence.js';
import { ruleTester, type RuleCase } from '../helpers/rule-tester.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;
const NOW = '2025-08-08T20:30:00Z';

const running = (over: Record<string, unknown> = {}) => ({
  status: 'running',
  started_at: '2025-08-05T16:01:00Z',
  ...over,
});
const old = { created: '2025-08-05T16:00:00.000Z' };
const executing: Put[] = [
  [
    C1,
    v2Cycle(
      P,
      1,
      'EXECUTING',
      { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' },
      { updated_at: '2025-08-08T18:00:00Z' },
    ),
    { created: '2025-08-08T18:00:00.000Z' },
  ],
];
const quiet = (name: string, kv: Put[]): RuleCase => ({ name, kv, now: NOW });

ruleTester(rule, {
  valid: [
    quiet('a finished v1 cycle', [
      [
        C1,
        v1Cycle(
          { plan: done(), execute: done(), express: done(), review: done() },
          { status: { current_phase: 'complete', progress_percent: 100 } },
        ),
        old,
      ],
    ]),
    quiet('a finished v2 cycle', [
      [
        'peer.spec.v2-done.cycle.1',
        v2Cycle('peer.spec.v2-done', 1, 'COMPLETED', {
          plan: 'completed',
          execute: 'completed',
          express: 'completed',
          review: 'completed',
        }),
        old,
      ],
    ]),
    // claims completion, even with a phase left running: false-success's business, not a stale cycle
    quiet('a cycle that claims completion', [
      [
        'peer.spec.claimed.cycle.1',
        v2Cycle('peer.spec.claimed', 1, 'COMPLETE', {
          plan: 'completed',
          execute: 'in_progress',
          express: 'pending',
          review: 'pending',
        }),
        old,
      ],
    ]),
    quiet('a failed v2 cycle', [
      [
        'peer.spec.failed.cycle.1',
        v2Cycle('peer.spec.failed', 1, 'ERROR', {
          plan: 'completed',
          execute: 'error',
          express: 'pending',
          review: 'pending',
        }),
        old,
      ],
    ]),
    // v1: the executor recorded its error; the meta entry stays "running" because no v1 code writes anything else there
    quiet('a v1 executor that recorded its error', [
      ['peer.spec.v1-failed.meta', v1Meta('v1-failed', { current_phase: 'execute' }), old],
      [
        'peer.spec.v1-failed.cycle.1',
        v1Cycle({
          plan: done(),
          execute: { status: 'error', error: { message: 'boom', occurred_at: '2025-08-05T16:05:00Z' } },
        }),
        old,
      ],
    ]),
    // v2 ERROR without a phase marked (the error write landed on metadata only), and the v1 meta at "error"
    quiet('v2 ERROR with no phase marked', [
      [
        'peer.spec.v2-error.cycle.1',
        v2Cycle(
          'peer.spec.v2-error',
          1,
          'ERROR',
          { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' },
          { current_phase: 'planning' },
        ),
        old,
      ],
    ]),
    quiet('the v1 meta at "error"', [
      ['peer.spec.meta-error.meta', v1Meta('meta-error', { current_phase: 'error' }), old],
      ['peer.spec.meta-error.cycle.1', v1Cycle({ plan: done() }), old],
    ]),
    // a running phase whose last_update is recent
    quiet('a running phase updated recently', [
      [
        'peer.spec.busy.cycle.1',
        v1Cycle({ plan: done(), execute: running({ last_update: '2025-08-08T20:00:00Z' }) }),
        old,
      ],
    ]),
    quiet('all of them in one bucket', [
      [
        C1,
        v1Cycle(
          { plan: done(), execute: done(), express: done(), review: done() },
          { status: { current_phase: 'complete', progress_percent: 100 } },
        ),
        old,
      ],
      [
        'peer.spec.v2-done.cycle.1',
        v2Cycle('peer.spec.v2-done', 1, 'COMPLETED', {
          plan: 'completed',
          execute: 'completed',
          express: 'completed',
          review: 'completed',
        }),
        old,
      ],
      [
        'peer.spec.claimed.cycle.1',
        v2Cycle('peer.spec.claimed', 1, 'COMPLETE', {
          plan: 'completed',
          execute: 'in_progress',
          express: 'pending',
          review: 'pending',
        }),
        old,
      ],
      [
        'peer.spec.failed.cycle.1',
        v2Cycle('peer.spec.failed', 1, 'ERROR', {
          plan: 'completed',
          execute: 'error',
          express: 'pending',
          review: 'pending',
        }),
        old,
      ],
      ['peer.spec.v1-failed.meta', v1Meta('v1-failed', { current_phase: 'execute' }), old],
      [
        'peer.spec.v1-failed.cycle.1',
        v1Cycle({
          plan: done(),
          execute: { status: 'error', error: { message: 'boom', occurred_at: '2025-08-05T16:05:00Z' } },
        }),
        old,
      ],
      [
        'peer.spec.v2-error.cycle.1',
        v2Cycle(
          'peer.spec.v2-error',
          1,
          'ERROR',
          { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' },
          { current_phase: 'planning' },
        ),
        old,
      ],
      ['peer.spec.meta-error.meta', v1Meta('meta-error', { current_phase: 'error' }), old],
      ['peer.spec.meta-error.cycle.1', v1Cycle({ plan: done() }), old],
      [
        'peer.spec.busy.cycle.1',
        v1Cycle({ plan: done(), execute: running({ last_update: '2025-08-08T20:00:00Z' }) }),
        old,
      ],
    ]),
    quiet('within the default staleAfterMs (6 h)', executing),
  ],
  invalid: [
    {
      name: 'fires on a v1 executor left running, with how long and since when',
      now: NOW,
      kv: [
        [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'plan' }), { created: '2025-08-05T16:00:00.000Z' }],
        [C1, v1Cycle({ plan: done(), execute: running() }), { created: '2025-08-05T16:02:10.000Z' }],
      ],
      findings: [
        {
          severity: 'warning',
          subject: { spec: 'demo-spec', keyPrefix: P, cycle: 1 },
          locations: [`kv ${C1}@2/phases/execute/status`, `kv ${P}.meta@1/cycles/1/status`, `kv ${C1}@2`],
          evidence: [
            {},
            {},
            { excerpt: 'revision 2 written 2025-08-05T16:02:10.000Z', note: `the last update: revision 2 of ${C1}` },
          ],
          message:
            'Cycle 1 is in progress (execute running, meta status running) with no update for 3 d 4 h (last update 2025-08-05T16:02:10.000Z, limit 6 h): it was most likely abandoned, or failed without recording it.',
        },
      ],
    },
    {
      name: 'fires on a v2 cycle stuck at INITIALIZED / planning, taking the newest of revision time and updated_at',
      now: NOW,
      kv: [
        [
          C1,
          v2Cycle(
            P,
            1,
            'INITIALIZED',
            { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' },
            { current_phase: 'planning', updated_at: '2025-08-08T09:00:00Z' },
          ),
          { created: '2025-08-08T08:00:00.000Z' },
        ],
      ],
      findings: [
        {
          severity: 'warning',
          locations: [`kv ${C1}@1/metadata/status`, `kv ${C1}@1/metadata/updated_at`],
          messageMatch:
            '(status INITIALIZED) with no update for 11 h 30 min (last update 2025-08-08T09:00:00Z, limit 6 h)',
        },
      ],
    },
    {
      name: 'honours staleAfterMs',
      now: NOW,
      kv: executing,
      options: { staleAfterMs: 3600_000 },
      findings: [
        {
          severity: 'warning',
          message:
            'Cycle 1 is in progress (execute in_progress, status EXECUTING) with no update for 2 h 30 min (last update 2025-08-08T18:00:00.000Z, limit 1 h): it was most likely abandoned, or failed without recording it.',
        },
      ],
    },
  ],
});

// Bucket contents for the layout, scope and naming tests: what the PEER drafts and a shared bucket hold.
import type { Put } from '../helpers/evidence.js';
import { v2Cycle } from '../rules/state-fixtures.js';

const at = (min: number, sec = 0) => ({ created: new Date(Date.UTC(2025, 7, 6, 10, min, sec)).toISOString() });

/**
 * A multi-key draft cycle (peer.md.bak of 2025-08-06) whose execute phase never ran: planning, express and review
 * each write their output key and completion flag, the status key moves on, and finalize says completed.
 */
export function multiKeySkippedExecute(prefix = 'peer.spec.user-export'): Put[] {
  const c = `${prefix}.cycle.1`;
  const ctx = 'peer.context.current_execution';
  return [
    [`${ctx}.peer_mode`, 'new', at(0)],
    [`${ctx}.instruction_name`, 'execute-tasks', at(0, 1)],
    [`${ctx}.spec_name`, 'user-export', at(0, 2)],
    [`${ctx}.spec_aware`, 'true', at(0, 3)],
    [`${ctx}.key_prefix`, prefix, at(0, 4)],
    [`${prefix}.cycle.current`, '1', at(0, 5)],
    [
      `${c}.metadata`,
      {
        cycle_number: 1,
        instruction: 'execute-tasks',
        spec: 'user-export',
        status: 'initialized',
        phases_completed: [],
        created_at: '2025-08-06T10:00:05Z',
      },
      at(0, 6),
    ],
    [
      `${c}.plan`,
      {
        instruction: 'execute-tasks',
        phases: [{ phase: 'execution', steps: ['export endpoint'] }],
        success_criteria: { overall: 'CSV export works' },
      },
      at(2),
    ],
    [`${c}.plan_summary`, 'Plan: one endpoint, one job, tests.', at(2, 1)],
    [`${c}.phases.planning`, 'completed', at(2, 2)],
    [`${c}.status`, 'planning_complete', at(2, 3)],
    [`${c}.express`, { summary: 'CSV export implemented', key_points: ['endpoint', 'job'] }, at(5)],
    [`${c}.express_summary`, 'CSV export implemented.', at(5, 1)],
    [`${c}.phases.express`, 'completed', at(5, 2)],
    [`${c}.status`, 'express_complete', at(5, 3)],
    ['criteria.execute-tasks', { checks: ['tests pass'] }, at(6)],
    [`${c}.review`, { quality_score: 90, strengths: ['clear'] }, at(8)],
    [`${c}.review_summary`, 'Looks good.', at(8, 1)],
    [`${c}.improvements`, { process: [] }, at(8, 2)],
    [`${c}.phases.review`, 'completed', at(8, 3)],
    [`${c}.status`, 'review_complete', at(8, 4)],
    [`${c}.status`, 'completed', at(9)],
    [`${c}.completed_at`, '2025-08-06T10:09:00Z', at(9, 1)],
    [
      `${c}.metadata`,
      {
        cycle_number: 1,
        instruction: 'execute-tasks',
        spec: 'user-export',
        status: 'initialized',
        phases_completed: ['planning', 'execution', 'express', 'review'],
        created_at: '2025-08-06T10:00:05Z',
      },
      at(9, 2),
    ],
    [`${prefix}.archive.cycle.1`, { plan: 'see cycle keys' }, at(9, 3)],
  ];
}

/** The same draft cycle with every phase run: nothing to report. */
export function multiKeyHealthy(prefix = 'peer.spec.user-export'): Put[] {
  const c = `${prefix}.cycle.1`;
  const puts = multiKeySkippedExecute(prefix);
  const i = puts.findIndex(([k]) => k === `${c}.express`);
  puts.splice(
    i,
    0,
    [
      `${c}.execution`,
      {
        instruction_executed: 'execute-tasks',
        execution_status: 'success',
        outputs: { files_created: ['src/export.ts'] },
      },
      at(4),
    ],
    [`${c}.deliverables`, { files_created: ['src/export.ts'] }, at(4, 1)],
    [`${c}.phases.execution`, 'completed', at(4, 2)],
    [`${c}.status`, 'execution_complete', at(4, 3)],
  );
  return puts;
}

/** A healthy v2 cycle under a prefix, with its counter. */
export function v2Healthy(prefix: string, specName?: string): Put[] {
  const all = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };
  return [
    [
      `${prefix}.cycle.1`,
      v2Cycle(prefix, 1, 'COMPLETED', all, {
        completed_at: '2025-08-21T10:20:00Z',
        ...(specName ? { spec_name: specName } : {}),
      }),
    ],
    [`${prefix}.cycle.current`, '1'],
  ];
}

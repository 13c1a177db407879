// When the instructions that write spec folders changed what they write: the verdicts on a folder depend on them.
import type { Run } from './build.js';
import { isPeerRun } from './peer-sessions.js';

/** Agent OS 1.4.1 (2025-08-18) moved tasks.md out of create-spec into create-tasks. */
export const CREATE_TASKS_ERA = '2025-08-18';
/**
 * The PEER fork took that change when it merged Agent OS 1.4.1, on 2025-08-22: its create-spec wrote tasks.md until
 * then.
 */
export const FORK_CREATE_TASKS_ERA = '2025-08-22';

/** When create-spec stopped writing tasks.md for this run: PEER runs come from the fork, the rest from upstream. */
export function createTasksEra(run: Run): string {
  return isPeerRun(run) ? FORK_CREATE_TASKS_ERA : CREATE_TASKS_ERA;
}

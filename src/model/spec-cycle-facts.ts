// Facts about a run's cycles and its spec folder that several rules judge by: whether a cycle claims to be
// finished, which folder it belongs to, which cycles checked boxes in tasks.md.
import type { Model, Run } from './build.js';
import { cyclesForSpec } from './lookup.js';
import { isRecord, metaStatements, type Claim, type CycleState } from './state.js';
import type { KvLocation, SpecFolder, TaskItem } from './types.js';

/** Instructions that check boxes in tasks.md. */
export const TASK_INSTRUCTIONS = new Set(['execute-tasks', 'execute-task', 'complete-tasks']);

export interface CycleFinish {
  finished: boolean;
  instruction?: string;
  /** Pointer to the instruction name in the cycle value. */
  instructionLocation: KvLocation;
  claims: Claim[];
  /** Statements that the cycle did not finish (cycle and meta). */
  signals: { location: KvLocation; excerpt: string; what: string }[];
}

/** What the state says about one cycle: its instruction, and whether it claims to be finished. */
export function cycleFinish(bucket: string, run: Run, cycle: CycleState): CycleFinish {
  const meta = run.meta ? metaStatements(bucket, run.meta, cycle.number) : { claims: [], signals: [] };
  const claims = [...cycle.claims, ...meta.claims];
  const signals = [...cycle.signals, ...meta.signals];
  const instruction = cycle.instruction ?? run.meta?.cycles[String(cycle.number)]?.instruction;
  const instructionLocation: KvLocation = {
    kind: 'kv',
    bucket,
    key: cycle.key,
    revision: cycle.revision,
    pointer: cycle.layout === 'v2' ? '/metadata/instruction_name' : '/instruction',
  };
  return {
    finished: claims.length > 0 || cycle.phases.execute.status === 'completed',
    instruction,
    instructionLocation,
    claims,
    signals,
  };
}

/**
 * The execute output's files_created list (v1/v2 `outputs.files_created`, or `files_created` directly), with its
 * pointer.
 */
export function filesCreated(cycle: CycleState): { files: unknown[]; pointer: string } | undefined {
  const exec = cycle.phases.execute.output;
  if (!isRecord(exec)) return undefined;
  if (isRecord(exec.outputs) && Array.isArray(exec.outputs.files_created))
    return { files: exec.outputs.files_created, pointer: '/phases/execute/output/outputs/files_created' };
  if (Array.isArray(exec.files_created))
    return { files: exec.files_created, pointer: '/phases/execute/output/files_created' };
  return undefined;
}

/** The date a cycle started (YYYY-MM-DD), from its own fields or its revision time. */
export function cycleDate(cycle: CycleState): string {
  return (cycle.startedAt ?? cycle.created ?? '').slice(0, 10);
}

/**
 * The folder of a run that a cycle belongs to: the newest one dated on or before the cycle (several folders can share a
 * slug).
 */
export function folderOfCycle(run: Run, cycle: CycleState): SpecFolder | undefined {
  if (run.folders.length <= 1) return run.folders[0];
  const day = cycleDate(cycle);
  const dated = run.folders.filter((f) => f.date && day && f.date <= day).sort((a, b) => (a.date! < b.date! ? 1 : -1));
  return dated[0] ?? run.folders[0];
}

/** refine-spec keeps obsolete completed items as `- [x] ~~…~~`: they record history, not work. */
export function isStruck(t: TaskItem): boolean {
  return /^(\d+(?:\.\d+)*\.?\s+)?~~/.test(t.text);
}

export interface TaskCycle extends CycleFinish {
  run: Run;
  cycle: CycleState;
  /**
   * Ran to completion: execute completed, or the cycle claims to be finished and nothing in the state says otherwise.
   */
  completed: boolean;
}

/**
 * The execute-tasks / execute-task / complete-tasks cycles for a spec folder, from its run and any cycle naming the
 * spec.
 */
export function taskCycles(model: Model, run: Run, folder: SpecFolder): TaskCycle[] {
  const out: TaskCycle[] = [];
  const seen = new Set<string>();
  for (const { run: r, cycle } of cyclesForSpec(model, run, folder.slug)) {
    if (seen.has(cycle.key)) continue;
    seen.add(cycle.key);
    const st = cycleFinish(model.bucket, r, cycle);
    if (!st.instruction || !TASK_INSTRUCTIONS.has(st.instruction)) continue;
    const completed = cycle.phases.execute.status === 'completed' || (st.claims.length > 0 && st.signals.length === 0);
    out.push({ ...st, run: r, cycle, completed });
  }
  return out;
}

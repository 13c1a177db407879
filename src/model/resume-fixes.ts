// The fix shared by false-success, missing-execute-phase and recorded-failure: put a cycle back in the state
// from which PEER's own `/peer --continue` runs the phase that never really completed, and every phase after it.
//
// What --continue reads (fork olpie101/agent-os):
// - v1 (e903640 instructions/core/peer.md): the meta's `current_cycle` and `current_phase`. The `case` at L296-329
//   reads `current_phase` as the last phase done (plan → execute, execute → express, express → review; complete,
//   error and review refuse). Step 3 (L361-375) skips the planner when continuing; Step 4 (L412-431) runs the
//   executor when `current_phase` is plan or execute; Step 5 runs express when it is plan, execute or express.
//   Planner, express and review skip a phase whose `phases.<p>.status` is "complete" (peer-planner.md L44-57,
//   peer-express.md L43-47, peer-review.md L44-48); the executor has no such check.
// - v2 (HEAD instructions/core/peer.md L191-199, L352, L394): the last incomplete cycle, resumed from the last
//   completed phase by `metadata.status`; the executor needs plan complete and a status of EXECUTING or PLANNING
//   (peer-executor.md L97-114), express EXPRESSING or EXECUTING, review REVIEWING or EXPRESSING; express and
//   review skip a phase already complete (peer-express.md L104-109, peer-review.md L106-111).
import type { Fix, JsonOp } from './fix.js';
import { isRecord, PHASES, type CycleState, type MetaState, type PhaseName } from './state.js';

/** The v2 `metadata.status` that lets the phase's agent run: what the agent before it writes when it finishes. */
export const V2_STATUS_FOR_PHASE: Record<PhaseName, string> = {
  plan: 'PLANNING',
  execute: 'EXECUTING',
  express: 'EXPRESSING',
  review: 'REVIEWING',
};

/** The first phase that did not really complete (missing, pending, running, failed, cancelled). */
export function firstIncomplete(cycle: CycleState): PhaseName | undefined {
  return PHASES.find((p) => cycle.phases[p].status !== 'completed');
}

/** Progress of a cycle whose phases before `gap` really completed: a phase marked complete after it does not count. */
export function progressBefore(gap: PhaseName): number {
  return Math.round((100 * PHASES.indexOf(gap)) / PHASES.length);
}

export interface Resume {
  /** The writes; empty when the cycle cannot be made resumable (then `refused` says why) or needs nothing. */
  fixes: Fix[];
  /** The phase --continue will run first after the repair. */
  gap?: PhaseName;
  /** Why no fix is offered, in a sentence a person can act on. */
  refused?: string;
}

/** The meta note a v1 repair leaves; no word in it reads as "incomplete" once the resumed cycle has finished. */
export function resumeNote(gap: PhaseName): string {
  return `peer-audit repair: reset to resume at ${gap} (run /peer --continue)`;
}

/**
 * The writes that make `/peer --continue` run the first phase that did not really complete (the gap) and every
 * phase after it. The gap and later phases go back to `{"status":"pending"}`; what they and the finished cycle
 * wrote (status, output, error, result, insights, cycle_summary, completion times) is removed from the value
 * (the repair keeps every removed subtree under `peer_audit.repairs[].previous` and in its journal).
 */
export function resumeFixes(cycle: CycleState, meta: MetaState | undefined): Resume {
  const gap = firstIncomplete(cycle);
  // The multi-key draft keeps each field in a key of its own: no single value to correct.
  if (!gap || cycle.layout === 'multi-key') return { fixes: [] };
  return cycle.layout === 'v1' ? v1Resume(cycle, meta, gap) : v2Resume(cycle, gap);
}

function v1Resume(cycle: CycleState, meta: MetaState | undefined, gap: PhaseName): Resume {
  const n = cycle.number;
  if (gap === 'plan') {
    return refuse(
      gap,
      'v1 --continue never runs the planner (Step 3 skips it on current_phase "plan", and no other value leads ' +
        'to it); start a new cycle',
    );
  }
  if (gap === 'express') {
    // The two readings of "execute" disagree: the case runs express next, Step 4 re-runs the executor; "express"
    // makes the case jump to review. No value runs express without re-running a completed execute or skipping it.
    return refuse(
      gap,
      'v1 --continue cannot resume at express (on current_phase "execute" its case runs express but Step 4 ' +
        're-runs the executor; "express" makes the case skip to review); run peer-express for the cycle by hand, ' +
        'or start a new cycle',
    );
  }
  if (!meta)
    return refuse(
      gap,
      `v1 --continue reads the meta's current_cycle and current_phase, and there is no readable meta for ` +
        `cycle ${n}; start a new cycle`,
    );
  if (meta.currentCycle !== n) {
    return refuse(
      gap,
      `v1 --continue resumes only the meta's current_cycle (${meta.currentCycle ?? 'missing'}), not ` +
        `cycle ${n}; use peer-audit reopen or start a new cycle`,
    );
  }
  // The last phase that really completed before the gap: the case's "last phase done".
  const done = PHASES[PHASES.indexOf(gap) - 1];
  const json = cycle.json;
  const ops: JsonOp[] = [];
  if (isRecord(json.status)) {
    // Same value as the meta: no "phase mismatch" warning (peer.md L267-273).
    setIfChanged(ops, json, '/status/current_phase', done);
    setIfChanged(ops, json, '/status/progress_percent', progressBefore(gap));
    for (const f of ['error_phase', 'error_message'])
      if (json.status[f] !== undefined) ops.push({ op: 'remove', path: `/status/${f}` });
  } else if (typeof json.status === 'string') {
    setIfChanged(ops, json, '/status', done);
  }
  removeIfPresent(ops, json, '/completed_at');
  const reset = resetPhases(ops, cycle, gap);
  // express writes the root `result`, review the root `insights`: gone with the phase that wrote them.
  if (reset.includes('express')) removeIfPresent(ops, json, '/result');
  if (reset.includes('review')) removeIfPresent(ops, json, '/insights');

  const why =
    `cycle ${n}: ${gap} never completed; reset so /peer --continue (meta current_phase "${done}") ` +
    `runs ${reset.join(', ')}`;
  const fixes: Fix[] = [];
  if (ops.length > 0) fixes.push({ kind: 'kv-json', key: cycle.key, revision: cycle.revision, ops, why });

  const mops: JsonOp[] = [];
  setIfChanged(mops, meta.json, '/current_phase', done);
  const base = `/cycles/${escape(String(n))}`;
  if (isRecord(meta.json.cycles) && isRecord(meta.json.cycles[String(n)])) {
    // What init writes for a cycle under way (peer.md L159-197); finalize sets complete again.
    setIfChanged(mops, meta.json, `${base}/status`, 'running');
    removeIfPresent(mops, meta.json, `${base}/completed_at`);
    if (mops.length > 0) setIfChanged(mops, meta.json, `${base}/notes`, resumeNote(gap));
  }
  if (mops.length > 0) fixes.push({ kind: 'kv-json', key: meta.key, revision: meta.revision, ops: mops, why });
  return { fixes, gap };
}

function v2Resume(cycle: CycleState, gap: PhaseName): Resume {
  const json = cycle.json;
  const status = V2_STATUS_FOR_PHASE[gap];
  const ops: JsonOp[] = [];
  setIfChanged(ops, json, '/metadata/status', status);
  setIfChanged(ops, json, '/metadata/current_phase', gap);
  removeIfPresent(ops, json, '/metadata/completed_at');
  removeIfPresent(ops, json, '/metadata/error');
  // A contract-style root status (the agents' output contracts write one, and their checks read it) keeps a
  // value the gap's agent accepts.
  if (json.status !== undefined) setIfChanged(ops, json, '/status', status);
  const reset = resetPhases(ops, cycle, gap);
  for (const p of ['/cycle_summary', '/insights', '/result', '/completed_at']) removeIfPresent(ops, json, p);
  if (ops.length === 0) return { fixes: [], gap };
  const why =
    `cycle ${cycle.number}: ${gap} never completed; reset so /peer --continue ` +
    `(metadata.status ${status}) runs ${reset.join(', ')}`;
  return { fixes: [{ kind: 'kv-json', key: cycle.key, revision: cycle.revision, ops, why }], gap };
}

/** The gap and every phase after it back to pending; returns those phases. */
function resetPhases(ops: JsonOp[], cycle: CycleState, gap: PhaseName): PhaseName[] {
  const reset = PHASES.slice(PHASES.indexOf(gap));
  for (const p of reset) setIfChanged(ops, cycle.json, `/phases/${p}`, { status: 'pending' });
  return reset;
}

/** The sentence a finding adds when its cycle cannot be made resumable. */
export function refusedNote(refused: string | undefined): string {
  return refused ? ` Not repairable: ${refused}.` : '';
}

function refuse(gap: PhaseName, refused: string): Resume {
  return { fixes: [], gap, refused };
}

function setIfChanged(ops: JsonOp[], doc: unknown, path: string, value: unknown): void {
  if (JSON.stringify(valueAt(doc, path)) !== JSON.stringify(value)) ops.push({ op: 'set', path, value });
}

function removeIfPresent(ops: JsonOp[], doc: unknown, path: string): void {
  if (valueAt(doc, path) !== undefined) ops.push({ op: 'remove', path });
}

function valueAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (!isRecord(cur)) return undefined;
    cur = cur[t];
  }
  return cur;
}

function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

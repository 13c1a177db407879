// Reopen: never rewrite a finished cycle's history. Write cycle N+1 carrying the phases that completed
// before the chosen phase, point the state at it, and mark cycle N superseded in the fields PEER itself
// reads, so that PEER's own --continue resumes at that phase and nothing takes cycle N for a success.
import type { Run } from '../model/build.js';
import { PHASES, isRecord, type CycleState, type PhaseName } from '../model/state.js';
import { pointerOf, type JsonOp } from '../model/fix.js';
import { applyOps } from './fix.js';
import type { KvChange } from '../model/journal-format.js';
import { b64 } from './journal.js';
import { formatCounter, formatJson, layoutOf } from './json-layout.js';

const V1 = 'e903640 instructions/core/peer.md';

/**
 * v2: the `metadata.status` (and root `status`) each phase's agent accepts before it runs, in HEAD
 * claude-code/agents: planner PLANNING|INITIALIZED (peer-planner.md L98), executor EXECUTING|PLANNING
 * (peer-executor.md L109), express EXPRESSING|EXECUTING (peer-express.md L110), review REVIEWING|EXPRESSING
 * (peer-review.md L112). The coordinator sets the same words as it hands over (instructions/core/peer.md).
 */
const V2_STATUS_TO_RUN: Record<PhaseName, string> = {
  plan: 'PLANNING',
  execute: 'EXECUTING',
  express: 'EXPRESSING',
  review: 'REVIEWING',
};

/** What a superseded cycle says in the fields PEER reads, so nothing looking for a completed cycle takes it. */
const V2_SUPERSEDED = 'SUPERSEDED';
const V1_SUPERSEDED = 'superseded';

export interface ReopenOptions {
  cycle?: number;
  phase?: PhaseName;
  reason: string;
  actor: string;
  now: string;
  quietForMs: number;
  force: boolean;
}

export interface ReopenPlan {
  from: CycleState;
  to: number;
  phase: PhaseName;
  changes: KvChange[];
  /** The values written, for the report. */
  values: { key: string; value: unknown }[];
}

export class ReopenRefused extends Error {}

const enc = new TextEncoder();

/**
 * v1: the meta `current_phase` that makes `/peer --continue` run `phase` and every phase after it, and nothing
 * before it. PEER v1 reads current_phase two ways: its `case` (L296-329) as the last phase done (plan → execute,
 * execute → express, express → review; complete, error and review refuse), its Steps 3-6 as "run from here"
 * (Step 4, L411-432, runs the executor on plan and on execute). Only values on which both readings agree are written.
 */
function v1ContinueFrom(run: Run, from: CycleState, phase: PhaseName): string {
  if (phase === 'plan') {
    const instruction = from.instruction ?? run.meta?.cycles[String(from.number)]?.instruction ?? '<instruction>';
    const spec = run.spec ?? run.meta?.specName ?? '<spec>';
    throw new ReopenRefused(
      `v1 /peer --continue never runs the planner: its case on current_phase (${V1} L296-329) resumes at execute ` +
        `at the earliest, and Step 3 (L360-376) skips the planner when continuing. ` +
        `Start a new cycle instead: /peer --instruction=${instruction} --spec=${spec}`,
    );
  }
  if (phase === 'execute') {
    // case: plan → execute (L297-300); Step 3 skips the planner (L360-376); Step 4 runs the executor (L411-432);
    // Steps 5 and 6 then run express and review on a cycle whose express and review are pending.
    return 'plan';
  }
  if (phase === 'express') {
    throw new ReopenRefused(
      `no current_phase makes v1 /peer --continue run express without running the executor again: ` +
        `with "execute", Step 4 (${V1} L411-432) runs the executor (which has no check for a completed phase), ` +
        `and with "express" the case (L296-329) goes straight to review. ` +
        `Reopen at execute instead (the executor runs again).`,
    );
  }
  // review: current_phase "express". The case resumes at review; Step 5 (L468-489) still runs the express agent, which
  // stops at once on a continuation whose express status is "complete" (e903640 claude-code/agents/peer-express.md
  // L43-47), after checking that the execute output is there (L478-483). Both readings then agree: review runs.
  const express = from.phases.express;
  if (express.raw !== 'complete') {
    throw new ReopenRefused(
      `v1 /peer --continue would run express again: resuming at review goes through Step 5 (${V1} L468-489), ` +
        `and the express agent skips only a phase whose status is exactly "complete" ` +
        `(e903640 claude-code/agents/peer-express.md L43-47); ` +
        `cycle ${from.number} has ${JSON.stringify(express.raw ?? null)}.`,
    );
  }
  const out = from.phases.execute.output;
  if (out === undefined || out === null || out === false) {
    throw new ReopenRefused(
      `v1 /peer --continue stops at "Cannot express without execution output" (${V1} L478-483): ` +
        `cycle ${from.number} has no phases.execute.output.`,
    );
  }
  return 'express';
}

export function planReopen(run: Run, o: ReopenOptions): ReopenPlan {
  const live = run.cycles;
  const from =
    o.cycle !== undefined
      ? [...run.cycles, ...run.supersededCycles].find((c) => c.number === o.cycle)
      : (live.find((c) => c.number === (run.meta?.currentCycle ?? run.counter?.value)) ?? live[live.length - 1]);
  if (!from)
    throw new ReopenRefused(
      o.cycle !== undefined ? `cycle ${o.cycle} of ${run.id} does not exist` : `${run.id} has no cycle to reopen`,
    );
  if (from.supersededBy !== undefined)
    throw new ReopenRefused(`cycle ${from.number} was already reopened as cycle ${from.supersededBy}`);
  if (from.layout === 'multi-key')
    throw new ReopenRefused(
      `cycle ${from.number} is kept in one key per field (the multi-key draft): there is no single value to carry over`,
    );

  const firstIncomplete = PHASES.find((p) => from.phases[p].status !== 'completed');
  const phase = o.phase ?? firstIncomplete;
  if (!phase)
    throw new ReopenRefused(`every phase of cycle ${from.number} completed; name the phase to reopen at with --phase`);
  // What v1 can never resume at comes first: no other state of the cycle changes that.
  if (from.layout === 'v1' && (phase === 'plan' || phase === 'express')) v1ContinueFrom(run, from, phase);
  // Resuming after a phase that never completed would skip it: the false success this tool exists to correct.
  if (firstIncomplete && PHASES.indexOf(phase) > PHASES.indexOf(firstIncomplete)) {
    throw new ReopenRefused(
      `${firstIncomplete} of cycle ${from.number} never completed: ` +
        `a cycle resumed at ${phase} would skip it (reopen at ${firstIncomplete})`,
    );
  }
  const v1From = from.layout === 'v1' ? v1ContinueFrom(run, from, phase) : undefined;
  if (from.layout === 'v1' && !run.meta) throw new ReopenRefused(`${run.id} has no meta key to point at the new cycle`);

  // Agents may still be writing: refuse a cycle that moved recently.
  const touched = [from.created, run.meta?.created, run.counter?.created]
    .filter((t): t is string => Boolean(t))
    .map(Date.parse);
  const lastWrite = Math.max(...touched);
  const quietFor = Date.parse(o.now) - lastWrite;
  if (!o.force && quietFor < o.quietForMs) {
    throw new ReopenRefused(
      `cycle ${from.number} was written ${Math.round(quietFor / 1000)} s ago; ` +
        `it may still be running (wait, or pass --force)`,
    );
  }

  // A deleted cycle key (an undone reopen) is no cycle:
  // its number is free again, as it is for PEER's own `nats kv get`.
  const cycleKeys = run.keys.filter((k) => k.info.kind === 'cycle' && !k.deleted).map((k) => k.info.cycle ?? 0);
  const highest = Math.max(...cycleKeys, run.counter?.value ?? 0, run.meta?.currentCycle ?? 0);
  const to = highest + 1;
  const newKey = `${from.prefix}.cycle.${to}`;
  const keep = PHASES.slice(0, PHASES.indexOf(phase));
  const reopened = { from: from.number, at: o.now, by: o.actor, reason: o.reason, phase };
  const phases: Record<string, unknown> = {};
  for (const p of PHASES) phases[p] = keep.includes(p) ? structuredClone(from.phases[p].entry) : { status: 'pending' };
  const progress = Math.round((100 * keep.length) / PHASES.length);
  const v2Status = V2_STATUS_TO_RUN[phase];

  let newCycle: Record<string, unknown>;
  if (from.layout === 'v1') {
    newCycle = {
      cycle_number: to,
      instruction: from.instruction,
      started_at: o.now,
      phases,
      // The same phase as the meta: --continue warns on a mismatch (L267-273).
      status: { current_phase: v1From, progress_percent: progress, last_update: o.now },
      reopened_from: from.number,
      peer_audit: { reopened },
    };
  } else {
    const md = { ...(from.metadata ?? {}) };
    // What the old cycle concluded does not belong to the new one.
    for (const k of ['completed_at', 'superseded_by', 'error']) delete md[k];
    newCycle = {};
    for (const [k, v] of Object.entries(from.json)) {
      if (['cycle_summary', 'result', 'insights', 'completed_at', 'superseded_by', 'peer_audit'].includes(k)) continue;
      if (k === 'cycle_id') newCycle[k] = newKey;
      else if (k === 'metadata') {
        newCycle[k] = {
          ...md,
          cycle_number: to,
          key_prefix: from.prefix,
          created_at: o.now,
          updated_at: o.now,
          status: v2Status,
          current_phase: phase,
          reopened_from: from.number,
        };
      } else if (k === 'context') newCycle[k] = { ...(isRecord(v) ? v : {}), peer_mode: 'continue' };
      else if (k === 'phases') newCycle[k] = phases;
      // A contract-style cycle keeps its root status, at the value the agent of the phase accepts.
      else if (k === 'status') newCycle[k] = v2Status;
      else newCycle[k] = structuredClone(v);
    }
    if (!('phases' in newCycle)) newCycle.phases = phases;
    if (!('context' in newCycle)) newCycle.context = { peer_mode: 'continue' };
    newCycle.peer_audit = { reopened };
  }

  const changes: KvChange[] = [];
  const values: { key: string; value: unknown }[] = [];
  const add = (
    key: string,
    revisionSeen: number,
    before: Uint8Array | null,
    text: string,
    value: unknown,
    why: string,
  ) => {
    changes.push({
      kind: 'kv',
      key,
      revisionSeen,
      before_b64: before ? b64(before) : null,
      after_b64: b64(enc.encode(text)),
      why: [why],
      rules: [],
      status: 'planned',
    });
    values.push({ key, value });
  };
  const existing = run.keys.find((k) => k.info.key === newKey);
  if (existing && !existing.deleted) throw new ReopenRefused(`${newKey} already exists`);

  const fromRec = run.keys.find((k) => k.info.key === from.key)!;
  const fromBytes = fromRec.latest.value;
  // 1. the new cycle, 2. the old one marked superseded, 3. the pointer last: PEER never points at a missing cycle.
  add(
    newKey,
    existing?.latest.revision ?? 0,
    null,
    formatJson(newCycle, layoutOf(fromBytes)),
    newCycle,
    `cycle ${to} reopens cycle ${from.number} at ${phase}`,
  );

  const superseded: Record<string, unknown> = { ...reopened, superseded_by: to };
  const supersede: JsonOp[] = [{ op: 'set', path: '/superseded_by', value: to }];
  if (from.layout === 'v2') {
    // HEAD instructions/core/peer.md: --continue finds "the last incomplete cycle" by metadata.status (L191-199),
    // refine-spec "the most recent completed cycle" (L159-163).
    superseded.previous_status = from.metadata?.status ?? null;
    supersede.push(
      { op: 'set', path: '/metadata/status', value: V2_SUPERSEDED },
      { op: 'set', path: '/metadata/superseded_by', value: to },
    );
    if ('status' in from.json) {
      superseded.previous_root_status = from.json.status;
      supersede.push({ op: 'set', path: '/status', value: V2_SUPERSEDED });
    }
  } else if (isRecord(from.json.status)) {
    superseded.previous_status = from.json.status.current_phase ?? null;
    supersede.push({ op: 'set', path: '/status/current_phase', value: V1_SUPERSEDED });
  } else if (typeof from.json.status === 'string') {
    superseded.previous_status = from.json.status;
    supersede.push({ op: 'set', path: '/status', value: V1_SUPERSEDED });
  }
  const entry = run.meta?.cycles[String(from.number)];
  if (from.layout === 'v1' && entry) superseded.previous_meta_status = entry.status ?? null;
  supersede.push({ op: 'set', path: '/peer_audit/superseded', value: superseded });
  const oldCycle = applyOps(from.json, supersede);
  add(
    from.key,
    from.revision,
    fromBytes,
    formatJson(oldCycle, layoutOf(fromBytes)),
    oldCycle,
    `cycle ${from.number} is superseded by cycle ${to}`,
  );

  if (from.layout === 'v1') {
    const meta = run.meta!;
    const base = pointerOf('cycles', String(from.number));
    const metaOps: JsonOp[] = [
      { op: 'set', path: '/current_cycle', value: to },
      { op: 'set', path: '/current_phase', value: v1From },
      // No free text in the entry's notes: PEER's finalize marks it complete later, and notes such as "execute
      // never ran" next to "complete" would read as a contradiction. The reason is in the new cycle and the journal.
      {
        op: 'set',
        path: pointerOf('cycles', String(to)),
        value: {
          instruction: from.instruction ?? entry?.instruction,
          status: 'running',
          started_at: o.now,
          reopened_from: from.number,
        },
      },
    ];
    if (entry) {
      // v1 finalize and review write cycles.<n>.status "complete" (L582; peer-review.md L306).
      metaOps.push({ op: 'set', path: `${base}/status`, value: V1_SUPERSEDED });
      metaOps.push({ op: 'set', path: `${base}/superseded_by`, value: to });
    }
    const metaRec = run.keys.find((k) => k.info.key === meta.key)!;
    const newMeta = applyOps(meta.json, metaOps);
    add(
      meta.key,
      meta.revision,
      metaRec.latest.value,
      formatJson(newMeta, layoutOf(metaRec.latest.value)),
      newMeta,
      `meta points at cycle ${to}, current_phase "${v1From}": --continue runs ${phase} next`,
    );
  } else {
    const counterKey = `${from.prefix}.cycle.current`;
    const rec = run.keys.find((k) => k.info.key === counterKey);
    const before = rec && !rec.deleted ? rec.latest.value : null;
    const text = formatCounter(before, to);
    add(counterKey, rec?.latest.revision ?? 0, before, text, text, `cycle.current points at cycle ${to}`);
  }
  return { from, to, phase, changes, values };
}

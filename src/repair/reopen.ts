// Reopen: never rewrite a finished cycle's history. Write cycle N+1 carrying the phases that completed
// before the chosen phase, point the state at it, and mark cycle N superseded, so PEER's own --continue
// resumes at that phase.
import type { Run } from '../model/build.js';
import { PHASES, isRecord, type CycleState, type PhaseName } from '../model/state.js';
import { applyOps, pointerOf, type JsonOp } from './fix.js';
import { b64, type KvChange } from './journal.js';
import { V2_STATUS_FOR_PHASE } from './truth.js';

/** v1 --continue resumes at the phase after meta.current_phase: plan → execute, execute → express, express → review. */
const V1_RESUME_FROM: Record<PhaseName, string> = { plan: 'plan', execute: 'plan', express: 'execute', review: 'express' };

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

export function planReopen(run: Run, o: ReopenOptions): ReopenPlan {
  const live = run.cycles;
  const from =
    o.cycle !== undefined
      ? [...run.cycles, ...run.supersededCycles].find((c) => c.number === o.cycle)
      : live.find((c) => c.number === (run.meta?.currentCycle ?? run.counter?.value)) ?? live[live.length - 1];
  if (!from) throw new ReopenRefused(o.cycle !== undefined ? `cycle ${o.cycle} of ${run.id} does not exist` : `${run.id} has no cycle to reopen`);
  if (from.supersededBy !== undefined) throw new ReopenRefused(`cycle ${from.number} was already reopened as cycle ${from.supersededBy}`);

  const phase = o.phase ?? PHASES.find((p) => from.phases[p].status !== 'completed');
  if (!phase) throw new ReopenRefused(`every phase of cycle ${from.number} completed; name the phase to reopen at with --phase`);

  // Agents may still be writing: refuse a cycle that moved recently.
  const touched = [from.created, run.meta?.created, run.counter?.created].filter((t): t is string => Boolean(t)).map(Date.parse);
  const lastWrite = Math.max(...touched);
  const quietFor = Date.parse(o.now) - lastWrite;
  if (!o.force && quietFor < o.quietForMs) {
    throw new ReopenRefused(`cycle ${from.number} was written ${Math.round(quietFor / 1000)} s ago; it may still be running (wait, or pass --force)`);
  }

  const cycleKeys = run.keys.filter((k) => k.info.kind === 'cycle').map((k) => k.info.cycle ?? 0);
  const highest = Math.max(...cycleKeys, run.counter?.value ?? 0, run.meta?.currentCycle ?? 0);
  const to = highest + 1;
  const newKey = `${from.prefix}.cycle.${to}`;
  const keep = PHASES.slice(0, PHASES.indexOf(phase)).filter((p) => from.phases[p].status === 'completed');
  const reopened = { from: from.number, at: o.now, by: o.actor, reason: o.reason, phase };
  const phases: Record<string, unknown> = {};
  for (const p of PHASES) phases[p] = keep.includes(p) ? structuredClone(from.phases[p].entry) : { status: 'pending' };
  const progress = Math.round((100 * keep.length) / PHASES.length);

  let newCycle: Record<string, unknown>;
  if (from.layout === 'v1') {
    newCycle = {
      cycle_number: to,
      instruction: from.instruction,
      started_at: o.now,
      phases,
      status: { current_phase: 'plan', progress_percent: progress, last_update: o.now },
      reopened_from: from.number,
      peer_audit: { reopened },
    };
  } else {
    const md = { ...(from.metadata ?? {}) };
    delete md.completed_at;
    newCycle = {
      ...structuredClone(from.json),
      cycle_id: newKey,
      metadata: {
        ...md,
        cycle_number: to,
        key_prefix: from.prefix,
        created_at: o.now,
        updated_at: o.now,
        status: V2_STATUS_FOR_PHASE[phase],
        current_phase: phase,
        reopened_from: from.number,
      },
      context: { ...(isRecord(from.json.context) ? from.json.context : {}), peer_mode: 'continue' },
      phases,
      peer_audit: { reopened },
    };
    // What the old cycle concluded does not belong to the new one.
    for (const k of ['cycle_summary', 'result', 'insights', 'status', 'completed_at', 'superseded_by']) delete newCycle[k];
    newCycle.peer_audit = { reopened };
  }

  const changes: KvChange[] = [];
  const values: { key: string; value: unknown }[] = [];
  const add = (key: string, revisionSeen: number, before: Uint8Array | null, value: unknown, why: string) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    changes.push({ kind: 'kv', key, revisionSeen, before_b64: before ? b64(before) : null, after_b64: b64(enc.encode(text)), why: [why], rules: [], status: 'planned' });
    values.push({ key, value });
  };
  const existing = run.keys.find((k) => k.info.key === newKey);
  if (existing && !existing.deleted) throw new ReopenRefused(`${newKey} already exists`);

  // 1. the new cycle, 2. the old one marked superseded, 3. the pointer last: PEER never points at a missing cycle.
  add(newKey, existing?.latest.revision ?? 0, null, newCycle, `cycle ${to} reopens cycle ${from.number} at ${phase}`);

  const supersede: JsonOp[] = [
    { op: 'set', path: '/superseded_by', value: to },
    { op: 'set', path: '/peer_audit/superseded', value: { ...reopened, superseded_by: to } },
  ];
  if (from.layout === 'v2') supersede.push({ op: 'set', path: '/metadata/superseded_by', value: to });
  const fromRec = run.keys.find((k) => k.info.key === from.key)!;
  add(from.key, from.revision, fromRec.latest.value, applyOps(from.json, supersede), `cycle ${from.number} is superseded by cycle ${to}`);

  if (from.layout === 'v1') {
    if (!run.meta) throw new ReopenRefused(`${run.id} has no meta key to point at the new cycle`);
    const base = pointerOf('cycles', String(from.number));
    const entry = run.meta.cycles[String(from.number)];
    const metaOps: JsonOp[] = [
      { op: 'set', path: '/current_cycle', value: to },
      { op: 'set', path: '/current_phase', value: V1_RESUME_FROM[phase] },
      {
        op: 'set',
        path: pointerOf('cycles', String(to)),
        value: { instruction: from.instruction ?? entry?.instruction, status: 'running', started_at: o.now, reopened_from: from.number, notes: `reopened by peer-audit at ${phase}: ${o.reason}` },
      },
    ];
    if (entry) {
      metaOps.push({ op: 'set', path: `${base}/status`, value: 'superseded' });
      metaOps.push({ op: 'set', path: `${base}/superseded_by`, value: to });
    }
    const metaRec = run.keys.find((k) => k.info.key === run.meta!.key)!;
    add(run.meta.key, run.meta.revision, metaRec.latest.value, applyOps(run.meta.json, metaOps), `meta points at cycle ${to}, resuming at ${phase}`);
  } else {
    const counterKey = `${from.prefix}.cycle.current`;
    const rec = run.keys.find((k) => k.info.key === counterKey);
    const before = rec && !rec.deleted ? rec.latest.value : null;
    add(counterKey, rec?.latest.revision ?? 0, before, String(to), `cycle.current points at cycle ${to}`);
  }
  return { from, to, phase, changes, values };
}

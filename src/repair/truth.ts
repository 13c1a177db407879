// The fix shared by false-success and missing-execute-phase: make the state say what really happened.
import type { Run } from '../model/build.js';
import { isCompletionWord, isRecord, PHASES, type CycleState, type PhaseName } from '../model/state.js';
import type { Fix, JsonOp } from './fix.js';
import { pointerOf } from './fix.js';

export const V2_STATUS_FOR_PHASE: Record<PhaseName, string> = {
  plan: 'PLANNING',
  execute: 'EXECUTING',
  express: 'EXPRESSING',
  review: 'REVIEWING',
};

export function firstIncomplete(cycle: CycleState): PhaseName | undefined {
  return PHASES.find((p) => cycle.phases[p].status !== 'completed');
}

export function progressOf(cycle: CycleState): number {
  return Math.round((100 * PHASES.filter((p) => cycle.phases[p].status === 'completed').length) / PHASES.length);
}

/**
 * Fixes that take back a cycle's claim of completion: current phase and status at the first incomplete
 * phase, progress from the phases that really completed, completion times removed, a note in the meta.
 */
export function cycleTruthFixes(run: Run, cycle: CycleState): Fix[] {
  const first = firstIncomplete(cycle);
  // The multi-key draft keeps each field in a key of its own: no single value to correct.
  if (!first || cycle.layout === 'multi-key') return [];
  const progress = progressOf(cycle);
  const why = `cycle ${cycle.number} claims completion but ${first} never completed`;
  const json = cycle.json;
  const ops: JsonOp[] = [];
  if (cycle.layout === 'v1') {
    if (isRecord(json.status)) {
      ops.push({ op: 'set', path: '/status/current_phase', value: first });
      ops.push({ op: 'set', path: '/status/progress_percent', value: progress });
    } else if (typeof json.status === 'string') {
      ops.push({ op: 'set', path: '/status', value: first });
    }
    if (json.completed_at !== undefined) ops.push({ op: 'remove', path: '/completed_at' });
    if (isRecord(json.result) && json.result.success === true) ops.push({ op: 'set', path: '/result/success', value: false });
  } else {
    const md = cycle.metadata ?? {};
    ops.push({ op: 'set', path: '/metadata/status', value: V2_STATUS_FOR_PHASE[first] });
    ops.push({ op: 'set', path: '/metadata/current_phase', value: first });
    if (md.completed_at !== undefined) ops.push({ op: 'remove', path: '/metadata/completed_at' });
    if (isCompletionWord(json.status)) ops.push({ op: 'remove', path: '/status' });
    if (json.completed_at !== undefined) ops.push({ op: 'remove', path: '/completed_at' });
    for (const section of ['cycle_summary', 'result']) {
      const s = json[section];
      if (!isRecord(s)) continue;
      if (s.success === true) ops.push({ op: 'set', path: `/${section}/success`, value: false });
      if (typeof s.completion === 'number' && s.completion !== progress) ops.push({ op: 'set', path: `/${section}/completion`, value: progress });
    }
  }
  const fixes: Fix[] = [{ kind: 'kv-json', key: cycle.key, revision: cycle.revision, ops, why }];

  const meta = run.meta;
  if (meta && cycle.layout === 'v1') {
    const mops: JsonOp[] = [];
    if (meta.currentCycle === cycle.number && isCompletionWord(meta.currentPhase)) mops.push({ op: 'set', path: '/current_phase', value: first });
    const entry = meta.cycles[String(cycle.number)];
    if (entry) {
      const base = pointerOf('cycles', String(cycle.number));
      if (isCompletionWord(entry.status)) mops.push({ op: 'set', path: `${base}/status`, value: 'incomplete' });
      if (entry.completedAt !== undefined) mops.push({ op: 'remove', path: `${base}/completed_at` });
      const note = `peer-audit: not complete, ${first} never completed`;
      if (mops.length > 0 && !(entry.notes ?? '').includes(note)) {
        mops.push({ op: 'set', path: `${base}/notes`, value: entry.notes ? `${entry.notes} | ${note}` : note });
      }
    }
    if (mops.length > 0) fixes.push({ kind: 'kv-json', key: meta.key, revision: meta.revision, ops: mops, why });
  }
  return fixes;
}

/** The repairs peer-audit recorded in a value (its `peer_audit.repairs`), newest last. */
export function recordedRepairs(json: unknown): { at?: string; reason?: string; rules?: string[] }[] {
  if (!isRecord(json) || !isRecord(json.peer_audit) || !Array.isArray(json.peer_audit.repairs)) return [];
  return json.peer_audit.repairs.filter(isRecord) as { at?: string; reason?: string; rules?: string[] }[];
}

/** A repair that acknowledged this rule on this cycle, if any: the finding is then known, not new. */
export function acknowledgement(cycle: CycleState, ruleId: string): { at?: string; reason?: string } | undefined {
  return recordedRepairs(cycle.json)
    .reverse()
    .find((r) => Array.isArray(r.rules) && r.rules.includes(ruleId));
}

/** The sentence a rule adds when a repair already recorded its finding: known, not new. */
export function knownNote(ack: { at?: string; reason?: string } | undefined, lead = 'recorded by peer-audit repair', tail = '.'): string {
  if (!ack) return '';
  return ` Known: ${lead}${ack.at ? ` at ${ack.at}` : ''}${ack.reason ? ` (${ack.reason})` : ''}${tail}`;
}

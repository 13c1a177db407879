// Repairs peer-audit recorded inside a value (`peer_audit.repairs`): a finding a repair already recorded is known,
// not new.
import { isRecord, type CycleState } from './state.js';

export interface RecordedRepair {
  at?: string;
  reason?: string;
  rules?: string[];
  /** The value at each pointer the repair changed, before it. */
  previous?: Record<string, unknown>;
}

/** The repairs peer-audit recorded in a value (its `peer_audit.repairs`), newest last. */
export function recordedRepairs(json: unknown): RecordedRepair[] {
  if (!isRecord(json) || !isRecord(json.peer_audit) || !Array.isArray(json.peer_audit.repairs)) return [];
  return json.peer_audit.repairs.filter(isRecord) as RecordedRepair[];
}

/** A repair that acknowledged this rule on this cycle, if any: the finding is then known, not new. */
export function acknowledgement(cycle: CycleState, ruleId: string): RecordedRepair | undefined {
  return recordedRepairs(cycle.json)
    .reverse()
    .find((r) => Array.isArray(r.rules) && r.rules.includes(ruleId));
}

/** The sentence a rule adds when a repair already recorded its finding: known, not new. */
export function knownNote(
  ack: { at?: string; reason?: string } | undefined,
  lead = 'recorded by peer-audit repair',
  tail = '.',
): string {
  if (!ack) return '';
  return ` Known: ${lead}${ack.at ? ` at ${ack.at}` : ''}${ack.reason ? ` (${ack.reason})` : ''}${tail}`;
}

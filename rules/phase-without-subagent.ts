import { defineRule } from '../src/engine/rule.js';
import { cyclesForSession, type Run } from '../src/model/build.js';
import { cut, firstLine, logLocation, peerSpawns, spawnPhase } from '../src/model/log-facts.js';
import { isPeerSession } from '../src/model/peer-sessions.js';
import {
  brief,
  isRecord,
  normaliseStatus,
  PHASE_AGENT,
  PHASES,
  type CycleState,
  type HistoryItem,
  type PhaseName,
} from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import { msOf } from '../src/model/transcript-facts.js';
import type { Evidence, LogSession, Spawn } from '../src/model/types.js';

/** KV server time and transcript times come from different clocks: this much either way is the same moment. */
const SLACK_MS = 60_000;

export default defineRule({
  meta: {
    id: 'phase-without-subagent',
    severity: 'warning',
    summary:
      'A phase is marked completed in the state, but the transcripts that cover that moment never spawned its ' +
      'agent (quiet when no transcript covers it).',
    sources: ['kv', 'logs'],
    fixable: false,
    title: 'A phase was marked done with no agent behind it',
    causedBy: [{ rule: 'missing-execute-phase', when: 'same-cycle' }],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      if (run.sessions.length === 0) continue;
      for (const cycle of run.cycles) {
        // The draft's multi-key layout keeps each phase in keys of its own; its history is not the cycle key's.
        if (cycle.layout === 'multi-key') continue;
        const sessions = run.sessions.filter(
          (s) => isPeerSession(s, bucket) && cyclesForSession(run, s).includes(cycle),
        );
        if (sessions.length === 0) continue;
        for (const phase of PHASES) {
          if (cycle.phases[phase].status !== 'completed') continue;
          const marked = firstCompleted(cycle, phase);
          const at = marked ? msOf(marked.created) : undefined;
          if (!marked || at === undefined) continue;
          const covering = sessions.filter((s) => covers(s, at));
          if (covering.length === 0) continue;
          // A transcript with no times may hold the agent: it cannot be placed, so it cannot be ruled out.
          if (sessions.some((s) => !s.firstTimestamp && peerSpawns(s).some((sp) => spawnPhase(sp) === phase))) continue;
          // No lower bound: a KV server whose clock runs ahead of the transcripts' must not hide an agent that ran.
          const agent = sessions
            .flatMap(peerSpawns)
            .find((sp) => spawnPhase(sp) === phase && spawnedBy(sp, at + SLACK_MS));
          if (agent) continue;
          report(finding(run, cycle, phase, marked, covering, bucket));
        }
      }
    }
  },
});

/** The revision that first shows the phase completed (after the last one that showed it otherwise). */
function firstCompleted(cycle: CycleState, phase: PhaseName): HistoryItem | undefined {
  let first: HistoryItem | undefined;
  for (const h of cycle.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json)) continue;
    const phases = h.decoded.json.phases;
    const entry = isRecord(phases) ? phases[phase] : undefined;
    const done = isRecord(entry) && normaliseStatus(entry.status) === 'completed';
    if (!done) first = undefined;
    else first ??= h;
  }
  return first;
}

function covers(s: LogSession, at: number): boolean {
  const from = msOf(s.firstTimestamp);
  const to = msOf(s.lastTimestamp);
  return from !== undefined && to !== undefined && from - SLACK_MS <= at && at <= to + SLACK_MS;
}

function spawnedBy(sp: Spawn, to: number): boolean {
  const t = msOf(sp.ref.timestamp);
  // A spawn with no time of its own in a session that covers the moment: taken to be the agent.
  return t === undefined || t <= to;
}

function finding(
  run: Run,
  cycle: CycleState,
  phase: PhaseName,
  marked: HistoryItem,
  covering: LogSession[],
  bucket: string,
) {
  const agent = PHASE_AGENT[phase];
  const entry = isRecord(marked.decoded?.ok ? marked.decoded.json : undefined)
    ? (marked.decoded as { json: Record<string, unknown> }).json.phases
    : undefined;
  const phaseEntry = isRecord(entry) ? entry[phase] : undefined;
  const evidence: Evidence[] = [
    {
      location: { kind: 'kv', bucket, key: cycle.key, revision: marked.revision, pointer: `/phases/${phase}` },
      excerpt: `"${phase}": ${brief(phaseEntry)}`,
      note: `${phase} marked completed at ${marked.created}`,
    },
  ];
  for (const s of covering) {
    const first = s.events[0];
    const spawns = peerSpawns(s);
    if (first) {
      evidence.push({
        location: logLocation(first.ref),
        excerpt: `session ${s.sessionId}: ${s.firstTimestamp} – ${s.lastTimestamp}`,
        note:
          `this transcript covers that moment and spawns ` +
          (spawns.length ? [...new Set(spawns.map((sp) => sp.subagentType))].join(', ') : 'no PEER agent') +
          `, never ${agent}`,
      });
    }
    for (const sp of spawns.slice(0, 4)) {
      evidence.push({
        location: logLocation(sp.ref),
        excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
        note: `${sp.subagentType} spawned`,
      });
    }
  }
  return {
    message:
      `Cycle ${cycle.number}'s ${phase} phase is marked completed (revision ${marked.revision}, ${marked.created}), ` +
      `but the transcript covering that moment never spawned ${agent}.`,
    subject: runSubject(run, cycle.number),
    evidence,
    target: `${cycle.key}#${phase}`,
  };
}

import { acknowledgement, knownNote } from '../src/model/acknowledged.js';
import { defineRule } from '../src/engine/rule.js';
import { cyclesForSession, type Run } from '../src/model/build.js';
import { cut, firstLine, logLocation, peerSpawns, spawnPhase } from '../src/model/log-facts.js';
import {
  brief,
  isRecord,
  normaliseStatus,
  PHASE_AGENT,
  PHASES,
  type CycleState,
  type PhaseName,
  type PhaseStatus,
} from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, KvLocation, LogRef, LogSession, Spawn, Subject } from '../src/model/types.js';

/**
 * A phase that has begun its work. `failed` is left out: an agent that refuses to run for want of its predecessor
 * writes an error.
 */
const STARTED = new Set<PhaseStatus>(['running', 'completed']);
/**
 * What an earlier phase can be while a later one must not have started. `unknown` (a word we cannot read) is not
 * judged.
 */
const NOT_DONE = new Set<PhaseStatus>(['absent', 'pending', 'failed', 'cancelled', 'running']);

/** The rules whose repair resets a cycle to resume at the phase that never completed. */
const RESUME_RULES = ['missing-execute-phase', 'false-success', 'recorded-failure'];

interface Ahead {
  later: PhaseName;
  earlier: PhaseName;
  earlierState: string;
}

export default defineRule({
  meta: {
    id: 'phase-order-violation',
    severity: 'error',
    summary:
      'A phase started or completed before the phase it depends on (plan → execute → express → review) had completed.',
    sources: ['kv', 'logs'],
    fixable: false,
    title: 'Phases ran out of order',
    causedBy: [{ rule: 'missing-execute-phase', when: 'same-cycle' }],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    // A session judged with a cycle's state is not judged again on its own, nor twice under two runs.
    const judged = new Set(
      model.runs.filter((r) => r.cycles.length > 0).flatMap((r) => r.sessions.map((s) => s.sessionId)),
    );
    for (const run of model.runs) {
      const cycleOf = spawnSegmentsByCycle(run);
      for (const cycle of run.cycles) {
        const at = (pointer: string, revision = cycle.revision): KvLocation => ({
          kind: 'kv',
          bucket,
          key: cycle.key,
          revision,
          pointer,
        });
        const evidence: Evidence[] = [];
        const parts: string[] = [];

        // 1. Phase status in the latest value.
        const ahead = phasesAhead(cycle.phases);
        if (ahead.length > 0) {
          const earlier = unique(ahead.map((a) => a.earlier));
          for (const q of earlier) {
            const ph = cycle.phases[q];
            const present = Object.keys(isRecord(cycle.json.phases) ? cycle.json.phases : {});
            evidence.push({
              location: ph.at?.location ?? at(`/phases/${q}`),
              excerpt:
                ph.at?.excerpt ??
                (ph.status === 'absent'
                  ? `"phases" has no "${q}" entry (it has: ${present.join(', ') || 'nothing'})`
                  : `"${q}": ${brief(statusView(ph))}`),
              note: `${q} is ${stateWord(cycle, q)}`,
            });
          }
          for (const p of unique(ahead.map((a) => a.later))) {
            const before = unique(ahead.filter((a) => a.later === p).map((a) => a.earlier));
            evidence.push({
              location: cycle.phases[p].at?.location ?? at(`/phases/${p}`),
              excerpt: cycle.phases[p].at?.excerpt ?? `"${p}": ${brief(statusView(cycle.phases[p]))}`,
              note:
                `${p} is ${cycle.phases[p].raw ?? cycle.phases[p].status} although ${list(before)} had not ` +
                'completed',
            });
          }
          for (const q of earlier) {
            const later = unique(ahead.filter((a) => a.earlier === q).map((a) => a.later));
            parts.push(`${list(later)} ran before ${q} completed (${q} is ${stateWord(cycle, q)})`);
          }
        }

        // 2. The revision history: the first write that put a later phase ahead of an earlier one.
        const first = firstRevisionAhead(cycle);
        if (first && (first.revision !== cycle.revision || ahead.length === 0)) {
          const a = first.ahead[0];
          evidence.push({
            location: at(`/phases/${a.later}`, first.revision),
            excerpt: `"${a.later}": ${brief(first.laterEntry)}`,
            note:
              `revision ${first.revision} is the first with ${a.later} ahead of ${a.earlier} ` +
              `(${a.earlier} ${a.earlierState === 'absent' ? 'absent' : `was ${a.earlierState}`})`,
          });
          const now =
            cycle.phases[a.earlier].status === 'completed'
              ? `; ${a.earlier} completed only later`
              : `; ${a.later} is ${cycle.phases[a.later].raw ?? cycle.phases[a.later].status} now`;
          const healed = ahead.length === 0 ? now : '';
          parts.push(
            `revision ${first.revision} already had ${a.later} ${statusWord(first.laterEntry)} ` +
              `while ${a.earlier} was ${a.earlierState}${healed}`,
          );
        }

        // 3. Timestamps: a phase that started or completed before the completion time of a phase it depends on.
        for (const t of timeViolations(cycle)) {
          evidence.push({
            location: at(`/phases/${t.later}/${t.field}`),
            excerpt: `"${t.field}": ${brief(t.laterTime)}`,
            note: `${t.later} ${t.field === 'started_at' ? 'started' : 'completed'} before ${t.earlier} completed`,
          });
          evidence.push({
            location: at(`/phases/${t.earlier}/completed_at`),
            excerpt: `"completed_at": ${brief(t.earlierTime)}`,
            note: `${t.earlier} completed at this time`,
          });
          parts.push(
            `${t.later} ${t.field === 'started_at' ? 'started' : 'completed'} at ${t.laterTime}, ` +
              `before ${t.earlier} completed at ${t.earlierTime}`,
          );
        }

        // 4. The transcript: a peer-* subagent spawned before the subagent of the phase it depends on.
        const vs = (cycleOf.get(cycle) ?? []).flatMap((seg) => spawnViolations(seg, cycle));
        evidence.push(...vs.flatMap(violationEvidence));
        parts.push(...transcriptSentences(vs));

        if (evidence.length === 0) continue;
        // After a repair recorded that a phase never completed (and reset the phases after it), the order is a known
        // fact of history.
        const ack = RESUME_RULES.map((r) => acknowledgement(cycle, r)).find((x) => x !== undefined);
        const known = knownNote(ack);
        report({
          message: `Cycle ${cycle.number} ran its phases out of order: ${parts.join('; ')}.${known}`,
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
          severity: ack ? 'info' : undefined,
        });
      }

      // Transcripts of a run with no cycle state: only a session that starts a cycle (spawns the planner) can be judged
      // alone.
      if (run.cycles.length === 0) {
        for (const s of dedupeSessions(run.sessions)) {
          if (judged.has(s.sessionId)) continue;
          judged.add(s.sessionId);
          for (const seg of segments(s)) reportSegment(seg, runSubject(run));
        }
      }
    }
    for (const s of dedupeSessions(model.unattachedSessions)) {
      if (judged.has(s.sessionId)) continue;
      judged.add(s.sessionId);
      for (const seg of segments(s)) reportSegment(seg, {});
    }

    function reportSegment(seg: Segment, subject: Subject) {
      const vs = spawnViolations(seg, undefined);
      if (vs.length === 0) return;
      report({
        message: `The run spawned its PEER subagents out of order: ${transcriptSentences(vs).join('; ')}.`,
        subject: { ...subject, session: seg.session.sessionId },
        evidence: vs.flatMap(violationEvidence),
        target: `${seg.session.mainFile}#${seg.session.sessionId}#${seg.index}`,
      });
    }
  },
});

// ---------------------------------------------------------------- state

type PhaseView = { status: PhaseStatus; raw?: string };

/** Every (later, earlier) pair where the later phase started while the earlier one had not completed. */
function phasesAhead(phases: Record<PhaseName, PhaseView>): Ahead[] {
  const out: Ahead[] = [];
  PHASES.forEach((p, i) => {
    if (i === 0 || !STARTED.has(phases[p].status)) return;
    for (const q of PHASES.slice(0, i)) {
      const s = phases[q].status;
      if (NOT_DONE.has(s))
        out.push({ later: p, earlier: q, earlierState: s === 'absent' ? 'absent' : (phases[q].raw ?? s) });
    }
  });
  return out;
}

function firstRevisionAhead(cycle: CycleState): { revision: number; ahead: Ahead[]; laterEntry: unknown } | undefined {
  for (const h of cycle.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json)) continue;
    const phases = h.decoded.json.phases;
    if (!isRecord(phases)) continue;
    const view = Object.fromEntries(
      PHASES.map((p) => {
        const e = phases[p];
        return [
          p,
          {
            status: isRecord(e) ? normaliseStatus(e.status) : e === undefined || e === null ? 'absent' : 'unknown',
            raw: isRecord(e) && typeof e.status === 'string' ? e.status : undefined,
          },
        ];
      }),
    ) as Record<PhaseName, PhaseView>;
    const ahead = phasesAhead(view);
    if (ahead.length > 0) {
      const e = phases[ahead[0].later];
      return { revision: h.revision, ahead, laterEntry: isRecord(e) ? pick(e) : e };
    }
  }
  return undefined;
}

function timeViolations(cycle: CycleState) {
  const out: {
    later: PhaseName;
    earlier: PhaseName;
    field: 'started_at' | 'completed_at';
    laterTime: string;
    earlierTime: string;
  }[] = [];
  PHASES.forEach((p, i) => {
    if (i === 0) return;
    const ph = cycle.phases[p];
    // The latest completion among the phases this one depends on.
    let dep: { phase: PhaseName; time: string; ms: number } | undefined;
    for (const q of PHASES.slice(0, i)) {
      const c = cycle.phases[q].completedAt;
      const ms = c ? Date.parse(c) : NaN;
      if (Number.isFinite(ms) && (!dep || ms > dep.ms)) dep = { phase: q, time: c!, ms };
    }
    if (!dep) return;
    for (const [field, time] of [
      ['started_at', ph.startedAt],
      ['completed_at', ph.completedAt],
    ] as const) {
      const ms = time ? Date.parse(time) : NaN;
      if (Number.isFinite(ms) && ms < dep.ms) {
        out.push({ later: p, earlier: dep.phase, field, laterTime: time!, earlierTime: dep.time });
        return;
      }
    }
  });
  return out;
}

/** The status and times of a phase entry, for excerpts (outputs are long and beside the point). */
function statusView(ph: { entry?: unknown }): unknown {
  if (!isRecord(ph.entry)) return ph.entry;
  return pick(ph.entry);
}

function pick(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['status', 'started_at', 'completed_at']) if (e[k] !== undefined) out[k] = e[k];
  return out;
}

function statusWord(entry: unknown): string {
  return isRecord(entry) && typeof entry.status === 'string' ? entry.status : 'written';
}

function stateWord(cycle: CycleState, q: PhaseName): string {
  const ph = cycle.phases[q];
  return ph.status === 'absent' ? 'absent' : (ph.raw ?? ph.status);
}

// ---------------------------------------------------------------- transcripts

interface Segment {
  session: LogSession;
  index: number;
  spawns: Spawn[];
  /** The segment begins with a planner spawn: a fresh cycle, so every phase must be spawned within it. */
  fresh: boolean;
}

/** Splits a session's peer-* spawns into cycles: a planner spawned after a later phase starts a new one. */
function segments(s: LogSession): Segment[] {
  const out: Segment[] = [];
  let cur: Segment | undefined;
  for (const sp of peerSpawns(s)) {
    const phase = spawnPhase(sp);
    if (!cur || (phase === 'plan' && cur.spawns.some((x) => spawnPhase(x) !== 'plan'))) {
      cur = { session: s, index: out.length, spawns: [], fresh: phase === 'plan' };
      out.push(cur);
    }
    cur.spawns.push(sp);
  }
  return out;
}

/** A session and its stream-json capture share one id: read its events once. */
function dedupeSessions(sessions: LogSession[]): LogSession[] {
  const byId = new Map<string, LogSession>();
  for (const s of sessions) {
    const had = byId.get(s.sessionId);
    if (!had || (had.format !== 'transcript' && s.format === 'transcript')) byId.set(s.sessionId, s);
  }
  return [...byId.values()];
}

/** The spawn segments of a run's sessions, by the cycle they most likely belong to. */
function spawnSegmentsByCycle(run: Run): Map<CycleState, Segment[]> {
  const out = new Map<CycleState, Segment[]>();
  if (run.cycles.length === 0) return out;
  for (const s of dedupeSessions(run.sessions)) {
    const candidates = cyclesForSession(run, s);
    for (const seg of segments(s)) {
      const c = cycleForSegment(seg, candidates);
      out.set(c, [...(out.get(c) ?? []), seg]);
    }
  }
  return out;
}

/** The newest cycle whose first revision was written before the segment's first spawn (a minute's slack). */
function cycleForSegment(seg: Segment, candidates: CycleState[]): CycleState {
  const t = Date.parse(seg.spawns[0].ref.timestamp ?? '');
  if (!Number.isFinite(t) || candidates.length === 1) return candidates[0];
  let best = candidates[0];
  for (const c of candidates) {
    const born = Math.min(...c.history.map((h) => Date.parse(h.created)).filter(Number.isFinite));
    if (Number.isFinite(born) && born <= t + 60_000) best = c;
  }
  return best;
}

interface SpawnViolation {
  spawn: Spawn;
  missing: PhaseName;
  /** The spawn of the missing phase that had not returned yet, if any. */
  pending?: Spawn;
}

function spawnViolations(seg: Segment, cycle: CycleState | undefined): SpawnViolation[] {
  const out: SpawnViolation[] = [];
  seg.spawns.forEach((sp, i) => {
    const phase = spawnPhase(sp);
    if (!phase) return;
    const idx = PHASES.indexOf(phase);
    if (idx === 0) return;
    const before = seg.spawns.slice(0, i);
    for (const q of PHASES.slice(0, idx)) {
      const prior = before.filter((x) => spawnPhase(x) === q);
      const returned = prior.find((x) => x.result && refBefore(x.result.ref, sp.ref) !== false);
      if (returned) continue;
      // A session that resumes a cycle may rely on a phase an earlier session completed: the state says so.
      if (cycle && completedInStateBy(cycle, q, sp.ref.timestamp)) continue;
      if (!cycle && !seg.fresh) continue;
      out.push({ spawn: sp, missing: q, ...(prior.length > 0 ? { pending: prior[prior.length - 1] } : {}) });
      return; // the nearest missing dependency is enough for this spawn
    }
  });
  return out;
}

/** True when a revision written before `time` shows the phase completed. Without a time, any revision counts. */
function completedInStateBy(cycle: CycleState, phase: PhaseName, time: string | undefined): boolean {
  const t = time ? Date.parse(time) : NaN;
  for (const h of cycle.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json) || !isRecord(h.decoded.json.phases))
      continue;
    if (Number.isFinite(t) && Date.parse(h.created) > t) break;
    const e = h.decoded.json.phases[phase];
    if (isRecord(e) && normaliseStatus(e.status) === 'completed') return true;
  }
  return false;
}

/** Whether `a` comes before `b`: by line in the same file, else by time; undefined when it cannot be told. */
function refBefore(a: LogRef, b: LogRef): boolean | undefined {
  if (a.path === b.path) return a.line < b.line;
  const ta = Date.parse(a.timestamp ?? '');
  const tb = Date.parse(b.timestamp ?? '');
  return Number.isFinite(ta) && Number.isFinite(tb) ? ta <= tb : undefined;
}

function violationEvidence(v: SpawnViolation): Evidence[] {
  const agent = PHASE_AGENT[v.missing];
  if (!v.pending) return [spawnEvidence(v.spawn, `${v.spawn.subagentType} spawned with no ${agent} spawn before it`)];
  return [
    spawnEvidence(v.spawn, `${v.spawn.subagentType} spawned before ${agent} (line ${v.pending.ref.line}) returned`),
    spawnEvidence(v.pending, `${agent} spawned here${v.pending.result ? ', returned only later' : ', never returned'}`),
  ];
}

/** One sentence per missing agent and kind, naming the spawns and their lines. */
function transcriptSentences(vs: SpawnViolation[]): string[] {
  const groups = new Map<string, SpawnViolation[]>();
  for (const v of vs) {
    const k = `${v.missing}|${v.pending ? 'pending' : 'none'}|${v.spawn.ref.path}`;
    groups.set(k, [...(groups.get(k) ?? []), v]);
  }
  return [...groups.values()].map((g) => {
    const agent = PHASE_AGENT[g[0].missing];
    const spawned = list(g.map((v) => `${v.spawn.subagentType} (line ${v.spawn.ref.line})`));
    const file = g[0].spawn.ref.path;
    return g[0].pending
      ? `${file} spawns ${spawned} before ${agent} returned`
      : `${file} spawns ${spawned} with no ${agent} spawn before ${g.length > 1 ? 'them' : 'it'}`;
  });
}

function spawnEvidence(sp: Spawn, note: string): Evidence {
  return {
    location: logLocation(sp.ref),
    excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
    note,
  };
}

// ---------------------------------------------------------------- text

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function list(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

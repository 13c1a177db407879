import { defineRule } from '../src/engine/rule.js';
import { cyclesForSession } from '../src/model/build.js';
import {
  cut,
  laterSucceeded,
  logLocation,
  peerSpawns,
  spawnPhase,
  stateOps,
  successClaims,
  firstLine,
} from '../src/model/log-facts.js';
import { brief, metaStatements, PHASE_AGENT, PHASES } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import { acknowledgement, knownNote } from '../src/model/acknowledged.js';
import { refusedNote, resumeFixes } from '../src/model/resume-fixes.js';
import type { Evidence, LogSession, Spawn } from '../src/model/types.js';

export default defineRule({
  meta: {
    id: 'false-success',
    severity: 'error',
    summary: 'Something claims success (state, finalize output, final message) that the evidence contradicts.',
    sources: ['kv', 'logs'],
    fixable: true,
    title: 'Success was claimed for work that was not done',
    causedBy: [
      { rule: 'missing-execute-phase', when: 'same-cycle' },
      { rule: 'kv-read-failure', when: 'shared-evidence' },
    ],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const usedSessions = new Set<LogSession>();
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const meta = run.meta
          ? metaStatements(bucket, run.meta, cycle.number)
          : { claims: [], signals: [], outcomes: [] };
        const claims = [...cycle.claims, ...meta.claims];
        if (claims.length === 0) continue; // still running: not a claim of success
        // A cycle that records its own unsuccessful outcome (success false, a user cancel) is honest about it:
        // unsuccessful-cycle reports it. Only a `success: true` next to such a record is contradicted by it.
        const outcomes = [...cycle.outcomes, ...meta.outcomes];
        const saysSuccess = claims.some((c) => c.kind === 'success');
        const honest = outcomes.length > 0 && !saysSuccess;

        const contra: Evidence[] = [];
        const reasons: string[] = [];
        for (const p of PHASES) {
          const ph = cycle.phases[p];
          if (ph.status === 'completed' || (ph.status === 'cancelled' && !saysSuccess)) continue;
          contra.push({
            location: ph.at?.location ?? {
              kind: 'kv',
              bucket,
              key: cycle.key,
              revision: cycle.revision,
              pointer: `/phases/${p}`,
            },
            excerpt:
              ph.at?.excerpt ?? (ph.status === 'absent' ? `no "${p}" entry in "phases"` : `"${p}": ${brief(ph.entry)}`),
            note: `${p} is ${ph.status === 'absent' ? 'missing' : (ph.raw ?? ph.status)}`,
          });
          reasons.push(`${p} is ${ph.status === 'absent' ? 'missing' : (ph.raw ?? ph.status)}`);
        }
        for (const sig of [...cycle.signals, ...meta.signals]) {
          if (sig.kind === 'quality' && honest) continue;
          contra.push({ location: sig.location, excerpt: sig.excerpt, note: sig.what });
          reasons.push(sig.what);
        }
        if (saysSuccess) {
          for (const o of outcomes) {
            contra.push({ location: o.location, excerpt: o.excerpt, note: o.what });
            reasons.push(o.what);
          }
        }
        if (contra.length === 0) continue;

        const evidence: Evidence[] = claims.map((c) => ({
          location: c.location,
          excerpt: c.excerpt,
          note: 'claims the cycle is finished',
        }));
        evidence.push(...contra);
        for (const s of run.sessions.filter((x) => cyclesForSession(run, x).includes(cycle))) {
          const t = transcriptContradiction(s);
          if (!t) continue;
          usedSessions.add(s);
          evidence.push(...t.evidence);
        }
        const resume = resumeFixes(cycle, run.meta);
        report({
          message:
            `Cycle ${cycle.number} is marked complete ` +
            `(${listSome(unique(claims.map((c) => c.excerpt)), 2)}) ` +
            `but ${listSome(unique(reasons), 3, '; ')}.${refusedNote(resume.refused)}`,
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
          fix: resume.fixes,
          unfixable: resume.refused,
        });
      }
    }

    // Transcripts whose claims no standing cycle claim carries: judge the transcript on its own.
    for (const run of model.runs) {
      for (const s of run.sessions) {
        if (usedSessions.has(s)) continue;
        const cycles = cyclesForSession(run, s);
        // A cycle a repair already corrected: the transcript's false claim is known, not new.
        const acks = cycles
          .map(
            (c) =>
              acknowledgement(c, 'false-success') ??
              (c.supersededBy !== undefined
                ? { reason: `cycle ${c.number} was reopened as cycle ${c.supersededBy}` }
                : undefined),
          )
          .filter((a) => a !== undefined);
        reportSession(s, runSubject(run, cycles.length === 1 ? cycles[0].number : undefined), acks[0]);
      }
    }
    for (const s of model.unattachedSessions) reportSession(s, { session: s.sessionId });

    function reportSession(
      s: LogSession,
      subject: ReturnType<typeof runSubject>,
      ack?: { at?: string; reason?: string },
    ) {
      const t = transcriptContradiction(s);
      if (!t) return;
      usedSessions.add(s);
      const known = knownNote(ack, 'the state was corrected by peer-audit repair');
      report({
        message: `The run claims success (${t.claim}) after ${t.reasons.join('; ')}.${known}`,
        subject: { ...subject, session: s.sessionId },
        evidence: t.evidence,
        target: `${s.mainFile}#${s.sessionId}`,
        severity: ack ? 'info' : undefined,
      });
    }
  },
});

/** A success claim in the transcript that follows a failed state operation or a skipped phase. */
function transcriptContradiction(
  s: LogSession,
): { evidence: Evidence[]; reasons: string[]; claim: string } | undefined {
  const claims = successClaims(s);
  if (claims.length === 0) return undefined;
  const lastClaim = claims[claims.length - 1];
  const claimIdx = s.events.indexOf(lastClaim.event);
  const evidence: Evidence[] = [];
  const reasons: string[] = [];

  for (const op of stateOps(s)) {
    if (!op.failed || s.events.indexOf(op.call) > claimIdx) continue;
    if (laterSucceeded(s, op.call)) continue;
    const ref = op.call.result?.ref ?? op.call.ref;
    evidence.push({
      location: logLocation(ref),
      excerpt: cut(firstFailureLine(op.call.result?.text ?? ''), 160),
      note: `state ${op.kind} failed${op.key ? ` (${op.key})` : ''} and was never retried`,
    });
    reasons.push(`a state ${op.kind} failed (line ${ref.line})`);
  }

  const spawns = peerSpawns(s).filter((sp) => s.events.indexOf(sp) < claimIdx);
  const phases = new Set(spawns.map(spawnPhase));
  if (spawns.length > 0 && !phases.has('execute') && (phases.has('express') || phases.has('review'))) {
    const after = spawns.find((sp) => spawnPhase(sp) === 'express' || spawnPhase(sp) === 'review')!;
    evidence.push({
      location: logLocation(after.ref),
      excerpt: spawnExcerpt(after),
      note: `${after.subagentType} ran, but peer-executor was never spawned`,
    });
    reasons.push('the execute phase was skipped');
  } else if (spawns.length > 0) {
    // A claim that the whole cycle completed, after the run stopped spawning: the phases after the first one it
    // ran that it never spawned cannot have completed (a --continue run starts later, so earlier ones are not asked).
    const cycleClaim = claims.filter((c) => c.event.kind !== 'result' && CYCLE_CLAIM.test(c.excerpt)).pop();
    const first = PHASES.findIndex((p) => phases.has(p));
    const never = PHASES.slice(first + 1).filter((p) => !phases.has(p));
    if (cycleClaim && never.length > 0) {
      const agents = never.map((p) => PHASE_AGENT[p]);
      for (const sp of spawns)
        evidence.push({
          location: logLocation(sp.ref),
          excerpt: spawnExcerpt(sp),
          note: `${sp.subagentType} spawned; ${list(agents)} never ${agents.length > 1 ? 'were' : 'was'}`,
        });
      reasons.push(
        `${list(agents)} ${agents.length > 1 ? 'were' : 'was'} never spawned (the run spawned ` +
          `only ${list([...new Set(spawns.map((sp) => sp.subagentType))])})`,
      );
    }
  }
  if (evidence.length === 0) return undefined;
  for (const c of claims) {
    if (s.events.indexOf(c.event) < s.events.indexOf(firstFailureEvent(s, evidence))) continue;
    evidence.push({ location: logLocation(c.ref), excerpt: c.excerpt, note: 'claims success' });
  }
  return { evidence, reasons: unique(reasons), claim: lastClaim.excerpt };
}

/** A claim that the cycle as a whole completed ("✅ PEER cycle 1 completed successfully"), not one phase. */
const CYCLE_CLAIM = /\bcycle\b[^\n]*\bcomplete|PEER Cycle Complete/i;

function spawnExcerpt(sp: Spawn): string {
  return `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`;
}

function firstFailureEvent(s: LogSession, evidence: Evidence[]) {
  const lines = evidence.map((e) => (e.location.kind === 'log' ? e.location.line : Infinity));
  const minLine = Math.min(...lines);
  return s.events.find((e) => e.ref.line >= minLine) ?? s.events[0];
}

function firstFailureLine(text: string): string {
  const lines = text.split('\n');
  return (lines.find((l) => /❌|error|fail/i.test(l) && !/^Exit code/.test(l)) ?? lines[0] ?? '').trim();
}

/** The first `n` items, then how many more. */
function listSome(xs: string[], n: number, sep = ', '): string {
  return xs.length <= n ? xs.join(sep) : `${xs.slice(0, n).join(sep)}${sep}and ${xs.length - n} more`;
}

function list(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

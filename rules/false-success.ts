import { defineRule } from '../src/engine/rule.js';
import { cyclesForSession } from '../src/model/build.js';
import { cut, laterSucceeded, logLocation, peerSpawns, spawnPhase, stateOps, successClaims, firstLine } from '../src/model/log-facts.js';
import { brief, metaStatements, PHASES } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import { acknowledgement, cycleTruthFixes, knownNote } from '../src/repair/truth.js';
import type { Evidence, LogSession } from '../src/model/types.js';

export default defineRule({
  meta: {
    id: 'false-success',
    severity: 'error',
    summary: 'Something claims success (state, finalize output, final message) that the evidence contradicts.',
    sources: ['kv', 'logs'],
    fixable: true,
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const usedSessions = new Set<LogSession>();
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const meta = run.meta ? metaStatements(bucket, run.meta, cycle.number) : { claims: [], signals: [] };
        const claims = [...cycle.claims, ...meta.claims];
        if (claims.length === 0) continue; // still running: not a claim of success

        const contra: Evidence[] = [];
        const reasons: string[] = [];
        for (const p of PHASES) {
          const ph = cycle.phases[p];
          if (ph.status === 'completed') continue;
          contra.push({
            location: ph.at?.location ?? { kind: 'kv', bucket, key: cycle.key, revision: cycle.revision, pointer: `/phases/${p}` },
            excerpt: ph.at?.excerpt ?? (ph.status === 'absent' ? `no "${p}" entry in "phases"` : `"${p}": ${brief(ph.entry)}`),
            note: `${p} is ${ph.status === 'absent' ? 'missing' : ph.raw ?? ph.status}`,
          });
          reasons.push(`${p} is ${ph.status === 'absent' ? 'missing' : ph.raw ?? ph.status}`);
        }
        for (const sig of [...cycle.signals, ...meta.signals]) {
          contra.push({ location: sig.location, excerpt: sig.excerpt, note: sig.what });
          reasons.push(sig.what);
        }
        if (contra.length === 0) continue;

        const evidence: Evidence[] = claims.map((c) => ({ location: c.location, excerpt: c.excerpt, note: 'claims the cycle is finished' }));
        evidence.push(...contra);
        for (const s of run.sessions.filter((x) => cyclesForSession(run, x).includes(cycle))) {
          const t = transcriptContradiction(s);
          if (!t) continue;
          usedSessions.add(s);
          evidence.push(...t.evidence);
        }
        report({
          message: `Cycle ${cycle.number} is marked complete (${listSome(unique(claims.map((c) => c.excerpt)), 2)}) but ${listSome(unique(reasons), 3, '; ')}.`,
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
          fix: cycleTruthFixes(run, cycle),
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
          .map((c) => acknowledgement(c, 'false-success') ?? (c.supersededBy !== undefined ? { reason: `cycle ${c.number} was reopened as cycle ${c.supersededBy}` } : undefined))
          .filter((a) => a !== undefined);
        reportSession(s, runSubject(run, cycles.length === 1 ? cycles[0].number : undefined), acks[0]);
      }
    }
    for (const s of model.unattachedSessions) reportSession(s, { session: s.sessionId });

    function reportSession(s: LogSession, subject: ReturnType<typeof runSubject>, ack?: { at?: string; reason?: string }) {
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
function transcriptContradiction(s: LogSession): { evidence: Evidence[]; reasons: string[]; claim: string } | undefined {
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
    evidence.push({ location: logLocation(ref), excerpt: cut(firstFailureLine(op.call.result?.text ?? ''), 160), note: `state ${op.kind} failed${op.key ? ` (${op.key})` : ''} and was never retried` });
    reasons.push(`a state ${op.kind} failed (line ${ref.line})`);
  }

  const spawns = peerSpawns(s).filter((sp) => s.events.indexOf(sp) < claimIdx);
  const phases = new Set(spawns.map(spawnPhase));
  if (spawns.length > 0 && !phases.has('execute') && (phases.has('express') || phases.has('review'))) {
    const after = spawns.find((sp) => spawnPhase(sp) === 'express' || spawnPhase(sp) === 'review')!;
    evidence.push({ location: logLocation(after.ref), excerpt: `${after.toolName} ${after.subagentType}: ${cut(after.description ?? firstLine(after.prompt ?? ''), 80)}`, note: `${after.subagentType} ran, but peer-executor was never spawned` });
    reasons.push('the execute phase was skipped');
  }
  if (evidence.length === 0) return undefined;
  for (const c of claims) {
    if (s.events.indexOf(c.event) < s.events.indexOf(firstFailureEvent(s, evidence))) continue;
    evidence.push({ location: logLocation(c.ref), excerpt: c.excerpt, note: 'claims success' });
  }
  return { evidence, reasons: unique(reasons), claim: lastClaim.excerpt };
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

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

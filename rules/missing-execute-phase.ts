import { defineRule } from '../src/engine/rule.js';
import { cyclesForSession, type Run } from '../src/model/build.js';
import { logLocation, peerSpawns, spawnPhase, cut, firstLine } from '../src/model/log-facts.js';
import {
  brief,
  isRecord,
  metaStatements,
  normaliseStatus,
  type CycleState,
  type PhaseName,
} from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import { acknowledgement, knownNote } from '../src/model/acknowledged.js';
import { refusedNote, resumeFixes } from '../src/model/resume-fixes.js';
import type { Evidence, KvLocation, LogSession } from '../src/model/types.js';

const RAN = new Set(['running', 'completed', 'failed', 'cancelled']);

export default defineRule({
  meta: {
    id: 'missing-execute-phase',
    severity: 'error',
    summary:
      'A cycle went past execute (express or review ran, or it claims to be finished) while execute never completed.',
    sources: ['kv', 'logs'],
    fixable: true,
    title: 'The execute phase never ran',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const exec = cycle.phases.execute;
        if (exec.status === 'completed') continue;
        const later = (['express', 'review'] as PhaseName[]).filter((p) => RAN.has(cycle.phases[p].status));
        const meta = run.meta
          ? metaStatements(bucket, run.meta, cycle.number)
          : { claims: [], signals: [], outcomes: [] };
        const claims = [...cycle.claims, ...meta.claims];
        if (later.length === 0 && claims.length === 0) continue;

        const at = (pointer: string, revision = cycle.revision): KvLocation => ({
          kind: 'kv',
          bucket,
          key: cycle.key,
          revision,
          pointer,
        });
        const execState = exec.status === 'absent' ? 'absent' : `${exec.raw ?? exec.status}`;
        const present = Object.keys(isRecord(cycle.json.phases) ? cycle.json.phases : {});
        const evidence: Evidence[] = [
          {
            location: exec.at?.location ?? at('/phases/execute'),
            excerpt:
              exec.at?.excerpt ??
              (exec.status === 'absent'
                ? `"phases" has no "execute" entry (it has: ${present.join(', ') || 'nothing'})`
                : `"execute": ${brief(exec.entry)}`),
            note: `execute is ${execState}`,
          },
        ];
        for (const p of later) {
          const ph = cycle.phases[p];
          const entry = { status: ph.raw, ...(ph.completedAt ? { completed_at: ph.completedAt } : {}) };
          evidence.push({
            location: ph.at?.location ?? at(`/phases/${p}`),
            excerpt: `"${p}": ${brief(entry)}`,
            note: `${p} ran although execute had not completed`,
          });
        }
        const first = firstRevisionPastExecute(cycle);
        if (first && first.revision !== cycle.revision) {
          evidence.push({
            location: at(`/phases/${first.phase}`, first.revision),
            excerpt: `"${first.phase}" first written at revision ${first.revision}`,
            note: `${first.phase} started while execute was ${first.execState}`,
          });
        }
        if (later.length === 0)
          for (const c of claims)
            evidence.push({ location: c.location, excerpt: c.excerpt, note: 'the cycle claims to be finished' });

        const logNote = transcriptEvidence(run, cycle, evidence);
        const ran = later.length ? `${later.join(' and ')} ran` : 'no later phase ran';
        const claimed = claims.length ? ', and the cycle claims to be finished' : '';
        // A repair that recorded this finding in the value makes it known, not new: still shown, as info.
        // A repair that reset the later phases to pending covers only the run before it: one that ran since is new.
        const recorded = acknowledgement(cycle, 'missing-execute-phase');
        const ack =
          recorded && !later.some((p) => recorded.previous && `/phases/${p}` in recorded.previous)
            ? recorded
            : undefined;
        const known = claims.length === 0 ? knownNote(ack, undefined, '; reopen the cycle to run execute.') : '';
        const resume = resumeFixes(cycle, run.meta);
        report({
          message:
            `Cycle ${cycle.number} went past the execute phase but execute ` +
            `is ${execState}: ${ran}${claimed}.${logNote}${known}${refusedNote(resume.refused)}`,
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
          severity: known ? 'info' : undefined,
          fix: resume.fixes,
          unfixable: resume.refused,
        });
      }
    }
  },
});

function firstRevisionPastExecute(
  cycle: CycleState,
): { revision: number; phase: PhaseName; execState: string } | undefined {
  for (const h of cycle.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json)) continue;
    const phases = h.decoded.json.phases;
    if (!isRecord(phases)) continue;
    const ex = isRecord(phases.execute) ? normaliseStatus(phases.execute.status) : 'absent';
    if (ex === 'completed') continue;
    for (const p of ['express', 'review'] as PhaseName[]) {
      const ph = phases[p];
      if (isRecord(ph) && RAN.has(normaliseStatus(ph.status))) return { revision: h.revision, phase: p, execState: ex };
    }
  }
  return undefined;
}

/** Adds what the transcript shows about the executor; returns a sentence for the message ('' when no logs). */
function transcriptEvidence(run: Run, cycle: CycleState, evidence: Evidence[]): string {
  const sessions = run.sessions.filter((s) => cyclesForSession(run, s).includes(cycle));
  let sentence = '';
  for (const s of sessions) sentence ||= sessionEvidence(s, evidence);
  return sentence;
}

export function sessionEvidence(s: LogSession, evidence: Evidence[]): string {
  const spawns = peerSpawns(s);
  if (spawns.length === 0) return '';
  const executors = spawns.filter((sp) => spawnPhase(sp) === 'execute');
  if (executors.length === 0) {
    for (const sp of spawns) {
      evidence.push({
        location: logLocation(sp.ref),
        excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
        note: `${sp.subagentType} spawned`,
      });
    }
    const announce = s.events.find(
      (e) => e.kind === 'text' && e.role === 'assistant' && e.actor === 'main' && /peer-executor/.test(e.text),
    );
    if (announce && announce.kind === 'text') {
      evidence.push({
        location: logLocation(announce.ref),
        excerpt: cut(announce.text.split('\n').find((l) => l.includes('peer-executor')) ?? announce.text, 160),
        note: 'the executor is announced here, but no peer-executor spawn follows',
      });
    }
    const others = [...new Set(spawns.map((sp) => sp.subagentType))].join(', ');
    return ` The transcript spawns ${others} but never peer-executor.`;
  }
  const ok = executors.filter((sp) => sp.result && !sp.result.isError);
  if (ok.length > 0) return '';
  for (const sp of executors) {
    evidence.push({
      location: logLocation(sp.ref),
      excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? '', 80)}`,
      note: 'peer-executor spawned',
    });
    if (sp.result)
      evidence.push({
        location: logLocation(sp.result.ref),
        excerpt: cut(firstLine(sp.result.text), 160),
        note: 'the executor returned an error',
      });
  }
  return executors.some((sp) => !sp.result)
    ? ' The transcript spawns peer-executor, but it never returned.'
    : ' The transcript spawns peer-executor, but it failed.';
}

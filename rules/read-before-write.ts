import { humanDuration } from '../src/model/duration.js';
import { defineRule } from '../src/engine/rule.js';
import { keyRecord } from '../src/model/lookup.js';
import type { KeyRecord } from '../src/model/build.js';
import { logLocation, peerSpawns, spawnPhase, stateOps, type StateOp } from '../src/model/log-facts.js';
import { isRecord, normaliseStatus, PHASES, type PhaseName } from '../src/model/state.js';
import {
  actorLabel,
  failureLine,
  isBefore,
  msOf,
  readFailed,
  sessionSubject,
  spawnOfActor,
} from '../src/model/transcript-facts.js';
import type { LogSession } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { peerSessions } from '../src/model/peer-sessions.js';

const PHASE_REF = /\.phases\.(plan|execute|express|review)\b(\.output\b)?/g;

export default defineRule({
  meta: {
    id: 'read-before-write',
    severity: 'warning',
    summary: 'A phase read the state before the revision it needed (the previous phase marked complete) was written.',
    sources: ['kv', 'logs'],
    fixable: false,
    title: 'State was read before it was written',
  },
  check({ model, report }) {
    if (!model.kv) return;
    for (const s of peerSessions(model)) {
      for (const op of stateOps(s)) {
        if (op.kind !== 'read' || !op.key) continue;
        const rec = keyRecord(model, op.key);
        const t = msOf(op.call.ref.timestamp);
        if (!rec || rec.info.kind !== 'cycle' || t === undefined) continue;
        for (const need of neededPhases(s, op)) {
          const done = firstCompleted(rec, need.phase);
          if (!done || done.ms <= t) continue;
          // The phase is already complete in the oldest revision kept: the write that completed it may be among the
          // revisions the bucket's history limit dropped, so the order cannot be told.
          if (done.revision === rec.history[0]?.revision && mayHaveDropped(rec, model.kv.config?.history)) continue;
          // the read got the data: the clocks disagree, not the order
          if (sawPhase(op, need.phase, need.output)) continue;
          const gap = (done.ms - t) / 1000;
          const who = actorLabel(s, op.call.actor);
          const res = op.call.result;
          const evidence = [
            {
              location: logLocation(op.call.ref),
              excerpt: excerptOf((op.call.command ?? '').split('\n')[0]),
              note: `read of ${op.key} at ${op.call.ref.timestamp}, by ${who}, ${need.why}`,
            },
          ];
          if (res) {
            evidence.push({
              location: logLocation(res.ref),
              excerpt: excerptOf(
                readFailed(op.call)
                  ? failureLine(res.text)
                  : (res.text
                      .split('\n')
                      .find((l) => l.trim() !== '')
                      ?.trim() ?? '(no output)'),
              ),
              note: readFailed(op.call) ? 'the read failed' : 'what the read returned',
            });
          }
          report({
            message:
              `${op.key} was read for the ${need.phase} ${need.output ? 'output' : 'phase'} ` +
              `at ${op.call.ref.timestamp} (${op.call.ref.path}:${op.call.ref.line}), ` +
              `${fmtGap(gap)} before revision ${done.revision} (${done.created}) recorded ${need.phase} as complete.`,
            subject: sessionSubject(model, s, op.key),
            evidence: [
              ...evidence,
              {
                location: {
                  kind: 'kv',
                  bucket: model.bucket,
                  key: op.key,
                  revision: done.revision,
                  pointer: `/phases/${need.phase}/status`,
                },
                excerpt: `created ${done.created}, "status": ${JSON.stringify(done.status)}`,
                note: `first revision with ${need.phase} complete, ${fmtGap(gap)} after the read`,
              },
            ],
            target: `${op.call.ref.path}#${op.call.id}`,
          });
          break;
        }
      }
    }
  },
});

interface Need {
  phase: PhaseName;
  /** The read extracts the phase's output (not only its status). */
  output: boolean;
  why: string;
}

/** The earlier phases a read needed: those its command extracts, else the one before the reading agent's own. */
function neededPhases(s: LogSession, op: StateOp): Need[] {
  const cmd = op.call.command ?? '';
  const spawn = spawnOfActor(s, op.call.actor);
  const own = spawn ? spawnPhase(spawn) : undefined;
  const ownIdx = own ? PHASES.indexOf(own) : -1;
  const needs: Need[] = [];
  const seen = new Set<PhaseName>();
  for (const m of cmd.matchAll(PHASE_REF)) {
    const phase = m[1] as PhaseName;
    const output = m[2] !== undefined;
    if (seen.has(phase)) continue;
    if (own) {
      // An agent reads its own or a later phase only to check it; only earlier phases are inputs it needs.
      if (PHASES.indexOf(phase) >= ownIdx) continue;
    } else {
      // The main agent checks on a phase only after it spawned the agent that runs it.
      const ranBefore = peerSpawns(s).some((sp) => spawnPhase(sp) === phase && isBefore(sp.ref, op.call.ref));
      if (!ranBefore) continue;
    }
    seen.add(phase);
    needs.push({ phase, output, why: `extracting .phases.${phase}${output ? '.output' : ''}` });
  }
  if (needs.length === 0 && own && ownIdx > 0 && !/\.phases\b/.test(cmd)) {
    const prev = PHASES[ownIdx - 1];
    needs.push({ phase: prev, output: false, why: `the ${own} phase needs ${prev} complete` });
  }
  return needs;
}

/**
 * Earlier revisions of the key may have been dropped: it keeps as many as the bucket's history allows, or the limit is
 * unknown.
 */
function mayHaveDropped(rec: KeyRecord, history: number | undefined): boolean {
  return history === undefined || rec.revisions.length >= history;
}

function firstCompleted(
  rec: KeyRecord,
  phase: PhaseName,
): { revision: number; created: string; ms: number; status: unknown } | undefined {
  for (const h of rec.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok) continue;
    const json = h.decoded.json;
    const entry = isRecord(json) && isRecord(json.phases) ? json.phases[phase] : undefined;
    if (!isRecord(entry) || normaliseStatus(entry.status) !== 'completed') continue;
    const ms = msOf(h.created);
    if (ms === undefined) return undefined;
    return { revision: h.revision, created: h.created, ms, status: entry.status };
  }
  return undefined;
}

/** The read's own output shows it got the phase complete (so the log and server clocks disagree). */
function sawPhase(op: StateOp, phase: PhaseName, output: boolean): boolean {
  const res = op.call.result;
  if (!res || readFailed(op.call)) return false;
  const text = res.text.trim();
  if (text === '' || text === 'null') return false;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // A bare status word (jq -r), or something printed for the output path.
    return normaliseStatus(text.split('\n')[0]) === 'completed' || output;
  }
  if (isRecord(json) && isRecord(json.phases)) {
    const entry = json.phases[phase];
    return isRecord(entry) && normaliseStatus(entry.status) === 'completed';
  }
  if (typeof json === 'string') return normaliseStatus(json) === 'completed' || output;
  return json !== null && output;
}

function fmtGap(sec: number): string {
  return humanDuration(sec * 1000, { subSecond: true });
}

import { defineRule } from '../src/engine/rule.js';
import {
  cut,
  firstLine,
  logLocation,
  peerSpawns,
  spawnPhase,
  stateOps,
  successClaims,
} from '../src/model/log-facts.js';
import { peerSessions } from '../src/model/peer-sessions.js';
import { PHASES, type PhaseName } from '../src/model/state.js';
import { excerptOf } from '../src/model/text.js';
import { actorLabel, isBefore, sessionSubject } from '../src/model/transcript-facts.js';
import type { Evidence, LogEvent, LogRef, LogSession, Spawn } from '../src/model/types.js';

/** Tools that wait for or read a background agent's output. */
const OUTPUT_TOOLS = new Set(['TaskOutput', 'AgentOutputTool', 'BashOutput']);
const ASYNC_TEXT = /^Async agent launched/;

interface MovedOn {
  ref: LogRef;
  excerpt: string;
  what: string;
}

export default defineRule({
  meta: {
    id: 'async-subagent-not-awaited',
    severity: 'error',
    summary:
      'A PEER subagent was launched in the background (Task result status async_launched) and the coordinator ' +
      'went on to the next phase or claimed completion before its result came.',
    sources: ['logs'],
    fixable: false,
    title: 'A background subagent was taken as finished',
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      for (const sp of peerSpawns(s)) {
        const result = sp.result;
        if (!result || !isAsync(sp)) continue;
        const phase = spawnPhase(sp)!;
        const after = s.events.filter((e) => isBefore(result.ref, e.ref));
        const awaited = after.find((e) => awaits(e, sp));
        const until = awaited ? after.filter((e) => isBefore(e.ref, awaited.ref)) : after;
        const moved = movedOn(s, sp, phase, until);
        if (!moved) continue;
        const who = actorLabel(s, { spawnId: sp.id });
        const evidence: Evidence[] = [
          {
            location: logLocation(sp.ref),
            excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
            note: `${sp.subagentType} spawned`,
          },
          {
            location: logLocation(result.ref),
            excerpt: excerptOf(`status: async_launched — ${firstLine(result.text)}`, 200),
            note: 'the Task returned at once: the subagent runs in the background',
          },
          { location: logLocation(moved.ref), excerpt: excerptOf(moved.excerpt, 200), note: moved.what },
        ];
        if (awaited) {
          evidence.push({
            location: logLocation(awaited.ref),
            excerpt: excerptOf(awaitedExcerpt(awaited), 160),
            note: 'the subagent’s result is read only here',
          });
        }
        report({
          message:
            `${who} was launched in the background, and the coordinator ${moved.what.replace(/^the coordinator /, '')}` +
            ` ${awaited ? 'before its result came' : 'without ever reading its result'}.`,
          subject: sessionSubject(model, s),
          evidence,
          target: `${sp.ref.path}#${sp.id}`,
        });
      }
    }
  },
});

function isAsync(sp: Spawn): boolean {
  return sp.resultDetail?.status === 'async_launched' || ASYNC_TEXT.test(sp.result?.text ?? '');
}

/** The coordinator read the background agent's result: a notification, an output tool, a read of its output file. */
function awaits(e: LogEvent, sp: Spawn): boolean {
  const id = sp.agentId;
  if (e.kind === 'text' && e.role === 'user' && e.actor === 'main') {
    if (!e.text.includes('<task-notification>')) return false;
    return id === undefined || e.text.includes(id) || e.text.includes(sp.id);
  }
  if (e.kind !== 'tool' || e.actor !== 'main') return false;
  const said = `${e.command ?? ''} ${e.filePath ?? ''} ${JSON.stringify(e.input)}`;
  if (OUTPUT_TOOLS.has(e.name)) return id === undefined || said.includes(id) || said.includes(sp.id);
  return id !== undefined && said.includes(id);
}

function awaitedExcerpt(e: LogEvent): string {
  if (e.kind === 'text') return firstLine(e.text);
  if (e.kind === 'tool') return `${e.name}: ${firstLine(e.command ?? e.filePath ?? JSON.stringify(e.input))}`;
  return '';
}

/** What the coordinator did that takes the phase as done: the next phase's agent, the phase marked done, success. */
function movedOn(s: LogSession, sp: Spawn, phase: PhaseName, events: LogEvent[]): MovedOn | undefined {
  const inWindow = new Set(events);
  const order = PHASES.indexOf(phase);
  const candidates: MovedOn[] = [];
  const next = events.find(
    (e): e is Spawn => e.kind === 'spawn' && e.actor === 'main' && laterPhase(spawnPhase(e), order),
  );
  if (next) {
    candidates.push({
      ref: next.ref,
      excerpt: `${next.toolName} ${next.subagentType}: ${cut(next.description ?? '', 80)}`,
      what: `the coordinator spawned ${next.subagentType} (the next phase)`,
    });
  }
  const marks = new RegExp(`phases\\.${phase}\\.status\\s*=\\s*\\\\?"?(?:completed|complete|done)`);
  const write = stateOps(s).find(
    (op) =>
      op.kind === 'write' && op.call.actor === 'main' && inWindow.has(op.call) && marks.test(op.call.command ?? ''),
  );
  if (write) {
    candidates.push({
      ref: write.call.ref,
      excerpt: firstLine(write.call.command ?? ''),
      what: `the coordinator marked ${phase} completed`,
    });
  }
  const claim = successClaims(s).find((c) => inWindow.has(c.event as LogEvent));
  if (claim) candidates.push({ ref: claim.ref, excerpt: claim.excerpt, what: 'the coordinator claimed success' });
  candidates.sort((a, b) => (isBefore(a.ref, b.ref) ? -1 : isBefore(b.ref, a.ref) ? 1 : 0));
  return candidates[0];
}

function laterPhase(p: PhaseName | undefined, order: number): boolean {
  return p !== undefined && PHASES.indexOf(p) > order;
}

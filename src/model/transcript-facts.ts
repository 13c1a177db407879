// Transcript facts the session rules share: which run a session or key belongs to, what a failed call printed,
// whether it was retried, when one event came before another, review requests and tasks.md writes.
import type { Model, Run } from './build.js';
import { cyclesForSession } from './build.js';
import { callFailed, classifyStateCommand, cut, natsKvPattern, type StateOp } from './log-facts.js';
import { runByPrefix, runsOfSession } from './lookup.js';
import { classifyKey } from './state.js';
import { runSubject } from './subject.js';
import type { Actor, LogEvent, LogRef, LogSession, Spawn, Subject, ToolCall } from './types.js';

// ---------------------------------------------------------------- order

/** Milliseconds of an ISO time, or undefined. */
export function msOf(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * True when `a` happened strictly before `b`: by timestamp when both have one (the line decides a tie in one
 * file), else by line within the same file. Records of different files without times cannot be ordered.
 */
export function isBefore(a: LogRef, b: LogRef): boolean {
  const ta = msOf(a.timestamp);
  const tb = msOf(b.timestamp);
  if (ta !== undefined && tb !== undefined && ta !== tb) return ta < tb;
  if (a.path === b.path) return a.line < b.line;
  return false;
}

export function sameActor(a: Actor, b: Actor): boolean {
  if (a === 'main' || b === 'main') return a === b;
  return a.spawnId === b.spawnId;
}

const spawnsById = new WeakMap<LogSession, Map<string, Spawn>>();

/** The spawn whose subagent produced an event (undefined for the main agent). Indexed once per session. */
export function spawnOfActor(s: LogSession, actor: Actor): Spawn | undefined {
  if (actor === 'main') return undefined;
  let byId = spawnsById.get(s);
  if (!byId) {
    byId = new Map();
    for (const e of s.events) if (e.kind === 'spawn' && !byId.has(e.id)) byId.set(e.id, e);
    spawnsById.set(s, byId);
  }
  return byId.get(actor.spawnId);
}

/** "the main agent" or "peer-planner (spawned at logs/x.jsonl:23)". */
export function actorLabel(s: LogSession, actor: Actor): string {
  const sp = spawnOfActor(s, actor);
  if (!sp) return actor === 'main' ? 'the main agent' : 'a subagent';
  return `${sp.subagentType || sp.toolName} (spawned at ${sp.ref.path}:${sp.ref.line})`;
}

// ---------------------------------------------------------------- runs and subjects

/** The run a session (or one key it used) belongs to: the key's prefix first, else the attached run with state. */
export function runForSession(model: Model, s: LogSession, key?: string): Run | undefined {
  if (key) {
    const prefix = classifyKey(key).prefix;
    const byKey = prefix ? runByPrefix(model, prefix) : undefined;
    if (byKey) return byKey;
  }
  const attached = runsOfSession(model, s);
  if (attached.length <= 1) return attached[0];
  const score = (r: Run) => (r.keys.length > 0 ? 2 : 0) + (r.folders.length > 0 ? 1 : 0);
  return [...attached].sort((a, b) => score(b) - score(a))[0];
}

/**
 * Subject of a finding about a session: its run (and cycle, when a key or the times name exactly one) plus the session
 * id.
 */
export function sessionSubject(model: Model, s: LogSession, key?: string): Subject {
  const run = runForSession(model, s, key);
  if (!run) return { session: s.sessionId };
  const info = key ? classifyKey(key) : undefined;
  let cycle: number | undefined;
  if (info?.kind === 'cycle' && info.prefix === run.prefix) cycle = info.cycle;
  else {
    const cs = cyclesForSession(run, s);
    if (cs.length === 1) cycle = cs[0].number;
  }
  return { ...runSubject(run, cycle), session: s.sessionId };
}

// ---------------------------------------------------------------- failed calls

const NATS_WRITE = natsKvPattern('put|update|create|del|delete|purge|add');
const SCRIPT_WRITE = /\b(?:update-state|create-state|initialize-cycle|finalize-cycle)\.sh\b/;
const NOT_FOUND = /key not found|no such key/i;

/** A command whose only state operations are reads (nats kv get/history/ls/watch, read-state.sh). */
export function isPureRead(cmd: string | undefined): boolean {
  if (!cmd) return false;
  const op = classifyStateCommand(cmd);
  return op?.kind === 'read' && !NATS_WRITE.test(cmd) && !SCRIPT_WRITE.test(cmd);
}

/** The command handled a failure itself (`|| echo …`) and exited 0. */
function handledInCommand(c: ToolCall): boolean {
  return !!c.result && !c.result.isError && /\|\|/.test(c.command ?? '');
}

/** A read whose result shows it failed: an error flag, a non-zero exit, "key not found", "nats: error:", "❌ Error". */
export function readFailed(c: ToolCall): boolean {
  if (!c.result || handledInCommand(c)) return false;
  return callFailed(c) || NOT_FOUND.test(c.result.text);
}

export function notFound(c: ToolCall): boolean {
  return !!c.result && NOT_FOUND.test(c.result.text);
}

/** "Exit code 1" → 1. */
export function exitCode(text: string): number | undefined {
  const m = /^Exit code (\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The first line of a failed call's output that says what went wrong (not the "Exit code N" line). */
export function failureLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Exit code \d+$/.test(l));
  const marked = lines.find((l) => /❌|\berror\b|\bfailed\b|\bfailure\b|not found|cannot|could not|jq: /i.test(l));
  const line = marked ?? lines[0];
  if (line) return cut(line, 200);
  const code = exitCode(text);
  return code !== undefined ? `exit code ${code}` : '(no output)';
}

/** Whitespace-normalised command text, for "the same command again". */
export function normalisedCommand(c: ToolCall): string {
  return (c.command ?? c.filePath ?? JSON.stringify(c.input)).replace(/\s+/g, ' ').trim();
}

const PEER_SCRIPT = /(?:scripts\/peer\/)([\w.-]+\.sh)\b/;
const STATE_SCRIPT = /\b((?:read|update|create)-state\.sh)\b/;

/** The PEER script a command runs: anything under scripts/peer/, or read/update/create-state.sh from anywhere. */
export function peerScript(cmd: string | undefined): string | undefined {
  if (!cmd) return undefined;
  return PEER_SCRIPT.exec(cmd)?.[1] ?? STATE_SCRIPT.exec(cmd)?.[1];
}

const opsByCall = new WeakMap<StateOp[], Map<ToolCall, StateOp>>();

/** The state operation of a call, from a list made by stateOps() (at most one per call; indexed once per list). */
export function opOf(ops: StateOp[], c: ToolCall): StateOp | undefined {
  let byCall = opsByCall.get(ops);
  if (!byCall) opsByCall.set(ops, (byCall = new Map(ops.map((o) => [o.call, o]))));
  return byCall.get(c);
}

// ---------------------------------------------------------------- create-spec review gate

/** Text that asks the user to review the spec before the agent itself goes on to the tasks. */
const REVIEW_REQUEST: RegExp[] = [
  /\bplease review\b(?=[^\n]*\b(?:tasks?|breakdown|spec\w*)\b)[^\n]*?\bbefore (?:I|we)\b[^\n]*?\b(?:creat|generat|writ|proceed|mov|break)/i,
  /\breview (?:the |these |this |your )?spec\w*\b[^.\n]*\bbefore\b/i,
  /\bwould you like me to (?:proceed|continue|go ahead) (?:with|to) (?:creat|generat|writ)\w* (?:the )?tasks?\b/i,
  /\bbefore I create the task (?:breakdown|list)\b/i,
  /\b(?:approve|approval)\b[^.\n]*\bbefore (?:I|we) (?:create|write|generate)\b/i,
];

/** The sentence of `text` that asks for a review before the agent creates the tasks, if any. */
export function reviewRequest(text: string): string | undefined {
  for (const re of REVIEW_REQUEST) {
    const m = re.exec(text);
    if (!m) continue;
    // The line the match starts on, for the excerpt.
    const start = text.lastIndexOf('\n', m.index) + 1;
    const end = text.indexOf('\n', m.index);
    return cut(text.slice(start, end === -1 ? undefined : end).trim(), 200);
  }
  return undefined;
}

/** The tasks.md path a call writes (Write/Edit/MultiEdit, or a Bash redirect, heredoc or tee), if any. */
export function tasksWrite(c: ToolCall): string | undefined {
  if (['Write', 'Edit', 'MultiEdit', 'NotebookEdit'].includes(c.name)) {
    return c.filePath && /(?:^|\/)tasks\.md$/.test(c.filePath) ? c.filePath : undefined;
  }
  if (!c.command) return undefined;
  const first = c.command.split('\n')[0];
  const m = /(?:>>?|\btee\s+(?:-a\s+)?)\s*['"]?([^\s'"<>|;&]*tasks\.md)\b/.exec(first);
  if (m) return m[1];
  const cp = /\b(?:cp|mv)\s+\S+\s+['"]?([^\s'"]*tasks\.md)\b/.exec(first);
  return cp?.[1];
}

/** Spec documents create-spec writes before the review gate. */
export function specDocWrite(c: ToolCall): boolean {
  const re = /(?:^|\/)(?:spec|spec-lite|technical-spec)\.md\b/;
  if (['Write', 'Edit', 'MultiEdit'].includes(c.name)) return !!c.filePath && re.test(c.filePath);
  const first = c.command?.split('\n')[0] ?? '';
  return /(?:>>?|\btee\s)/.test(first) && re.test(first);
}

/** A human turn: user text that is not a tool result or injected text, from the main agent's conversation. */
export function isHumanTurn(e: LogEvent): boolean {
  return e.kind === 'text' && e.role === 'user' && e.human === true && e.actor === 'main';
}

/** The session runs create-spec: the command or a spawn prompt names it. */
export function isCreateSpecSession(s: LogSession): boolean {
  for (const e of s.events) {
    if (e.kind === 'text' && e.role === 'user' && e.actor === 'main' && /create-spec/.test(e.text)) return true;
    if (e.kind === 'spawn' && /create-spec/.test(`${e.prompt ?? ''} ${e.description ?? ''}`)) return true;
  }
  return false;
}

// PEER meaning of transcript events: which subagents ran, which state operations failed, what was claimed.
import type { LogLocation, LogRef, LogSession, Spawn, StreamResultEvent, TextEvent, ToolCall } from './types.js';
import { MentionIndex } from './mentions.js';
import { PHASE_AGENT, type PhaseName } from './state.js';

export function logLocation(ref: LogRef): LogLocation {
  const l: LogLocation = { kind: 'log', path: ref.path, line: ref.line };
  if (ref.uuid) l.uuid = ref.uuid;
  if (ref.timestamp) l.timestamp = ref.timestamp;
  return l;
}

const AGENT_PHASE: Record<string, PhaseName> = Object.fromEntries(
  Object.entries(PHASE_AGENT).map(([phase, agent]) => [agent, phase as PhaseName]),
);

/** The PEER phase a spawn runs, from its subagent type. */
export function spawnPhase(s: Spawn): PhaseName | undefined {
  return AGENT_PHASE[s.subagentType];
}

export function peerSpawns(session: LogSession): Spawn[] {
  return session.events.filter((e): e is Spawn => e.kind === 'spawn' && spawnPhase(e) !== undefined);
}

/** Text a call printed that means it failed even when the tool did not flag an error. */
const FAILURE_TEXT = /❌\s*Error|^ERROR:|nats: error:|jq: (parse )?error|^Error: /m;

export function callFailed(c: ToolCall | Spawn): boolean {
  if (!c.result) return false;
  return c.result.isError || FAILURE_TEXT.test(c.result.text);
}

// ---------------------------------------------------------------- state operations

const KV_VERBS = 'get|put|update|create|history|ls|del|delete|purge|watch';
/** A word of a shell command: quoted, or up to the next space or shell operator. */
const WORD = String.raw`(?:"[^"]*"|'[^']*'|[^\s"'|;&()<>]+)`;
/**
 * A global flag of the nats CLI, as people put them before the subcommand: `--server URL`, `-s URL`,
 * `--creds=F`, `--context prod`, `--trace`. A word after a flag is its value unless it is another flag or `kv`.
 */
const GLOBAL_FLAG = String.raw`-{1,2}[A-Za-z][\w-]*(?:=${WORD}|\s+(?!-|kv\b)${WORD})?`;

/** `nats [global flags] kv <verb>` for the given verbs (an alternation); the verb is group 1. */
export function natsKvPattern(verbs: string, flags = ''): RegExp {
  return new RegExp(String.raw`\bnats(?:\s+${GLOBAL_FLAG})*\s+kv\s+(${verbs})\b`, flags);
}

const NATS_KV = natsKvPattern(KV_VERBS);
/** Flags of the nats CLI (global and kv) that take a value as the next word. */
// prettier-ignore
const VALUE_FLAGS = new Set([
  '-s', '--server', '--creds', '--context', '--user', '--password', '--token', '--nkey', '--jwt', '--tlscert',
  '--tlskey', '--tlsca', '--timeout', '--connection-name', '--inbox-prefix', '--socks-proxy', '--colors', '--domain',
  '--js-domain', '--js-api-prefix', '--js-event-prefix', '--revision', '--history', '--ttl', '--replicas',
  '--description', '--storage', '--max-value-size', '--max-bucket-size', '--tags', '--cluster', '--republish-source',
  '--republish-destination',
]);

const PEER_SCRIPT = /(?:scripts\/peer\/|\b)([a-z-]+\.sh)\b/;
const STATE_SCRIPTS = new Set([
  'read-state.sh',
  'update-state.sh',
  'create-state.sh',
  'initialize-cycle.sh',
  'finalize-cycle.sh',
]);

export type StateOpKind = 'read' | 'write';
export interface StateOp {
  call: ToolCall;
  kind: StateOpKind;
  /** `nats kv get`, `update-state.sh`, … */
  verb: string;
  /** The key as written in the command. */
  rawKey?: string;
  /** The key with ${key_prefix}/${current_cycle} resolved from earlier output in the session. */
  key?: string;
  /** The bucket a `nats kv` call names (as written). */
  bucket?: string;
  failed: boolean;
}

const stateOpsCache = new WeakMap<LogSession, StateOp[]>();

/**
 * Every Bash call that reads or writes PEER state, with its key resolved where the session shows the variables.
 * Several rules ask for the same session: it is worked out once.
 */
export function stateOps(session: LogSession): StateOp[] {
  let ops = stateOpsCache.get(session);
  if (!ops) stateOpsCache.set(session, (ops = computeStateOps(session)));
  return ops;
}

function computeStateOps(session: LogSession): StateOp[] {
  const vars = new Map<string, string>();
  const ops: StateOp[] = [];
  for (const e of session.events) {
    if (e.kind !== 'tool') continue;
    const cmd = e.command;
    if (cmd) {
      const op = classifyStateCommand(cmd);
      if (op) {
        const rawKey = op.rawKey;
        ops.push({
          call: e,
          kind: op.kind,
          verb: op.verb,
          rawKey,
          key: rawKey ? resolveVars(rawKey, vars) : undefined,
          bucket: op.bucket,
          failed: callFailed(e),
        });
      }
    }
    if (e.result && !e.result.isError) collectVars(e.result.text, vars);
  }
  return ops;
}

export function classifyStateCommand(
  cmd: string,
): { kind: StateOpKind; verb: string; rawKey?: string; bucket?: string } | undefined {
  // `nats kv get … | jq … | nats kv put …` is a write: the last kv verb of a pipeline decides.
  const all = [...cmd.matchAll(new RegExp(NATS_KV.source, 'g'))];
  const m = all.find((x) => !['get', 'history', 'ls', 'watch'].includes(x[1])) ?? all[0];
  if (m) {
    const verb = m[1];
    const kind: StateOpKind = ['get', 'history', 'ls', 'watch'].includes(verb) ? 'read' : 'write';
    // `nats kv get <bucket> <key>`: the key is the second argument after the verb.
    const rest = cmd.slice((m.index ?? 0) + m[0].length);
    const args = positional(shellWords(rest));
    return { kind, verb: `nats kv ${verb}`, rawKey: args[1], bucket: args[0] };
  }
  const s = PEER_SCRIPT.exec(cmd);
  if (s && STATE_SCRIPTS.has(s[1])) {
    const kind: StateOpKind = s[1] === 'read-state.sh' ? 'read' : 'write';
    const args = shellWords(cmd.slice(s.index + s[0].length)).filter((a) => !a.startsWith('-'));
    const rawKey = args.find((a) => /^peer[.$]|\$\{?key_prefix/.test(a));
    return { kind, verb: s[1], rawKey };
  }
  return undefined;
}

/** The positional words of a nats command line: flags and the values of flags that take one left out. */
function positional(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('-') && w.length > 1) {
      if (!w.includes('=') && VALUE_FLAGS.has(w)) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

/** Splits the first simple command of a shell line into words (quotes removed); stops at | ; & ) >. */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
      continue;
    }
    if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
      continue;
    }
    if ('|;&)>'.includes(ch)) break;
    cur += ch;
  }
  if (has || cur) out.push(cur);
  return out;
}

const VAR_LINE =
  /^\s*(?:export\s+)?(key_prefix|current_cycle|cycle_number|spec_name|final_spec_name|KEY_PREFIX|CYCLE_NUMBER|SPEC_NAME)=["']?([^"'\s]*)["']?\s*$/gm;

function collectVars(text: string, vars: Map<string, string>): void {
  for (const m of text.matchAll(VAR_LINE)) if (m[2]) vars.set(m[1], m[2]);
  if (vars.has('cycle_number') && !vars.has('current_cycle')) vars.set('current_cycle', vars.get('cycle_number')!);
}

function resolveVars(s: string, vars: Map<string, string>): string {
  return s.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (all, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? all,
  );
}

/**
 * A later call that did the same thing and succeeded: the same command, or the same PEER script run by the
 * same agent on the same key (a retry rarely repeats the command to the letter).
 */
export function laterSucceeded(session: LogSession, failed: ToolCall): ToolCall | undefined {
  const idx = session.events.indexOf(failed);
  const sig = callSignature(failed);
  for (let i = idx + 1; i < session.events.length; i++) {
    const e = session.events[i];
    if (e.kind !== 'tool' || e.name !== failed.name || !e.result || callFailed(e)) continue;
    if (callSignature(e) === sig && sameActor(e.actor, failed.actor)) return e;
  }
  return undefined;
}

function sameActor(a: ToolCall['actor'], b: ToolCall['actor']): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && a.spawnId === b.spawnId);
}

function callSignature(c: ToolCall): string {
  const cmd = c.command ?? c.filePath ?? JSON.stringify(c.input);
  const script = PEER_SCRIPT.exec(cmd);
  if (script && STATE_SCRIPTS.has(script[1])) return `script:${script[1]}:${classifyStateCommand(cmd)?.rawKey ?? ''}`;
  if (script) return `script:${script[1]}`;
  return cmd.replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------- claims of success

const SUCCESS_TEXT =
  /completed successfully|PEER cycle \d+ complete\b|✨\s*PEER Cycle Complete|cycle (?:is )?complete[.!]/i;

export interface SuccessClaim {
  event: ToolCall | TextEvent | StreamResultEvent;
  ref: LogRef;
  excerpt: string;
}

/** Statements by the run itself (not a subagent) that it succeeded: finalize output, final text, stream-json result. */
export function successClaims(session: LogSession): SuccessClaim[] {
  const out: SuccessClaim[] = [];
  for (const e of session.events) {
    if (e.kind === 'tool' && e.actor === 'main' && e.result && !callFailed(e) && SUCCESS_TEXT.test(e.result.text)) {
      out.push({ event: e, ref: e.result.ref, excerpt: matchLine(e.result.text, SUCCESS_TEXT) });
    } else if (e.kind === 'text' && e.role === 'assistant' && e.actor === 'main' && SUCCESS_TEXT.test(e.text)) {
      out.push({ event: e, ref: e.ref, excerpt: matchLine(e.text, SUCCESS_TEXT) });
    } else if (e.kind === 'result' && e.subtype === 'success' && !e.isError) {
      out.push({ event: e, ref: e.ref, excerpt: `result: success${e.text ? ` — ${firstLine(e.text)}` : ''}` });
    }
  }
  return out;
}

export function matchLine(text: string, re: RegExp): string {
  const line = text.split('\n').find((l) => re.test(l)) ?? text;
  return cut(line.trim(), 200);
}

export function firstLine(text: string): string {
  return cut((text.split('\n').find((l) => l.trim() !== '') ?? '').trim(), 200);
}

export function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Mentions of the given needles anywhere in a session's commands, prompts, texts and results. Needles made of
 * key characters match on segment boundaries (see MentionIndex); others as plain substrings.
 */
export function sessionMentions(session: LogSession, needles: string[]): Set<string> {
  return new MentionIndex(needles).sessionMentions(session);
}

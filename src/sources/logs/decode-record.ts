// One transcript record (a decoded JSON object) to the units of a ParsedFile: the file's envelope facts
// (format, session id, version, time span), who the record belongs to (the file's own agent, a spawn, an
// inline sidechain), and its events: texts, tool calls and spawns with bounded input, tool results (what
// view tools showed cut short at once), spawn-to-agent links and agent_progress mirrors. Every text kept is
// cut to a fixed length, so memory does not grow with what a transcript holds. A RecordDecoder keeps what
// later records of the same file refer back to (sidechain roots, view tool calls).
import type {
  LogEvent,
  LogRef,
  Spawn,
  SpawnResultDetail,
  StreamResultEvent,
  TextEvent,
  ToolCall,
} from '../../model/types.js';
import {
  DeferredData,
  type LocalActor,
  type MirrorUnit,
  type ParsedFile,
  type ResultUnit,
  type Unit,
  mergeUsage,
  type UsageCounts,
  type UsageUnit,
} from './parsed.js';
import type { JsonRecord } from './read-lines.js';
import { cut, isObj, ownCopy, str, stripPlugin, toMs } from './values.js';

export const TEXT_MAX = 4000;
/**
 * Tools whose result is what they showed (file contents, search hits, pages), not what they did: their results
 * are kept this long. They are most of a transcript's bytes, and no rule reads past their first lines.
 */
export const VIEW_RESULT_MAX = 400;
export const VIEW_TOOLS = new Set(['Read', 'Grep', 'Glob', 'LS', 'NotebookRead', 'WebFetch', 'WebSearch']);
export const COMMAND_MAX = 8000;
/** Other tool input (Write content, Edit strings, patterns) only names a call in reports: a short head is kept. */
const INPUT_STRING_MAX = 300;
const INPUT_ITEMS_MAX = 50;
const INPUT_DEPTH_MAX = 4;

const SPAWN_TOOLS = new Set(['Task', 'Agent']);
/** The model Claude Code names on the error messages it writes itself (no API call behind them). */
const SYNTHETIC_MODEL = '<synthetic>';
const EXIT_CODE_FAILURE = /^Exit code [1-9]\d*/;
const AGENT_TRAILER = /^agentId: ([A-Za-z0-9_-]+)/;
const INTERRUPT_MARKER = '[Request interrupted by user';
/** Record types events or links are taken from; everything else is tolerated and skipped. */
const EXTRACTED_TYPES = new Set(['user', 'assistant', 'progress', 'result', 'system']);

/** Decodes the records of one file, in read order, into `file`. Throws on a record of a shape never seen. */
export class RecordDecoder {
  private formatKnown = false;
  private readonly chainOf = new Map<string, string>();
  /** tool_use ids of view tools (Read, Grep, …) in this file. */
  private readonly viewCalls = new Set<string>();
  private readonly ids = new Map<string, string>();
  /** The usage unit of each API response in this file, by its key, so the records of one response merge. */
  private readonly usages = new Map<string, UsageUnit>();

  constructor(readonly file: ParsedFile) {}

  /** `lineStart`: file offset of the first byte of the record's line (where a DeferredData range counts from). */
  record(rec: JsonRecord, line: number, lineStart: number): void {
    this.noteEnvelope(rec);
    const local = this.localActor(rec, line);
    const type = str(rec.type);
    if (!type || !EXTRACTED_TYPES.has(type)) return;
    const uuid = str(rec.uuid);
    if (uuid) {
      if (this.file.uuids.has(uuid)) {
        this.file.duplicates++;
        return;
      }
      this.file.uuids.add(uuid);
    }
    const ref = this.ref(line, uuid, str(rec.timestamp));
    if (type === 'assistant') {
      this.assistant(rec.message, local, ref, false);
      this.usage(rec, local, ref, false);
    } else if (type === 'user') this.user(rec, local, ref, false);
    else if (type === 'progress') this.progress(rec, line, uuid, lineStart);
    else if (type === 'result') this.streamResult(rec, ref);
    else this.taskLink(rec, uuid);
  }

  private get isAgentTranscript(): boolean {
    return this.file.role.kind === 'agent' && this.file.format === 'transcript';
  }

  private noteEnvelope(rec: JsonRecord): void {
    const f = this.file;
    if (!this.formatKnown) {
      this.formatKnown = true;
      const init = rec.type === 'system' && rec.subtype === 'init' && 'session_id' in rec;
      if (init || ('parent_tool_use_id' in rec && !('sessionId' in rec))) f.format = 'stream-json';
    }
    f.sessionId ??= str(rec.sessionId) ?? str(rec.session_id);
    f.version ??= str(rec.version) ?? str(rec.claude_code_version);
    f.cwd ??= str(rec.cwd);
    const iso = str(rec.timestamp);
    const ms = iso ? Date.parse(iso) : NaN;
    if (iso && !Number.isNaN(ms)) {
      if (!f.first || ms < f.first.ms) f.first = { ms, iso };
      if (!f.last || ms > f.last.ms) f.last = { ms, iso };
    }
  }

  private localActor(rec: JsonRecord, line: number): LocalActor {
    if (this.file.format === 'stream-json') {
      const parent = str(rec.parent_tool_use_id);
      return parent ? { spawnId: parent } : 'main';
    }
    if (this.file.role.kind === 'agent' || rec.isSidechain !== true) return 'main';
    const agentId = str(rec.agentId);
    return agentId ? { agentId } : { chain: this.chainRoot(rec, line) };
  }

  /** Legacy inline sidechains: follow parentUuid back to the chain's root record. */
  private chainRoot(rec: JsonRecord, line: number): string {
    const uuid = str(rec.uuid);
    const parent = str(rec.parentUuid);
    let root = parent ? this.chainOf.get(parent) : undefined;
    if (!root) {
      root = uuid ?? `line:${line}`;
      const iso = str(rec.timestamp);
      const prompt = rec.type === 'user' && isObj(rec.message) ? userText(rec.message.content) : undefined;
      const chain = { id: root, prompt: prompt === undefined ? undefined : cut(prompt, TEXT_MAX), ms: toMs(iso) };
      this.file.chains.set(root, chain);
    }
    if (uuid) this.chainOf.set(uuid, root);
    return root;
  }

  private ref(line: number, uuid: string | undefined, timestamp: string | undefined): LogRef {
    const ref: LogRef = { path: this.file.path, line };
    if (uuid) ref.uuid = uuid;
    if (timestamp) ref.timestamp = timestamp;
    return ref;
  }

  private push(event: LogEvent, local: LocalActor, mirror: boolean): void {
    this.file.units.push({ kind: 'event', event, local, mirror, uuid: event.ref.uuid });
  }

  private assistant(message: unknown, local: LocalActor, ref: LogRef, mirror: boolean): void {
    if (!isObj(message)) return;
    const content = message.content;
    if (typeof content === 'string') {
      this.text('assistant', content, local, ref, mirror);
      return;
    }
    if (!Array.isArray(content)) return;
    for (const block of content) {
      if (!isObj(block)) continue;
      if (block.type === 'text') this.text('assistant', str(block.text), local, ref, mirror);
      else if (block.type === 'tool_use') this.toolUse(block, local, ref, mirror);
    }
  }

  private toolUse(block: JsonRecord, local: LocalActor, ref: LogRef, mirror: boolean): void {
    const id = str(block.id);
    const name = str(block.name);
    if (!id || !name) return;
    const input = isObj(block.input) ? block.input : {};
    if (VIEW_TOOLS.has(name)) this.viewCalls.add(id);
    const event = SPAWN_TOOLS.has(name)
      ? makeSpawn(id, name as Spawn['toolName'], input, ref)
      : makeToolCall(id, name, input, ref);
    this.push(event, local, mirror);
  }

  private text(
    role: TextEvent['role'],
    text: string | undefined,
    local: LocalActor,
    ref: LogRef,
    mirror: boolean,
    human?: boolean,
  ): void {
    if (!text || text.trim() === '') return;
    const event: TextEvent = { kind: 'text', role, text: cut(text, TEXT_MAX), actor: 'main', ref };
    if (role === 'user') event.human = human === true;
    this.push(event, local, mirror);
  }

  private user(rec: JsonRecord, local: LocalActor, ref: LogRef, mirror: boolean): void {
    const message = rec.message;
    if (!isObj(message)) return;
    const content = message.content;
    const text = userText(content);
    if (text !== undefined && !mirror) this.file.firstUserText ??= cut(text, TEXT_MAX);
    if (text !== undefined) this.text('user', text, local, ref, mirror, this.isHumanTurn(rec, local, text));
    if (!Array.isArray(content)) return;
    const results = content.filter((b): b is JsonRecord => isObj(b) && b.type === 'tool_result');
    // toolUseResult describes the record's one tool result; with several it cannot be told apart.
    const detail = results.length === 1 ? (rec.toolUseResult ?? rec.tool_use_result) : undefined;
    for (const block of results) this.toolResult(block, detail, ref, mirror);
  }

  private isHumanTurn(rec: JsonRecord, local: LocalActor, text: string): boolean {
    if (local !== 'main' || this.isAgentTranscript) return false;
    if (rec.isMeta === true || rec.isCompactSummary === true || rec.isVisibleInTranscriptOnly === true) return false;
    return !text.startsWith(INTERRUPT_MARKER);
  }

  private toolResult(block: JsonRecord, detail: unknown, ref: LogRef, mirror: boolean): void {
    const toolUseId = str(block.tool_use_id);
    if (!toolUseId) return;
    const { text, withoutTrailer, trailerAgentId } = flattenResult(block.content);
    const isError =
      block.is_error === true ||
      (typeof detail === 'string' && detail.startsWith('Error')) ||
      EXIT_CODE_FAILURE.test(text);
    // What a view tool showed is cut here already: the file's records are all held until the sessions are built.
    const view = this.viewCalls.has(toolUseId);
    const result = { isError, text: view ? ownCopy(cut(text, VIEW_RESULT_MAX)) : text, ref };
    const unit: ResultUnit = { kind: 'result', toolUseId, result, mirror, uuid: ref.uuid };
    if (view) unit.viewCut = true;
    if (withoutTrailer !== undefined) unit.spawnText = withoutTrailer;
    const agentId = (isObj(detail) ? str(detail.agentId) : undefined) ?? trailerAgentId;
    if (agentId) unit.agentId = agentId;
    const spawnDetail = isObj(detail) ? spawnResultDetail(detail) : undefined;
    if (spawnDetail) unit.spawnDetail = spawnDetail;
    this.file.units.push(unit);
  }

  /** 2.1.x agent_progress: links a spawn to its agent id and mirrors the subagent's tool traffic. */
  private progress(rec: JsonRecord, line: number, uuid: string | undefined, lineStart: number): void {
    const data = rec.data;
    const spawnId = str(rec.parentToolUseID);
    if (!isObj(data) || data.type !== 'agent_progress' || !spawnId) return;
    const agentId = str(data.agentId);
    // The same few spawn and agent ids recur on every mirrored record of a spawn: one copy of each per file.
    const unit: MirrorUnit = {
      kind: 'mirror',
      spawnId: this.intern(spawnId),
      agentId: agentId ? this.intern(agentId) : undefined,
      line,
      uuid,
      timestamp: str(rec.timestamp),
      offset: -1,
      length: 0,
    };
    if (data instanceof DeferredData) {
      unit.offset = lineStart + data.start;
      unit.length = data.end - data.start;
    } else unit.data = data;
    this.file.units.push(unit);
  }

  private intern(id: string): string {
    const known = this.ids.get(id);
    if (known !== undefined) return known;
    this.ids.set(id, id);
    return id;
  }

  /** The units an agent_progress record's data yields: what progress() would have made of it at once. */
  mirrorUnits(unit: MirrorUnit, data: JsonRecord): Unit[] {
    const inner = data.message;
    if (!isObj(inner)) return [];
    const ref = this.ref(unit.line, unit.uuid, str(inner.timestamp) ?? unit.timestamp);
    const local = { spawnId: unit.spawnId };
    if (inner.type === 'assistant') {
      this.assistant(inner.message, local, ref, true);
      this.usage(inner, local, ref, true);
    } else if (inner.type === 'user') this.user(inner, local, ref, true);
    return this.file.units;
  }

  /**
   * The token counts of an assistant record (`message.usage`), merged into one unit per API response: its records
   * (one per content block) carry the counts so far, so the largest of each count is the response's.
   */
  private usage(rec: JsonRecord, local: LocalActor, ref: LogRef, mirror: boolean): void {
    const message = rec.message;
    if (!isObj(message) || !isObj(message.usage)) return;
    const model = str(message.model);
    // Claude Code's own error messages are not API responses.
    if (model === SYNTHETIC_MODEL) return;
    const key = str(message.id) ?? str(rec.requestId) ?? ref.uuid;
    if (!key) return;
    const u = message.usage;
    const counts: UsageCounts = {
      input: tokens(u.input_tokens),
      output: tokens(u.output_tokens),
      cacheRead: tokens(u.cache_read_input_tokens),
      cacheWrite: tokens(u.cache_creation_input_tokens),
    };
    const known = this.usages.get(key);
    if (known) return mergeUsage(known, counts);
    const unit: UsageUnit = { kind: 'usage', key, ...counts, local, mirror, uuid: ref.uuid };
    if (model !== undefined) unit.model = this.intern(model);
    const ms = toMs(ref.timestamp);
    if (ms !== undefined) unit.ms = ms;
    this.usages.set(key, unit);
    this.file.units.push(unit);
  }

  private streamResult(rec: JsonRecord, ref: LogRef): void {
    const event: StreamResultEvent = {
      kind: 'result',
      subtype: str(rec.subtype) ?? '',
      isError: rec.is_error === true,
      ref,
    };
    const text = str(rec.result);
    if (text !== undefined) event.text = cut(text, TEXT_MAX);
    this.file.units.push({ kind: 'event', event, local: 'main', mirror: false, uuid: ref.uuid });
  }

  /** stream-json task_started / task_notification name the agent id of a spawn. */
  private taskLink(rec: JsonRecord, uuid: string | undefined): void {
    const agentId = str(rec.task_id);
    const spawnId = str(rec.tool_use_id);
    if (agentId && spawnId) this.file.units.push({ kind: 'link', spawnId, agentId, uuid });
  }
}

/** A token count as written, or 0 when it is missing or not a count. */
function tokens(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function makeSpawn(id: string, toolName: Spawn['toolName'], input: JsonRecord, ref: LogRef): Spawn {
  const type = str(input.subagent_type) ?? '';
  const spawn: Spawn = { kind: 'spawn', id, toolName, subagentType: stripPlugin(type), actor: 'main', ref };
  const description = str(input.description);
  const prompt = str(input.prompt);
  if (description !== undefined) spawn.description = cut(description, TEXT_MAX);
  if (prompt !== undefined) spawn.prompt = cut(prompt, TEXT_MAX);
  return spawn;
}

function makeToolCall(id: string, name: string, input: JsonRecord, ref: LogRef): ToolCall {
  const call: ToolCall = { kind: 'tool', id, name, input: {}, actor: 'main', ref };
  const rest: JsonRecord = { ...input };
  if (name === 'Bash' && typeof input.command === 'string') {
    call.command = cut(input.command, COMMAND_MAX);
    delete rest.command;
  }
  const filePath = str(input.file_path) ?? str(input.notebook_path);
  if (filePath !== undefined) {
    call.filePath = filePath;
    delete rest.file_path;
    delete rest.notebook_path;
  }
  call.input = bounded(rest, 0) as Record<string, unknown>;
  return call;
}

/** A copy of a tool input with strings, arrays and nesting cut, so no record is kept whole. */
function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > INPUT_STRING_MAX ? ownCopy(cut(value, INPUT_STRING_MAX)) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= INPUT_DEPTH_MAX) return Array.isArray(value) ? '[array]' : '[object]';
  if (Array.isArray(value)) return value.slice(0, INPUT_ITEMS_MAX).map((v) => bounded(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, INPUT_ITEMS_MAX)) out[k] = bounded(v, depth + 1);
  return out;
}

/** A Task result's status ("completed", "async_launched") and tool call count, when its toolUseResult has them. */
function spawnResultDetail(detail: JsonRecord): SpawnResultDetail | undefined {
  const out: SpawnResultDetail = {};
  const status = str(detail.status);
  if (status !== undefined) out.status = status;
  const count = detail.totalToolUseCount;
  if (typeof count === 'number' && Number.isInteger(count) && count >= 0) out.totalToolUseCount = count;
  return status !== undefined || out.totalToolUseCount !== undefined ? out : undefined;
}

/** User text: a string content, or the text blocks of an array content joined by newlines. */
function userText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter((b): b is JsonRecord => isObj(b) && b.type === 'text' && typeof b.text === 'string');
  return texts.length ? texts.map((b) => cut(b.text as string, TEXT_MAX)).join('\n') : undefined;
}

function flattenResult(content: unknown): { text: string; withoutTrailer?: string; trailerAgentId?: string } {
  if (typeof content === 'string') return { text: cut(content, TEXT_MAX) };
  if (!Array.isArray(content)) return { text: '' };
  const all: string[] = [];
  const kept: string[] = [];
  let trailerAgentId: string | undefined;
  for (const block of content) {
    if (!isObj(block) || block.type !== 'text' || typeof block.text !== 'string') continue;
    const text = cut(block.text, TEXT_MAX);
    all.push(text);
    const trailer = AGENT_TRAILER.exec(text);
    if (trailer) trailerAgentId ??= trailer[1];
    else kept.push(text);
  }
  const text = cut(all.join('\n'), TEXT_MAX);
  return trailerAgentId ? { text, withoutTrailer: cut(kept.join('\n'), TEXT_MAX), trailerAgentId } : { text };
}

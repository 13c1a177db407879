// Reads one transcript file into a ParsedFile: streams its lines (read-lines.ts) and hands each record to a
// RecordDecoder. A well-formed line takes a fast path that decodes only the fields the decoder reads, with long
// strings cut short (json-scan.ts); any other line is parsed whole by the tolerant parser, so a damaged line is
// named (the first CORRUPT_LISTED_MAX per file listed, the rest counted) and what can be recovered of it is
// kept. A subagent file's .meta.json sidecar is read beside it. agent_progress payloads are left where they sit
// in the file and decoded later (materialiseMirror) only if assembly needs them.
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { COMMAND_MAX, RecordDecoder, TEXT_MAX } from './decode-record.js';
import { decodeBounded, decodeValue, type CutPolicy, KeyTable, Members, scanObject } from './json-scan.js';
import {
  type AgentMeta,
  DeferredData,
  emptyParsedFile,
  type FileRole,
  type MirrorUnit,
  type ParsedFile,
  type Unit,
} from './parsed.js';
import { forEachLine, parseJsonLine, type JsonRecord, type ParsedLine, type RawLine } from './read-lines.js';
import { isObj, str } from './values.js';

/** Corrupt lines listed per file; the rest are only counted. */
const CORRUPT_LISTED_MAX = 200;

export async function parseFile(
  abs: string,
  display: string,
  role: FileRole,
  mtimeMs: number,
  onBytes?: (n: number) => void,
): Promise<ParsedFile> {
  const parser = new FileParser(abs, display, role, mtimeMs);
  const { bytes, lines } = await forEachLine(abs, (l) => parser.line(l), onBytes);
  const file = parser.file;
  file.bytes = bytes;
  file.lines = lines;
  if (role.kind === 'agent') file.meta = await readAgentMeta(abs, role.agentId);
  return file;
}

async function readAgentMeta(abs: string, agentId: string): Promise<AgentMeta | undefined> {
  try {
    const sidecar = path.join(path.dirname(abs), `agent-${agentId}.meta.json`);
    const raw: unknown = JSON.parse(await readFile(sidecar, 'utf8'));
    if (!isObj(raw)) return undefined;
    return { agentType: str(raw.agentType), description: str(raw.description), toolUseId: str(raw.toolUseId) };
  } catch {
    // No sidecar (older versions) or an unreadable one: linking falls back to agent ids and prompts.
    return undefined;
  }
}

class FileParser {
  readonly file: ParsedFile;
  private readonly decoder: RecordDecoder;
  /** PEER_AUDIT_LOG_FAST_PATH=0 parses every line whole (to compare the two paths). */
  private readonly fastPath = process.env.PEER_AUDIT_LOG_FAST_PATH !== '0';

  constructor(abs: string, display: string, role: FileRole, mtimeMs: number) {
    this.file = emptyParsedFile(abs, display, role, mtimeMs);
    this.decoder = new RecordDecoder(this.file);
  }

  line(l: RawLine): void {
    const b = l.bytes;
    // Well-formed lines (nearly all) take the fast path; anything else is parsed whole so the problem can be named.
    if (this.fastPath && b.indexOf(0) === -1 && isUtf8(b)) {
      let rec: JsonRecord | undefined;
      // Once the file's session id, version and cwd are known, later records' copies of them are not decoded.
      const f = this.file;
      try {
        rec = readRecord(b, f.sessionId !== undefined && f.version !== undefined && f.cwd !== undefined);
      } catch {
        rec = undefined;
      }
      if (rec) {
        this.file.records++;
        try {
          this.decoder.record(rec, l.line, l.start);
        } catch (err) {
          this.corrupt(l, `unreadable record: ${err instanceof Error ? err.message : String(err)}`, '');
        }
        return;
      }
    }
    let parsed: ParsedLine;
    try {
      parsed = parseJsonLine(l.bytes, l.terminated);
    } catch (err) {
      // A line too long for one JavaScript string.
      const reason = `unreadable line (${l.bytes.length} bytes): ${err instanceof Error ? err.message : String(err)}`;
      this.corrupt(l, reason, '');
      return;
    }
    if (parsed.blank) return;
    if (parsed.problem) this.corrupt(l, parsed.problem.reason, parsed.problem.excerpt);
    if (parsed.cutOff) this.file.truncatedTail = true;
    if (!parsed.value) return;
    this.file.records++;
    try {
      this.decoder.record(parsed.value, l.line, l.start);
    } catch (err) {
      // A record of a shape never seen before must not stop the file.
      this.corrupt(l, `unreadable record: ${err instanceof Error ? err.message : String(err)}`, '');
    }
  }

  private corrupt(l: RawLine, reason: string, excerpt: string): void {
    this.file.corruptTotal++;
    if (this.file.corrupt.length < CORRUPT_LISTED_MAX) {
      this.file.corrupt.push({ path: this.file.path, line: l.line, byteOffset: l.byteOffset, reason, excerpt });
    }
  }
}

// ---------------------------------------------------------------- reading only what the decoder uses

/**
 * The top-level fields RecordDecoder reads (a field it starts to read must be added here). Every other member
 * of a record is located, checked and skipped.
 */
const FIELDS = [
  'type',
  'subtype',
  'uuid',
  'parentUuid',
  'timestamp',
  'sessionId',
  'session_id',
  'version',
  'claude_code_version',
  'cwd',
  'isSidechain',
  'agentId',
  'parent_tool_use_id',
  'isMeta',
  'isCompactSummary',
  'isVisibleInTranscriptOnly',
  'parentToolUseID',
  'is_error',
  'task_id',
  'tool_use_id',
  'result',
  'requestId',
  // Decoded only for the record types that use them:
  'message',
  'data',
  'toolUseResult',
  'tool_use_result',
] as const;
const FIELD_KEYS = new KeyTable(FIELDS);
const F_MESSAGE = FIELDS.indexOf('message');
const F_DATA = FIELDS.indexOf('data');
const F_TOOL_USE_RESULT = FIELDS.indexOf('toolUseResult');
const F_TOOL_USE_RESULT_STREAM = FIELDS.indexOf('tool_use_result');
const NESTED_KEYS = new KeyTable(['type', 'agentId', 'status', 'totalToolUseCount']);
/** Fields RecordDecoder reads only until the file has a value for them (noteEnvelope). */
const ENVELOPE = new Set<number>(
  (['sessionId', 'session_id', 'version', 'claude_code_version', 'cwd'] as const).map((k) => FIELDS.indexOf(k)),
);

/**
 * What RecordDecoder reads of the strings in a message: these keys whole; `command` up to COMMAND_MAX characters;
 * every other string (texts, results, prompts, descriptions, other tool input) up to TEXT_MAX at most.
 */
const WHOLE_STRINGS = [
  'id',
  'name',
  'type',
  'tool_use_id',
  'subagent_type',
  'file_path',
  'notebook_path',
  'role',
  'model',
  'uuid',
  'timestamp',
  'agentId',
];
const CUT_KEYS = new KeyTable([...WHOLE_STRINGS, 'command']);
const COMMAND_KEY = WHOLE_STRINGS.length;
const MESSAGE_CUTS: CutPolicy = {
  needFor(b, s, e) {
    const id = CUT_KEYS.lookup(b, s, e);
    if (id === -1) return TEXT_MAX + 1;
    return id === COMMAND_KEY ? COMMAND_MAX + 1 : 0;
  },
  elementNeed: TEXT_MAX + 1,
  needOf(key) {
    if (key === 'command') return COMMAND_MAX + 1;
    return key !== undefined && WHOLE_STRINGS.includes(key) ? 0 : TEXT_MAX + 1;
  },
};
const topMembers = new Members();
const nestedMembers = new Members();

/**
 * The record on a line, holding what RecordDecoder reads and nothing else: envelope fields always; `message` for
 * user and assistant records; `data` for agent_progress (for other progress records only its type);
 * of toolUseResult only whether it is a string (kept), an object (only its agentId, status and totalToolUseCount
 * kept) or something else.
 * Undefined when the line is not a well-formed object: the caller then parses it whole.
 */
function readRecord(b: Buffer, envelopeKnown: boolean): JsonRecord | undefined {
  const m = topMembers;
  if (!scanObject(b, m)) return undefined;
  const rec: JsonRecord = {};
  let message = -1;
  let data = -1;
  let toolUseResult = -1;
  let toolUseResultStream = -1;
  for (let i = 0; i < m.count; i++) {
    const id = FIELD_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return undefined;
    if (id < 0 || (envelopeKnown && ENVELOPE.has(id))) continue;
    // A repeated key: the last one counts, as with JSON.parse.
    if (id === F_MESSAGE) message = i;
    else if (id === F_DATA) data = i;
    else if (id === F_TOOL_USE_RESULT) toolUseResult = i;
    else if (id === F_TOOL_USE_RESULT_STREAM) toolUseResultStream = i;
    else rec[FIELDS[id]] = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  const type = rec.type;
  if (type === 'user' || type === 'assistant') {
    if (message >= 0) rec.message = decodeBounded(b, m, message, MESSAGE_CUTS);
    if (type === 'user') {
      if (toolUseResult >= 0) {
        rec.toolUseResult = toolUseResultSummary(b, m.valueStart(toolUseResult), m.valueEnd(toolUseResult));
      }
      if (toolUseResultStream >= 0) {
        const s = m.valueStart(toolUseResultStream);
        rec.tool_use_result = toolUseResultSummary(b, s, m.valueEnd(toolUseResultStream));
      }
    }
  } else if (type === 'progress' && data >= 0) {
    rec.data = progressData(b, m.valueStart(data), m.valueEnd(data));
  }
  return rec;
}

/**
 * A toolUseResult as far as it matters: a string whole, of an object only its agentId, status and
 * totalToolUseCount (what a Task result says of its subagent), any other value as a stand-in of its kind.
 */
function toolUseResultSummary(b: Buffer, s: number, e: number): unknown {
  const c = b[s];
  if (c === 0x5b) return [];
  if (c !== 0x7b) return decodeValue(b, s, e);
  const m = nestedMembers;
  if (!scanObject(b, m, s, e)) return decodeValue(b, s, e);
  const out: JsonRecord = {};
  for (let i = 0; i < m.count; i++) {
    const id = NESTED_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return decodeValue(b, s, e);
    if (id === 1) out.agentId = decodeValue(b, m.valueStart(i), m.valueEnd(i));
    else if (id === 2) out.status = decodeValue(b, m.valueStart(i), m.valueEnd(i));
    else if (id === 3) out.totalToolUseCount = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  return out;
}

/** A progress record's data: for agent_progress its agent id and place (see MirrorUnit), else only its type. */
function progressData(b: Buffer, s: number, e: number): unknown {
  if (b[s] !== 0x7b) return decodeValue(b, s, e);
  const m = nestedMembers;
  if (!scanObject(b, m, s, e)) return decodeValue(b, s, e);
  let type: unknown;
  let agentId: unknown;
  for (let i = 0; i < m.count; i++) {
    const id = NESTED_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return decodeValue(b, s, e);
    if (id === 0) type = decodeValue(b, m.valueStart(i), m.valueEnd(i));
    else if (id === 1) agentId = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  return type === 'agent_progress' ? new DeferredData(agentId, s, e) : { type };
}

// ---------------------------------------------------------------- agent_progress payloads, when needed

/** Decodes a deferred agent_progress record from its file; undefined when the file no longer holds it. */
function readMirrorData(file: ParsedFile, unit: MirrorUnit): JsonRecord | undefined {
  if (unit.data) return unit.data;
  if (unit.offset < 0) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file.abs, 'r');
    const buf = Buffer.allocUnsafe(unit.length);
    const n = readSync(fd, buf, 0, unit.length, unit.offset);
    const value: unknown = JSON.parse(buf.toString('utf8', 0, n));
    return isObj(value) ? value : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The events and results of an agent_progress record, made the way the file's own decoding would have made them. */
export function materialiseMirror(file: ParsedFile, unit: MirrorUnit): Unit[] {
  const data = readMirrorData(file, unit);
  if (!data) return [];
  try {
    return new RecordDecoder(emptyParsedFile(file.abs, file.path, file.role, file.mtimeMs)).mirrorUnits(unit, data);
  } catch {
    return [];
  }
}

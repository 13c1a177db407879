// Byte-level JSONL reading: physical lines from a stream, and a tolerant per-line JSON parse
// that names what is wrong with a damaged line and recovers what it can.
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

export interface RawLine {
  /** Line bytes without the newline, a trailing \r, or (line 1) a UTF-8 BOM. */
  bytes: Buffer;
  /** 1-based physical line number. */
  line: number;
  /** Offset of the line's first byte in the file. */
  byteOffset: number;
  /** False for a last line that has no newline after it. */
  terminated: boolean;
}

const READ_CHUNK = 1 << 20;
const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Streams a file and calls onLine for each physical line, split on 0x0A.
 * Only the line being assembled is buffered, so memory is bounded by the longest line.
 */
export async function forEachLine(absPath: string, onLine: (l: RawLine) => void): Promise<{ bytes: number; lines: number }> {
  const stream = createReadStream(absPath, { highWaterMark: READ_CHUNK });
  let pending: Buffer[] = [];
  let lineStart = 0;
  let chunkStart = 0;
  let lines = 0;

  const emit = (bytes: Buffer, terminated: boolean): void => {
    lines++;
    onLine({ bytes: trimLine(bytes, lines === 1), line: lines, byteOffset: lineStart, terminated });
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let pos = 0;
    for (let nl = chunk.indexOf(NEWLINE, pos); nl >= 0; nl = chunk.indexOf(NEWLINE, pos)) {
      const piece = chunk.subarray(pos, nl);
      emit(pending.length ? Buffer.concat([...pending, piece]) : piece, true);
      pending = [];
      pos = nl + 1;
      lineStart = chunkStart + pos;
    }
    if (pos < chunk.length) pending.push(chunk.subarray(pos));
    chunkStart += chunk.length;
  }
  if (pending.length) emit(Buffer.concat(pending), false);
  return { bytes: chunkStart, lines };
}

function trimLine(bytes: Buffer, first: boolean): Buffer {
  let start = 0;
  let end = bytes.length;
  if (first && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  if (end > start && bytes[end - 1] === CR) end--;
  return start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
}

// ---------------------------------------------------------------- parsing one line

export type JsonRecord = Record<string, unknown>;

export interface ParsedLine {
  /** Whitespace only: not a record, not a problem. */
  blank?: boolean;
  /** The record, when the line (or a recoverable part of it) parsed to an object. */
  value?: JsonRecord;
  /** Set when something was wrong with the line, even if a record was recovered. */
  problem?: { reason: string; excerpt: string };
  /** The line is an unterminated last line that is not JSON. */
  cutOff?: boolean;
}

const EXCERPT_CHARS = 120;
/** Where a record can start inside a damaged line. */
const SPLICE_MARKERS = ['{"parentUuid"', '{"type"', '{"uuid"'];
/** Markers that never start a nested object, so a line containing one later on holds two records. */
const SPLICE_ONLY_MARKERS = /.\{"(?:parentUuid|uuid)"/;
const MAX_SPLICE_TRIES = 16;
const RECORD_TYPES = new Set([
  'user',
  'assistant',
  'system',
  'progress',
  'summary',
  'result',
  'attachment',
  'file-history-snapshot',
  'queue-operation',
]);

export function parseJsonLine(bytes: Buffer, terminated: boolean): ParsedLine {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return { blank: true };
  // toString replaces bad sequences with U+FFFD; only then is the (slower) validity check needed.
  const badUtf8 = text.includes('\uFFFD') && !isUtf8(bytes);
  const whole = tryParse(text);
  if (whole.ok && isRecord(whole.value)) {
    return badUtf8 ? damaged({ value: whole.value }, ['invalid UTF-8', 'record kept with U+FFFD replacements'], text) : { value: whole.value };
  }

  const reasons: string[] = [];
  const hasNul = text.includes('\0');
  if (hasNul) reasons.push('NUL bytes');
  if (badUtf8) reasons.push('invalid UTF-8');
  if (whole.ok) return damaged({}, [...reasons, `not a JSON object (${jsonKind(whole.value)})`], text);

  if (hasNul) {
    const withoutNul = text.replace(/\0+/g, '');
    if (withoutNul.trim() === '') return terminated ? damaged({}, reasons, text) : damaged({ cutOff: true }, [...reasons, 'cut-off last line'], text);
    const again = tryParse(withoutNul);
    if (again.ok && isRecord(again.value)) return damaged({ value: again.value }, [...reasons, 'record recovered after removing them'], text);
  }

  const splice = recoverSplice(text);
  if (splice) return damaged({ value: splice.value }, [...reasons, `spliced record, recovered the record at column ${splice.at + 1}`], text);
  if (!terminated) return damaged({ cutOff: true }, [...reasons, 'cut-off last line'], text);
  if (SPLICE_ONLY_MARKERS.test(text)) return damaged({}, [...reasons, 'spliced record'], text);
  return damaged({}, [...reasons, `invalid JSON: ${whole.error}`], text);
}

function damaged(result: ParsedLine, reasons: string[], text: string): ParsedLine {
  return { ...result, problem: { reason: reasons.join('; '), excerpt: escapeExcerpt(text.slice(0, EXCERPT_CHARS)) } };
}

type ParseAttempt = { ok: true; value: unknown } | { ok: false; error: string };

function tryParse(text: string): ParseAttempt {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err instanceof Error ? err.message : String(err)).slice(0, 100) };
  }
}

/** A damaged line may end with a complete record that was appended onto a partial one: parse from the last record start that works. */
function recoverSplice(text: string): { value: JsonRecord; at: number } | undefined {
  const starts: number[] = [];
  for (const marker of SPLICE_MARKERS) {
    for (let i = text.indexOf(marker, 1); i > 0; i = text.indexOf(marker, i + 1)) starts.push(i);
  }
  starts.sort((a, b) => b - a);
  for (const at of starts.slice(0, MAX_SPLICE_TRIES)) {
    const attempt = tryParse(text.slice(at));
    if (attempt.ok && isRecord(attempt.value) && looksLikeRecord(attempt.value)) return { value: attempt.value, at };
  }
  return undefined;
}

/** Tells a transcript record from a content block ({"type":"text",…}) that happens to parse on its own. */
function looksLikeRecord(v: JsonRecord): boolean {
  if ('uuid' in v || 'parentUuid' in v || 'sessionId' in v || 'session_id' in v) return true;
  return typeof v.type === 'string' && RECORD_TYPES.has(v.type);
}

function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Control and invisible characters as \xNN / \uNNNN so an excerpt is one readable line. */
export function escapeExcerpt(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0xfffd || (c >= 0xd800 && c <= 0xdfff)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}

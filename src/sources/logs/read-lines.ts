// Byte-level JSONL reading for transcripts: a file's physical lines read in chunks (memory bounded by the
// longest line), and the tolerant parse of one line that names what is wrong with a damaged line (invalid
// UTF-8, NUL bytes, two records spliced together, a cut-off last line) and recovers what record it can.
// Well-formed lines are read faster by parse-file.ts with json-scan.ts; this parse is the path for the rest.
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { isRecord } from '../../model/values.js';

export interface RawLine {
  /** Line bytes without the newline, a trailing \r, or (line 1) a UTF-8 BOM. */
  bytes: Buffer;
  /** 1-based physical line number. */
  line: number;
  /** Offset of the line's first byte in the file. */
  byteOffset: number;
  /** Offset of bytes[0] in the file (after a BOM). */
  start: number;
  /** False for a last line that has no newline after it. */
  terminated: boolean;
}

const READ_CHUNK = 1 << 20;
const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Reads a file and calls onLine for each physical line, split on 0x0A. The next chunk is read while this
 * one is split. Only the line being assembled is kept across chunks, so memory is bounded by the longest line.
 * `l.bytes` is only valid during the call (the buffer is reused): copy what must outlive it.
 */
export async function forEachLine(
  absPath: string,
  onLine: (l: RawLine) => void,
  onChunk?: (bytes: number) => void,
): Promise<{ bytes: number; lines: number }> {
  const fh = await open(absPath, 'r');
  let pending: Buffer[] = [];
  let lineStart = 0;
  let chunkStart = 0;
  let lines = 0;

  const emit = (bytes: Buffer, terminated: boolean): void => {
    lines++;
    const bom = lines === 1 && hasBom(bytes) ? 3 : 0;
    const trimmed = trimLine(bytes, lines === 1);
    onLine({ bytes: trimmed, line: lines, byteOffset: lineStart, start: lineStart + bom, terminated });
  };

  // Two buffers in turn: one being split while the next read fills the other. They go back to a pool afterwards.
  const buffers = [takeChunkBuffer(), takeChunkBuffer()];
  let turn = 0;
  const read = () => fh.read(buffers[turn++ & 1], 0, READ_CHUNK, null);
  let next: ReturnType<typeof read> | undefined;
  try {
    next = read();
    for (;;) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) break;
      next = read();
      const chunk = buffer.subarray(0, bytesRead);
      let pos = 0;
      for (let nl = chunk.indexOf(NEWLINE, pos); nl >= 0; nl = chunk.indexOf(NEWLINE, pos)) {
        const piece = chunk.subarray(pos, nl);
        emit(pending.length ? Buffer.concat([...pending, piece]) : piece, true);
        pending = [];
        pos = nl + 1;
        lineStart = chunkStart + pos;
      }
      // Copied: the rest of the chunk is garbage once the line is complete.
      if (pos < chunk.length) pending.push(Buffer.from(chunk.subarray(pos)));
      chunkStart += chunk.length;
      onChunk?.(chunk.length);
    }
  } finally {
    // A read still in flight has to settle before the file closes.
    await next?.catch(() => undefined);
    await fh.close();
    chunkPool.push(...buffers);
  }
  if (pending.length) emit(Buffer.concat(pending), false);
  return { bytes: chunkStart, lines };
}

/** Read buffers no file is using. Line bytes handed to onLine point into them: they are valid during the call only. */
const chunkPool: Buffer[] = [];

function takeChunkBuffer(): Buffer {
  return chunkPool.pop() ?? Buffer.allocUnsafe(READ_CHUNK);
}

function hasBom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function trimLine(bytes: Buffer, first: boolean): Buffer {
  let start = 0;
  let end = bytes.length;
  if (first && hasBom(bytes)) start = 3;
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
    if (!badUtf8) return { value: whole.value };
    return damaged({ value: whole.value }, ['invalid UTF-8', 'record kept with U+FFFD replacements'], text);
  }

  const reasons: string[] = [];
  const hasNul = text.includes('\0');
  if (hasNul) reasons.push('NUL bytes');
  if (badUtf8) reasons.push('invalid UTF-8');
  if (whole.ok) return damaged({}, [...reasons, `not a JSON object (${jsonKind(whole.value)})`], text);

  if (hasNul) {
    const withoutNul = text.replace(/\0+/g, '');
    if (withoutNul.trim() === '') {
      if (terminated) return damaged({}, reasons, text);
      return damaged({ cutOff: true }, [...reasons, 'cut-off last line'], text);
    }
    const again = tryParse(withoutNul);
    if (again.ok && isRecord(again.value)) {
      return damaged({ value: again.value }, [...reasons, 'record recovered after removing them'], text);
    }
  }

  const splice = recoverSplice(text);
  if (splice) {
    const reason = `spliced record, recovered the record at column ${splice.at + 1}`;
    return damaged({ value: splice.value }, [...reasons, reason], text);
  }
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

/**
 * A damaged line may end with a complete record that was appended onto a partial one: parse from the last record
 * start that works.
 */
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

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Control and invisible characters as \xNN / \uNNNN so an excerpt is one readable line. */
function escapeExcerpt(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (
      (c >= 0x80 && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff ||
      c === 0xfffd ||
      (c >= 0xd800 && c <= 0xdfff)
    ) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}

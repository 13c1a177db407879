// KV snapshot files, format "peer-audit-kv/1" (JSON Lines, so it streams).
//
// Line 1, the header:
//   {"format":"peer-audit-kv/1","bucket":"…","taken_at":"<ISO>","source":"<server url>"|null,
//    "server_version":"…"|null,"config":{"history":50,"replicas":1,"ttl_ms":0,"storage":"file",
//    "description":"…","max_value_size":-1}|null}
// Then one line per retained revision, ascending by revision over the whole bucket:
//   {"key":"…","revision":N,"operation":"PUT"|"DEL"|"PURGE","created":"<ISO>","length":<bytes>,
//    "value_b64":"…","value":"<UTF-8 text, only when the bytes are valid UTF-8>"}
// value_b64 is authoritative. A line with only "value" (hand-written fixtures) uses the UTF-8 bytes of "value".

import { isUtf8 } from 'node:buffer';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { BucketConfig, KvData, KvRevision, SourceProblem, SourceReport } from '../model/types.js';

export const SNAPSHOT_FORMAT = 'peer-audit-kv/1';

// ---------------------------------------------------------------- schema

// The .describe() texts document the format: `npm run docs` writes docs/formats.md's field tables from them.
const configSchema = z
  .object({
    history: z.number().int().nullish().describe('Revisions kept per key.'),
    replicas: z.number().int().nullish().describe("Replicas of the bucket's stream."),
    ttl_ms: z.number().nullish().describe('Time to live of a value, in milliseconds (0: none).'),
    storage: z.string().nullish().describe('file or memory.'),
    description: z.string().nullish().describe("The bucket's description."),
    max_value_size: z.number().int().nullish().describe('Largest value the bucket accepts, in bytes (-1: no limit).'),
  })
  .nullish()
  .describe("The bucket's configuration, when it was known.");

export const snapshotHeaderSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT).describe('Names the format and its version.'),
    bucket: z.string().min(1).describe('The bucket the snapshot was taken from.'),
    taken_at: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'not a date')
      .describe('When the snapshot was taken (ISO 8601).'),
    source: z.string().nullish().describe('The server URL it was read from; null when not from a live server.'),
    server_version: z.string().nullish().describe('The nats-server version, when known.'),
    config: configSchema,
  })
  .describe('Line 1 of a snapshot file: the header.');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const snapshotEntrySchema = z
  .object({
    key: z.string().min(1).describe('The key.'),
    revision: z.number().int().positive().describe('The revision (over the whole bucket).'),
    operation: z.enum(['PUT', 'DEL', 'PURGE']).describe('A value, a delete marker or a purge marker.'),
    created: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'not a date')
      .describe("The revision's time (ISO 8601)."),
    length: z.number().int().nonnegative().optional().describe("The value's length in bytes."),
    value_b64: z
      .string()
      .regex(BASE64, 'not base64')
      .optional()
      .describe(
        'The exact bytes of the value, base64; authoritative, so values that are not JSON or not UTF-8 survive.',
      ),
    value: z
      .string()
      .optional()
      .describe(
        'The value as text, when the bytes are valid UTF-8, for people; a hand-written snapshot may give it alone.',
      ),
  })
  .describe('Every further line: one retained revision, in revision order, delete and purge markers included.');

// ---------------------------------------------------------------- write

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

function configLine(config: BucketConfig | undefined): Record<string, unknown> | null {
  if (!config) return null;
  return {
    history: config.history,
    replicas: config.replicas,
    ttl_ms: config.ttlMs,
    storage: config.storage,
    description: config.description,
    max_value_size: config.maxValueSize,
  };
}

export function snapshotHeader(data: KvData): Record<string, unknown> {
  return {
    format: SNAPSHOT_FORMAT,
    bucket: data.bucket,
    taken_at: data.takenAt,
    source: data.origin === 'live' ? data.originRef : null,
    server_version: data.serverVersion ?? null,
    config: configLine(data.config),
  };
}

export function snapshotEntry(r: KvRevision): Record<string, unknown> {
  const line: Record<string, unknown> = {
    key: r.key,
    revision: r.revision,
    operation: r.operation,
    created: r.created,
    length: r.value.length,
    value_b64: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('base64'),
  };
  const text = utf8OrUndefined(r.value);
  if (text !== undefined) line.value = text;
  return line;
}

/** Every revision of the bucket, ascending by revision (ties, which a real bucket never has, by key). */
export function revisionsInOrder(data: KvData): KvRevision[] {
  const all: KvRevision[] = [];
  for (const list of data.keys.values()) all.push(...list);
  return all.sort((a, b) => a.revision - b.revision || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const FLUSH_AT = 1 << 20;

/** Write atomically: a temp file next to the target, fsync, rename. A partial file never takes the target's place. */
export async function writeSnapshot(data: KvData, file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  let done = false;
  const writeAll = async (text: string) => {
    const b = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await fh.write(b, off, b.length - off);
      off += bytesWritten;
    }
  };
  try {
    let buf: string[] = [JSON.stringify(snapshotHeader(data)) + '\n'];
    let size = buf[0].length;
    for (const r of revisionsInOrder(data)) {
      const line = JSON.stringify(snapshotEntry(r)) + '\n';
      buf.push(line);
      size += line.length;
      if (size >= FLUSH_AT) {
        await writeAll(buf.join(''));
        buf = [];
        size = 0;
      }
    }
    if (buf.length > 0) await writeAll(buf.join(''));
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
    done = true;
  } finally {
    if (!done) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    }
  }
  // Make the rename itself durable; not every platform allows fsync on a directory.
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* best effort */
  }
}

// ---------------------------------------------------------------- read

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

function configFromHeader(c: z.infer<typeof configSchema>): BucketConfig | undefined {
  if (!c) return undefined;
  const out: BucketConfig = {};
  if (c.history != null) out.history = c.history;
  if (c.replicas != null) out.replicas = c.replicas;
  if (c.ttl_ms != null) out.ttlMs = c.ttl_ms;
  if (c.storage != null) out.storage = c.storage;
  if (c.description != null) out.description = c.description;
  if (c.max_value_size != null) out.maxValueSize = c.max_value_size;
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export async function readSnapshot(file: string): Promise<{ data: KvData; report: SourceReport }> {
  const problems: SourceProblem[] = [];
  const data: KvData = { bucket: '', origin: 'snapshot', originRef: file, takenAt: '', keys: new Map() };
  const report: SourceReport = { kind: 'kv-snapshot', ref: file, ok: true, stats: {}, problems };
  const fail = (error: string) => {
    report.ok = false;
    report.error = error;
    return { data, report };
  };

  const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  let fh: FileHandle;
  try {
    const st = await stat(file);
    if (st.isDirectory()) return fail(`cannot read snapshot ${file}: EISDIR`);
    // A FIFO would block the open, a device would never end: only regular files are opened.
    if (!st.isFile()) return fail(`cannot read snapshot ${file}: not a regular file`);
    fh = await open(file, 'r');
  } catch (err) {
    return fail(`cannot read snapshot ${file}: ${errCode(err)}`);
  }

  const byRevision = new Map<number, number>(); // revision -> line
  let lineNo = 0;
  let headerSeen = false;
  let revisions = 0;
  let bytes = 0;
  let lost = false;

  const problem = (line: number, reason: string) => problems.push({ where: file, line, reason });

  const input = fh.createReadStream();
  try {
    // Lines are split on \n only, as the rest of peer-audit counts them: a stray \r does not shift line numbers.
    for await (const rawLine of physicalLines(input)) {
      lineNo += 1;
      if (!isUtf8(rawLine) && headerSeen) {
        problem(lineNo, 'corrupt entry: not UTF-8');
        lost = true;
        continue;
      }
      let text = rawLine.toString('utf8');
      if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      text = text.trim();

      if (!headerSeen) {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const format = (json as { format?: unknown } | null | undefined)?.format;
        if (typeof json !== 'object' || json === null || format === undefined) {
          return fail(`${file} is not a peer-audit KV snapshot (missing format header)`);
        }
        if (format !== SNAPSHOT_FORMAT) {
          return fail(
            `${file} has unsupported snapshot format ${JSON.stringify(format)} (this version reads ${SNAPSHOT_FORMAT})`,
          );
        }
        const h = snapshotHeaderSchema.safeParse(json);
        if (!h.success) {
          return fail(`${file} has an invalid snapshot header: ${issueText(h.error)}`);
        }
        headerSeen = true;
        data.bucket = h.data.bucket;
        data.takenAt = new Date(h.data.taken_at).toISOString();
        const config = configFromHeader(h.data.config);
        if (config) data.config = config;
        if (h.data.server_version) data.serverVersion = h.data.server_version;
        continue;
      }

      if (text === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        problem(lineNo, `corrupt entry: not JSON (${(err as Error).message})`);
        lost = true;
        continue;
      }
      const parsed = snapshotEntrySchema.safeParse(json);
      if (!parsed.success) {
        problem(lineNo, `corrupt entry: ${issueText(parsed.error)}`);
        lost = true;
        continue;
      }
      const e = parsed.data;
      let value: Uint8Array;
      if (e.value_b64 !== undefined) {
        value = new Uint8Array(Buffer.from(e.value_b64, 'base64'));
        if (e.value !== undefined && !bytesEqual(value, Buffer.from(e.value, 'utf8'))) {
          problem(lineNo, `"value" disagrees with "value_b64" for ${e.key} revision ${e.revision}; value_b64 used`);
        }
      } else if (e.value !== undefined) {
        value = new Uint8Array(Buffer.from(e.value, 'utf8'));
      } else if (e.operation !== 'PUT') {
        value = new Uint8Array(0);
      } else {
        problem(lineNo, `corrupt entry: PUT ${e.key} revision ${e.revision} has neither "value_b64" nor "value"`);
        lost = true;
        continue;
      }
      if (e.length !== undefined && e.length !== value.length) {
        problem(
          lineNo,
          `"length" is ${e.length} but the value has ${value.length} bytes (${e.key} revision ${e.revision})`,
        );
      }
      const earlier = byRevision.get(e.revision);
      if (earlier !== undefined) {
        problem(lineNo, `duplicate revision ${e.revision} (first at line ${earlier}); this line ignored`);
        lost = true;
        continue;
      }
      byRevision.set(e.revision, lineNo);
      let list = data.keys.get(e.key);
      if (!list) {
        list = [];
        data.keys.set(e.key, list);
      }
      list.push({
        key: e.key,
        revision: e.revision,
        operation: e.operation,
        created: new Date(e.created).toISOString(),
        value,
      });
      revisions += 1;
      bytes += value.length;
    }
  } catch (err) {
    finish();
    return fail(`cannot read snapshot ${file}: ${errCode(err)}`);
  } finally {
    input.destroy();
    await fh.close().catch(() => undefined);
  }

  if (!headerSeen) return fail(`${file} is not a peer-audit KV snapshot (missing format header)`);
  finish();
  if (lost) report.ok = false;
  return { data, report };

  async function* physicalLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let pending: Buffer[] = [];
    for await (const chunk of stream) {
      let pos = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, pos)) {
        yield Buffer.concat([...pending, chunk.subarray(pos, nl)]);
        pending = [];
        pos = nl + 1;
      }
      if (pos < chunk.length) pending.push(chunk.subarray(pos));
    }
    if (pending.length) yield Buffer.concat(pending);
  }

  function finish(): void {
    for (const list of data.keys.values()) list.sort((a, b) => a.revision - b.revision);
    data.keys = new Map([...data.keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    report.stats = { keys: data.keys.size, revisions, bytes };
  }
}

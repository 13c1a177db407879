// The byte search of `--files`: each file read through one reused buffer and searched for `/dev/null` on the raw
// bytes (findNeedle); only the line start before a hit is decoded. For many files, worker threads take batches from
// the same queue as this thread. This module is also the workers' entry: a worker loads it by its own URL (so only
// the compiled .js runs in workers; from TypeScript sources, as in tests, none are started).
import os from 'node:os';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { residueShaped } from '../model/residue.js';

const NEEDLE = Buffer.from('/dev/null');
/** Git's test for a binary file: a NUL byte in the first 8,000-odd bytes. */
const BINARY_PROBE = 8192;
/** A file is read in pieces of this size; most files fit in one. */
const CHUNK = 1024 * 1024;
/**
 * A hit far into a long line (minified code) is judged from the line's first bytes only: residue starts with
 * blanks, a word, blanks and `<`, so a start that is anything else cannot become residue further on.
 */
const LONG_START = 512;
const RESIDUE_START = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*)?\s*(?:<\s*)?$/;
/** Files per batch a thread takes from the queue, at most; with threads, a batch also stops at BATCH_BYTES. */
const BATCH = 128;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Below this many files, starting a thread costs more than it saves. */
const THREADS_FROM_FILES = 1000;

export type Searched =
  | { kind: 'clean'; bytes: number }
  /** `whole`: the file's bytes when it fit in one read (else it is read again whole). */
  | { kind: 'candidate'; bytes: number; whole?: Uint8Array }
  | { kind: 'binary' }
  | { kind: 'error'; code: string };

/** Searches files for residue-shaped lines through one reused buffer. */
export class FileSearcher {
  private buf = Buffer.allocUnsafe(CHUNK);

  search(abs: string): Searched {
    let fd: number;
    try {
      fd = openSync(abs, 'r');
    } catch (e) {
      return { kind: 'error', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
    try {
      return this.searchOpen(fd);
    } catch (e) {
      return { kind: 'error', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    } finally {
      closeSync(fd);
    }
  }

  private searchOpen(fd: number): Searched {
    const buf = this.buf;
    let bytes = 0;
    let carry = 0;
    let first = true;
    for (;;) {
      const want = buf.length - carry;
      const got = readSync(fd, buf, carry, want, null);
      const end = carry + got;
      bytes += got;
      if (first && buf.subarray(0, Math.min(end, BINARY_PROBE)).indexOf(0) >= 0) return { kind: 'binary' };
      if (this.hasCandidate(end, first)) {
        // A copy: the buffer is reused for the next file.
        if (first && got < want)
          return { kind: 'candidate', bytes, whole: Uint8Array.prototype.slice.call(buf, 0, end) };
        // Read on for the size; the file is then read again whole.
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          bytes += n;
          if (n < buf.length) return { kind: 'candidate', bytes };
        }
      }
      if (got < want) return { kind: 'clean', bytes };
      // Keep the tail that could be the start of a needle cut by the chunk's end.
      carry = NEEDLE.length - 1;
      buf.copy(buf, 0, end - carry, end);
      first = false;
    }
  }

  /** Whether the first `end` bytes hold a hit whose line has the residue's shape (or whose line start is unseen). */
  private hasCandidate(end: number, first: boolean): boolean {
    const buf = this.buf.subarray(0, end);
    for (let at = findNeedle(buf, 0); at >= 0; at = findNeedle(buf, at + NEEDLE.length)) {
      const nl = at === 0 ? -1 : buf.lastIndexOf(0x0a, at - 1);
      if (nl < 0 && !first) return true;
      const start = nl + 1;
      if (at - start <= LONG_START) {
        if (residueShaped(`${buf.toString('utf8', start, at)}/dev/null`)) return true;
      } else if (RESIDUE_START.test(buf.toString('utf8', start, start + LONG_START))) return true;
    }
    return false;
  }
}

/**
 * The first `/dev/null` in `buf` at or after `from`, or -1: Buffer.indexOf of the `v` (a memchr) and a check of the
 * bytes around it, about twice as fast on text as a Boyer-Moore-Horspool search for the whole needle.
 */
export function findNeedle(buf: Buffer, from: number): number {
  const last = buf.length - 6;
  for (let v = buf.indexOf(0x76, from + 3); v >= 0 && v <= last; v = buf.indexOf(0x76, v + 1)) {
    if (
      buf[v - 3] === 0x2f &&
      buf[v - 2] === 0x64 &&
      buf[v - 1] === 0x65 &&
      buf[v + 1] === 0x2f &&
      buf[v + 2] === 0x6e &&
      buf[v + 3] === 0x75 &&
      buf[v + 4] === 0x6c &&
      buf[v + 5] === 0x6c
    )
      return v - 3;
  }
  return -1;
}

/**
 * Worker threads beside this one: PEER_AUDIT_FILES_THREADS if set (0: none), else one per further core (at most 3)
 * for many files. Workers run the compiled module; from sources (tests) none.
 */
function threadsFor(files: number): number {
  if (!import.meta.url.endsWith('.js')) return 0;
  const forced = process.env.PEER_AUDIT_FILES_THREADS;
  if (forced !== undefined && forced.trim() !== '' && Number.isInteger(Number(forced)))
    return Math.max(0, Math.min(16, Number(forced)));
  return files >= THREADS_FROM_FILES ? Math.min(os.availableParallelism() - 1, 3) : 0;
}

/**
 * Searches every file into outcomes[i]: here and, for many files, in worker threads too; the same either way. With
 * threads, the files go largest first in batches of about BATCH_BYTES, so no thread is left with the big ones.
 */
export async function searchFiles(paths: string[], outcomes: Searched[]): Promise<void> {
  const threads = Math.min(threadsFor(paths.length), paths.length);
  let order = paths.map((_, i) => i);
  let sizes: number[] | undefined;
  if (threads > 0) {
    const known = paths.map((p) => {
      try {
        return statSync(p).size;
      } catch {
        return 0; // the search says why it cannot be read
      }
    });
    sizes = known;
    order = order.sort((a, b) => known[b] - known[a] || a - b);
  }
  // Every thread gets at least one batch, however few the files.
  const most = Math.max(1, Math.min(BATCH, Math.ceil(paths.length / (threads + 1))));
  let next = 0;
  const take = (): number[] | undefined => {
    if (next >= order.length) return undefined;
    const batch: number[] = [];
    let bytes = 0;
    while (next < order.length && batch.length < most && (batch.length === 0 || bytes < BATCH_BYTES)) {
      const i = order[next++];
      batch.push(i);
      bytes += sizes?.[i] ?? 0;
    }
    return batch;
  };
  const searcher = new FileSearcher();
  const here = async (): Promise<void> => {
    for (let b = take(); b; b = take()) {
      for (const i of b) outcomes[i] = searcher.search(paths[i]);
      // A turn of the event loop between batches: the workers' messages and the other sources move on.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  const orphaned: number[] = [];
  await Promise.all([
    here(),
    ...Array.from({ length: threads }, async () => {
      let worker: Worker;
      try {
        worker = new Worker(new URL(import.meta.url), { workerData: { [WORKER_FLAG]: true } });
      } catch {
        return;
      }
      let inFlight: number[] | undefined;
      await new Promise<void>((resolve) => {
        const feed = (): void => {
          inFlight = take();
          if (!inFlight) return resolve();
          worker.postMessage(inFlight.map((i) => paths[i]));
        };
        worker.on('message', (found: Searched[]) => {
          found.forEach((o, k) => (outcomes[inFlight![k]] = o));
          feed();
        });
        // A thread that cannot start or dies leaves its batch to this one.
        const lost = (): void => {
          if (inFlight) orphaned.push(...inFlight);
          inFlight = undefined;
          resolve();
        };
        worker.on('error', lost);
        worker.on('exit', lost);
        feed();
      });
      worker.removeAllListeners('exit');
      await worker.terminate();
    }),
  ]);
  for (const i of orphaned) outcomes[i] = searcher.search(paths[i]);
}

const WORKER_FLAG = 'peerAuditFilesWorker';

// Inside a search thread: search the batches the main thread sends.
if (!isMainThread && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true && parentPort) {
  const port = parentPort;
  const searcher = new FileSearcher();
  port.on('message', (batch: string[]) => port.postMessage(batch.map((p) => searcher.search(p))));
}

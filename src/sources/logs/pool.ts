// Parses a scan's transcript files, each into a FileOutcome at its index: on this thread (several files at a
// time, so reading one overlaps with decoding another) and, for large inputs, in worker threads as well that
// take files from the same queue, largest first. A thread that cannot start or dies leaves its files to this
// one; either way the outcomes are the same. A worker runs log-worker.js beside this module (so only the compiled
// .js runs in workers; from TypeScript sources, as in tests, none are started).
import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseFile } from './parse-file.js';
import type { FileRole, ParsedFile } from './parsed.js';
import { errorCode } from './values.js';

/** Files read at the same time by one thread, so reading one overlaps with splitting and decoding another. */
const READ_CONCURRENCY = 4;
/** Below this many bytes of transcripts, starting threads costs more than it saves. */
const THREADS_FROM_BYTES = 48 * 1024 * 1024;

export interface ParseJob {
  index: number;
  abs: string;
  display: string;
  role: FileRole;
  mtimeMs: number;
  size: number;
}

export type FileOutcome =
  | { kind: 'ignored'; bytes: number }
  | { kind: 'parsed'; file: ParsedFile }
  | { kind: 'failed'; display: string; code: string };

async function parseJob(job: ParseJob, onBytes?: (n: number) => void): Promise<FileOutcome> {
  try {
    return { kind: 'parsed', file: await parseFile(job.abs, job.display, job.role, job.mtimeMs, onBytes) };
  } catch (err) {
    return { kind: 'failed', display: job.display, code: errorCode(err) };
  }
}

/**
 * How many worker threads parse transcripts beside this one: PEER_AUDIT_LOG_THREADS if set (0: none), else one
 * per further core (at most 3) for large inputs. Workers run the compiled module; from sources (tests) none.
 */
function logThreads(bytes: number): number {
  if (!import.meta.url.endsWith('.js')) return 0;
  const forced = process.env.PEER_AUDIT_LOG_THREADS;
  if (forced !== undefined && forced.trim() !== '' && Number.isInteger(Number(forced))) {
    return Math.max(0, Math.min(16, Number(forced)));
  }
  return bytes >= THREADS_FROM_BYTES ? Math.min(os.availableParallelism() - 1, 3) : 0;
}

/**
 * Parses every job into outcomes[job.index]: in worker threads when that pays, else here; either way the same
 * result. `progress` counts files done and bytes read as they go.
 */
export async function parseJobs(
  jobs: ParseJob[],
  outcomes: FileOutcome[],
  progress: { files: number; bytes: number },
): Promise<void> {
  const onBytes = (n: number): void => {
    progress.bytes += n;
  };
  const threads = Math.min(logThreads(jobs.reduce((n, j) => n + j.size, 0)), jobs.length);
  // Largest files first, so no thread is left with one big file at the end.
  const queue = threads === 0 ? [...jobs] : [...jobs].sort((a, b) => b.size - a.size || a.index - b.index);
  // This thread takes files from the same queue as the workers (while it is not busy with other sources).
  const here = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      outcomes[job.index] = await parseJob(job, onBytes);
      progress.files++;
    }
  };
  const orphaned: ParseJob[] = [];
  await Promise.all([
    ...Array.from({ length: READ_CONCURRENCY }, here),
    ...Array.from({ length: threads }, async () => {
      const inFlight = new Map<number, ParseJob>();
      let worker: Worker;
      try {
        worker = new Worker(new URL('./log-worker.js', import.meta.url), { workerData: { [WORKER_FLAG]: true } });
      } catch {
        return;
      }
      await new Promise<void>((resolve) => {
        const feed = (): void => {
          const job = queue.shift();
          if (!job) {
            if (inFlight.size === 0) resolve();
            return;
          }
          inFlight.set(job.index, job);
          worker.postMessage(job);
        };
        worker.on('message', (msg: WorkerMessage) => {
          if (msg.kind === 'bytes') return onBytes(msg.bytes);
          outcomes[msg.index] = msg.outcome;
          progress.files++;
          inFlight.delete(msg.index);
          feed();
        });
        // A thread that cannot start or dies leaves its files to this one.
        const lost = (): void => {
          orphaned.push(...inFlight.values());
          inFlight.clear();
          resolve();
        };
        worker.on('error', lost);
        worker.on('exit', lost);
        feed();
        feed();
      });
      worker.removeAllListeners('exit');
      await worker.terminate();
    }),
  ]);
  // The files of a thread that died.
  queue.push(...orphaned);
  await here();
}

const WORKER_FLAG = 'peerAuditLogWorker';

type WorkerMessage = { kind: 'bytes'; bytes: number } | { kind: 'done'; index: number; outcome: FileOutcome };

/** Inside a parsing thread (log-worker.ts): parse the files the main thread sends, report bytes as they are read. */
export function serveParseJobs(): void {
  if (isMainThread || (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] !== true || !parentPort) return;
  const port = parentPort;
  port.on('message', (job: ParseJob) => {
    const onBytes = (bytes: number): void => port.postMessage({ kind: 'bytes', bytes } satisfies WorkerMessage);
    void parseJob(job, onBytes).then((outcome) =>
      port.postMessage({ kind: 'done', index: job.index, outcome } satisfies WorkerMessage),
    );
  });
}

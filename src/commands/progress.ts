// What a long scan is doing, on stderr: a progress line while sources are read (only when stderr is a terminal),
// and, with PEER_AUDIT_TIMINGS set, one JSON line of phase times at the end (for benchmarks).

import { newReadProgress, type ReadProgress } from '../audit.js';

interface ProgressStream {
  isTTY?: boolean;
  write(s: string): boolean;
}

/** Shows after this long, so quick scans print nothing. */
const SHOW_AFTER_MS = 500;
const REFRESH_MS = 200;

/**
 * Redraws one line on a terminal with what has been read so far. Writes nothing at all when the stream is
 * not a terminal (a file, a pipe, CI).
 */
export class ProgressLine {
  readonly counts = newReadProgress();
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private readonly started = Date.now();

  constructor(private readonly stream: ProgressStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  start(): this {
    if (!this.enabled || this.timer) return this;
    this.timer = setInterval(() => this.draw(), REFRESH_MS);
    this.timer.unref();
    return this;
  }

  /** Clears the line; safe to call more than once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  private draw(): void {
    if (Date.now() - this.started < SHOW_AFTER_MS) return;
    this.stream.write(`\r\x1b[K${formatProgress(this.counts)}`);
    this.shown = true;
  }
}

export function formatProgress(p: ReadProgress): string {
  const parts: string[] = [];
  const { logs, kv, specs } = p;
  if (logs.filesTotal > 0) {
    parts.push(`logs ${logs.files}/${logs.filesTotal} files, ${megabytes(logs.bytes)}/${megabytes(logs.bytesTotal)}`);
  }
  if (kv.keys > 0)
    parts.push(`kv ${kv.keys.toLocaleString('en-US')} keys (${kv.revisions.toLocaleString('en-US')} revisions)`);
  if (specs.foldersTotal > 0) parts.push(`specs ${specs.folders}/${specs.foldersTotal} folders`);
  return `reading ${parts.length ? parts.join(' · ') : '…'}`;
}

function megabytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
}

/** Phase times of one scan, printed as JSON on stderr when PEER_AUDIT_TIMINGS is set. */
export class PhaseTimes {
  private readonly t0 = performance.now();
  private readonly times: Record<string, number> = {};

  /** Runs `task` and records how long it took under `name` (sources run side by side: each gets its own time). */
  async time<T>(name: string, task: Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await task;
    } finally {
      this.times[name] = Math.round(performance.now() - start);
    }
  }

  /** Records the time since the scan began under `name`. */
  mark(name: string): void {
    this.times[name] = Math.round(performance.now() - this.t0);
  }

  print(stream: { write(s: string): boolean } = process.stderr): void {
    if (!process.env.PEER_AUDIT_TIMINGS) return;
    const ru = process.resourceUsage();
    stream.write(`peer-audit timings ${JSON.stringify({ ...this.times, maxRssKb: ru.maxRSS })}\n`);
  }
}

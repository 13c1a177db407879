// Follows the bucket: the current value of every key first (kv.watch's default), then each write, across
// reconnects. Until the initial values are all in, each attempt starts from the current values again (entries
// already held are skipped by revision); after that, an attempt goes on from the last revision seen.
import type { KV, KvEntry, QueuedIterator } from 'nats';
import { SourceFailure } from '../errors.js';

export interface FollowTarget {
  /** One entry; `started`: the initial values were all in before it (it is a write to judge). */
  entry(e: KvEntry, started: boolean): void;
  /** The initial values are all in (called once). */
  start(): void;
  /** The last revision received. */
  lastRevision(): number;
}

export interface FollowControl {
  /** Whether the watch is ending (Ctrl-C, SIGTERM). */
  stopping(): boolean;
  /** Whether the connection has closed for good. */
  closed(): boolean;
  /** The iterator now in use, to stop it on Ctrl-C or on a reconnect. */
  use(it: QueuedIterator<KvEntry>): void;
  notice(msg: string): void;
  /** A read failure as one line. */
  describe(err: unknown): string;
  /** Pause before the watch is asked for again after it failed to start, ms. */
  retryMs: number;
  /** The NATS timeout, ms. */
  timeoutMs: number;
}

/**
 * Feeds `target` until the watch stops or the connection closes for good. Throws a SourceFailure when the first
 * attempt cannot start; later failures are said and retried.
 */
export async function followBucket(kv: KV, key: string, target: FollowTarget, ctl: FollowControl): Promise<void> {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    target.start();
  };
  let attempt = 0;
  while (!ctl.stopping()) {
    attempt += 1;
    const initial = !started;
    // initializedFn may run inside watch() before it resolves (empty bucket, or everything already queued): it
    // must not touch the iterator, and then the entries queued by that time are the initial values.
    let readyEarly = false;
    let resolved = false;
    let it: QueuedIterator<KvEntry>;
    try {
      it = await kv.watch(
        initial
          ? {
              key,
              initializedFn: () => {
                if (!resolved) readyEarly = true;
                else start();
              },
            }
          : { key, resumeFromRevision: target.lastRevision() + 1 },
      );
    } catch (err) {
      if (ctl.stopping()) break;
      if (attempt === 1) throw new SourceFailure(ctl.describe(err));
      await new Promise((r) => setTimeout(r, ctl.retryMs));
      continue;
    }
    ctl.use(it);
    if (ctl.stopping()) it.stop();
    resolved = true;
    const initialCount = initial && readyEarly ? it.getReceived() : undefined;
    if (initialCount === 0) start();
    let processed = 0;
    // Fallback: an ordered-consumer reset during the initial delivery can swallow initializedFn; the initial
    // values arrive back to back, so a pause in them means they are all in.
    let fallback: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(fallback);
      if (!started) fallback = setTimeout(() => start(), Math.max(2_000, ctl.timeoutMs));
    };
    arm();
    try {
      for await (const e of it) {
        target.entry(e, started);
        processed += 1;
        if (initialCount !== undefined && processed === initialCount) start();
        if (!started) arm();
      }
    } catch (err) {
      if (!ctl.stopping()) ctl.notice(`the watch stopped: ${ctl.describe(err)}; starting it again`);
    } finally {
      clearTimeout(fallback);
    }
    if (ctl.stopping() || ctl.closed()) break;
  }
}

// The watch's connection to NATS: opened like every command's (connectNats), then kept up across server restarts;
// the bucket bound, never created; each loss and return of the server said on stderr.
import type { KV, NatsConnection } from 'nats';
import type { BucketConfig } from '../model/types.js';
import {
  bucketConfigOf,
  connectNats,
  describeNatsError,
  jetstreamOptions,
  type KvConnectOptions,
  type NatsErrorContext,
  type NatsPhase,
} from '../sources/kv.js';
import { SourceFailure } from '../errors.js';

/** The first connection must succeed within the timeout; after that it reconnects forever, `retryMs` apart. */
export async function connectForWatch(o: KvConnectOptions, retryMs: number): Promise<NatsConnection> {
  const forever = { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: retryMs, waitOnFirstConnect: false };
  return connectNats(o, forever).catch((e: unknown) => {
    throw new SourceFailure((e as Error).message);
  });
}

export interface BoundBucket {
  kv: KV;
  config: BucketConfig;
  /** The bucket's last revision when it was bound. */
  lastSeq: number;
}

/** Binds the bucket and reads its settings. Throws a SourceFailure that names the step that failed. */
export async function bindBucket(nc: NatsConnection, o: KvConnectOptions, ctx: NatsErrorContext): Promise<BoundBucket> {
  let phase: NatsPhase = 'jetstream';
  try {
    const js = nc.jetstream(jetstreamOptions(o));
    const kv = await js.views.kv(o.bucket, { bindOnly: true });
    phase = 'bucket';
    const st = await kv.status();
    const config = bucketConfigOf(st);
    return { kv, config, lastSeq: st.streamInfo.state.last_seq };
  } catch (err) {
    throw new SourceFailure(describeNatsError(err, { ...ctx, phase }));
  }
}

/**
 * Says on stderr when the connection to `url` is lost and when it is back, and calls `onReconnect` then.
 * Ends with the connection (its status iterator ends when it closes), or once `stopping()` says so.
 */
export function noticeConnectionChanges(
  nc: NatsConnection,
  url: string,
  notice: (msg: string) => void,
  stopping: () => boolean,
  onReconnect: () => void,
): void {
  void (async () => {
    let down = false;
    for await (const s of nc.status()) {
      if (stopping()) break;
      if (s.type === 'disconnect' && !down) {
        down = true;
        notice(`lost the connection to ${url}; reconnecting…`);
      } else if (s.type === 'reconnect') {
        down = false;
        notice(`reconnected to ${url}`);
        onReconnect();
      }
    }
  })().catch(() => undefined);
}

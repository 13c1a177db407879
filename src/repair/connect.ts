import type { KV } from 'nats';
import { SourceFailure } from '../errors.js';
import {
  closeNats,
  connectNats,
  describeNatsError,
  displayServers,
  jetstreamOptions,
  type KvConnectOptions,
} from '../sources/kv.js';

/** Runs `fn` with the bucket bound (never created); closes the connection whatever happens. */
export async function withKv<T>(o: KvConnectOptions | undefined, fn: (kv: KV | undefined) => Promise<T>): Promise<T> {
  if (!o) return fn(undefined);
  const nc = await connectNats(o).catch((e: unknown) => {
    throw new SourceFailure((e as Error).message);
  });
  try {
    const js = nc.jetstream(jetstreamOptions(o));
    let kv: KV;
    try {
      kv = await js.views.kv(o.bucket, { bindOnly: true });
      await kv.status(); // proves the bucket exists: bindOnly alone does not
    } catch (e) {
      throw new SourceFailure(
        describeNatsError(e, {
          url: displayServers(o.servers),
          timeoutMs: o.timeoutMs,
          phase: 'bucket',
          bucket: o.bucket,
        }),
      );
    }
    return await fn(kv);
  } finally {
    await closeNats(nc, o.timeoutMs);
  }
}

// `snapshot --restore FILE`: load a peer-audit-kv/1 snapshot into a live bucket, so a bundled incident (or a
// snapshot taken elsewhere) can be scanned, repaired and undone against a real server.
//
// The bucket gets every retained revision in order, as new writes: the server numbers and times them, so
// revisions and times differ from the snapshot's (the keys, values, operations and their order are the same).
import type { KV, KvOptions } from 'nats';
import { closeNats, connectNats, describeNatsError, displayServers, jetstreamOptions } from '../sources/kv.js';
import { readSnapshot, revisionsInOrder } from '../sources/snapshot.js';
import type { BucketConfig } from '../model/types.js';
import { kvOptions, type ConnectArgs } from './options.js';

export interface RestoreArgs extends ConnectArgs {
  restore: string;
  force: boolean;
}

/** The bucket settings a missing bucket is created with: the snapshot's, where the server can honour them. */
function createOptions(c: BucketConfig | undefined, replicas: number): Partial<KvOptions> {
  return {
    history: c?.history && c.history > 0 ? c.history : 50,
    replicas,
    ...(c?.ttlMs ? { ttl: c.ttlMs } : {}),
    ...(c?.description ? { description: c.description } : {}),
    ...(c?.maxValueSize && c.maxValueSize > 0 ? { maxValueSize: c.maxValueSize } : {}),
  };
}

export async function snapshotRestoreCommand(a: RestoreArgs, notice: (m: string) => void): Promise<number> {
  const { data, report } = await readSnapshot(a.restore);
  if (!report.ok || report.problems.length > 0) {
    const detail = report.error ?? report.problems.map((p) => `line ${p.line}: ${p.reason}`).join('; ');
    process.stderr.write(`peer-audit: cannot restore ${a.restore}: ${detail}\n`);
    return 2;
  }
  const o = kvOptions(a);
  const url = displayServers(o.servers);
  let nc;
  try {
    nc = await connectNats(o);
  } catch (e) {
    process.stderr.write(`peer-audit: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const js = nc.jetstream(jetstreamOptions(o));
    let kv: KV | undefined;
    let created = false;
    try {
      kv = await js.views.kv(o.bucket, { bindOnly: true });
      await kv.status();
    } catch {
      kv = undefined;
    }
    if (kv) {
      const st = await kv.status();
      if (st.values > 0 && !a.force) {
        process.stderr.write(
          `peer-audit: bucket ${o.bucket} on ${url} is not empty (${st.values} revisions); ` +
            `restoring would mix its keys with the snapshot's. ` +
            `Use an empty bucket, or --force to write the snapshot on top\n`,
        );
        return 2;
      }
    } else {
      // A single server cannot hold 3 replicas: ask for the snapshot's count, fall back to 1 and say so.
      const wanted = data.config?.replicas && data.config.replicas > 0 ? data.config.replicas : 1;
      try {
        kv = await js.views.kv(o.bucket, createOptions(data.config, wanted));
      } catch (e) {
        if (wanted === 1) throw e;
        kv = await js.views.kv(o.bucket, createOptions(data.config, 1));
        notice(`the server cannot keep ${wanted} replicas: created bucket ${o.bucket} with 1 replica`);
      }
      created = true;
    }
    let puts = 0;
    const keys = new Set<string>();
    for (const r of revisionsInOrder(data)) {
      keys.add(r.key);
      if (r.operation === 'PUT') await kv.put(r.key, r.value);
      else if (r.operation === 'DEL') await kv.delete(r.key);
      else await kv.purge(r.key);
      puts += 1;
    }
    notice(
      `restored ${keys.size} ${keys.size === 1 ? 'key' : 'keys'}, ${puts} ${puts === 1 ? 'revision' : 'revisions'} ` +
        `from ${a.restore} into ${created ? 'new ' : ''}bucket ${o.bucket} on ${url} ` +
        `(new revision numbers and times; values and order as in the snapshot)`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(
      `peer-audit: ${describeNatsError(e, { url, timeoutMs: o.timeoutMs, phase: 'write', bucket: o.bucket })}\n`,
    );
    return 2;
  } finally {
    await closeNats(nc, o.timeoutMs);
  }
}

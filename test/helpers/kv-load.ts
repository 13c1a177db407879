// Test helper: load a peer-audit-kv/1 snapshot into a (test) NATS server so live reads can be checked
// against the same evidence. Every revision keeps its number: gaps in the snapshot (revisions dropped by
// history limits or purges before the snapshot was taken) are reproduced with filler messages that are
// deleted again, so the stream sequence lines up. A PURGE drops the key's earlier revisions, exactly as it
// did on the bucket the snapshot came from.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type KV, type NatsConnection } from 'nats';
import { REPO } from './cli.js';
import { readSnapshot, revisionsInOrder } from '../../src/sources/snapshot.js';

const GAP_KEY = '__peer_audit_gap__';

export async function loadSnapshotIntoServer(
  snapshotFile: string,
  url: string,
  opts: { history?: number } = {},
): Promise<void> {
  const { data, report } = await readSnapshot(snapshotFile);
  if (!report.ok) {
    const detail = report.error ?? report.problems.map((p) => `line ${p.line}: ${p.reason}`).join('; ');
    throw new Error(`cannot load ${snapshotFile}: ${detail}`);
  }
  const bucket = data.bucket;
  const stream = `KV_${bucket}`;
  const nc: NatsConnection = await connect({
    servers: url.replace(/^[a-z]+:\/\//i, ''),
    reconnect: false,
    timeout: 5_000,
  });
  try {
    const js = nc.jetstream({ timeout: 10_000 });
    const jsm = await nc.jetstreamManager();
    const cfg = data.config ?? {};
    const kv: KV = await js.views.kv(bucket, {
      history: opts.history ?? cfg.history ?? 50,
      replicas: 1,
      ...(cfg.ttlMs ? { ttl: cfg.ttlMs } : {}),
      ...(cfg.description ? { description: cfg.description } : {}),
      ...(cfg.maxValueSize && cfg.maxValueSize > 0 ? { maxValueSize: cfg.maxValueSize } : {}),
    });
    const st = await kv.status();
    let last = st.streamInfo.state.last_seq;

    for (const r of revisionsInOrder(data)) {
      if (r.revision <= last) {
        throw new Error(
          `cannot load ${snapshotFile}: revision ${r.revision} (${r.key}) is not after the bucket's last revision ${last}`,
        );
      }
      while (last + 1 < r.revision) {
        const ack = await js.publish(`$KV.${bucket}.${GAP_KEY}`, new Uint8Array(0));
        await jsm.streams.deleteMessage(stream, ack.seq, false);
        last = ack.seq;
      }
      let got: number;
      if (r.operation === 'PUT') {
        got = await kv.put(r.key, r.value);
      } else {
        if (r.operation === 'DEL') await kv.delete(r.key);
        else await kv.purge(r.key);
        const marker = await kv.get(r.key);
        if (!marker || marker.operation !== r.operation) {
          throw new Error(
            `cannot load ${snapshotFile}: ${r.operation} of ${r.key} did not leave a ${r.operation} marker`,
          );
        }
        got = marker.revision;
      }
      if (got !== r.revision) {
        throw new Error(
          `cannot load ${snapshotFile}: ${r.operation} ${r.key} became revision ${got}, the snapshot has ${r.revision}`,
        );
      }
      last = got;
    }
  } finally {
    if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}

/** A copy of fixtures/<dir> (project folder + kv-snapshot.jsonl) in a temporary folder, loaded into the server at `url`. */
export async function loadFixtureCopy(
  dir: string,
  url: string,
  tmpPrefix: string,
): Promise<{ project: string; nc: NatsConnection; kv: KV }> {
  const project = await fs.mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  await fs.cp(path.join(REPO, 'fixtures', dir), project, { recursive: true });
  await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), url);
  const nc = await connect({ servers: url.replace('nats://', ''), reconnect: false });
  const kv = await nc.jetstream().views.kv('agent-os-peer-state', { bindOnly: true });
  return { project, nc, kv };
}

// Faults during repair, against a real nats-server: a concurrent writer, and SIGKILL at random points.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const P = 'peer.spec.wal-operation-handling-fix';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** A copy of the seed incident in its own folder and its own bucket, so runs do not see each other. */
async function incident(bucket: string): Promise<{ project: string; kv: KV }> {
  const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-fault-'));
  await fs.cp(SEED, project, { recursive: true });
  const snap = path.join(project, 'kv-snapshot.jsonl');
  const lines = (await fs.readFile(snap, 'utf8')).split('\n');
  lines[0] = JSON.stringify({ ...JSON.parse(lines[0]), bucket });
  await fs.writeFile(snap, lines.join('\n'));
  await loadSnapshotIntoServer(snap, server.url);
  return { project, kv: await nc.jetstream().views.kv(bucket, { bindOnly: true }) };
}

async function journalFiles(project: string): Promise<string[]> {
  const dir = path.join(project, '.peer-audit/journal');
  return (await fs.readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .map((n) => path.join(dir, n));
}

async function currentBytes(
  kv: KV,
  project: string,
  ch: { kind: string; key?: string; path?: string },
): Promise<Buffer | null> {
  if (ch.kind === 'kv') {
    const e = await kv.get(ch.key!);
    return e && e.operation === 'PUT' ? Buffer.from(e.value) : null;
  }
  return fs.readFile(path.join(project, ch.path!)).catch(() => null);
}

const args = (bucket: string) => [
  'repair',
  '--server',
  server.url,
  '--bucket',
  bucket,
  '--logs',
  'logs',
  '--apply',
  '--yes',
  '--reason',
  'fault test',
];

describe('a concurrent writer between plan and apply', () => {
  it('is never overwritten: the key is skipped and reported, exit 1', async () => {
    const bucket = 'peer-concurrent';
    const { project, kv } = await incident(bucket);
    const child = spawn(process.execPath, [BIN, ...args(bucket)], {
      cwd: project,
      env: { ...process.env, NO_COLOR: '1', PEER_AUDIT_FAULT_DELAY_MS: '250' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('close', res));
    // Once the journal exists the plan is fixed; the meta is written last, so this write lands before it.
    while ((await journalFiles(project)).length === 0) await new Promise((r) => setTimeout(r, 20));
    const theirs = await kv.put(
      `${P}.meta`,
      '{"spec_name":"wal-operation-handling-fix","current_phase":"review","written_by":"an agent"}',
    );
    const code = await exited;
    expect(code).toBe(1);
    expect(stderr).toContain('applied 3, conflicts 1, failed 0');
    expect(stderr).toContain(`${P}.meta: ${P}.meta changed since the plan was made; left as it is`);
    const meta = await kv.get(`${P}.meta`);
    expect(meta!.revision).toBe(theirs);
    expect(JSON.parse(Buffer.from(meta!.value).toString()).written_by).toBe('an agent');
    const journal = JSON.parse(await fs.readFile((await journalFiles(project))[0], 'utf8'));
    expect(journal.changes.map((c: { status: string }) => c.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'conflict',
    ]);
  });
});

describe('SIGKILL at random points', () => {
  const RUNS = 24;
  it(`${RUNS} killed repairs: every value wholly old or wholly new, the journal says which, and undo or a second repair finishes`, async () => {
    let partial = 0;
    for (let i = 0; i < RUNS; i++) {
      const bucket = `peer-kill-${i}`;
      const { project, kv } = await incident(bucket);
      const child = spawn(process.execPath, [BIN, ...args(bucket)], {
        cwd: project,
        env: { ...process.env, NO_COLOR: '1', PEER_AUDIT_FAULT_DELAY_MS: '60' },
        stdio: 'ignore',
      });
      let done = false;
      const exited = new Promise((res) => child.on('close', res)).then(() => (done = true));
      if (i % 4 === 0) {
        // Some kills land early: during the scan, before anything is journaled.
        await new Promise((r) => setTimeout(r, 40 + i * 5));
      } else {
        // The rest land inside the write phase, however loaded the machine is: wait for the journal, then
        // kill somewhere in the ~500 ms the widened writes take.
        while (!done && (await journalFiles(project)).length === 0) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, ((i * 997) % 23) * 22));
      }
      child.kill('SIGKILL');
      await exited;

      const [jf] = await journalFiles(project);
      if (!jf) continue; // killed before the plan was journaled: nothing was written
      const journal = JSON.parse(await fs.readFile(jf, 'utf8'));
      for (const ch of journal.changes) {
        const cur = await currentBytes(kv, project, ch);
        const before = Buffer.from(ch.before_b64 ?? '', 'base64');
        const after = Buffer.from(ch.after_b64, 'base64');
        const isOld = cur !== null && cur.equals(before);
        const isNew = cur !== null && cur.equals(after);
        expect(isOld || isNew, `${bucket} ${ch.key ?? ch.path}`).toBe(true);
        // The journal is never wrong: a change it calls applied is in place, one it calls planned is not.
        if (ch.status === 'applied') expect(isNew).toBe(true);
        if (ch.status === 'planned') expect(isOld).toBe(true);
      }
      if (journal.changes.some((c: { status: string }) => c.status !== 'applied')) partial++;

      if (i % 2 === 0) {
        const u = await runCli(['undo', jf, '--server', server.url, '--yes'], { cwd: project });
        expect(u.code, u.stderr).toBe(0);
        for (const ch of journal.changes)
          expect((await currentBytes(kv, project, ch))!.equals(Buffer.from(ch.before_b64 ?? '', 'base64'))).toBe(true);
      } else {
        const again = await runCli(args(bucket), { cwd: project });
        expect(again.code, again.stderr).toBe(0);
        // the second repair also settled the first one's journal: no change is left "applying"
        const settled = JSON.parse(await fs.readFile(jf, 'utf8'));
        expect(settled.changes.filter((c: { status: string }) => c.status === 'applying')).toEqual([]);
        const check = await runCli(['repair', '--server', server.url, '--bucket', bucket, '--logs', 'logs'], {
          cwd: project,
        });
        expect(check.stdout).toContain('Nothing to repair');
      }
    }
    // The schedule must really land kills inside the write phase, or this test proves nothing.
    expect(partial).toBeGreaterThanOrEqual(3);
  }, 240_000);
});

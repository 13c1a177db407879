// NATS faults against real nats-server processes the test starts, kills and restarts: a server that is not
// there, a wrong port, a name that does not resolve, a port that never speaks NATS, bad credentials, no
// permission on the JetStream API, JetStream disabled, a missing bucket; the server killed (SIGKILL) in the
// middle of a scan and in the middle of a repair.
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { fault } from './ledger.js';
import { startFaultServer, type FaultServer } from './server.js';
import { expectCleanFailure, runCliAs, SEED, sleep, startCli, until, type Exited } from './util.js';

const BUCKET = 'agent-os-peer-state';
const TIMEOUT = 2000;
/** Node's start-up and the report around the NATS timeout: what "within --timeout" may add. */
const SLACK = 6000;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function emptyProject(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'pa-nats-fault-'));
}

const scanArgs = (project: string, url: string, extra: string[] = []) => [
  'scan',
  '--project',
  project,
  '--server',
  url,
  '--timeout',
  String(TIMEOUT),
  '--no-default-logs',
  ...extra,
];

async function journalFiles(project: string): Promise<string[]> {
  const dir = path.join(project, '.peer-audit/journal');
  return (await fs.readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .map((n) => path.join(dir, n));
}

interface Change {
  kind: 'kv' | 'file';
  key?: string;
  path?: string;
  status: string;
  before_b64: string | null;
  after_b64: string;
}

async function currentBytes(kv: KV, project: string, ch: Change): Promise<Buffer | null> {
  if (ch.kind === 'kv') {
    const e = await kv.get(ch.key!);
    return e && e.operation === 'PUT' ? Buffer.from(e.value) : null;
  }
  return fs.readFile(path.join(project, ch.path!)).catch(() => null);
}

/**
 * Values lost after a fault: a key or file that is neither wholly old nor wholly new, a change the journal calls
 * applied that is not in place, or one it calls planned that is not the old value any more.
 */
async function lostValues(kv: KV, project: string, changes: Change[]): Promise<number> {
  let lost = 0;
  for (const ch of changes) {
    const cur = await currentBytes(kv, project, ch);
    const isOld =
      ch.before_b64 === null ? cur === null : cur !== null && cur.equals(Buffer.from(ch.before_b64, 'base64'));
    const isNew = cur !== null && cur.equals(Buffer.from(ch.after_b64, 'base64'));
    if (!isOld && !isNew) lost++;
    else if (ch.status === 'applied' && !isNew) lost++;
    else if (ch.status === 'planned' && !isOld) lost++;
  }
  return lost;
}

export function natsFaults(): void {
  describe('NATS', () => {
    let plain: FaultServer;
    let auth: FaultServer;
    let perms: FaultServer;
    let noJs: FaultServer;
    let project: string;
    beforeAll(async () => {
      [plain, auth, perms, noJs] = await Promise.all([
        startFaultServer(),
        startFaultServer({
          configText: 'authorization { user: peer, password: right }',
          readyAuth: { user: 'peer', pass: 'right' },
        }),
        startFaultServer({
          configText: [
            'authorization {',
            '  users = [',
            '    { user: admin, password: adminpw }',
            '    { user: reader, password: readerpw, permissions: { publish: { deny: ["$JS.API.>"] } } }',
            '  ]',
            '}',
          ].join('\n'),
          readyAuth: { user: 'admin', pass: 'adminpw' },
        }),
        startFaultServer({ jetstream: false }),
      ]);
      project = await emptyProject();
    }, 60_000);
    afterAll(async () => {
      await Promise.all([plain, auth, perms, noJs].map((s) => s?.stop()));
      await fs.rm(project, { recursive: true, force: true });
    });

    interface Row {
      name: string;
      args: () => Promise<string[]>;
      line: RegExp;
    }
    const rows: Row[] = [
      {
        name: 'server not running',
        args: async () => {
          const gone = await startFaultServer();
          await gone.stop();
          return scanArgs(project, gone.url);
        },
        line: /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+: connection refused \(is nats-server running\? set --server or NATS_URL\)$/,
      },
      {
        name: 'wrong port',
        args: async () => scanArgs(project, `nats://127.0.0.1:${await freePort()}`),
        line: /connection refused \(is nats-server running\? set --server or NATS_URL\)$/,
      },
      {
        name: 'a host name that does not resolve',
        args: async () => scanArgs(project, 'nats://no-such-host.invalid:4222'),
        line: /cannot resolve host no-such-host\.invalid for NATS at nats:\/\/no-such-host\.invalid:4222 \(set --server or NATS_URL\)$/,
      },
      {
        name: 'bad credentials',
        args: async () => scanArgs(project, auth.url, ['--user', 'peer', '--password', 'wrong']),
        line: /NATS rejected the credentials for .* \(authorization violation\): check --user\/--password, --token or --creds$/,
      },
      {
        name: 'no permission on the JetStream API',
        args: async () => scanArgs(project, perms.url, ['--user', 'reader', '--password', 'readerpw']),
        line: /no permission to use the JetStream API on nats:\/\/127\.0\.0\.1:\d+: .*\$JS\.API\.>/,
      },
      {
        name: 'JetStream disabled',
        args: async () => scanArgs(project, noJs.url),
        line: /JetStream is not enabled on nats:\/\/127\.0\.0\.1:\d+: start nats-server with -js/,
      },
      {
        name: 'bucket missing',
        args: async () => scanArgs(project, plain.url, ['--bucket', 'no-such-bucket']),
        line: /bucket "no-such-bucket" does not exist on .* \(create it with: nats kv add no-such-bucket --history=50\)$/,
      },
    ];

    it.concurrent.each(rows)(
      '$name: exit 2 within --timeout, one line naming it and the next step, an INCOMPLETE report',
      async (row) => {
        await fault(`NATS: ${row.name}`, async () => {
          const r = await runCliAs(await row.args(), { cwd: project, limitMs: TIMEOUT + SLACK + 10_000 });
          expectCleanFailure(r, row.line);
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
          expect(r.stdout).toContain('INCOMPLETE SCAN');
          expect(r.ms).toBeLessThan(TIMEOUT + SLACK);
        });
      },
    );

    it('a port that accepts and never speaks NATS: exit 2 within --timeout, no hang', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const url = `nats://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      try {
        await fault('NATS: a port that never speaks NATS', async () => {
          const r = await runCliAs(scanArgs(project, url), { cwd: project, limitMs: TIMEOUT + SLACK + 10_000 });
          expectCleanFailure(r, new RegExp(`no NATS answer from ${url} within ${TIMEOUT} ms`));
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
          expect(r.ms).toBeLessThan(TIMEOUT + SLACK);
        });
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => silent.close(() => r()));
      }
    });
  });

  describe('nats-server killed (SIGKILL)', () => {
    it('in the middle of a scan of a big bucket: exit 2, marked incomplete, never a clean result', async () => {
      const s = await startFaultServer();
      const project = await emptyProject();
      const nc = await connect({ servers: s.url.replace('nats://', ''), reconnect: false });
      const js = nc.jetstream();
      await js.views.kv(BUCKET, { history: 50 });
      // 6,000 revisions of 8 kB: long enough to read that the kill lands inside the read.
      const value = new TextEncoder().encode(
        JSON.stringify({ cycle_number: 1, phases: {}, padding: 'p'.repeat(8000) }),
      );
      for (let i = 0; i < 6000; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, k) =>
            js.publish(`$KV.${BUCKET}.peer.spec.big-${(i + k) % 400}.cycle.1`, value),
          ),
        );
      }
      const jsm = await nc.jetstreamManager();
      const run = startCli(scanArgs(project, s.url, ['--format', 'json']), { cwd: project });
      // The scan's ordered consumer appears when it starts reading the history: kill the server then.
      const reading = await until(async () => (await jsm.consumers.list(`KV_${BUCKET}`).next()).length > 0, 30_000, 2);
      await s.kill9();
      await nc.close().catch(() => undefined);
      const r = await run.done;
      await fault('nats-server killed during a scan', async () => {
        expect(reading, 'the scan never started reading').toBe(true);
        expectCleanFailure(r, /NATS connection to .* closed before the read finished|NATS request timed out/);
        const json = JSON.parse(r.stdout) as {
          complete: boolean;
          incompleteReasons: string[];
          sources: Array<{ kind: string; ok: boolean }>;
        };
        expect(json.complete).toBe(false);
        expect(json.sources.find((x) => x.kind === 'kv')!.ok).toBe(false);
        expect(r.ms).toBeLessThan(30_000);
      });
      await s.stop();
      await fs.rm(project, { recursive: true, force: true });
    }, 120_000);

    describe('in the middle of a repair (PEER_AUDIT_FAULT_DELAY_MS widens each write)', () => {
      type Point = { name: string; change: number; after: number; recover: 'repair' | 'undo' };
      // The plan of the seed incident: two files, then the cycle key, then the meta key.
      // With a 300 ms delay, a change is marked applying, written 300 ms later, and recorded 300 ms after that.
      const points: Point[] = [
        { name: 'before the first KV write', change: 2, after: 60, recover: 'repair' },
        { name: 'after the first KV write, before the journal records it', change: 2, after: 420, recover: 'undo' },
        { name: 'before the second KV write', change: 3, after: 60, recover: 'repair' },
      ];

      it.each(points)(
        '$name, then $recover after a restart on the same port and store: nothing half-written, the journal says what was done',
        async (p) => {
          const s = await startFaultServer();
          const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-repair-kill-'));
          await fs.cp(SEED, project, { recursive: true });
          await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), s.url);
          const repairArgs = [
            'repair',
            '--server',
            s.url,
            '--logs',
            'logs',
            '--apply',
            '--yes',
            '--reason',
            'fault test',
            '--timeout',
            String(TIMEOUT),
          ];
          const run = startCli(repairArgs, { cwd: project, env: { PEER_AUDIT_FAULT_DELAY_MS: '300' } });
          let journalFile = '';
          const reached = await until(
            async () => {
              [journalFile] = await journalFiles(project);
              if (!journalFile) return false;
              const j = JSON.parse(await fs.readFile(journalFile, 'utf8')) as { changes: Change[] };
              return j.changes[p.change]?.status === 'applying';
            },
            60_000,
            5,
          );
          await sleep(p.after);
          await s.kill9();
          const r: Exited = await run.done;

          let nc: NatsConnection | undefined;
          await fault(`nats-server killed during a repair, ${p.name}; ${p.recover} completes it`, async () => {
            expect(reached, 'the repair never reached the kill point').toBe(true);
            // The repair ends by itself, says the outcome is unknown and what to do, and does not claim success.
            expect(r.signal).toBeNull();
            expect(r.code).toBe(2);
            expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
            expect(r.stderr).toMatch(/unknown 1 \(run undo or repair again\)/);
            expect(r.stderr).not.toContain('the repaired findings are gone');
            // The journal is whole, and right about every change.
            const journal = JSON.parse(await fs.readFile(journalFile, 'utf8')) as { changes: Change[] };
            const statuses = journal.changes.map((c) => c.status);
            // done, then the one write whose outcome the process could not know, then what was not started
            const open = statuses.indexOf('applying');
            expect(open).toBeGreaterThanOrEqual(p.change);
            expect(statuses).toEqual(
              statuses.map((_, i) => (i < open ? 'applied' : i === open ? 'applying' : 'planned')),
            );
            await s.restart();
            nc = await connect({ servers: s.url.replace('nats://', ''), reconnect: false });
            const kv = await nc.jetstream().views.kv(BUCKET, { bindOnly: true });
            let lost = await lostValues(kv, project, journal.changes);

            if (p.recover === 'repair') {
              const again = await runCliAs(repairArgs, { cwd: project });
              expect(again.code, again.stderr).toBe(0);
              expect(again.stderr).toMatch(/change\(s\) left mid-write by an earlier run settled/);
              const settled = JSON.parse(await fs.readFile(journalFile, 'utf8')) as { changes: Change[] };
              expect(settled.changes.filter((c) => c.status === 'applying')).toEqual([]);
              const second = (await journalFiles(project)).filter((f) => f !== journalFile);
              expect(second).toHaveLength(1);
              const next = JSON.parse(await fs.readFile(second[0], 'utf8')) as { changes: Change[] };
              expect(next.changes.every((c) => c.status === 'applied')).toBe(true);
              const check = await runCliAs(['repair', '--server', s.url, '--logs', 'logs'], { cwd: project });
              expect(check.stdout).toContain('Nothing to repair');
              // every value is in place now: written by the killed run, or re-planned (new time stamp) and written by the second
              for (const ch of journal.changes) {
                const cur = await currentBytes(kv, project, ch);
                const redo = next.changes.find((c) => c.kind === ch.kind && (c.key ?? c.path) === (ch.key ?? ch.path));
                const ok =
                  cur !== null &&
                  (cur.equals(Buffer.from(ch.after_b64, 'base64')) ||
                    (redo !== undefined && cur.equals(Buffer.from(redo.after_b64, 'base64'))));
                if (!ok) lost++;
              }
            } else {
              const u = await runCliAs(['undo', journalFile, '--server', s.url, '--yes'], { cwd: project });
              expect(u.code, u.stderr).toBe(0);
              for (const ch of journal.changes) {
                const cur = await currentBytes(kv, project, ch);
                if (!cur || !cur.equals(Buffer.from(ch.before_b64 ?? '', 'base64'))) lost++;
              }
            }
            return lost;
          });
          await nc?.close();
          await s.stop();
          await fs.rm(project, { recursive: true, force: true });
        },
        120_000,
      );

      it('server down when the repair starts: refuses on partial evidence, writes nothing, no journal', async () => {
        const s = await startFaultServer();
        const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-repair-down-'));
        await fs.cp(SEED, project, { recursive: true });
        await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), s.url);
        await s.kill9();
        await fault('nats-server down when a repair starts', async () => {
          const r = await runCliAs(
            [
              'repair',
              '--server',
              s.url,
              '--logs',
              'logs',
              '--apply',
              '--yes',
              '--reason',
              'fault test',
              '--timeout',
              String(TIMEOUT),
            ],
            { cwd: project },
          );
          expectCleanFailure(r, /refusing to plan a repair on partial evidence/);
          expect(await journalFiles(project)).toEqual([]);
          expect(
            await fs.readFile(path.join(project, '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md')),
          ).toEqual(
            await fs.readFile(path.join(SEED, '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md')),
          );
        });
        await s.stop();
        await fs.rm(project, { recursive: true, force: true });
      }, 60_000);
    });
  });
}

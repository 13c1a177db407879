// A nats-server for fault tests that can be killed with SIGKILL and started again on the same port and
// store dir, so that what JetStream persisted before the kill is what the next run sees.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';

export interface FaultServer {
  url: string;
  port: number;
  storeDir: string;
  pid: number;
  /** SIGKILL: no shutdown, no flush. Resolves when the process is gone. */
  kill9(): Promise<void>;
  /** Start again on the same port and store dir (after kill9 or stop). */
  restart(): Promise<void>;
  /** SIGTERM and wait; with `remove`, delete the store dir too. */
  stop(remove?: boolean): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

const stores = new Set<string>();

/** SIGKILL every server still running and remove its store: for an afterAll, so a failed test leaves nothing behind. */
export async function killAllFaultServers(): Promise<void> {
  const waits = [...children].map(
    (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r))),
  );
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(waits);
  for (const dir of stores) await rm(dir, { recursive: true, force: true });
  stores.clear();
}

const binary = () => (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultServerOptions {
  jetstream?: boolean;
  /** Server configuration (authorization blocks and the like). */
  configText?: string;
  /** Credentials the readiness check uses. */
  readyAuth?: { user: string; pass: string };
}

export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  const storeDir = await mkdtemp(path.join(tmpdir(), 'pa-fault-nats-'));
  stores.add(storeDir);
  const jetstream = opts.jetstream ?? true;
  let port = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const args: string[] = [];
    if (opts.configText) {
      const conf = path.join(storeDir, 'server.conf');
      await writeFile(conf, opts.configText);
      args.push('-c', conf);
    }
    if (jetstream) args.push('-js', '-sd', storeDir);
    args.push('-a', '127.0.0.1', '-p', port ? String(port) : '-1', '--ports_file_dir', storeDir);
    const c = spawn(binary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr?.on('data', (d) => (stderr += d));
    children.add(c);
    child = c;
    let gone = false;
    exited = new Promise((resolve) =>
      c.once('exit', () => {
        gone = true;
        children.delete(c);
        resolve();
      }),
    );
    const deadline = Date.now() + 15_000;
    // The ports file of this process tells the port (the first start picks a free one).
    const portsFile = path.join(storeDir, `nats-server_${c.pid}.ports`);
    while (!port) {
      if (gone || Date.now() > deadline) throw new Error(`nats-server did not start: ${stderr}`);
      const text = await readFile(portsFile, 'utf8').catch(() => '');
      try {
        port = Number(new URL((JSON.parse(text) as { nats: string[] }).nats[0]).port);
      } catch {
        await sleep(20);
      }
    }
    for (;;) {
      if (gone || Date.now() > deadline) throw new Error(`nats-server not ready: ${stderr}`);
      try {
        const nc = await connect({
          servers: `127.0.0.1:${port}`,
          reconnect: false,
          timeout: 1000,
          ...(opts.readyAuth ?? {}),
        });
        try {
          if (jetstream) await (await nc.jetstreamManager({ timeout: 1000 })).getAccountInfo();
        } finally {
          await nc.close();
        }
        return;
      } catch {
        await sleep(50);
      }
    }
  };

  await launch();
  const handle: FaultServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get pid() {
      return child?.pid ?? -1;
    },
    async kill9() {
      child?.kill('SIGKILL');
      await exited;
    },
    async restart() {
      // a killed server's ports file is stale; the port stays the same
      for (const n of await readdir(storeDir))
        if (n.endsWith('.ports')) await rm(path.join(storeDir, n), { force: true });
      await launch();
    },
    async stop(remove = true) {
      child?.kill('SIGTERM');
      await exited;
      if (remove) {
        await rm(storeDir, { recursive: true, force: true });
        stores.delete(storeDir);
      }
    },
  };
  return handle;
}

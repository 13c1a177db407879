// Test harness: one private nats-server per call, on a random port, with its own store dir.
// Servers are independent, so test files (and tests inside a file) can run in parallel.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { e2eOnly } from './project-guard.js';

export interface StartNatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  user?: string;
  password?: string;
  token?: string;
  /** Extra server configuration, written to a file and passed with -c. Command-line flags still apply. */
  configText?: string;
  /** Credentials for the readiness check when configText (not the flags above) sets up authorization. */
  readyAuth?: { user?: string; password?: string; token?: string };
  /** TLS for client connections, added to the configuration file; verify: true requires a client certificate. */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
  /** More client options for the readiness check (a creds or nkey authenticator, TLS files), applied last. */
  readyOptions?: Partial<ConnectionOptions>;
  /** Client port (default: a random free one). With storeDir, a stopped server can be started again in its place. */
  port?: number;
  /** Store dir owned by the caller: used as is and kept on stop (default: a new temporary dir, removed on stop). */
  storeDir?: string;
}

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  storeDir: string;
  pid: number;
  /** SIGTERM, wait for the process to exit, remove the store dir. Safe to call twice. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

const START_TIMEOUT_MS = 10_000;
const STDERR_LIMIT = 16_384;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies without running afterAll must not leave servers behind.
  process.once('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

function serverBinary(): string {
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  e2eOnly('starting a nats-server');
  installExitHook();
  const jetstream = opts.jetstream ?? true;
  const ownStore = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'pa-nats-')));
  const args: string[] = [];
  if (opts.configText !== undefined || opts.tls !== undefined) {
    const conf = join(storeDir, 'server.conf');
    let text = opts.configText ?? '';
    if (opts.tls) {
      const t = opts.tls;
      const q = (p: string) => JSON.stringify(p);
      text += `\ntls {\n  cert_file: ${q(t.certFile)}\n  key_file: ${q(t.keyFile)}\n${t.caFile ? `  ca_file: ${q(t.caFile)}\n` : ''}  verify: ${t.verify === true}\n  timeout: 5\n}\n`;
    }
    await writeFile(conf, text);
    args.push('-c', conf);
  }
  if (jetstream) args.push('-js', '-sd', storeDir);
  args.push('-a', '127.0.0.1', '-p', opts.port !== undefined ? String(opts.port) : '-1', '--ports_file_dir', storeDir);
  if (opts.user !== undefined) args.push('--user', opts.user);
  if (opts.password !== undefined) args.push('--pass', opts.password);
  if (opts.token !== undefined) args.push('--auth', opts.token);

  const child = spawn(serverBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk;
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
      running.delete(child);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (ownStore) await rm(storeDir, { recursive: true, force: true });
  };

  const fail = async (why: string): Promise<never> => {
    await stop();
    const tail = stderr.trim() ? `\nnats-server stderr:\n${stderr.trim()}` : '';
    throw new Error(`nats-server (${serverBinary()} ${args.join(' ')}) did not start: ${why}${tail}`);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;

  // 1. The ports file tells us the random port.
  let url: string | undefined;
  while (url === undefined) {
    if (spawnError) return fail(spawnError.message);
    if (exited) return fail(`exited with code ${child.exitCode ?? child.signalCode}`);
    if (Date.now() > deadline) return fail(`no ports file after ${START_TIMEOUT_MS} ms`);
    const names = await readdir(storeDir).catch(() => [] as string[]);
    // This process's file: a reused store dir may still hold an earlier server's.
    const portsFile = names.find((n) => n === `nats-server_${child.pid}.ports`);
    if (portsFile) {
      try {
        const parsed = JSON.parse(await readFile(join(storeDir, portsFile), 'utf8')) as { nats?: string[] };
        if (parsed.nats?.[0]) url = parsed.nats[0];
      } catch {
        /* partially written: try again */
      }
    }
    if (url === undefined) await sleep(20);
  }
  const port = Number(new URL(url).port);

  // 2. Retry until the server answers (and JetStream answers, when enabled).
  let lastError: unknown;
  for (;;) {
    if (exited) return fail(`exited with code ${child.exitCode ?? child.signalCode}`);
    if (Date.now() > deadline) {
      const reason =
        lastError instanceof Error
          ? `${(lastError as { code?: string }).code ?? ''} ${lastError.message}`
          : String(lastError);
      return fail(`not ready after ${START_TIMEOUT_MS} ms (last error: ${reason.trim()})`);
    }
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({
        servers: `127.0.0.1:${port}`,
        user: opts.readyAuth?.user ?? opts.user,
        pass: opts.readyAuth?.password ?? opts.password,
        token: opts.readyAuth?.token ?? opts.token,
        reconnect: false,
        timeout: 1_000,
        ...opts.readyOptions,
      });
      if (jetstream) {
        const jsm = await nc.jetstreamManager({ timeout: 1_000 });
        await jsm.getAccountInfo();
      }
      break;
    } catch (err) {
      lastError = err;
      await sleep(50);
    } finally {
      if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: child.pid ?? -1,
    stop,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
    },
  };
}

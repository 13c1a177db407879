// Shared pieces of the fault tests: the CLI as a child process that can be killed, and small waits.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { BIN, REPO } from '../helpers/cli.js';

export const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Exited>;
}

/** Starts the built CLI; `done` resolves when it exits (it is killed after `limitMs`, which fails the test). */
export function startCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; uid?: number; gid?: number; limitMs?: number } = {},
): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  delete env.FORCE_COLOR;
  if (!opts.env?.NATS_URL) delete env.NATS_URL;
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const limit = opts.limitMs ?? 60_000;
  const done = new Promise<Exited>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, done };
}

export async function runCliAs(args: string[], opts: Parameters<typeof startCli>[1] = {}): Promise<Exited> {
  return startCli(args, opts).done;
}

/** One clear line on stderr per reason, no stack trace, and never a clean verdict on stdout. */
export function expectCleanFailure(r: Exited, line?: RegExp): void {
  expect(r.signal, 'the CLI was killed: it hung').toBeNull();
  expect(r.code).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(r.stdout).not.toContain('No problems found in the evidence read');
  const lines = r.stderr.trim().split('\n');
  for (const l of lines) expect(l).toMatch(/^peer-audit: /);
  if (line)
    expect(
      lines.some((l) => line.test(l)),
      r.stderr,
    ).toBe(true);
}

/** A temporary folder readable by every user (mkdtemp makes it private), for runs as another user. */
export async function openTempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  return dir;
}

export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, content);
  }
}

/** Polls `check` every `everyMs` (0: as fast as the event loop allows) until it returns true or `ms` pass. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, everyMs = 0): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await (everyMs > 0 ? sleep(everyMs) : new Promise((r) => setImmediate(r)));
  }
  return false;
}

export const isRoot = () => process.getuid?.() === 0;

// Runs the built CLI as a subprocess, the way users and CI run it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eOnly } from './project-guard.js';

export const BIN = fileURLToPath(new URL('../../bin/peer-audit.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EMPTY_CONFIG = mkdtempSync(path.join(os.tmpdir(), 'pa-xdg-'));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  e2eOnly('running the CLI');
  return new Promise((resolve, reject) => {
    // A developer's own nats context or config must not leak into tests: point XDG at an empty folder.
    const env: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      NATS_URL: undefined,
      NATS_CONTEXT: undefined,
      XDG_CONFIG_HOME: EMPTY_CONFIG,
      ...opts.env,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: env as NodeJS.ProcessEnv,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer-audit ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 30000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

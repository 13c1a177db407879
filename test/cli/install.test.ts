// The package as users get it: `npm pack`, installed globally into a temporary prefix, run from its bin.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const run = promisify(execFile);
let tmp: string;
let prefix: string;
let installed: string;

const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    timeout: 240_000,
    maxBuffer: 16 << 20,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-install-'));
  prefix = path.join(tmp, 'prefix');
  // dist/ is built by the test script; --ignore-scripts keeps pack from rebuilding it under running tests.
  const packed = await npm(['pack', '--pack-destination', tmp, '--ignore-scripts', '--json'], REPO);
  const tarball = path.join(tmp, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0].filename);
  // The dependencies come from the npm cache; the registry only when the cache lacks them.
  try {
    await npm(['install', '-g', '--prefix', prefix, tarball, '--offline'], tmp);
  } catch {
    await npm(['install', '-g', '--prefix', prefix, tarball, '--prefer-offline'], tmp);
  }
  installed = path.join(prefix, 'bin', 'peer-audit');
}, 600_000);
afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

const cli = (args: string[], cwd: string) =>
  run(installed, args, { cwd, env: { ...process.env, NO_COLOR: '1', NATS_URL: undefined, XDG_CONFIG_HOME: tmp } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('installed from the packed tarball', () => {
  it('peer-audit scan on the bundled incident prints its findings and exits 1', async () => {
    const incident = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const r = await cli(['scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], incident);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'error    missing-execute-phase  Cycle 1 went past the execute phase but execute is absent',
    );
    expect(r.stdout).toContain('✖ 17 problems (9 errors, 8 warnings, 0 info)');
  }, 60_000);

  it('carries every rule and its documentation', async () => {
    const ruleFiles = (await fs.readdir(path.join(REPO, 'rules'))).filter((f) => f.endsWith('.ts')).sort();
    const r = await cli(['rules', '--format', 'json'], tmp);
    expect(r.code).toBe(0);
    const listed = (JSON.parse(r.stdout) as { rules: Array<{ id: string }> }).rules.map((x) => x.id);
    expect(listed.sort()).toEqual(ruleFiles.map((f) => f.replace(/\.ts$/, '')));
    const pkg = path.join(prefix, 'lib', 'node_modules', 'peer-audit');
    for (const f of ruleFiles) await fs.access(path.join(pkg, 'rules', f.replace(/\.ts$/, '.md')));
  }, 60_000);
});

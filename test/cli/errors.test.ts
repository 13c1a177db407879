import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer } from '../helpers/nats-server.js';
import { runCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';

// One clear line on stderr, no stack trace, exit 2, and never a clean verdict on stdout.
function expectOneLineFailure(r: { code: number | null; stdout: string; stderr: string }, line: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toContain('No problems found in the evidence read');
}

describe('scan: sources that cannot be read', () => {
  let project: string;
  let auth: Awaited<ReturnType<typeof startNatsServer>>;
  let plain: Awaited<ReturnType<typeof startNatsServer>>;
  beforeAll(async () => {
    project = await tempProject({
      '.agent-os/specs/2025-08-20-clean/spec.md': [
        '# Spec Requirements Document',
        '',
        '## Overview',
        '',
        'A clean spec.',
        '',
        '## User Stories',
        '',
        'A user.',
        '',
        '## Spec Scope',
        '',
        '1. One.',
        '',
        '## Out of Scope',
        '',
        '- Two',
        '',
        '## Expected Deliverable',
        '',
        '1. Done.',
        '',
      ].join('\n'),
    });
    [auth, plain] = await Promise.all([startNatsServer({ user: 'peer', password: 'right' }), startNatsServer()]);
  });
  afterAll(async () => {
    await Promise.all([auth?.stop(), plain?.stop()]);
  });

  it('unreachable NATS: exit 2, one line, an INCOMPLETE report', async () => {
    const dead = await startNatsServer();
    const url = dead.url;
    await dead.stop();
    const r = await runCli(['scan', '--project', project, '--server', url, '--no-default-logs']);
    expectOneLineFailure(
      r,
      /^peer-audit: incomplete: cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+: connection refused/,
    );
    expect(r.stdout).toContain('INCOMPLETE SCAN');
    expect(r.stdout).toContain('NOT a clean result');
  });

  it('missing bucket: exit 2 with the command that creates it', async () => {
    const r = await runCli([
      'scan',
      '--project',
      project,
      '--server',
      plain.url,
      '--bucket',
      'no-such-bucket',
      '--no-default-logs',
      '--format',
      'json',
    ]);
    expectOneLineFailure(
      r,
      /bucket "no-such-bucket" does not exist on .*\(create it with: nats kv add no-such-bucket --history=50\)$/,
    );
    const json = JSON.parse(r.stdout);
    expect(json.complete).toBe(false);
    expect(json.sources.find((s: { kind: string }) => s.kind === 'kv')).toMatchObject({ ok: false });
  });

  it('bad credentials: exit 2, one line', async () => {
    const r = await runCli([
      'scan',
      '--project',
      project,
      '--server',
      auth.url,
      '--user',
      'peer',
      '--password',
      'wrong',
      '--no-default-logs',
    ]);
    expectOneLineFailure(r, /NATS rejected the credentials for nats:\/\/127\.0\.0\.1:\d+ \(authorization violation\)/);
  });

  it('a port that accepts but never speaks NATS: exit 2 within the timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as net.AddressInfo).port;
    const started = Date.now();
    const r = await runCli([
      'scan',
      '--project',
      project,
      '--server',
      `nats://127.0.0.1:${port}`,
      '--timeout',
      '1000',
      '--no-default-logs',
    ]);
    silent.close();
    expectOneLineFailure(r, /no NATS answer from nats:\/\/127\.0\.0\.1:\d+ within 1000 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a snapshot file that does not exist: exit 2', async () => {
    const r = await runCli(['scan', '--project', project, '--kv-snapshot', 'nope.jsonl', '--no-default-logs']);
    expectOneLineFailure(r, /cannot read snapshot .*nope\.jsonl: ENOENT/);
  });

  it('usage errors exit 2 with one message and no stack', async () => {
    for (const args of [
      ['scan', '--frmat', 'json'],
      ['scna'],
      ['scan', '--fail-on', 'fatal'],
      ['scan', '--project', '/does/not/exist', '--no-kv'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^peer-audit: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('a reader that closes the pipe early', () => {
  it('ends the scan quietly with 141, no stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const path = await import('node:path');
    const { BIN, REPO } = await import('../helpers/cli.js');
    const seed = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const child = spawn(
      process.execPath,
      [BIN, 'scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'],
      { cwd: seed, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Close our end before the scan writes, as `| head -c 0` would: its write meets a closed pipe.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });
});

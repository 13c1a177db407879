// peer-audit doctor, as a subprocess against real nats-servers: all good, server down, bucket missing, history 1,
// JetStream off, a broken context, and a clock that cannot be measured without writing.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type ConnectionOptions } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const BUCKET = 'agent-os-peer-state';

const NO_NATS_ENV = {
  NATS_URL: undefined,
  NATS_CONTEXT: undefined,
  NATS_USER: undefined,
  NATS_PASSWORD: undefined,
  NATS_TOKEN: undefined,
  NATS_CREDS: undefined,
  NATS_NKEY: undefined,
  NATS_CERT: undefined,
  NATS_KEY: undefined,
  NATS_CA: undefined,
};

async function bucket(url: string, history: number, auth: Partial<ConnectionOptions> = {}, values = 1): Promise<void> {
  const nc = await connect({ servers: url.replace('nats://', ''), reconnect: false, ...auth });
  try {
    const kv = await nc.jetstream().views.kv(BUCKET, { history });
    for (let i = 0; i < values; i++)
      await kv.put('peer.spec.demo.meta', new TextEncoder().encode(`{"spec_name":"demo","n":${i}}`));
  } finally {
    await nc.drain();
  }
}

/** The check lines: name → [mark, text]. */
function checks(stdout: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of stdout.trim().split('\n').slice(0, -1)) {
    const m = /^([✔✖⚠]) (\S+) +(.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    out.set(m![2], [m![1], m![3]]);
  }
  return out;
}

describe('peer-audit doctor', () => {
  let home: string;
  let project: string;
  let logs: string;
  let good: NatsServerHandle;
  let history1: NatsServerHandle;
  let noJs: NatsServerHandle;
  let restricted: NatsServerHandle;
  let deadUrl: string;

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'pa-home-'));
    project = await tempProject({
      '.agent-os/specs/2025-08-20-demo/spec.md': '# Spec Requirements Document\n',
      '.agent-os/specs/2025-08-20-demo/tasks.md': '# Tasks\n',
      '.agent-os/specs/2025-08-21-other/spec.md': '# Spec Requirements Document\n',
    });
    logs = path.join(home, 'logs');
    await mkdir(logs, { recursive: true });
    await writeFile(path.join(logs, 'session.jsonl'), '{"type":"user"}\n');
    await writeFile(path.join(logs, 'agent-1.jsonl'), '{"type":"user"}\n');
    const dead = await startNatsServer({ jetstream: false });
    deadUrl = dead.url;
    await dead.stop();
    [good, history1, noJs, restricted] = await Promise.all([
      startNatsServer(),
      startNatsServer(),
      startNatsServer({ jetstream: false }),
      startNatsServer({
        // May read everything, may not create streams: the clock cannot be read from a temporary stream.
        configText:
          'authorization { users: [ { user: admin, password: admin }, { user: auditor, password: pw, permissions: { publish: { allow: [">"], deny: ["$JS.API.STREAM.CREATE.>"] } } } ] }\n',
        readyAuth: { user: 'auditor', password: 'pw' },
      }),
    ]);
    await Promise.all([
      bucket(good.url, 50),
      bucket(history1.url, 1),
      bucket(restricted.url, 50, { user: 'admin', pass: 'admin' }, 3),
    ]);
  });
  afterAll(async () => {
    await Promise.all([good?.stop(), history1?.stop(), noJs?.stop(), restricted?.stop()]);
    for (const d of [home, project]) if (d) await rm(d, { recursive: true, force: true });
  });

  const doctor = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
    runCli(['doctor', '--project', project, '--timeout', '2000', ...args], {
      env: {
        ...NO_NATS_ENV,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, 'xdg'),
        CLAUDE_CONFIG_DIR: path.join(home, 'claude'),
        ...env,
      },
    });

  it('all good: every check ✔, exit 0', async () => {
    const r = await doctor(['--server', good.url, '--logs', logs, '--expect-replicas', '1']);
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const c = checks(r.stdout);
    expect([...c.keys()]).toEqual([
      'context',
      'nats',
      'jetstream',
      'bucket',
      'history',
      'replicas',
      'clock',
      'specs',
      'logs',
    ]);
    for (const [name, [mark]] of c) expect([name, mark]).toEqual([name, '✔']);
    expect(c.get('context')![1]).toBe('none selected: flags, environment and defaults only');
    expect(c.get('nats')![1]).toMatch(
      new RegExp(
        `^nats://127\\.0\\.0\\.1:${good.port} \\(from --server\\): nats-server \\d+\\.\\d+\\.\\d+; round trip (<1|\\d+) ms$`,
      ),
    );
    expect(c.get('jetstream')![1]).toMatch(/^enabled: this account has 1 stream, 0 consumers$/);
    expect(c.get('bucket')![1]).toBe(`${BUCKET}: 1 key, 1 revision stored, file storage`);
    expect(c.get('history')![1]).toBe('50 revisions kept per key');
    expect(c.get('replicas')![1]).toBe('1');
    expect(c.get('clock')![1]).toMatch(
      /^the server and this machine agree within \d+ ms \(±\d+ ms; from a temporary in-memory stream, deleted again\)$/,
    );
    expect(c.get('specs')![1]).toBe('.agent-os/specs: 2 spec folders, 3 files');
    expect(c.get('logs')![1]).toMatch(new RegExp(`^2 transcript files \\(\\d+ B\\) from ${logs}$`));
    expect(r.stdout.trim().split('\n').at(-1)).toBe('✔ ready: all 9 checks passed');

    // The temporary stream is gone again: only the bucket's stream is left.
    const again = await doctor(['--server', good.url, '--logs', logs, '--expect-replicas', '1']);
    expect(checks(again.stdout).get('jetstream')![1]).toContain('1 stream,');
  });

  it("Claude Code's log folder for the project, and replicas below the expected 3 as a warning", async () => {
    const encoded = path.resolve(project).replace(/[^A-Za-z0-9]/g, '-');
    const folder = path.join(home, 'claude', 'projects', encoded);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 's.jsonl'), '{}\n');
    const r = await doctor(['--server', good.url]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const c = checks(r.stdout);
    expect(c.get('logs')).toEqual(['✔', `${folder} (Claude Code's folder for this project): 1 transcript file (3 B)`]);
    expect(c.get('replicas')).toEqual([
      '⚠',
      `1, expected 3: the state lives on one server, and one lost disk loses it (more than one replica needs a NATS cluster: nats stream edit KV_${BUCKET} --replicas=3)`,
    ]);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('⚠ ready, with 1 warning');
    await rm(path.join(home, 'claude'), { recursive: true, force: true });
  });

  it('server down: ✖ nats with what to do, the folders still checked, exit 2', async () => {
    const r = await doctor(['--server', deadUrl, '--logs', logs]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    const c = checks(r.stdout);
    expect([...c.keys()]).toEqual(['context', 'nats', 'specs', 'logs']);
    expect(c.get('nats')).toEqual([
      '✖',
      `cannot reach NATS at ${deadUrl}: connection refused (is nats-server running? set --server or NATS_URL)`,
    ]);
    expect(c.get('specs')![0]).toBe('✔');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('✖ 1 check failed: a scan would not read everything');
  });

  it('bucket missing: ✖ bucket with the nats kv add command, exit 2', async () => {
    const r = await doctor([
      '--server',
      good.url,
      '--bucket',
      'no-such-bucket',
      '--logs',
      logs,
      '--expect-replicas',
      '1',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    const c = checks(r.stdout);
    expect(c.get('bucket')).toEqual([
      '✖',
      `bucket "no-such-bucket" does not exist on ${good.url} (create it with: nats kv add no-such-bucket --history=50); or point --bucket at the bucket PEER writes`,
    ]);
    expect(c.has('history')).toBe(false);
    expect(c.get('clock')![0]).toBe('✔'); // measured without the bucket
  });

  it('history 1: ⚠ no trail to audit, with the fix; still exit 0', async () => {
    const r = await doctor(['--server', history1.url, '--logs', logs, '--expect-replicas', '1']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const c = checks(r.stdout);
    expect(c.get('history')).toEqual([
      '⚠',
      `1: every write replaces the previous value, so there is no trail to audit (lost updates and the order of the phases cannot be proved). Take a snapshot, then: nats stream edit KV_${BUCKET} --max-msgs-per-subject=50`,
    ]);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('⚠ ready, with 1 warning');
  });

  it('JetStream off: ✖ jetstream with how to turn it on, exit 2', async () => {
    const r = await doctor(['--server', noJs.url, '--logs', logs]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    const c = checks(r.stdout);
    expect(c.get('jetstream')).toEqual([
      '✖',
      `JetStream is not enabled on ${noJs.url}: start nats-server with -js (or a jetstream {} block in its configuration)`,
    ]);
    expect(c.has('bucket')).toBe(false);
  });

  it('through a NATS context; a broken context is ✖ context and NATS is not tried', async () => {
    const dir = path.join(home, 'xdg', 'nats', 'context');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'peer.json'), JSON.stringify({ description: 'local PEER server', url: good.url }));
    await writeFile(path.join(dir, 'broken.json'), '{');
    await writeFile(path.join(home, 'xdg', 'nats', 'context.txt'), 'peer\n');
    try {
      let r = await doctor(['--logs', logs, '--expect-replicas', '1']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      let c = checks(r.stdout);
      expect(c.get('context')).toEqual([
        '✔',
        `"peer" (${path.join(dir, 'peer.json')}, chosen by the nats CLI's selection): local PEER server`,
      ]);
      expect(c.get('nats')![1]).toContain('(from the NATS context)');

      r = await doctor(['--context', 'broken', '--logs', logs]);
      expect(r.code, r.stderr + r.stdout).toBe(2);
      c = checks(r.stdout);
      expect(c.get('context')![0]).toBe('✖');
      expect(c.get('context')![1]).toMatch(
        new RegExp(
          `^NATS context file ${path.join(dir, 'broken.json')} is not valid JSON: .*: fix it, choose another context with --context, or use none with --no-context$`,
        ),
      );
      expect(c.has('nats')).toBe(false);
    } finally {
      await rm(path.join(home, 'xdg'), { recursive: true, force: true });
    }
  });

  it('no permission to create a temporary stream: the clock is not measured, and doctor says only what it can bound', async () => {
    const r = await doctor([
      '--server',
      restricted.url,
      '--user',
      'auditor',
      '--password',
      'pw',
      '--logs',
      logs,
      '--expect-replicas',
      '1',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const c = checks(r.stdout);
    expect(c.get('bucket')![1]).toBe(`${BUCKET}: 1 key, 3 revisions stored, file storage`);
    expect(c.get('clock')![0]).toBe('⚠');
    expect(c.get('clock')![1]).toMatch(
      /^not measured: a temporary stream could not be used \(.+\); the newest revision's time only shows the server is at most \d+(\.\d)? s behind this machine \(how far ahead it may be cannot be told\)$/,
    );
  });
});

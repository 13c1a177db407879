// The exit code table of the README, command by command: every command in each of its exit situations, with the
// real CLI against a real nats-server holding the seed incident. Rows run in order; the last ones write.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';

const SEED = 'wal-operation-handling-fix';
const META = `peer.spec.${SEED}.meta`;
const SPEC_MD = '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md';
const DOWN = 'nats://127.0.0.1:1';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let kv: KV;
let seed: string;
let healthy: string;

beforeAll(async () => {
  server = await startNatsServer();
  seed = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-exit-seed-'));
  healthy = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-exit-healthy-'));
  await fs.cp(path.join(REPO, 'fixtures/incidents', SEED), seed, { recursive: true });
  await fs.cp(path.join(REPO, 'fixtures/incidents/healthy-v1'), healthy, { recursive: true });
  await loadSnapshotIntoServer(path.join(seed, 'kv-snapshot.jsonl'), server.url);
  nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
  kv = await nc.jetstream().views.kv('agent-os-peer-state', { bindOnly: true });
}, 60_000);

afterAll(async () => {
  if (nc && !nc.isClosed()) await nc.close();
  await server?.stop();
});

const metaRevision = async () => (await kv.get(META))!.revision;

interface Row {
  situation: string;
  /** Arguments; `$S` is the live server's URL. */
  args: string[];
  cwd?: () => string;
  code: 0 | 1 | 2;
}

const live = ['--server', '$S', '--logs', 'logs'];
const healthyOffline = ['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'];

/** Commands that only read: their rows run first, against the loaded seed incident. */
const READING: Record<string, Row[]> = {
  scan: [
    { situation: 'healthy run, every source read', args: ['scan', ...healthyOffline], cwd: () => healthy, code: 0 },
    { situation: 'findings at or above --fail-on', args: ['scan', ...live], code: 1 },
    {
      situation: 'more warnings than --max-warnings',
      args: ['scan', ...live, '--fail-on', 'error', '--max-warnings', '0', '--no-baseline'],
      code: 1,
    },
    { situation: 'NATS unreachable: incomplete', args: ['scan', '--server', DOWN, '--logs', 'logs'], code: 2 },
    { situation: 'usage error', args: ['scan', '--format', 'jsno'], code: 2 },
  ],
  report: [
    { situation: 'healthy run', args: ['report', ...healthyOffline], cwd: () => healthy, code: 0 },
    { situation: 'findings', args: ['report', ...live], code: 1 },
    { situation: '--from a file that is not a scan', args: ['report', '--from', 'kv-snapshot.jsonl'], code: 2 },
    { situation: 'usage error', args: ['report', '--fail-on', 'warn'], code: 2 },
  ],
  repair: [
    { situation: 'dry run with a plan', args: ['repair', ...live], code: 0 },
    { situation: 'nothing to repair', args: ['repair', ...healthyOffline], cwd: () => healthy, code: 0 },
    { situation: 'partial evidence: nothing planned', args: ['repair', '--server', DOWN, '--logs', 'logs'], code: 2 },
    {
      situation: '--apply with --kv-snapshot',
      args: ['repair', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--apply', '--reason', 'x', '--yes'],
      code: 2,
    },
    {
      situation: '--apply with an empty --kv-snapshot never reaches the live bucket',
      args: ['repair', ...live, '--kv-snapshot', '', '--apply', '--reason', 'x', '--yes'],
      code: 2,
    },
    {
      situation: '--apply with no terminal and no --yes',
      args: ['repair', ...live, '--apply', '--reason', 'x'],
      code: 2,
    },
    { situation: 'a misspelled --rule', args: ['repair', ...live, '--rule', 'false-sucess'], code: 2 },
  ],
  reopen: [
    { situation: 'dry run', args: ['reopen', SEED, '--server', '$S', '--reason', 'x', '--quiet-for', '0s'], code: 0 },
    {
      situation: 'refused: written to within --quiet-for',
      args: ['reopen', SEED, '--server', '$S', '--reason', 'x', '--quiet-for', '1000d'],
      code: 2,
    },
    {
      situation: 'no state for the spec',
      args: ['reopen', 'no-such-spec', '--server', '$S', '--reason', 'x'],
      code: 2,
    },
    { situation: 'usage error: no --reason', args: ['reopen', SEED, '--server', '$S'], code: 2 },
  ],
  snapshot: [
    { situation: 'written', args: ['snapshot', '--server', '$S', '-o', 'snap.jsonl'], code: 0 },
    { situation: 'NATS unreachable', args: ['snapshot', '--server', DOWN, '-o', 'snap2.jsonl'], code: 2 },
    { situation: 'usage error: -o without a path', args: ['snapshot', '--server', '$S', '-o'], code: 2 },
  ],
  doctor: [
    {
      situation: 'every check passes',
      args: ['doctor', '--server', '$S', '--logs', 'logs', '--expect-replicas', '1'],
      code: 0,
    },
    { situation: 'a check fails', args: ['doctor', '--server', DOWN, '--logs', 'logs'], code: 2 },
    { situation: 'usage error', args: ['doctor', '--expect-replicas', 'three'], code: 2 },
  ],
  rules: [
    { situation: 'listed', args: ['rules'], code: 0 },
    { situation: 'usage error', args: ['rules', '--format', 'xml'], code: 2 },
  ],
  watch: [
    { situation: 'NATS unreachable at the start', args: ['watch', '--server', DOWN, '--timeout', '500'], code: 2 },
    { situation: 'usage error', args: ['watch', '--format', 'sarif'], code: 2 },
  ],
  completion: [{ situation: 'script printed', args: ['completion'], code: 0 }],
  hook: [
    { situation: 'no event on stdin: a systemMessage, never a block', args: ['hook', '--server', DOWN], code: 0 },
    { situation: 'an unknown flag: still 0 (exit 2 would block the agent)', args: ['hook', '--bogus'], code: 0 },
    { situation: 'install: usage error', args: ['hook', 'install', '--events', 'bogus'], code: 2 },
  ],
  undo: [
    { situation: 'journal cannot be read', args: ['undo', 'no-such-journal.json', '--server', '$S', '--yes'], code: 2 },
    { situation: 'usage error', args: ['undo', 'j.json', '--timeout', '0'], code: 2 },
  ],
};

const run = (row: Row) =>
  runCli(
    row.args.map((a) => (a === '$S' ? server.url : a)),
    { cwd: row.cwd?.() ?? seed, timeoutMs: 60_000 },
  );

describe.each(Object.keys(READING))('%s', (command) => {
  it.each(READING[command].map((r) => [r.situation, r] as const))('%s', async (_s, row) => {
    const before = await metaRevision();
    const r = await run(row);
    expect(r.code, `${row.args.join(' ')}\n${r.stderr}`).toBe(row.code);
    // None of these rows writes.
    expect(await metaRevision()).toBe(before);
  });
});

describe('watch: ended by SIGTERM', () => {
  it('exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'watch', '--server', server.url, '--format', 'json'], {
      cwd: seed,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // Once it says it is watching, its signal handlers are in place.
    for (let i = 0; i < 1000 && !out.includes('"event":"watching"'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain('"event":"watching"');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
  });
});

describe('writing commands, in order', () => {
  let journal: string;
  const journals = async () =>
    (await fs.readdir(path.join(seed, '.peer-audit/journal'))).filter((n) => n.endsWith('.json')).sort();

  it('repair --apply: a file that changed since the scan is skipped, counted, and the exit code is 1', async () => {
    const gate = path.join(seed, 'gate');
    const child = runCli(
      ['repair', ...live.map((a) => (a === '$S' ? server.url : a)), '--apply', '--reason', 'exit codes', '--yes'],
      {
        cwd: seed,
        env: { PEER_AUDIT_FAULT_PLAN_GATE: gate },
        timeoutMs: 60_000,
      },
    );
    // Between the scan and the plan: someone edits the spec file the repair would change.
    for (let i = 0; i < 3000 && !(await fs.stat(`${gate}.scanned`).catch(() => null)); i++)
      await new Promise((r) => setTimeout(r, 20));
    await fs.appendFile(path.join(seed, SPEC_MD), 'edited by hand\n');
    await fs.writeFile(gate, '');
    const r = await child;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`skipped ${SPEC_MD}: the file changed since it was scanned`);
    expect(r.stderr).toMatch(
      /applied 3, conflicts 0, failed 0, skipped 1 \(changed since the scan or unreadable; scan again\)/,
    );
    [journal] = await journals();
  });

  it('undo: every change put back, exit 0; again: nothing to undo, exit 0', async () => {
    const r = await runCli(['undo', `.peer-audit/journal/${journal}`, '--server', server.url, '--yes'], { cwd: seed });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('undone 3, left as they are 0');
    const again = await runCli(['undo', `.peer-audit/journal/${journal}`, '--server', server.url, '--yes'], {
      cwd: seed,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to undo');
  });

  it('repair --apply with every change made: exit 0', async () => {
    // Put the hand edit back so nothing is skipped.
    const text = await fs.readFile(path.join(seed, SPEC_MD), 'utf8');
    await fs.writeFile(path.join(seed, SPEC_MD), text.replace('edited by hand\n', ''));
    const r = await runCli(
      ['repair', ...live.map((a) => (a === '$S' ? server.url : a)), '--apply', '--reason', 'exit codes', '--yes'],
      { cwd: seed, timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('applied 4, conflicts 0, failed 0');
    expect(r.stderr).not.toContain('skipped');
  });

  it('undo of a key written since: left as it is, exit 1', async () => {
    const latest = (await journals()).at(-1)!;
    const e = (await kv.get(META))!;
    await kv.put(META, e.value); // someone writes the key after the repair
    const r = await runCli(['undo', `.peer-audit/journal/${latest}`, '--server', server.url, '--yes'], { cwd: seed });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/left as they are [1-9]/);
  });
});

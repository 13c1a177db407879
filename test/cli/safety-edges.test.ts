// The edges where peer-audit writes or shows what it should not: --print-config credentials, journal permissions
// and .gitignore, temporary files of killed writes, and -o naming a folder. Real files, real nats-server, the CLI.
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';

const INCIDENT = 'wal-operation-handling-fix';
const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';

let server: Awaited<ReturnType<typeof startNatsServer>> | undefined;
let project: string;

async function freshIncident() {
  if (server) await server.stop();
  server = await startNatsServer();
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-safety-'));
  await fs.cp(path.join(REPO, 'fixtures/incidents', INCIDENT), project, { recursive: true });
  await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), server.url);
}

afterAll(async () => server?.stop());

const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { cwd: project, env, timeoutMs: 60_000 });
const live = () => ['--server', server!.url, '--logs', 'logs'];
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

async function journalFiles(): Promise<string[]> {
  const dir = path.join(project, '.peer-audit/journal');
  return (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => path.join(dir, n));
}

/** The id of a process that has ended: a temporary file named with it belongs to no running write. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

async function specsStats(): Promise<Record<string, number>> {
  const r = await cli(['scan', ...live(), '--format', 'json']);
  return (JSON.parse(r.stdout) as { sources: { kind: string; stats: Record<string, number> }[] }).sources.find(
    (s) => s.kind === 'specs',
  )!.stats;
}

describe('--print-config masks credentials', () => {
  beforeEach(async () => {
    project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-printcfg-'));
  });

  it('in --server, NATS_URL and the config file, with --password and --token given', async () => {
    const flag = await cli([
      'scan',
      '--print-config',
      '--server',
      'nats://admin:s3cretpw@host:4222',
      '--password',
      'flagpw123',
      '--token',
      'flagtoken123',
    ]);
    expect(flag.code).toBe(0);
    expect(JSON.parse(flag.stdout).sources.server).toBe('nats://admin:[REDACTED:url-password]@host:4222');
    for (const secret of ['s3cretpw', 'flagpw123', 'flagtoken123'])
      expect(flag.stdout + flag.stderr).not.toContain(secret);

    const env = await cli(['scan', '--print-config'], { NATS_URL: 'nats://envtoken42@host:4222' });
    expect(env.code).toBe(0);
    expect(JSON.parse(env.stdout).sources.server).toBe('nats://[REDACTED:url-token]@host:4222');

    await fs.writeFile(
      path.join(project, 'peer-audit.config.json'),
      JSON.stringify({ sources: { server: 'tls://ops:cfgpw999@nats.example:4222' } }),
    );
    const file = await cli(['scan', '--print-config']);
    expect(file.code, file.stderr).toBe(0);
    expect(JSON.parse(file.stdout).sources.server).toBe('tls://ops:[REDACTED:url-password]@nats.example:4222');
    expect(file.stdout).not.toContain('cfgpw999');
  });
});

describe('journals are private and never committed', () => {
  beforeEach(freshIncident);

  it('repair --apply writes journals 0600 in a 0700 folder, and .peer-audit/ ignores itself', async () => {
    execFileSync('git', ['init', '-q'], { cwd: project });
    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'modes']);
    expect(r.code, r.stderr).toBe(0);
    const [journal] = await journalFiles();
    expect(await mode(journal)).toBe(0o600);
    expect(await mode(path.join(project, '.peer-audit/journal'))).toBe(0o700);
    expect(await mode(path.join(project, '.peer-audit'))).toBe(0o700);
    expect((await fs.readFile(path.join(project, '.peer-audit/.gitignore'), 'utf8')).split('\n')).toContain('*');
    // git sees the repaired spec files, and nothing of .peer-audit/.
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(status).toContain(`${WAL}/spec.md`);
    expect(status).not.toContain('.peer-audit');

    // undo rewrites the journal: still 0600.
    const undo = await cli(['undo', journal, '--server', server!.url, '--yes']);
    expect(undo.code, undo.stderr).toBe(0);
    expect(await mode(journal)).toBe(0o600);
  });
});

describe('temporary files of killed writes', () => {
  beforeEach(freshIncident);

  it('scan ignores them and says so; undo and repair --apply remove them, journal-aware; nothing else is removed', async () => {
    const before = await specsStats();
    expect(before['leftover temporary files ignored']).toBeUndefined();

    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'leftovers']);
    expect(r.code, r.stderr).toBe(0);
    const [journal] = await journalFiles();
    const repaired = await specsStats();

    // A write killed before its rename: the temporary copy beside the spec file, named by a process now gone.
    const pid = await deadPid();
    const folder = path.join(project, WAL);
    const leftover = `.spec.md.tmp-${pid}-a1b2c3`;
    const notOurs = `.notes.md.tmp-${pid}-a1b2c3`; // no journal wrote notes.md
    const otherName = 'draft.tmp-1-abcdef'; // not the form a write uses
    for (const n of [leftover, notOurs, otherName]) await fs.writeFile(path.join(folder, n), 'stale\n');

    // scan: the leftover is not a spec file, is said in the Sources line, and is left where it is.
    const stats = await specsStats();
    expect(stats['leftover temporary files ignored']).toBe(2);
    expect(stats.files).toBe(repaired.files + 1); // draft.tmp-1-abcdef is an ordinary file
    const stylish = await cli(['scan', ...live()]);
    expect(stylish.stdout).toMatch(/specs \.agent-os\/specs ok \([^)]*2 leftover temporary files ignored/);
    await fs.access(path.join(folder, leftover));

    // undo: the journal shows spec.md repaired, so the temporary file is a stale copy.
    const undo = await cli(['undo', journal, '--server', server!.url, '--yes']);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stderr).toContain(
      `peer-audit: removed ${WAL}/${leftover}, left by an interrupted write: the journal shows the change was written, so it is a stale copy`,
    );
    const left = await fs.readdir(folder);
    expect(left).not.toContain(leftover);
    expect(left).toContain(notOurs);
    expect(left).toContain(otherName);

    // repair --apply: a journal whose change to spec.md was never written (planned) - the original is intact.
    const j = JSON.parse(await fs.readFile(journal, 'utf8')) as {
      changes: { kind: string; path?: string; status: string }[];
    };
    for (const ch of j.changes) if (ch.kind === 'file') ch.status = 'planned';
    await fs.writeFile(journal, JSON.stringify(j, null, 2));
    await fs.writeFile(path.join(folder, leftover), 'stale\n');
    const again = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'again']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      `peer-audit: removed ${WAL}/${leftover}, left by an interrupted write: the journal shows the change was not written, so the original is intact`,
    );
    expect(await fs.readdir(folder)).not.toContain(leftover);
    expect(await fs.readdir(folder)).toContain(notOurs);
  });

  it('a dry run removes nothing', async () => {
    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'first']);
    expect(r.code, r.stderr).toBe(0);
    const leftover = `.spec.md.tmp-${await deadPid()}-0f0f0f`;
    await fs.writeFile(path.join(project, WAL, leftover), 'stale\n');
    const dry = await cli(['repair', ...live()]);
    expect(dry.stderr).not.toContain('removed');
    await fs.access(path.join(project, WAL, leftover));
  });
});

describe('-o naming a folder', () => {
  beforeEach(async () => {
    project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-outdir-'));
    await fs.cp(path.join(REPO, 'fixtures/incidents', INCIDENT), project, { recursive: true });
    await fs.mkdir(path.join(project, 'out'));
    await fs.writeFile(path.join(project, 'afile'), 'x');
  });

  const snap = ['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'];
  it.each([
    [['scan', ...snap, '-o', 'out'], '--output out: is a folder; give a file name'],
    [
      ['scan', ...snap, '--format', 'json', '--output', 'newdir/'],
      '--output newdir/: names a folder; give a file name',
    ],
    [
      ['scan', ...snap, '-o', 'afile/report.txt'],
      '--output afile/report.txt: a part of the path is a file, not a folder',
    ],
    [['report', ...snap, '-o', 'out'], '--output out: is a folder; give a file name'],
    [['snapshot', '--server', 'nats://127.0.0.1:1', '-o', 'out'], '--output out: is a folder; give a file name'],
    [['scan', ...snap, '--update-baseline', '--baseline', 'out'], 'out: cannot read the baseline (EISDIR)'],
  ])('%j is a usage error, and nothing is left behind', async (args, message) => {
    const listing = async () =>
      (await fs.readdir(project)).sort().join('\n') + '\n' + (await fs.readdir(path.join(project, 'out'))).join('\n');
    const before = await listing();
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`peer-audit: ${message}`);
    expect(r.stderr).not.toContain('internal error');
    expect(await listing()).toBe(before);
  });
});

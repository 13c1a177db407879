// Transcripts as a project's log folder really holds them, through the CLI: ordinary sessions are read and
// counted, never judged; state operations written with the nats CLI's global flags are state operations;
// transcripts that cannot be read, or that are not there at all, are said in every format.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { writeOrdinarySessions } from '../helpers/ordinary-sessions.js';
import type { Finding } from '../../src/model/types.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const EMPTY_SNAPSHOT =
  '{"format":"peer-audit-kv/1","bucket":"agent-os-peer-state","taken_at":"2026-03-03T00:00:00.000Z","source":null,"server_version":"2.10.22","config":{"history":50,"replicas":3,"ttl_ms":0,"storage":"file","max_value_size":-1}}\n';

interface SourceJson {
  kind: string;
  ref: string;
  ok: boolean;
  error?: string;
  absent?: string;
  stats: Record<string, number>;
  problems: Array<{ where: string; line?: number; reason: string }>;
}
interface ScanJson {
  complete: boolean;
  incompleteReasons: string[];
  sources: SourceJson[];
  findings: Finding[];
}

const tempDir = tempDirs();

/** Claude Code's folder for a project under a config folder, the way Claude Code names it. */
const claudeDir = (config: string, project: string) =>
  path.join(config, 'projects', path.resolve(project).replace(/[^A-Za-z0-9]/g, '-'));

/** A project with an empty bucket snapshot, and Claude Code's config and home pointed at temp folders. */
async function setup() {
  const root = await tempDir('pa-tr-');
  const project = path.join(root, 'shop');
  const config = path.join(root, 'claude-config');
  const home = path.join(root, 'home');
  await fs.mkdir(project, { recursive: true });
  await fs.mkdir(home, { recursive: true });
  await fs.writeFile(path.join(project, 'kv-snapshot.jsonl'), EMPTY_SNAPSHOT);
  const env = { CLAUDE_CONFIG_DIR: config, HOME: home };
  return { root, project, config, home, env };
}

const sourcesLine = (stdout: string) => stdout.split('\n').find((l) => l.startsWith('Sources: ')) ?? '';
const rules = (fs: Finding[]) => fs.map((f) => `${f.ruleId} ${f.severity}`).sort();

/** What the logs source says it read: the real bytes and lines of the files. */
async function readStats(dir: string, files: string[]) {
  let bytes = 0;
  let lines = 0;
  for (const f of files) {
    const text = await fs.readFile(path.join(dir, f), 'utf8');
    bytes += Buffer.byteLength(text);
    // Compaction agents are no spawn: their bytes are counted, their lines not read.
    if (!/agent-acompact-/.test(f)) lines += text.split('\n').filter((l) => l !== '').length;
  }
  return { bytes, lines };
}

describe("a project's ordinary sessions (Claude Code 1.0.51 to 2.1.70, none a PEER run)", () => {
  it("are read and counted from Claude Code's folder for the project, and judged by no rule: exit 0 with an empty bucket", async () => {
    const { project, config, env } = await setup();
    const logDir = claudeDir(config, project);
    const written = await writeOrdinarySessions(logDir);
    const { bytes, lines } = await readStats(logDir, written.files);

    const r = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl', '--format', 'json'], {
      cwd: project,
      env,
    });
    const json = JSON.parse(r.stdout) as ScanJson;
    expect(json.findings.map((f) => `${f.ruleId}: ${f.message}`)).toEqual([]);
    expect(json.complete).toBe(true);
    expect(r.code).toBe(0);
    const logs = json.sources.find((s) => s.kind === 'logs')!;
    // Two files are no session of their own: the warmup agent no Task spawned, and the compaction agent.
    expect(logs.stats).toMatchObject({
      files: written.files.length,
      bytes,
      lines,
      records: lines,
      corruptLines: 0,
      sessions: written.sessions,
      peerRuns: 0,
      ignoredFiles: 2,
    });

    const stylish = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl'], {
      cwd: project,
      env,
    });
    expect(stylish.code).toBe(0);
    expect(stylish.stdout).toContain('✔ No problems found in the evidence read.');
    expect(sourcesLine(stylish.stdout)).toBe(
      `Sources: kv-snapshot kv-snapshot.jsonl ok (0 keys, 0 revisions, 0 bytes) · specs .agent-os/specs ok (0 folders, 0 files, 0 bytes, the folder does not exist) · ` +
        `logs ${logDir} ok (${written.files.length} files, ${bytes} bytes, ${lines} lines, ${lines} records, ${written.sessions} sessions, 0 of them PEER runs, 2 files skipped)`,
    );
  });

  it('the same sessions with a /peer command in one of them: that session alone is judged (it stops mid-call)', async () => {
    const { project, config, env } = await setup();
    const logDir = claudeDir(config, project);
    const written = await writeOrdinarySessions(logDir, { peerCommand: true });
    const r = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl', '--format', 'json'], {
      cwd: project,
      env,
    });
    const json = JSON.parse(r.stdout) as ScanJson;
    expect(rules(json.findings)).toEqual(['aborted-session warning']);
    const f = json.findings[0];
    expect(f.subject.session).toBe('1a5e0c51-2b4d-4c6e-8f10-aa0000000001');
    expect(
      f.evidence.map((e) =>
        e.location.kind === 'log' ? `${e.location.path.split('/').pop()}:${e.location.line}` : '',
      ),
    ).toEqual(['1a5e0c51-2b4d-4c6e-8f10-aa0000000001.jsonl:14']);
    expect(r.code).toBe(0); // a warning: below the default --fail-on error
    expect(json.sources.find((s) => s.kind === 'logs')!.stats).toMatchObject({
      sessions: written.sessions,
      peerRuns: 1,
    });

    const stylish = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl'], {
      cwd: project,
      env,
    });
    expect(sourcesLine(stylish.stdout)).toMatch(
      new RegExp(
        `· logs ${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ok \\(${written.files.length} files, \\d+ bytes, \\d+ lines, \\d+ records, 6 sessions, 1 of them a PEER run, 2 files skipped\\)$`,
      ),
    );
  });

  it('beside the seed incident, the seed keeps every finding and the ordinary sessions add none', async () => {
    const { project } = await setup();
    await fs.cp(SEED, project, { recursive: true });
    const base = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--no-default-logs'],
      { cwd: project },
    );
    await writeOrdinarySessions(path.join(project, 'logs', 'ordinary'));
    const r = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--no-default-logs'],
      { cwd: project },
    );
    const before = JSON.parse(base.stdout) as ScanJson;
    const after = JSON.parse(r.stdout) as ScanJson;
    expect(r.code).toBe(1);
    expect(after.complete).toBe(true);
    expect(rules(after.findings)).toEqual(rules(before.findings));
    expect(after.findings.map((f) => f.fingerprint).sort()).toEqual(before.findings.map((f) => f.fingerprint).sort());
    expect(rules(after.findings)).toEqual(
      expect.arrayContaining([
        'aborted-session warning',
        'kv-read-failure error',
        'script-failure warning',
        'malformed-log warning',
        'missing-user-review warning',
        'read-before-write warning',
      ]),
    );
    expect(after.sources.find((s) => s.kind === 'logs')!.stats).toMatchObject({ sessions: 7, peerRuns: 1 });
  });
});

/** A PEER run that reads its state with the nats CLI's global flags before `kv`, and the read fails. */
function peerRunWithFlags(command: string): string {
  const sid = '7a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
  let n = 0;
  let t = Date.parse('2026-03-03T10:00:00.000Z');
  const rec = (type: 'user' | 'assistant', content: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      parentUuid: n ? `u${n}` : null,
      isSidechain: false,
      userType: 'external',
      cwd: '/home/dev/shop',
      sessionId: sid,
      version: '2.1.39',
      type,
      message: { role: type, content },
      uuid: `u${++n}`,
      timestamp: new Date((t += 2000)).toISOString(),
      ...extra,
    });
  return (
    [
      rec(
        'user',
        '<command-message>peer is running…</command-message>\n<command-name>/peer</command-name>\n<command-args>--spec=demo-feature</command-args>',
      ),
      rec('assistant', [{ type: 'tool_use', id: 'toolu_r1', name: 'Bash', input: { command } }]),
      rec(
        'user',
        [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_r1',
            content: 'Exit code 1\nnats: error: nats: key not found',
            is_error: true,
          },
        ],
        { toolUseResult: 'Error: Exit code 1\nnats: error: nats: key not found' },
      ),
      rec('assistant', [
        {
          type: 'tool_use',
          id: 'toolu_r2',
          name: 'Task',
          input: {
            description: 'Plan PEER cycle 1',
            subagent_type: 'peer-planner',
            prompt: 'Plan cycle 1 of demo-feature.',
          },
        },
      ]),
      rec('user', [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_r2',
          content: [{ type: 'text', text: 'Planning stopped: no state to plan from.' }],
        },
      ]),
      rec('assistant', [{ type: 'text', text: 'Planning stopped: the state of cycle 1 could not be read.' }]),
    ].join('\n') + '\n'
  );
}

describe('state operations written with the nats CLI global flags', () => {
  it.each([
    [
      '--server URL --creds F',
      'nats --server nats://127.0.0.1:4222 --creds /home/dev/.nats/peer.creds kv get agent-os-peer-state peer.spec.demo-feature.cycle.1 --raw',
    ],
    ['-s URL', 'nats -s nats://127.0.0.1:4222 kv get agent-os-peer-state "peer.spec.demo-feature.cycle.1" --raw'],
    ['--context=prod --trace', 'nats --context=prod --trace kv get agent-os-peer-state peer.spec.demo-feature.cycle.1'],
    [
      '--context prod, flags after the verb too',
      'nats --context prod kv get --revision 3 agent-os-peer-state peer.spec.demo-feature.cycle.1 | jq .phases',
    ],
  ])('%s: a failed read is kv-read-failure (error) naming the key, not stateless-run', async (_name, command) => {
    const dir = await tempDir('pa-flags-');
    await fs.mkdir(path.join(dir, 'logs'));
    await fs.writeFile(path.join(dir, 'logs', 'run.jsonl'), peerRunWithFlags(command));
    await fs.writeFile(path.join(dir, 'kv-snapshot.jsonl'), EMPTY_SNAPSHOT);
    const r = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--no-default-logs'],
      { cwd: dir },
    );
    const json = JSON.parse(r.stdout) as ScanJson;
    expect(rules(json.findings)).toEqual(['kv-read-failure error']);
    expect(json.findings[0].message).toContain(
      'nats kv get of peer.spec.demo-feature.cycle.1 by the main agent failed at logs/run.jsonl:3',
    );
    expect(
      json.findings[0].evidence.map((e) => (e.location.kind === 'log' ? `${e.location.path}:${e.location.line}` : '')),
    ).toEqual(['logs/run.jsonl:3', 'logs/run.jsonl:2']);
    expect(r.code).toBe(1);
  });
});

describe('transcripts that could not be read, and transcripts that are not there', () => {
  it('a gzip file and a file of random bytes make the logs source partial (exit 2), each named, with real counts', async () => {
    const { project, config, env } = await setup();
    const logDir = claudeDir(config, project);
    const written = await writeOrdinarySessions(logDir);
    const { gzipSync } = await import('node:zlib');
    const gz = gzipSync(Buffer.from((await fs.readFile(path.join(logDir, written.files[0]), 'utf8')).repeat(40)));
    await fs.writeFile(path.join(logDir, 'old-session.jsonl'), gz);
    const noise = Buffer.alloc(256 * 1024);
    let x = 7;
    for (let i = 0; i < noise.length; i++) noise[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    await fs.writeFile(path.join(logDir, 'noise.jsonl'), noise);
    // Physical lines, blank ones included: what the file holds.
    const count = (b: Buffer) => b.toString('latin1').split('\n').length - (b[b.length - 1] === 0x0a ? 1 : 0);

    const r = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl', '--format', 'json'], {
      cwd: project,
      env,
    });
    const json = JSON.parse(r.stdout) as ScanJson;
    expect(r.code).toBe(2);
    expect(json.complete).toBe(false);
    const noiseWhy = `cannot read ${logDir}/noise.jsonl: none of its ${count(noise)} lines is a JSON record (compressed, binary or damaged throughout)`;
    const gzWhy = `cannot read ${logDir}/old-session.jsonl: none of its ${count(gz)} lines is a JSON record (compressed, binary or damaged throughout)`;
    expect(count(noise)).toBeGreaterThan(200); // more than the corrupt lines listed per file: the message has the real count
    expect(json.incompleteReasons).toEqual([`${noiseWhy} (and 1 more)`]);
    const logs = json.sources.find((s) => s.kind === 'logs')!;
    expect(logs.ok).toBe(false);
    expect(logs.problems).toEqual(
      expect.arrayContaining([
        { where: `${logDir}/noise.jsonl`, reason: noiseWhy },
        { where: `${logDir}/old-session.jsonl`, reason: gzWhy },
      ]),
    );
    // The unreadable files are no sessions; the readable ones are still read, and still not judged.
    expect(logs.stats).toMatchObject({ files: written.files.length + 2, sessions: written.sessions, peerRuns: 0 });
    expect(json.findings).toEqual([]);
    expect(r.stderr).toContain(`peer-audit: incomplete: ${noiseWhy} (and 1 more)`);

    const stylish = await runCli(['scan', '--project', project, '--kv-snapshot', 'kv-snapshot.jsonl'], {
      cwd: project,
      env,
    });
    expect(stylish.code).toBe(2);
    expect(stylish.stdout).toContain(
      'No problems found in the part of the evidence that could be read: this is NOT a clean result.',
    );
    expect(sourcesLine(stylish.stdout)).toContain(
      `· logs ${logDir} FAILED: ${noiseWhy} (and 1 more) (${written.files.length + 2} files, `,
    );
  });

  it('a PEER transcript with more corrupt lines than are listed: the malformed-log message has the real count', async () => {
    const dir = await tempDir('pa-many-');
    await fs.mkdir(path.join(dir, 'logs'));
    const garbage = Array.from({ length: 250 }, (_, i) => `{"broken": ${i}`).join('\n');
    const run = peerRunWithFlags('nats kv get agent-os-peer-state peer.spec.demo-feature.cycle.1 --raw').split('\n');
    await fs.writeFile(path.join(dir, 'logs', 'run.jsonl'), [run[0], garbage, ...run.slice(1)].join('\n'));
    await fs.writeFile(path.join(dir, 'kv-snapshot.jsonl'), EMPTY_SNAPSHOT);
    const r = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--no-default-logs'],
      { cwd: dir },
    );
    const json = JSON.parse(r.stdout) as ScanJson;
    expect(rules(json.findings)).toEqual(['kv-read-failure error', 'malformed-log warning']);
    const m = json.findings.find((f) => f.ruleId === 'malformed-log')!;
    expect(m.message).toBe(
      'logs/run.jsonl has 250 corrupt lines (2, 3, 4, 5, 6, 7, 8, 9, …); what they held is not in the audit (the first 20 shown).',
    );
    expect(m.evidence).toHaveLength(20);
    expect(json.complete).toBe(true);
    expect(json.sources.find((s) => s.kind === 'logs')!.stats.corruptLines).toBe(250);
    expect(r.code).toBe(1);
  });

  describe('no transcripts at all (no --logs, no Claude Code folder for the project)', () => {
    let ctx: Awaited<ReturnType<typeof setup>>;
    let looked: string;
    beforeAll(async () => {
      ctx = await setup();
      looked = `${claudeDir(ctx.config, ctx.project)}, ${claudeDir(path.join(ctx.home, '.config', 'claude'), ctx.project)}`;
    });
    const scan = (format: string) =>
      runCli(['scan', '--project', ctx.project, '--kv-snapshot', 'kv-snapshot.jsonl', '--format', format], {
        cwd: ctx.project,
        env: ctx.env,
      });

    it('stylish: the Sources line says none were found and where the scan looked; the scan is complete', async () => {
      const r = await scan('stylish');
      expect(r.code).toBe(0);
      expect(sourcesLine(r.stdout)).toBe(
        `Sources: kv-snapshot kv-snapshot.jsonl ok (0 keys, 0 revisions, 0 bytes) · specs .agent-os/specs ok (0 folders, 0 files, 0 bytes, the folder does not exist) · logs: no transcripts found (looked in ${looked})`,
      );
    });

    it('json: a logs source entry that says so', async () => {
      const r = await scan('json');
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as ScanJson;
      expect(json.complete).toBe(true);
      expect(json.sources.find((s) => s.kind === 'logs')).toEqual({
        kind: 'logs',
        ref: looked,
        ok: true,
        absent: 'no transcripts found',
        stats: { files: 0, sessions: 0 },
        problems: [],
      });
    });

    it('sarif: a note and the sources line in the run properties', async () => {
      const r = await scan('sarif');
      expect(r.code).toBe(0);
      const run = (
        JSON.parse(r.stdout) as {
          runs: Array<{
            properties: { sources: string };
            invocations: Array<{
              toolExecutionNotifications?: Array<{
                level: string;
                message: { text: string };
                descriptor: { id: string };
              }>;
            }>;
          }>;
        }
      ).runs[0];
      expect(run.properties.sources).toContain(`logs: no transcripts found (looked in ${looked})`);
      expect(run.invocations[0].toolExecutionNotifications).toEqual([
        {
          level: 'note',
          message: { text: `logs: no transcripts found (looked in ${looked})` },
          descriptor: { id: 'source-absent' },
        },
      ]);
    });

    it('markdown: the sources table and the one-line summary', async () => {
      const r = await scan('markdown');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        `| logs | \`${looked}\` | nothing to read | no transcripts found (looked in ${looked}) | 0 |`,
      );
      expect(r.stdout).toContain(`· logs: no transcripts found (looked in ${looked}).`);
    });

    it("Claude Code's folder for the project exists but holds no transcript: the same, not a failure", async () => {
      const dir = claudeDir(ctx.config, ctx.project);
      await fs.mkdir(dir, { recursive: true });
      const r = await scan('stylish');
      expect(r.code).toBe(0);
      expect(sourcesLine(r.stdout)).toMatch(
        new RegExp(`· logs: no transcripts found \\(looked in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`),
      );
      await fs.rm(dir, { recursive: true });
    });
  });
});

// End to end: the real CLI over the bundled incidents, from their snapshots and live from a real nats-server.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, REPO } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import type { Finding, Location } from '../../src/model/types.js';

const INCIDENTS = path.join(REPO, 'fixtures/incidents');
const SEED = path.join(INCIDENTS, 'wal-operation-handling-fix');
const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';
const KEY = 'peer.spec.wal-operation-handling-fix';
const LOG = 'logs/output-peer-test-2.jsonl';

async function scanJson(fixture: string, extra: string[] = []) {
  const dir = path.join(INCIDENTS, fixture);
  const r = await runCli(
    [
      'scan',
      '--format',
      'json',
      '--logs',
      'logs',
      ...(extra.some((a) => a === '--server') ? [] : ['--kv-snapshot', 'kv-snapshot.jsonl']),
      ...extra,
    ],
    { cwd: dir },
  );
  expect(r.stderr).toBe('');
  return {
    ...r,
    json: JSON.parse(r.stdout) as {
      complete: boolean;
      findings: Finding[];
      sources: { kind: string; ok: boolean }[];
      version: number;
    },
  };
}

const loc = (l: Location) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'file'
      ? `file ${l.path}${l.line ? `:${l.line}` : ''}`
      : l.kind === 'bucket'
        ? `bucket ${l.bucket} ${l.field} (${l.origin})`
        : `log ${l.path}:${l.line}`;
const locsOf = (f: Finding) => f.evidence.map((e) => loc(e.location));
const byRule = (fs: Finding[], id: string) => fs.filter((f) => f.ruleId === id);

describe('the seed incident (wal-operation-handling-fix) from its snapshot', () => {
  let findings: Finding[];
  let code: number | null;
  beforeAll(async () => {
    const r = await scanJson('wal-operation-handling-fix');
    findings = r.json.findings;
    code = r.code;
    expect(r.json.complete).toBe(true);
    expect(r.json.version).toBe(1);
  });

  it('exits 1 and explains the incident completely: every failure the hand investigation found, and no more', () => {
    expect(code).toBe(1);
    expect(findings.map((f) => `${f.ruleId} ${f.severity}`).sort()).toEqual([
      'aborted-session warning',
      'false-success error',
      'heredoc-artifact error',
      'heredoc-artifact error',
      'kv-read-failure error',
      'malformed-log warning',
      'missing-execute-phase error',
      'missing-tasks-md error',
      'missing-user-review warning',
      'phase-order-violation error',
      'read-before-write warning',
      'script-failure warning',
      'spec-name-mismatch warning',
      'state-inconsistency error',
      'state-inconsistency warning',
      'truncated-file error',
      // PEER is optional: no state for the spec is no contradiction, so a warning
      'unverified-task-completion warning',
    ]);
    expect(findings.every((f) => f.evidence.length > 0 && /^[0-9a-f]{16}$/.test(f.fingerprint))).toBe(true);
  });

  it('the transcript findings point at the lines the investigation cites', () => {
    const first = (id: string) => locsOf(byRule(findings, id)[0]);
    expect(first('script-failure')).toEqual(expect.arrayContaining([`log ${LOG}:15`, `log ${LOG}:20`]));
    expect(first('kv-read-failure')[0]).toBe(`log ${LOG}:51`);
    expect(first('read-before-write')).toEqual(
      expect.arrayContaining([`log ${LOG}:50`, `kv ${KEY}.cycle.1@3/phases/plan/status`]),
    );
    expect(first('missing-user-review')).toEqual(expect.arrayContaining([`log ${LOG}:43`]));
    expect(first('aborted-session')).toEqual([`log ${LOG}:188`]);
    expect(first('truncated-file')[0]).toBe(`file ${WAL}/sub-specs/technical-spec.md:13`);
    expect(first('unverified-task-completion')[0]).toBe(
      'file .agent-os/specs/2025-07-30-meilisearch-search-endpoint/tasks.md:10',
    );
    expect(first('spec-name-mismatch')).toEqual(
      expect.arrayContaining([`kv ${KEY}.cycle.1@9/phases/plan/output/spec_name`, `log ${LOG}:43`]),
    );
    expect(byRule(findings, 'state-inconsistency').map((f) => locsOf(f)[0])).toEqual([
      `kv ${KEY}.meta@10/cycles/1/status`,
      `kv ${KEY}.meta@10/cycles/1/completed_at`,
    ]);
  });

  it('missing-execute-phase: the cycle key and revision, and the transcript that never spawned the executor', () => {
    const [f] = byRule(findings, 'missing-execute-phase');
    expect(f.subject).toEqual({ spec: 'wal-operation-handling-fix', keyPrefix: KEY, folder: WAL, cycle: 1 });
    expect(locsOf(f)).toEqual([
      `kv ${KEY}.cycle.1@9/phases/execute`,
      `kv ${KEY}.cycle.1@9/phases/express`,
      `kv ${KEY}.cycle.1@9/phases/review`,
      `kv ${KEY}.cycle.1@5/phases/express`,
      `log ${LOG}:23`,
      `log ${LOG}:70`,
      `log ${LOG}:108`,
      `log ${LOG}:45`,
    ]);
    expect(f.message).toContain('never peer-executor');
    const planner = f.evidence.find((e) => e.location.kind === 'log' && e.location.line === 23)!;
    expect(planner.location).toMatchObject({ uuid: expect.any(String), timestamp: '2025-08-05T15:57:02.118Z' });
  });

  it('false-success: the meta and cycle claims, the review that says execute is missing, the failed read and the finalize line', () => {
    const [f] = byRule(findings, 'false-success');
    const l = locsOf(f);
    expect(l).toEqual(
      expect.arrayContaining([
        `kv ${KEY}.meta@10/current_phase`,
        `kv ${KEY}.meta@10/cycles/1/status`,
        `kv ${KEY}.cycle.1@9/status/progress_percent`,
        `kv ${KEY}.cycle.1@9/phases/execute`,
        `kv ${KEY}.cycle.1@9/phases/review/output/missing_phases`,
        `kv ${KEY}.meta@10/cycles/1/notes`,
        `log ${LOG}:51`,
        `log ${LOG}:186`,
      ]),
    );
    const read = f.evidence.find((e) => loc(e.location) === `log ${LOG}:51`)!;
    expect(read.note).toBe(`state read failed (${KEY}.cycle.1) and was never retried`);
    expect(read.excerpt).toBe('❌ Error: Could not retrieve cycle data');
    expect(f.evidence.find((e) => loc(e.location) === `log ${LOG}:186`)!.excerpt).toBe(
      '✅ PEER cycle 1 completed successfully',
    );
    // the retried determine-context failure (line 15) is not a contradiction
    expect(l).not.toContain(`log ${LOG}:15`);
  });

  it('heredoc-artifact: spec.md:42 and technical-spec.md:14, each with the heredoc that wrote it', () => {
    expect(byRule(findings, 'heredoc-artifact').map(locsOf)).toEqual([
      [`file ${WAL}/spec.md:42`, `log ${LOG}:35`],
      [`file ${WAL}/sub-specs/technical-spec.md:14`, `log ${LOG}:39`],
    ]);
  });

  it('missing-tasks-md: the folder, and the create-spec cycle that expected it', () => {
    const [f] = byRule(findings, 'missing-tasks-md');
    expect(f.subject.cycle).toBe(1);
    expect(locsOf(f)).toEqual([
      `file ${WAL}`,
      `kv ${KEY}.cycle.1@9/instruction`,
      `kv ${KEY}.cycle.1@9/status/current_phase`,
    ]);
    expect(f.message).toContain('create-spec cycle 1 (2025-08-05) claims to be finished');
  });

  it('the meilisearch folder (tasks.md present) gets no missing-tasks-md and no missing-spec-file', () => {
    const about = findings.filter((f) => JSON.stringify(f).includes('meilisearch')).map((f) => f.ruleId);
    expect(about).toEqual(['unverified-task-completion']);
  });
});

describe('live: the seed incident loaded into a real nats-server', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  beforeAll(async () => {
    server = await startNatsServer();
    await loadSnapshotIntoServer(path.join(SEED, 'kv-snapshot.jsonl'), server.url);
  });
  afterAll(async () => server?.stop());

  it('reports the same findings live as from the snapshot', async () => {
    const fromSnapshot = await scanJson('wal-operation-handling-fix');
    // A test server cannot hold 3 replicas: say so, or bucket-config (rightly) reports it.
    const live = await scanJson('wal-operation-handling-fix', ['--server', server.url, '--expect-replicas', '1']);
    expect(live.code).toBe(1);
    expect(live.json.complete).toBe(true);
    expect(live.json.sources.map((s) => [s.kind, s.ok])).toEqual([
      ['kv', true],
      ['specs', true],
      ['logs', true],
    ]);
    // read-before-write compares log times with revision times; revisions loaded into a test server are new.
    // Bucket-level evidence names where it was read from (the server or the snapshot file): compare without it.
    const where = (l: Location) => (l.kind === 'bucket' ? `bucket ${l.bucket} ${l.field}` : loc(l));
    const strip = (fs: Finding[]) =>
      fs
        .filter((f) => f.ruleId !== 'read-before-write')
        .map((f) => ({
          ruleId: f.ruleId,
          fingerprint: f.fingerprint,
          evidence: f.evidence.map((e) => where(e.location)),
        }));
    expect(strip(live.json.findings)).toEqual(strip(fromSnapshot.json.findings));
  });

  it('snapshot writes the live bucket to a file that scans the same and keeps every byte', async () => {
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pa-snap-')), 'snap.jsonl');
    const r = await runCli(['snapshot', '--server', server.url, '--output', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/wrote 2 keys, 10 revisions of bucket agent-os-peer-state/);
    const lines = (f: string) =>
      fs.readFile(f, 'utf8').then((t) =>
        t
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => JSON.parse(l)),
      );
    const [orig, copy] = await Promise.all([lines(path.join(SEED, 'kv-snapshot.jsonl')), lines(out)]);
    expect(copy.map((e) => [e.key, e.revision, e.operation, e.value_b64])).toEqual(
      orig.map((e) => [e.key, e.revision, e.operation, e.value_b64]),
    );
    const rescan = await runCli(['scan', '--format', 'json', '--kv-snapshot', out, '--logs', 'logs'], { cwd: SEED });
    const fps = (fs: Finding[]) =>
      fs.filter((f) => f.ruleId !== 'bucket-config' && f.ruleId !== 'read-before-write').map((f) => f.fingerprint);
    // read-before-write compares log times with revision times, and a loaded bucket's revisions are new.
    expect(fps(JSON.parse(rescan.stdout).findings)).toEqual(
      fps((await scanJson('wal-operation-handling-fix')).json.findings),
    );
  });
});

describe('healthy runs report nothing', () => {
  for (const fixture of ['healthy-v1', 'healthy-v2']) {
    it(`${fixture}: exit 0, complete, no findings`, async () => {
      const r = await scanJson(fixture);
      expect(r.json.findings).toEqual([]);
      expect(r.json.complete).toBe(true);
      expect(r.code).toBe(0);
    });
  }
});

describe('the v2 incident (csv-export-endpoint)', () => {
  it('finds the skipped executor, the false COMPLETED and the glued residue', async () => {
    const r = await scanJson('v2-skipped-execute');
    expect(r.code).toBe(1);
    const K = 'peer.spec.csv-export-endpoint.cycle.1';
    const A = 'logs/e7b24d90-6f1a-4c3e-a5d8-2b9c0f6e1a47/subagents/agent-aa7214ae44b06ec65.jsonl';
    expect(r.json.findings.map((f) => [f.ruleId, f.severity, locsOf(f)[0]])).toEqual([
      ['heredoc-artifact', 'error', 'file .agent-os/specs/2025-08-21-csv-export-endpoint/spec.md:25'],
      ['heredoc-artifact', 'error', 'file .agent-os/specs/2025-08-21-csv-export-endpoint/spec.md:29'],
      ['false-success', 'error', `kv ${K}@6/metadata/status`],
      ['missing-execute-phase', 'error', `kv ${K}@6/phases/execute`],
      // the PEER fork's create-spec wrote tasks.md until it merged Agent OS 1.4.1 on 2025-08-22
      ['missing-tasks-md', 'error', 'file .agent-os/specs/2025-08-21-csv-export-endpoint'],
      ['phase-order-violation', 'error', `kv ${K}@6/phases/execute`],
      ['script-failure', 'warning', `log ${A}:23`],
    ]);
    // the planner's failed update-state.sh was retried successfully: a warning, and no contradiction of the claim
    const fs2 = byRule(r.json.findings, 'false-success')[0];
    expect(locsOf(fs2)).not.toContain(`log ${A}:23`);
  });
});

describe('output', () => {
  it('stylish groups by run and ends with the count; --output writes the file and nothing to stdout', async () => {
    const r = await runCli(['scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], { cwd: SEED });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${KEY} · cycle 1 · spec wal-operation-handling-fix`);
    expect(r.stdout).toContain(`kv  ${KEY}.cycle.1@9/phases/execute`);
    expect(r.stdout).toContain('✖ 17 problems (9 errors, 8 warnings, 0 info)');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pa-out-')), 'nested/report.json');
    const w = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--output', out],
      { cwd: SEED },
    );
    expect(w.code).toBe(1);
    expect(w.stdout).toBe('');
    expect(JSON.parse(await fs.readFile(out, 'utf8')).findings).toHaveLength(17);
  });

  it('--fail-on decides exit 1 against warnings', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-warn-'));
    await fs.mkdir(path.join(dir, '.agent-os/specs/2025-07-01-old-spec'), { recursive: true });
    await fs.writeFile(
      path.join(dir, '.agent-os/specs/2025-07-01-old-spec/spec.md'),
      [
        '# Spec Requirements Document',
        '',
        '## Overview',
        '',
        'Old spec.',
        '',
        '## User Stories',
        '',
        'Users do things.',
        '',
        '## Spec Scope',
        '',
        '1. One thing.',
        '',
        '## Out of Scope',
        '',
        '- Other things',
        '',
        '## Expected Deliverable',
        '',
        '1. It works.',
        '',
      ].join('\n'),
    );
    // A transcript that runs /peer for the spec ties the folder to a PEER run: its era makes the missing tasks.md a warning.
    await fs.mkdir(path.join(dir, 'logs'));
    await fs.writeFile(
      path.join(dir, 'logs/s.jsonl'),
      JSON.stringify({
        parentUuid: null,
        isSidechain: false,
        type: 'user',
        cwd: dir,
        sessionId: 's-1',
        version: '1.0.69',
        message: { role: 'user', content: '/peer --instruction=create-spec --spec=old-spec' },
        uuid: 'u1',
        timestamp: '2025-07-01T10:00:00.000Z',
      }) + '\n',
    );
    const quiet = await runCli([
      'scan',
      '--no-kv',
      '--no-default-logs',
      '--logs',
      path.join(dir, 'logs'),
      '--project',
      dir,
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('warning  missing-tasks-md');
    const strict = await runCli([
      'scan',
      '--no-kv',
      '--no-default-logs',
      '--logs',
      path.join(dir, 'logs'),
      '--project',
      dir,
      '--fail-on',
      'warning',
    ]);
    expect(strict.code).toBe(1);
  });
});

describe('default log folder', () => {
  it("reads Claude Code's folder for the project when --logs is not given, and says so on stderr", async () => {
    const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-default-logs-'));
    const config = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-claude-'));
    const encoded = project.replace(/[^A-Za-z0-9]/g, '-');
    const dir = path.join(config, 'projects', encoded);
    await fs.mkdir(dir, { recursive: true });
    const composed = path.join(REPO, 'test/fixtures-logs/composed');
    await fs.copyFile(path.join(composed, 'main.jsonl'), path.join(dir, '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35.jsonl'));
    await fs.copyFile(path.join(composed, 'agent-a4f09c2.jsonl'), path.join(dir, 'agent-a4f09c2.jsonl'));
    const r = await runCli(['scan', '--no-kv', '--project', project, '--format', 'json'], {
      env: { CLAUDE_CONFIG_DIR: config },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`peer-audit: reading Claude Code logs from ${dir}\n`);
    expect(JSON.parse(r.stdout).findings.map((f: Finding) => f.ruleId)).toEqual(
      expect.arrayContaining(['false-success', 'kv-read-failure']),
    );
    const skip = await runCli(['scan', '--no-kv', '--project', project, '--no-default-logs'], {
      env: { CLAUDE_CONFIG_DIR: config },
    });
    expect(skip.code).toBe(0);
  });
});

describe('the v2 review-rewrite incident (search-api-pagination)', () => {
  it('finds the lost update, the unreadable finalize value, the stuck counter, the stale cycle and the rest', async () => {
    const r = await scanJson('v2-review-rewrite', ['--now', '2025-08-10T00:00:00Z']);
    expect(r.code).toBe(1);
    const K = 'peer.spec.search-api-pagination';
    const got = r.json.findings.map((f) => `${f.ruleId} ${f.severity} ${locsOf(f)[0]}`);
    const S1 = 'logs/5f1c8a3e-9b27-4d6a-8e41-2c7b0d9f6a58.jsonl';
    const S2 = 'logs/a93e6b21-4c8d-4f75-b0a2-7e1d5c3f9b86.jsonl';
    expect(got).toEqual([
      'bucket-config warning bucket agent-os-peer-state history (kv-snapshot.jsonl)',
      'bucket-config info bucket agent-os-peer-state replicas (kv-snapshot.jsonl)',
      'malformed-key warning kv peer.instruction.create-spec.meta@11/spec_name',
      'placeholder-output warning kv peer.instruction.create-spec.cycle.1@10/phases/execute/output/results',
      'placeholder-output warning kv peer.instruction.create-spec.cycle.1@10/phases/express/output/summary',
      `false-success error log ${S1}:29`,
      `state-inconsistency error kv ${K}.cycle.current@13`,
      'missing-user-review warning log logs/agent-27c84d6c.jsonl:13',
      `invalid-state-value error kv ${K}.cycle.1@19`,
      `kv-read-failure error log ${S2}:12`,
      `script-failure error log ${S1}:29`,
      `script-failure error log ${S2}:12`,
      `lost-update warning kv ${K}.cycle.1@17/result`,
      `script-failure error log ${S2}:19`,
      `aborted-session warning log ${S2}:25`,
      `stale-cycle warning kv ${K}.cycle.2@22/phases/execute/status`,
    ]);
    expect(byRule(r.json.findings, 'false-success')[0].message).toContain('a state write failed (line 29)');
    // the invalid latest value names the last revision that parses
    const inv = byRule(r.json.findings, 'invalid-state-value')[0];
    expect(locsOf(inv)).toEqual([`kv ${K}.cycle.1@19`, `kv ${K}.cycle.1@18`]);
  });
});

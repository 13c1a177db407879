// End to end: every key layout read (or the scan says it could not), a bucket shared with other projects and
// tools, spec names as people type them, and transcripts whose state the scanned bucket does not hold.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, REPO } from '../helpers/cli.js';
import { kvData, type Put } from '../helpers/evidence.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { readSnapshot, writeSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, KvData, Location } from '../../src/model/types.js';
import { multiKeyHealthy, multiKeySkippedExecute } from './layout-fixtures.js';

const INCIDENTS = path.join(REPO, 'fixtures/incidents');
const MK = 'peer.spec.user-export.cycle.1';

interface Json {
  complete: boolean;
  incompleteReasons: string[];
  findings: Finding[];
  sources: {
    kind: string;
    ok: boolean;
    stats: Record<string, number>;
    problems: { where: string; reason: string }[];
  }[];
  scope?: { mode: string; runs: number; notInProject: number; notInProjectRuns?: string[] };
}

const loc = (l: Location) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'log'
      ? `log ${l.path}:${l.line}`
      : l.kind === 'file'
        ? `file ${l.path}`
        : `bucket ${l.bucket}`;
const ids = (j: Json) => j.findings.map((f) => `${f.ruleId} ${f.severity}`).sort();
const kvSource = (j: Json) => j.sources.find((s) => s.kind === 'kv-snapshot' || s.kind === 'kv')!;

async function tmp(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

async function snapshotOf(puts: Put[], dir: string, name = 'kv.jsonl'): Promise<string> {
  const file = path.join(dir, name);
  await writeSnapshot(kvData(puts), file);
  return file;
}

/** A copy of a bundled fixture whose snapshot gets `change` applied. */
async function fixtureCopy(name: string, change: (d: KvData) => KvData | Promise<KvData> = (d) => d): Promise<string> {
  const dir = await tmp(`pa-${name}-`);
  await fs.cp(path.join(INCIDENTS, name), dir, { recursive: true });
  const { data } = await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'));
  await writeSnapshot(await change(data), path.join(dir, 'kv-snapshot.jsonl'));
  return dir;
}

/** `extra` appended to `data` as later revisions of the same bucket. */
function append(data: KvData, extra: KvData): KvData {
  let rev = Math.max(0, ...[...data.keys.values()].flat().map((r) => r.revision));
  const keys = new Map(data.keys);
  for (const r of [...extra.keys.values()].flat().sort((a, b) => a.revision - b.revision)) {
    keys.set(r.key, [...(keys.get(r.key) ?? []), { ...r, revision: ++rev }]);
  }
  return { ...data, keys };
}

async function scan(args: string[], cwd?: string) {
  const r = await runCli(['scan', '--format', 'json', ...args], { cwd });
  return { ...r, json: JSON.parse(r.stdout) as Json };
}

async function stylish(args: string[], cwd?: string) {
  const r = await runCli(['scan', ...args], { cwd });
  return { ...r, sources: r.stdout.split('\n').find((l) => l.startsWith('Sources:')) ?? '' };
}

describe('the multi-key draft layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmp('pa-multikey-');
    await snapshotOf(multiKeySkippedExecute(), dir, 'skipped.jsonl');
    await snapshotOf(multiKeyHealthy(), dir, 'healthy.jsonl');
  });

  it('assembles a cycle from its keys: execute skipped while the status says completed is missing-execute-phase and false-success', async () => {
    const r = await scan(['--kv-snapshot', 'skipped.jsonl', '--no-default-logs'], dir);
    expect(r.code).toBe(1);
    expect(r.json.complete).toBe(true);
    expect(ids(r.json)).toEqual(['false-success error', 'missing-execute-phase error', 'phase-order-violation error']);
    const mep = r.json.findings.find((f) => f.ruleId === 'missing-execute-phase')!;
    expect(mep.message).toBe(
      'Cycle 1 went past the execute phase but execute is absent: express and review ran, and the cycle claims to be finished.',
    );
    // Evidence at the real keys and revisions: the metadata that lists phases, the express and review flags.
    expect(mep.evidence.map((e) => loc(e.location))).toEqual([
      `kv ${MK}.metadata@24/phases_completed`,
      `kv ${MK}.phases.express@14`,
      `kv ${MK}.phases.review@20`,
    ]);
    const fs_ = r.json.findings.find((f) => f.ruleId === 'false-success')!;
    expect(fs_.evidence.map((e) => loc(e.location))).toEqual([
      `kv ${MK}.status@22`,
      `kv ${MK}.completed_at@23`,
      `kv ${MK}.metadata@24/phases_completed`,
    ]);
    expect(fs_.message).toContain(`${MK}.status = "completed"`);
    expect(fs_.fix ?? []).toEqual([]);
    // The run context, review criteria and the archive are PEER keys, known; the first two belong to no run.
    expect(kvSource(r.json).stats).toMatchObject({
      keys: 21,
      'runs, all audited (no spec folders or transcripts to scope by)': 1,
      'PEER keys of no run': 6,
    });
    expect(kvSource(r.json).ok).toBe(true);
  });

  it('reads a healthy draft cycle as healthy: exit 0, no findings', async () => {
    const r = await scan(['--kv-snapshot', 'healthy.jsonl', '--no-default-logs'], dir);
    expect(r.code).toBe(0);
    expect(r.json.findings).toEqual([]);
    expect(r.json.complete).toBe(true);
  });
});

describe('keys no layout explains, and keys of other tools', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmp('pa-unknown-');
    await snapshotOf(
      [
        ...multiKeyHealthy(),
        ['test.wrapper.validation.cycle.1', { ok: true }],
        ['other-tool.cache:1', 'x'],
        ['peer.commit.2025.08.05.10.30', { message: 'feat: export' }],
        ['peer.spec.user-export.cycle.1.notes', 'free text'],
        ['peer.scratch', 'y'],
      ],
      dir,
    );
  });

  it('an unexplained peer.* key makes the KV source partial: named, complete false, exit 2', async () => {
    const r = await scan(['--kv-snapshot', 'kv.jsonl', '--no-default-logs'], dir);
    expect(r.code).toBe(2);
    expect(r.json.complete).toBe(false);
    expect(r.json.findings).toEqual([]);
    const kv = kvSource(r.json);
    expect(kv.ok).toBe(false);
    expect(kv.problems).toEqual([
      { where: 'peer.scratch', reason: 'a PEER key no known layout explains' },
      { where: 'peer.spec.user-export.cycle.1.notes', reason: 'a PEER key no known layout explains' },
    ]);
    expect(kv.stats).toMatchObject({ 'unknown PEER keys': 2, 'keys of other tools': 2, 'PEER keys of no run': 7 });
    expect(r.json.incompleteReasons).toEqual([
      'kv-snapshot kv.jsonl: 2 PEER keys no known layout explains (peer.scratch, peer.spec.user-export.cycle.1.notes); --allow-unknown-keys accepts them',
    ]);
    const s = await stylish(['--kv-snapshot', 'kv.jsonl', '--no-default-logs'], dir);
    expect(s.code).toBe(2);
    expect(s.sources).toContain(
      '2 keys of other tools, 7 PEER keys of no run, 2 unknown PEER keys; 2 parts left out: peer.scratch, a PEER key no known layout explains; peer.spec.user-export.cycle.1.notes, a PEER key no known layout explains)',
    );
  });

  it('--allow-unknown-keys accepts them: complete, exit 0, still counted; keys of other tools are never a finding', async () => {
    const r = await scan(['--kv-snapshot', 'kv.jsonl', '--no-default-logs', '--allow-unknown-keys'], dir);
    expect(r.code).toBe(0);
    expect(r.json.complete).toBe(true);
    expect(r.json.findings).toEqual([]);
    expect(kvSource(r.json).stats).toMatchObject({ 'unknown PEER keys (allowed)': 2, 'keys of other tools': 2 });
    expect(kvSource(r.json).problems).toEqual([]);
  });

  it('the flag can be set in the config file', async () => {
    await fs.writeFile(
      path.join(dir, 'peer-audit.config.json'),
      JSON.stringify({ sources: { allowUnknownKeys: true } }),
    );
    try {
      const r = await scan(['--kv-snapshot', 'kv.jsonl', '--no-default-logs'], dir);
      expect(r.code).toBe(0);
      expect(r.json.complete).toBe(true);
    } finally {
      await fs.rm(path.join(dir, 'peer-audit.config.json'));
    }
  });
});

describe('a bucket shared with other projects', () => {
  let dir: string;
  beforeAll(async () => {
    // healthy-v2's project, in a bucket that also holds healthy-v1's run (another project) and other tools' keys.
    const { data: v1 } = await readSnapshot(path.join(INCIDENTS, 'healthy-v1/kv-snapshot.jsonl'));
    dir = await fixtureCopy('healthy-v2', (d) =>
      append(
        append(d, v1),
        kvData([
          ['test.wrapper.validation.cycle.1', { ok: true }],
          ['peer.commit.2025.08.22.09.15', { message: 'x' }],
        ]),
      ),
    );
  });

  it("audits this project's runs and lists the others in one line, not one finding each", async () => {
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], dir);
    expect(r.code).toBe(0);
    expect(r.json.complete).toBe(true);
    expect(r.json.findings).toEqual([]);
    expect(r.json.scope).toEqual({
      mode: 'project',
      runs: 1,
      notInProject: 1,
      notInProjectRuns: ['peer.spec.password-reset-flow'],
    });
    expect(kvSource(r.json).stats).toMatchObject({
      runs: 1,
      'runs not in this project': 1,
      'keys of other tools': 1,
      'PEER keys of no run': 1,
    });
    const s = await stylish(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], dir);
    expect(s.code).toBe(0);
    expect(s.sources).toMatch(
      /^Sources: kv-snapshot kv-snapshot\.jsonl ok \(\d+ keys, \d+ revisions, \d+ bytes, 1 run, 1 run not in this project, 1 key of another tool, 1 PEER key of no run\)/,
    );
  });

  it('--all-runs audits every run in the bucket', async () => {
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--all-runs'], dir);
    expect(r.json.scope).toEqual({ mode: 'all-runs', runs: 2, notInProject: 0 });
    expect(ids(r.json)).toEqual(['spec-name-mismatch warning']);
    expect(r.json.findings[0].message).toMatch(
      /^No spec folder \.agent-os\/specs\/\*-password-reset-flow\/ exists for peer\.spec\.password-reset-flow/,
    );
    expect(r.code).toBe(0);
  });

  it('with nothing to scope by (no spec folders, no transcripts) it audits every run and says so', async () => {
    const empty = await tmp('pa-noscope-');
    const r = await scan(
      ['--kv-snapshot', path.join(dir, 'kv-snapshot.jsonl'), '--project', empty, '--no-default-logs'],
      dir,
    );
    expect(r.json.scope).toEqual({ mode: 'unscoped', runs: 2, notInProject: 0 });
    expect(kvSource(r.json).stats['runs, all audited (no spec folders or transcripts to scope by)']).toBe(2);
    expect(r.code).toBe(0);
  });
});

describe('spec names as people type them', () => {
  const dated = (d: KvData, name: string): KvData => {
    // `/peer --spec=<name>` puts the name as typed into every key and id.
    const keys = new Map<string, KvData['keys'] extends Map<string, infer V> ? V : never>();
    for (const [k, revs] of d.keys) {
      const nk = k.replace('peer.spec.user-auth-oauth', `peer.spec.${name}`);
      keys.set(
        nk,
        revs.map((r) => ({
          ...r,
          key: nk,
          value: new Uint8Array(
            Buffer.from(
              Buffer.from(r.value)
                .toString('utf8')
                .replaceAll('peer.spec.user-auth-oauth', `peer.spec.${name}`)
                .replaceAll('"spec_name":"user-auth-oauth"', `"spec_name":"${name}"`),
            ),
          ),
        })),
      );
    }
    return { ...d, keys };
  };

  it('a dated name (--spec=2025-08-25-user-auth-oauth) ties to its folder: no mismatch, no missing folder', async () => {
    const dir = await fixtureCopy('healthy-v2', (d) => dated(d, '2025-08-25-user-auth-oauth'));
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--no-default-logs'], dir);
    expect(r.json.findings.map((f) => f.ruleId)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.json.scope).toEqual({ mode: 'project', runs: 1, notInProject: 0 });
  });

  it('prefers the exact folder; a folder of the same slug on another day is not reported missing', async () => {
    const dir = await fixtureCopy('healthy-v2', (d) => dated(d, '2025-08-25-user-auth-oauth'));
    await fs.cp(
      path.join(dir, '.agent-os/specs/2025-08-25-user-auth-oauth'),
      path.join(dir, '.agent-os/specs/2025-07-01-user-auth-oauth'),
      { recursive: true },
    );
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--no-default-logs'], dir);
    // One key prefix, one exact folder: no "matches 2 spec folders", and no "no spec folder exists".
    expect(r.json.findings.filter((f) => f.ruleId === 'spec-name-mismatch')).toEqual([]);
  });

  it('a dated and an undated prefix of the same spec: the folder is never both missing and present', async () => {
    const dir = await fixtureCopy('healthy-v2', (d) => append(d, dated(d, '2025-08-25-user-auth-oauth')));
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--no-default-logs'], dir);
    const names = r.json.findings.filter((f) => f.ruleId === 'spec-name-mismatch');
    expect(names.filter((f) => /No spec folder/.test(f.message))).toEqual([]);
  });
});

describe('transcripts whose state the scanned bucket does not hold', () => {
  it('an empty snapshot with transcripts that wrote state is state-not-in-bucket (error), naming the keys and the bucket', async () => {
    const dir = await fixtureCopy('healthy-v2', (d) => ({ ...d, keys: new Map() }));
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], dir);
    expect(r.code).toBe(1);
    const f = r.json.findings.filter((x) => x.ruleId === 'state-not-in-bucket');
    expect(f).toHaveLength(1);
    expect(f[0].severity).toBe('error');
    expect(f[0].message).toMatch(
      /^The transcript logs\/c3a91f5e-2b7d-4e18-8f06-5d9e1b7a4c22\.jsonl shows \d+ writes? (and \d+ reads? )?of 2 PEER keys \(peer\.spec\.user-auth-oauth\.cycle\.(1|current), peer\.spec\.user-auth-oauth\.cycle\.(1|current)\) that bucket agent-os-peer-state does not hold/,
    );
    const S = 'logs/c3a91f5e-2b7d-4e18-8f06-5d9e1b7a4c22';
    expect(f[0].message).toContain(
      'shows 8 writes and 8 reads of 2 PEER keys (peer.spec.user-auth-oauth.cycle.current, peer.spec.user-auth-oauth.cycle.1) that bucket agent-os-peer-state does not hold:',
    );
    expect(f[0].evidence.map((e) => loc(e.location))).toEqual([
      `log ${S}.jsonl:10`,
      `log ${S}.jsonl:12`,
      `log ${S}.jsonl:14`,
      `log ${S}/subagents/agent-acfaaa6.jsonl:3`,
      `log ${S}/subagents/agent-acfaaa6.jsonl:11`,
    ]);
    expect(f[0].evidence.at(-1)!.note).toMatch(/; \d+ more operations on missing keys$/);
  });

  it('the wrong bucket: the finding names the bucket scanned and the one the commands use; --no-kv compares nothing', async () => {
    const dir = await fixtureCopy('healthy-v2', (d) => ({ ...d, bucket: 'scratch', keys: new Map() }));
    const r = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], dir);
    expect(ids(r.json)).toEqual(['state-not-in-bucket error']);
    expect(r.code).toBe(1);
    expect(r.json.findings[0].message).toContain(
      'that bucket scratch does not hold; the commands name bucket agent-os-peer-state:',
    );
    // With the keys present the transcript's state is in the evidence: healthy, no finding.
    const held = await fixtureCopy('healthy-v2');
    const ok = await scan(['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], held);
    expect(ok.json.findings).toEqual([]);
    expect(ok.code).toBe(0);
    const noKv = await scan(['--no-kv', '--logs', 'logs'], dir);
    expect(noKv.json.findings.filter((x) => x.ruleId === 'state-not-in-bucket')).toEqual([]);
  });
});

describe('live against a real nats-server', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await tmp('pa-live-layouts-');
    const file = await snapshotOf(
      [...multiKeySkippedExecute(), ['test.wrapper.validation.cycle.1', { ok: true }], ['peer.scratch', 'y']],
      dir,
    );
    await loadSnapshotIntoServer(file, server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('reads the multi-key layout and reports the unknown key from a live bucket as from a snapshot', async () => {
    const live = await scan(['--server', server.url, '--no-default-logs', '--expect-replicas', '1'], dir);
    expect(live.code).toBe(2);
    expect(live.json.complete).toBe(false);
    expect(ids(live.json)).toEqual([
      'false-success error',
      'missing-execute-phase error',
      'phase-order-violation error',
    ]);
    expect(kvSource(live.json).problems.map((p) => p.where)).toEqual(['peer.scratch']);
    expect(kvSource(live.json).stats).toMatchObject({ 'unknown PEER keys': 1, 'keys of other tools': 1 });
    const allowed = await scan(
      ['--server', server.url, '--no-default-logs', '--expect-replicas', '1', '--allow-unknown-keys'],
      dir,
    );
    expect(allowed.code).toBe(1);
    expect(allowed.json.complete).toBe(true);
    const mep = allowed.json.findings.find((f) => f.ruleId === 'missing-execute-phase')!;
    expect(mep.evidence.map((e) => loc(e.location))).toEqual([
      `kv ${MK}.metadata@24/phases_completed`,
      `kv ${MK}.phases.express@14`,
      `kv ${MK}.phases.review@20`,
    ]);
  }, 60_000);
});

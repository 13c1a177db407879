// peer-audit.config.json end to end: where it is found, how it is validated, what it changes, and precedence.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../../src/engine/registry.js';
import { runCli } from '../helpers/cli.js';
import { seedProject, writeJson } from '../config/seed-project.js';
import type { Finding } from '../../src/model/types.js';

interface Json {
  projectRoot: string;
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
}

async function scanJson(cwd: string, args: string[], env: Record<string, string | undefined> = {}) {
  const r = await runCli(['scan', '--format', 'json', '--no-default-logs', '--no-baseline', ...args], { cwd, env });
  return { ...r, json: r.code === 2 ? undefined : (JSON.parse(r.stdout) as Json) };
}

const rulesOf = (j: Json | undefined) => (j?.findings ?? []).map((f) => `${f.severity} ${f.ruleId}`);

describe('config: where it is found', () => {
  let root: string;
  beforeAll(async () => {
    root = await seedProject();
    await writeJson(path.join(root, 'peer-audit.config.json'), {
      rules: { 'false-success': 'off', 'heredoc-artifact': 'warning' },
    });
    await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
  });

  it('is found by walking up from a subfolder; its folder becomes the project', async () => {
    const r = await scanJson(path.join(root, 'a', 'b'), ['--kv-snapshot', '../../kv-snapshot.jsonl']);
    expect(r.stderr).toBe('');
    expect(r.json!.projectRoot).toBe(root);
    expect(rulesOf(r.json)).not.toContain('error false-success');
    expect(rulesOf(r.json)).toContain('warning heredoc-artifact');
    expect(rulesOf(r.json)).not.toContain('error heredoc-artifact');
  });

  it('the walk stops at the git root: a config above it is not used', async () => {
    const outer = await seedProject({ git: false });
    await writeJson(path.join(outer, 'peer-audit.config.json'), '{ not json');
    const repo = path.join(outer, 'repo');
    await fs.mkdir(path.join(repo, '.git'), { recursive: true });
    await fs.mkdir(path.join(repo, 'sub'));
    const r = await runCli(['scan', '--print-config', '--no-default-logs'], { cwd: path.join(repo, 'sub') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).configFile).toBeNull();
    // Without git the walk goes on to the filesystem root, so from outside the repo the broken file is found.
    const bad = await runCli(['scan', '--print-config'], { cwd: outer });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/^peer-audit: peer-audit\.config\.json: not valid JSON: /);
  });

  it('without git, the walk goes up to the filesystem root', async () => {
    const outer = await seedProject({ git: false });
    await writeJson(path.join(outer, 'peer-audit.config.json'), { rules: { 'truncated-file': 'off' } });
    await fs.mkdir(path.join(outer, 'x', 'y'), { recursive: true });
    const r = await runCli(['scan', '--print-config'], { cwd: path.join(outer, 'x', 'y') });
    expect(r.code, r.stderr).toBe(0);
    const merged = JSON.parse(r.stdout);
    expect(merged.configFile).toBe(path.join(outer, 'peer-audit.config.json'));
    expect(merged.rules['truncated-file']).toBe('off');
  });

  it('--config FILE: any name; paths in it are relative to its folder; --no-config ignores the found one', async () => {
    const other = path.join(root, 'conf', 'audit.json');
    await writeJson(other, {
      rules: { 'missing-tasks-md': 'info' },
      sources: { project: '..', specs: '../.agent-os/specs', logs: 'saved/*.jsonl' },
    });
    const r = await runCli(['scan', '--config', other, '--print-config'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const merged = JSON.parse(r.stdout);
    expect(merged.configFile).toBe(other);
    expect(merged.sources.project).toBe(root);
    expect(merged.sources.specs).toBe(path.join(root, '.agent-os/specs'));
    expect(merged.sources.logs).toEqual([path.join(root, 'conf', 'saved/*.jsonl')]);
    expect(merged.rules['missing-tasks-md']).toBe('info');
    expect(merged.rules['false-success']).toBe('error'); // the found config is not merged in
    expect(merged.baseline).toBe(path.join(root, 'conf', 'peer-audit-baseline.json'));

    const scan = await scanJson(root, [
      '--config',
      'conf/audit.json',
      '--kv-snapshot',
      'kv-snapshot.jsonl',
      '--no-logs',
    ]);
    expect(scan.code, scan.stderr).toBe(1);
    expect(rulesOf(scan.json)).toContain('info missing-tasks-md');

    const none = await runCli(['scan', '--no-config', '--print-config'], { cwd: root });
    expect(JSON.parse(none.stdout).configFile).toBeNull();

    const missing = await runCli(['scan', '--config', 'nope.json'], { cwd: root });
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toBe('peer-audit: --config nope.json: no such file\n');
  });
});

describe('config: validation (exit 2, the path and the problem)', () => {
  let root: string;
  beforeAll(async () => {
    root = await seedProject();
  });
  const check = async (config: unknown, expected: string[]) => {
    await writeJson(path.join(root, 'peer-audit.config.json'), config);
    const r = await runCli(['scan', ...['--kv-snapshot', 'kv-snapshot.jsonl', '--no-default-logs']], { cwd: root });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual(expected.map((l) => `peer-audit: peer-audit.config.json: ${l}`));
  };

  it('a severity that is not one of off|info|warning|error', () =>
    check({ rules: { 'false-success': 'fatal' } }, ['rules.false-success: expected one of off|info|warning|error']));

  it('an unknown rule id, with the closest one', () =>
    check({ rules: { 'flase-success': 'off' } }, [
      'rules.flase-success: unknown rule id (did you mean false-success?); `peer-audit rules` lists them',
    ]));

  it('unknown settings and rule ids, wrong types, bad durations and bucket names: all at once, by path', () =>
    check(
      {
        rules: { 'flase-success': 'off' },
        ruleOption: {},
        ruleOptions: { staleAfter: 'soon', expectReplicas: '3' },
        sources: { buckt: 'x', bucket: 'a b', logs: 7 },
      },
      [
        'ruleOption: unknown setting (did you mean ruleOptions?)',
        'ruleOptions.expectReplicas: expected number, got "3"',
        'ruleOptions.staleAfter: expected a duration such as 6h, 90m or 2d',
        'rules.flase-success: unknown rule id (did you mean false-success?); `peer-audit rules` lists them',
        'sources.bucket: expected a bucket name (letters, digits, "-" and "_")',
        'sources.buckt: unknown setting (did you mean bucket?)',
        'sources.logs: expected a string or a list of strings',
      ],
    ));

  it('not JSON', async () => {
    await writeJson(path.join(root, 'peer-audit.config.json'), '{"rules": ');
    const r = await runCli(['scan', '--no-default-logs'], { cwd: root });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^peer-audit: peer-audit\.config\.json: not valid JSON: .+\n$/);
  });

  it('every command reads it', async () => {
    await writeJson(path.join(root, 'peer-audit.config.json'), { rules: { nope: 'off' } });
    for (const args of [
      ['repair'],
      ['snapshot', '-o', 'x.jsonl'],
      ['watch'],
      ['doctor'],
      ['rules'],
      ['reopen', 'x'],
      ['undo', 'j.json'],
    ]) {
      const r = await runCli(args, { cwd: root });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^peer-audit: peer-audit\.config\.json: rules\.nope: unknown rule id/);
    }
  });
});

describe('config: what it changes, and precedence (flags > environment > config > defaults)', () => {
  let root: string;
  beforeAll(async () => {
    root = await seedProject();
    await writeJson(path.join(root, 'peer-audit.config.json'), {
      rules: { 'false-success': 'off', 'missing-execute-phase': 'warning', 'truncated-file': 'info' },
      ruleOptions: { staleAfter: '2h', expectHistory: 100 },
      sources: { server: 'nats://config.example:4222', bucket: 'cfg-bucket' },
    });
  });

  it('severities: off drops the rule, others change the severity and with it the exit code', async () => {
    const plain = await scanJson(root, ['--no-config', '--kv-snapshot', 'kv-snapshot.jsonl']);
    const r = await scanJson(root, ['--kv-snapshot', 'kv-snapshot.jsonl']);
    expect(rulesOf(plain.json)).toContain('error false-success');
    expect(rulesOf(r.json)).not.toContain('error false-success');
    expect(rulesOf(r.json)).toContain('warning missing-execute-phase');
    expect(
      rulesOf(r.json)
        .filter((x) => x.endsWith('truncated-file'))
        .every((x) => x.startsWith('info')),
    ).toBe(true);

    await writeJson(path.join(root, 'only-warnings.json'), {
      rules: Object.fromEntries([...new Set(plain.json!.findings.map((f) => f.ruleId))].map((id) => [id, 'warning'])),
    });
    const w = await scanJson(root, ['--config', 'only-warnings.json', '--kv-snapshot', 'kv-snapshot.jsonl']);
    expect(w.json!.summary.errors).toBe(0);
    expect(w.code, w.stderr).toBe(0);
    const failOnWarning = await scanJson(root, [
      '--config',
      'only-warnings.json',
      '--kv-snapshot',
      'kv-snapshot.jsonl',
      '--fail-on',
      'warning',
    ]);
    expect(failOnWarning.code, failOnWarning.stderr).toBe(1);
  });

  it('rule options reach the rules (expectHistory 100: the bucket keeps too little history)', async () => {
    const r = await scanJson(root, ['--kv-snapshot', 'kv-snapshot.jsonl']);
    const bc = r.json!.findings.find((f) => f.ruleId === 'bucket-config');
    expect(bc?.message).toMatch(/100/);
    const flag = await scanJson(root, ['--kv-snapshot', 'kv-snapshot.jsonl', '--expect-history', '50']);
    expect(flag.json!.findings.find((f) => f.ruleId === 'bucket-config' && /history/.test(f.message))).toBeUndefined();
  });

  it('--print-config merges flags, environment, config and defaults, and exits 0', async () => {
    const print = async (args: string[], env: Record<string, string | undefined> = {}) => {
      const r = await runCli(['scan', '--print-config', ...args], { cwd: root, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout);
    };
    const fromConfig = await print([]);
    expect(fromConfig).toMatchObject({
      configFile: path.join(root, 'peer-audit.config.json'),
      ruleOptions: { staleAfter: '2h', expectReplicas: 3, expectHistory: 100 },
      sources: {
        server: 'nats://config.example:4222',
        bucket: 'cfg-bucket',
        project: root,
        specs: path.join(root, '.agent-os/specs'),
        logs: null,
      },
      baseline: path.join(root, 'peer-audit-baseline.json'),
    });
    expect(fromConfig.rules).toMatchObject({
      'false-success': 'off',
      'missing-execute-phase': 'warning',
      'heredoc-artifact': 'error',
    });
    expect(Object.keys(fromConfig.rules)).toHaveLength((await loadRules()).length);

    const env = await print([], { NATS_URL: 'nats://env.example:4222' });
    expect(env.sources.server).toBe('nats://env.example:4222');
    // A NATS context chosen by flag or environment outranks the config's server too; --no-context does not.
    expect((await print(['--context', 'prod'])).sources.server).toBe('(NATS context prod)');
    expect((await print([], { NATS_CONTEXT: 'prod' })).sources.server).toBe('(NATS context prod)');
    expect((await print(['--no-context'], { NATS_CONTEXT: 'prod' })).sources.server).toBe('nats://config.example:4222');
    expect(fromConfig.sources).toMatchObject({ allRuns: false, allowUnknownKeys: false });
    expect((await print(['--all-runs', '--allow-unknown-keys'])).sources).toMatchObject({
      allRuns: true,
      allowUnknownKeys: true,
    });
    const flags = await print(
      [
        '--server',
        'nats://flag.example:4222',
        '--bucket',
        'flag-bucket',
        '--stale-after',
        '3h',
        '--expect-history',
        '7',
      ],
      { NATS_URL: 'nats://env.example:4222' },
    );
    expect(flags.sources).toMatchObject({ server: 'nats://flag.example:4222', bucket: 'flag-bucket' });
    expect(flags.ruleOptions).toMatchObject({ staleAfter: '3h', expectHistory: 7 });
    // A flag that equals the built-in default still wins over the config.
    const same = await print(['--bucket', 'agent-os-peer-state']);
    expect(same.sources.bucket).toBe('agent-os-peer-state');
  });

  it('the config server is used for live reads (and NATS_URL beats it)', async () => {
    const r = await runCli(['scan', '--no-default-logs', '--timeout', '500'], { cwd: root });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/config\.example/);
    const e = await runCli(['scan', '--no-default-logs', '--timeout', '500'], {
      cwd: root,
      env: { NATS_URL: 'nats://127.0.0.1:1' },
    });
    expect(e.code, e.stderr).toBe(2);
    expect(e.stderr).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:1: connection refused/);
  });
});

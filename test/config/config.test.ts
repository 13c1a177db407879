// Config file discovery and validation, and the usage hints, as functions.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE, findConfigFile } from '../../src/config/config.js';
import { loadConfigFile } from '../../src/config/config-file.js';
import { ConfigError } from '../../src/errors.js';
import { closest, editDistance, withFlagHints } from '../../src/config/suggest.js';

const IDS = ['false-success', 'missing-execute-phase', 'stale-cycle'];

async function tree(files: Record<string, string>): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-cfgu-'));
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (rel.endsWith('/')) await fs.mkdir(abs, { recursive: true });
    else {
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.writeFile(abs, text);
    }
  }
  return root;
}

async function problems(config: unknown): Promise<string[]> {
  const root = await tree({ [CONFIG_FILE]: typeof config === 'string' ? config : JSON.stringify(config) });
  const file = path.join(root, CONFIG_FILE);
  try {
    await loadConfigFile(file, IDS);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe(2);
    return (e as Error).message.split('\n').map((l) => l.slice(l.indexOf(`${CONFIG_FILE}: `) + CONFIG_FILE.length + 2));
  }
}

describe('findConfigFile', () => {
  it('finds the nearest file walking up, and stops at the first .git', async () => {
    const root = await tree({
      [CONFIG_FILE]: '{}',
      'repo/.git/': '',
      'repo/a/b/': '',
      'repo/x/peer-audit.config.json': '{}',
      'repo/x/y/': '',
    });
    expect(findConfigFile(path.join(root, 'repo/x/y'))).toBe(path.join(root, 'repo/x', CONFIG_FILE));
    expect(findConfigFile(path.join(root, 'repo/a/b'))).toBeUndefined();
    expect(findConfigFile(root)).toBe(path.join(root, CONFIG_FILE));
  });

  it('a config in the git root itself is found; .git may be a file (worktrees)', async () => {
    const root = await tree({ 'wt/.git': 'gitdir: /elsewhere', 'wt/peer-audit.config.json': '{}', 'wt/src/': '' });
    expect(findConfigFile(path.join(root, 'wt/src'))).toBe(path.join(root, 'wt', CONFIG_FILE));
  });

  it('a folder named like the config is not a config', async () => {
    const root = await tree({ '.git/': '', 'peer-audit.config.json/': '' });
    expect(findConfigFile(root)).toBeUndefined();
  });
});

describe('loadConfigFile', () => {
  it('accepts every documented setting', async () => {
    expect(
      await problems({
        $schema: 'x',
        rules: { 'false-success': 'off', 'stale-cycle': 'info', 'missing-execute-phase': 'error' },
        ruleOptions: { staleAfter: '90m', expectReplicas: 1, expectHistory: 10 },
        sources: {
          server: 'nats://a:4222,nats://b:4222',
          bucket: 'my-bucket_1',
          project: '.',
          specs: 'docs/specs',
          logs: ['a/*.jsonl', 'b'],
        },
      }),
    ).toEqual([]);
    expect(await problems({ sources: { logs: 'one/*.jsonl' } })).toEqual([]);
    expect(await problems('\uFEFF{}')).toEqual([]);
  });

  it('names each problem by its path', async () => {
    expect(await problems({ rules: { 'false-success': 'warn' } })).toEqual([
      'rules.false-success: expected one of off|info|warning|error',
    ]);
    expect(await problems({ rules: { 'stale-cycel': 'off' } })).toEqual([
      'rules.stale-cycel: unknown rule id (did you mean stale-cycle?); `peer-audit rules` lists them',
    ]);
    expect(await problems({ rules: { 'no-such-thing': 'off' } })).toEqual([
      'rules.no-such-thing: unknown rule id; `peer-audit rules` lists them',
    ]);
    expect(await problems({ ruleOptions: { expectReplicas: 0, expectHistory: 2.5 } })).toEqual([
      'ruleOptions.expectHistory: expected a whole number, got number 2.5',
      'ruleOptions.expectReplicas: expected at least 1',
    ]);
    expect(await problems({ sources: { server: '' } })).toEqual(['sources.server: must not be empty']);
    expect(await problems({ rules: [] })).toEqual(['rules: expected record, got a list']);
    expect(await problems([])).toEqual(['expected object, got a list']);
  });
});

describe('usage hints', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('yse', 'yes')).toBe(1);
    expect(editDistance('formt', 'format')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closest('colr', ['color', 'config'])).toBe('color');
    expect(closest('zzzzzz', ['color', 'config'])).toBeUndefined();
  });

  it('unknown arguments get a "did you mean", once per flag', () => {
    const known = ['format', 'f', 'max-warnings', 'maxWarnings', 'quiet'];
    expect(withFlagHints('Unknown argument: formt', known)).toBe('Unknown argument: formt (did you mean --format?)');
    expect(withFlagHints('Unknown arguments: max-warning, maxWarning', known)).toBe(
      'Unknown argument: max-warning (did you mean --max-warnings?)',
    );
    expect(withFlagHints('Unknown argument: banana', known)).toBe('Unknown argument: banana');
    expect(withFlagHints('Not enough non-option arguments: got 0, need at least 1', known)).toBe(
      'Not enough non-option arguments: got 0, need at least 1',
    );
  });
});

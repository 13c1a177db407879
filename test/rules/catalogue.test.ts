// Every rule: its metadata, its doc page and its test file (a rule is those three files and nothing else);
// and no rule fires on a healthy run.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/engine/registry.js';
import { DEFAULT_RULE_OPTIONS } from '../../src/engine/rule.js';
import { REPO, runCli } from '../helpers/cli.js';
import type { Finding } from '../../src/model/types.js';

describe('rule catalogue', async () => {
  const rules = await loadRules();
  const ids = new Set(rules.map((r) => r.meta.id));

  it('has unique kebab-case ids', () => {
    const list = rules.map((r) => r.meta.id);
    expect(ids.size).toBe(list.length);
    for (const id of list) expect(id).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  for (const rule of rules) {
    it(`${rule.meta.id}: doc page with its four parts, a test file, sane metadata`, async () => {
      const doc = await fs.readFile(path.join(REPO, 'rules', `${rule.meta.id}.md`), 'utf8');
      expect(doc.startsWith(`# ${rule.meta.id}\n`)).toBe(true);
      for (const part of ['## What it catches', '## Why it matters', '## What to do', '## Example'])
        expect(doc).toContain(part);
      expect(doc).toMatch(new RegExp(`\\*\\*Severity:\\*\\* ${rule.meta.severity}`));
      const testFile = path.join(REPO, 'test/rules', `${rule.meta.id}.test.ts`);
      expect(
        await fs.stat(testFile).then(
          () => true,
          () => false,
        ),
        `test/rules/${rule.meta.id}.test.ts exists`,
      ).toBe(true);
      expect(rule.meta.summary.length).toBeGreaterThan(20);
      expect(rule.meta.sources.length).toBeGreaterThan(0);
      expect(rule.meta.title.trim().length, 'meta.title').toBeGreaterThan(0);
      // Cause links name other rules that exist, once each.
      const causes = (rule.meta.causedBy ?? []).map((c) => c.rule);
      for (const c of causes) expect(ids.has(c) && c !== rule.meta.id, `causedBy ${c}`).toBe(true);
      expect(new Set(causes).size).toBe(causes.length);
    });
  }

  it('the rule options defaults are the ones the rules declare, and every option a rule reads is declared', async () => {
    const declared: Record<string, unknown> = {};
    for (const rule of rules) {
      for (const [name, spec] of Object.entries(rule.meta.options ?? {})) {
        // Two rules may read one option, but they must agree on its default.
        if (name in declared) expect(spec.default, `${name} in ${rule.meta.id}`).toEqual(declared[name]);
        declared[name] = spec.default;
        expect(spec.description.length).toBeGreaterThan(10);
      }
      // A rule reads its options as `options.<name>` (the engine's context), so its source says which it reads.
      const source = await fs.readFile(path.join(REPO, 'rules', `${rule.meta.id}.ts`), 'utf8');
      const read = new Set([...source.matchAll(/\boptions\.(\w+)/g)].map((m) => m[1]).filter((n) => n !== 'now'));
      expect([...read].sort(), `options ${rule.meta.id} reads`).toEqual(Object.keys(rule.meta.options ?? {}).sort());
    }
    expect(declared).toEqual(DEFAULT_RULE_OPTIONS);
  });

  it('peer-audit rules lists every rule, also as JSON', async () => {
    const r = await runCli(['rules', '--format', 'json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout).rules as {
      id: string;
      severity: string;
      sources: string[];
      fixable: boolean;
      summary: string;
    }[];
    expect(listed.map((x) => x.id)).toEqual(rules.map((x) => x.meta.id));
    expect(Object.keys(listed[0]).sort()).toEqual(['doc', 'fixable', 'id', 'severity', 'sources', 'summary']);
  });
});

describe('healthy runs stay quiet at warning and error', () => {
  for (const fixture of ['healthy-v1', 'healthy-v2']) {
    it(fixture, async () => {
      const r = await runCli(
        [
          'scan',
          '--format',
          'json',
          '--kv-snapshot',
          'kv-snapshot.jsonl',
          '--logs',
          'logs',
          '--now',
          '2025-08-25T00:00:00Z',
        ],
        {
          cwd: path.join(REPO, 'fixtures/incidents', fixture),
        },
      );
      const findings = JSON.parse(r.stdout).findings as Finding[];
      expect(findings.filter((f) => f.severity !== 'info').map((f) => `${f.ruleId}: ${f.message}`)).toEqual([]);
      expect(r.code).toBe(0);
    });
  }
});

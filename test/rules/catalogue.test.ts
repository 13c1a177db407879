// Every rule: its metadata, its doc page, its README line; and no rule fires on a healthy run.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/engine/registry.js';
import { REPO, runCli } from '../helpers/cli.js';
import type { Finding } from '../../src/model/types.js';

describe('rule catalogue', async () => {
  const rules = await loadRules();
  const readme = await fs.readFile(path.join(REPO, 'README.md'), 'utf8');

  it('has unique kebab-case ids', () => {
    const ids = rules.map((r) => r.meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  for (const rule of rules) {
    it(`${rule.meta.id}: doc page with its four parts, README line, sane metadata`, async () => {
      const doc = await fs.readFile(path.join(REPO, 'rules', `${rule.meta.id}.md`), 'utf8');
      expect(doc.startsWith(`# ${rule.meta.id}\n`)).toBe(true);
      for (const part of ['## What it catches', '## Why it matters', '## What to do', '## Example']) expect(doc).toContain(part);
      expect(doc).toMatch(new RegExp(`\\*\\*Severity:\\*\\* ${rule.meta.severity}`));
      expect(readme).toContain(`| [${rule.meta.id}](rules/${rule.meta.id}.md) | ${rule.meta.severity} |`);
      expect(rule.meta.summary.length).toBeGreaterThan(20);
      expect(rule.meta.sources.length).toBeGreaterThan(0);
    });
  }

  it('peer-audit rules lists every rule, also as JSON', async () => {
    const r = await runCli(['rules', '--format', 'json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout).rules as { id: string; severity: string; sources: string[]; fixable: boolean; summary: string }[];
    expect(listed.map((x) => x.id)).toEqual(rules.map((x) => x.meta.id));
    expect(Object.keys(listed[0]).sort()).toEqual(['doc', 'fixable', 'id', 'severity', 'sources', 'summary']);
  });
});

describe('healthy runs stay quiet at warning and error', () => {
  for (const fixture of ['healthy-v1', 'healthy-v2']) {
    it(fixture, async () => {
      const r = await runCli(['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--now', '2025-08-25T00:00:00Z'], {
        cwd: path.join(REPO, 'fixtures/incidents', fixture),
      });
      const findings = JSON.parse(r.stdout).findings as Finding[];
      expect(findings.filter((f) => f.severity !== 'info').map((f) => `${f.ruleId}: ${f.message}`)).toEqual([]);
      expect(r.code).toBe(0);
    });
  }
});

// The baseline as functions: update (keep justifications, drop only what the scan judged), apply, stale, read.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyBaseline,
  BASELINE_FORMAT,
  findingSources,
  formatBaseline,
  judgeFor,
  JUSTIFICATION_PLACEHOLDER,
  readBaseline,
  shortMessage,
  updateBaseline,
  type Baseline,
} from '../../src/config/baseline.js';
import { ConfigError } from '../../src/errors.js';
import type { Rule } from '../../src/engine/rule.js';
import type { Finding, SourceReport } from '../../src/model/types.js';

const finding = (
  fingerprint: string,
  ruleId: string,
  kinds: Array<'kv' | 'file' | 'log' | 'bucket'> = ['kv'],
  message = `${ruleId} fired on cycle 1. More detail here.`,
): Finding => ({
  ruleId,
  severity: 'error',
  message,
  subject: { spec: 'x', keyPrefix: 'peer.spec.x', cycle: 1 },
  fingerprint,
  evidence: kinds.map((k) =>
    k === 'kv'
      ? { location: { kind: 'kv', bucket: 'b', key: 'peer.spec.x.cycle.1', revision: 3 }, excerpt: '' }
      : k === 'file'
        ? { location: { kind: 'file', path: 'a.md' }, excerpt: '' }
        : k === 'log'
          ? { location: { kind: 'log', path: 'l.jsonl', line: 1 }, excerpt: '' }
          : { location: { kind: 'bucket', bucket: 'b', origin: 'live' }, excerpt: '' },
  ) as Finding['evidence'],
});
const rule = (id: string, sources: Rule['meta']['sources']): Rule => ({
  meta: { id, severity: 'error', summary: '', sources, fixable: false, title: id },
  check() {},
});
const RULES = [
  rule('false-success', ['kv', 'logs']),
  rule('heredoc-artifact', ['specs']),
  rule('kv-read-failure', ['logs']),
];
const source = (kind: SourceReport['kind'], ok = true): SourceReport => ({
  kind,
  ref: kind,
  ok,
  stats: {},
  problems: [],
});

describe('baseline', () => {
  it('records each finding with its rule, subject, first sentence, sources and a placeholder', () => {
    const { baseline, added, kept, removed } = updateBaseline(
      [finding('a'.repeat(16), 'false-success', ['kv', 'log'])],
      undefined,
      () => true,
    );
    expect({ added, kept, removed }).toEqual({ added: 1, kept: 0, removed: 0 });
    expect(baseline).toEqual({
      format: BASELINE_FORMAT,
      entries: [
        {
          fingerprint: 'a'.repeat(16),
          ruleId: 'false-success',
          subject: 'peer.spec.x · cycle 1',
          message: 'false-success fired on cycle 1.',
          sources: ['kv', 'logs'],
          justification: JUSTIFICATION_PLACEHOLDER,
        },
      ],
    });
  });

  it('keeps justifications that still match, drops judged stale entries, keeps unjudged ones', () => {
    const prev: Baseline = {
      format: BASELINE_FORMAT,
      entries: [
        { fingerprint: '1'.repeat(16), ruleId: 'false-success', justification: 'accepted in review #12' },
        { fingerprint: '2'.repeat(16), ruleId: 'heredoc-artifact', sources: ['specs'], justification: 'gone now' },
        {
          fingerprint: '3'.repeat(16),
          ruleId: 'kv-read-failure',
          sources: ['logs'],
          justification: 'logs not read today',
        },
      ],
    };
    const judged = judgeFor(RULES, [source('kv-snapshot'), source('specs')], {});
    const u = updateBaseline(
      [finding('1'.repeat(16), 'false-success'), finding('4'.repeat(16), 'heredoc-artifact', ['file'])],
      prev,
      judged,
    );
    expect({ added: u.added, kept: u.kept, removed: u.removed }).toEqual({ added: 1, kept: 1, removed: 1 });
    expect(u.baseline.entries.map((e) => [e.fingerprint[0], e.justification])).toEqual([
      ['1', 'accepted in review #12'],
      ['4', JUSTIFICATION_PLACEHOLDER],
      ['3', 'logs not read today'],
    ]);
  });

  it('apply: accepted findings leave the report; stale = judged and gone; rules turned off are unchecked', () => {
    const b: Baseline = {
      format: BASELINE_FORMAT,
      entries: [
        { fingerprint: '1'.repeat(16), ruleId: 'false-success', sources: ['kv'], justification: 'j' },
        { fingerprint: '2'.repeat(16), ruleId: 'heredoc-artifact', sources: ['specs'], justification: 'j' },
        { fingerprint: '3'.repeat(16), ruleId: 'kv-read-failure', sources: ['logs'], justification: 'j' },
        { fingerprint: '5'.repeat(16), ruleId: 'rule-that-was-removed', justification: 'j' },
      ],
    };
    const o = applyBaseline(
      [finding('1'.repeat(16), 'false-success'), finding('9'.repeat(16), 'false-success')],
      b,
      judgeFor(RULES, [source('kv'), source('specs'), source('logs')], { 'kv-read-failure': 'off' }),
    );
    expect(o.shown.map((f) => f.fingerprint[0])).toEqual(['9']);
    expect(o.matched.map((f) => f.fingerprint[0])).toEqual(['1']);
    expect(o.stale.map((e) => e.fingerprint[0])).toEqual(['2', '5']);
    expect(o.unchecked).toBe(1);
  });

  it('a source that failed outright does not count as read', () => {
    const judged = judgeFor(RULES, [source('kv', false)], {});
    expect(judged({ fingerprint: '1'.repeat(16), ruleId: 'false-success', sources: ['kv'], justification: '' })).toBe(
      false,
    );
    expect(judged({ fingerprint: '1'.repeat(16), ruleId: 'false-success', justification: '' })).toBe(false);
  });

  it('a --files finding rests on the files source: a scan without --files neither judges nor drops it', () => {
    const f = finding('1111111111111111', 'heredoc-artifact', ['file']);
    f.evidence = [{ location: { kind: 'file', path: 'src/a.sql', line: 3, source: 'files' }, excerpt: '' }];
    expect(findingSources(f)).toEqual(['files']);
    const upd = updateBaseline([f], undefined, () => true);
    expect(upd.baseline.entries[0]!.sources).toEqual(['files']);
    const rules = [rule('heredoc-artifact', ['specs', 'files'])];
    expect(judgeFor(rules, [source('specs')], {})(upd.baseline.entries[0]!)).toBe(false);
    expect(judgeFor(rules, [source('specs'), source('files')], {})(upd.baseline.entries[0]!)).toBe(true);
    const again = updateBaseline([], upd.baseline, judgeFor(rules, [source('specs')], {}));
    expect(again.baseline.entries.map((e) => e.fingerprint)).toEqual(['1111111111111111']);
  });

  it('finding sources and short messages', () => {
    expect(findingSources(finding('x', 'r', ['log', 'bucket', 'file', 'kv']))).toEqual(['kv', 'specs', 'logs']);
    expect(
      shortMessage('Cycle 1 is marked complete ("current_phase": "complete") but execute is missing. The rest.'),
    ).toBe('Cycle 1 is marked complete ("current_phase": "complete") but execute is missing.');
    expect(shortMessage('x'.repeat(300))).toHaveLength(140);
    expect(shortMessage('spec.md:42 has\n  residue')).toBe('spec.md:42 has residue');
  });

  it('read: a missing file is no baseline; a bad one is exit 2 with the problem', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-bl-'));
    expect(await readBaseline(path.join(dir, 'none.json'))).toBeUndefined();
    const ok: Baseline = {
      format: BASELINE_FORMAT,
      entries: [{ fingerprint: 'ab'.repeat(8), ruleId: 'x', justification: 'y' }],
    };
    await fs.writeFile(path.join(dir, 'ok.json'), formatBaseline(ok));
    expect(await readBaseline(path.join(dir, 'ok.json'))).toEqual(ok);
    const bad = async (value: unknown) => {
      await fs.writeFile(path.join(dir, 'bad.json'), typeof value === 'string' ? value : JSON.stringify(value));
      const e = await readBaseline(path.join(dir, 'bad.json'), 'bad.json').catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    };
    expect(await bad({ format: 'other/1', entries: [] })).toBe('bad.json: format: expected "peer-audit-baseline/1"');
    expect(await bad('[')).toMatch(/^bad\.json: not valid JSON: /);
    const twice = { ...ok, entries: [ok.entries[0], ok.entries[0]] };
    expect(await bad(twice)).toBe(`bad.json: entries.1: fingerprint ${'ab'.repeat(8)} appears twice`);
  });
});

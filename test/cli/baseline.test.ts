// The baseline end to end: accept the current findings, rescan, a new finding, stale entries; --max-warnings, --quiet.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { OFFLINE, seedProject, writeJson } from '../config/seed-project.js';
import { JUSTIFICATION_PLACEHOLDER, type Baseline } from '../../src/config/baseline.js';
import type { Finding } from '../../src/model/types.js';
import type { ValidateFunction } from 'ajv';
import { loadSarifSchema } from '../helpers/sarif-schema.js';

const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';

interface SarifLog {
  runs: {
    results: {
      ruleId: string;
      baselineState?: string;
      suppressions?: { kind: string; status: string; justification: string }[];
      properties: { fingerprint: string };
    }[];
  }[];
}

let validate: ValidateFunction;
beforeAll(async () => {
  ({ validate } = await loadSarifSchema());
});

interface Report {
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
  baseline?: {
    file: string;
    matched: number;
    suppressed: { fingerprint: string; justification: string }[];
    stale: { fingerprint: string; ruleId: string }[];
    unchecked: number;
  };
}

const readBaselineFile = async (root: string, name = 'peer-audit-baseline.json') =>
  JSON.parse(await fs.readFile(path.join(root, name), 'utf8')) as Baseline;

describe('baseline round trip', () => {
  let root: string;
  let all: Finding[];
  beforeAll(async () => {
    root = await seedProject();
    const r = await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root });
    all = (JSON.parse(r.stdout) as Report).findings;
    expect(all.length).toBeGreaterThan(5);
  });

  it('--update-baseline writes every finding with a placeholder justification, and the scan then passes', async () => {
    const r = await runCli(['scan', ...OFFLINE, '--update-baseline'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      `peer-audit: wrote peer-audit-baseline.json: ${all.length} entries (${all.length} new, 0 kept, 0 removed); ${all.length} need a justification\n`,
    );
    expect(r.stdout).toContain(`Baseline peer-audit-baseline.json: ${all.length} known problems not shown`);
    const b = await readBaselineFile(root);
    expect(b.format).toBe('peer-audit-baseline/1');
    expect(b.entries.map((e) => e.fingerprint).sort()).toEqual(all.map((f) => f.fingerprint).sort());
    const fs1 = b.entries.find((e) => e.ruleId === 'false-success')!;
    expect(fs1).toMatchObject({
      subject: 'peer.spec.wal-operation-handling-fix · cycle 1',
      sources: ['kv'],
      justification: JUSTIFICATION_PLACEHOLDER,
    });
    expect(fs1.message!.length).toBeLessThanOrEqual(140);
    expect(fs1.message).toMatch(/^Cycle 1 is marked complete/);
  });

  it('a rescan shows nothing new, exit 0; JSON counts the accepted findings apart', async () => {
    const r = await runCli(['scan', ...OFFLINE], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/^ {2}(error|warning|info)/m);
    const j = await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root });
    const rep = JSON.parse(j.stdout) as Report;
    expect(j.code, j.stderr).toBe(0);
    expect(rep.findings).toEqual([]);
    expect(rep.summary).toEqual({ errors: 0, warnings: 0, infos: 0 });
    expect(rep.baseline).toMatchObject({
      file: path.join(root, 'peer-audit-baseline.json'),
      matched: all.length,
      stale: [],
      unchecked: 0,
    });
    // --no-baseline shows everything again
    const none = await runCli(['scan', ...OFFLINE, '--no-baseline', '--format', 'json'], { cwd: root });
    expect(none.code, none.stderr).toBe(1);
    expect((JSON.parse(none.stdout) as Report).findings).toHaveLength(all.length);
  });

  it('a new finding appears (exit 1) while the accepted ones stay hidden; stale entries are listed', async () => {
    // Justify one entry by hand, as a user would.
    const b = await readBaselineFile(root);
    const residue = b.entries.find((e) => e.ruleId === 'heredoc-artifact' && e.message?.includes('/spec.md:'))!;
    residue.justification = 'Residue left on purpose for the incident write-up';
    const keep = b.entries.find((e) => e.ruleId === 'false-success')!;
    keep.justification = 'Known: cycle 1 is being reopened';
    await writeJson(path.join(root, 'peer-audit-baseline.json'), b);

    // Fix the residue in spec.md (its entry goes stale), and add a new broken spec folder (a new finding).
    const spec = path.join(root, WAL, 'spec.md');
    const text = await fs.readFile(spec, 'utf8');
    await fs.writeFile(spec, text.replace(/\n?EOF < \/dev\/null\n?$/, '\n'));
    // (cut mid-sentence: missing template sections alone are no longer a cut in a folder no PEER run produced)
    await fs.mkdir(path.join(root, '.agent-os/specs/2025-09-01-new-thing'), { recursive: true });
    await fs.writeFile(
      path.join(root, '.agent-os/specs/2025-09-01-new-thing/spec.md'),
      '# New thing\n\nThe service writes to the\n',
    );

    const r = await runCli(['scan', ...OFFLINE], { cwd: root });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('folder .agent-os/specs/2025-09-01-new-thing');
    expect(r.stdout).toContain('truncated-file');
    expect(r.stdout).not.toContain('false-success');
    expect(r.stdout).toMatch(
      /Baseline peer-audit-baseline\.json: \d+ known problems not shown \(.*\); 1 stale entry\./,
    );
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'peer-audit: peer-audit-baseline.json: 1 entry no longer matches any finding (stale; --update-baseline removes it):',
    );
    expect(lines[1]).toBe(
      `peer-audit:   ${residue.fingerprint}  heredoc-artifact  ${residue.subject} — ${residue.message}`,
    );

    const j = JSON.parse((await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root })).stdout) as Report;
    expect(j.findings.map((f) => f.subject.folder)).toEqual(
      j.findings.map(() => '.agent-os/specs/2025-09-01-new-thing'),
    );
    expect(j.baseline!.stale).toEqual([
      expect.objectContaining({ fingerprint: residue.fingerprint, ruleId: 'heredoc-artifact' }),
    ]);
    expect(j.baseline!.suppressed.find((s) => s.fingerprint === keep.fingerprint)?.justification).toBe(
      'Known: cycle 1 is being reopened',
    );
  });

  it('SARIF marks new findings "new" and accepted ones "unchanged", suppressed with the justification', async () => {
    const j = JSON.parse((await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root })).stdout) as Report;
    const r = await runCli(['scan', ...OFFLINE, '--format', 'sarif'], { cwd: root });
    expect(r.code, r.stderr).toBe(1);
    const sarif = JSON.parse(r.stdout) as SarifLog;
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    const results = sarif.runs[0]!.results;
    const byState = (s: string) => results.filter((x) => x.baselineState === s).map((x) => x.properties.fingerprint);
    expect(byState('new').sort()).toEqual(j.findings.map((f) => f.fingerprint).sort());
    expect(byState('unchanged')).toHaveLength(j.baseline!.matched);
    expect(results).toHaveLength(j.findings.length + j.baseline!.matched);
    const keep = results.find((x) => x.ruleId === 'false-success')!;
    expect(keep.baselineState).toBe('unchanged');
    expect(keep.suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'Known: cycle 1 is being reopened' },
    ]);
    expect(results.filter((x) => x.baselineState === 'new').every((x) => x.suppressions === undefined)).toBe(true);
    // Without a baseline no result carries a baseline state.
    const none = JSON.parse(
      (await runCli(['scan', ...OFFLINE, '--format', 'sarif', '--no-baseline'], { cwd: root })).stdout,
    ) as SarifLog;
    expect(none.runs[0]!.results.some((x) => x.baselineState !== undefined || x.suppressions)).toBe(false);
  });

  it('report honours the baseline like scan: fresh, as SARIF, and from a saved scan', async () => {
    const j = JSON.parse((await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root })).stdout) as Report;
    const md = await runCli(['report', ...OFFLINE], { cwd: root });
    expect(md.code, md.stderr).toBe(1);
    expect(md.stdout).toContain(
      `Baseline \`peer-audit-baseline.json\`: ${j.baseline!.matched} accepted findings not shown; ` +
        '1 stale entry (no longer matching any finding).',
    );
    expect(md.stdout).toContain('truncated-file');
    expect(md.stdout).not.toContain('false-success');
    const html = await runCli(['report', ...OFFLINE, '--format', 'html'], { cwd: root });
    expect(html.code, html.stderr).toBe(1);
    expect(html.stdout).toContain(
      `Baseline <code>peer-audit-baseline.json</code>: ${j.baseline!.matched} accepted findings not shown; ` +
        '1 stale entry (no longer matching any finding).',
    );
    const all = await runCli(['report', ...OFFLINE, '--no-baseline'], { cwd: root });
    expect(all.stdout).toContain('false-success');
    expect(all.stdout).not.toContain('accepted findings not shown');

    const states = (out: string) =>
      (JSON.parse(out) as SarifLog).runs[0]!.results.map(
        (x) => `${x.properties.fingerprint}:${x.baselineState}`,
      ).sort();
    const fromScan = states((await runCli(['scan', ...OFFLINE, '--format', 'sarif'], { cwd: root })).stdout);
    const fresh = await runCli(['report', ...OFFLINE, '--format', 'sarif'], { cwd: root });
    expect(fresh.code, fresh.stderr).toBe(1);
    expect(states(fresh.stdout)).toEqual(fromScan);

    // A saved scan keeps the baseline it was judged with, accepted findings in full.
    const saved = path.join(root, 'scan.json');
    await runCli(['scan', ...OFFLINE, '--format', 'json', '-o', saved], { cwd: root });
    const from = await runCli(['report', '--from', saved, '--format', 'sarif', '--baseline', 'other.json'], {
      cwd: root,
    });
    expect(from.code, from.stderr).toBe(1);
    expect(states(from.stdout)).toEqual(fromScan);
    expect(from.stderr).toContain(`--baseline not used`);
    await fs.rm(saved);
  });

  it('--update-baseline again keeps the justifications that still match, drops the stale entry, adds the new one', async () => {
    const r = await runCli(['scan', ...OFFLINE, '--update-baseline'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^peer-audit: wrote peer-audit-baseline\.json: \d+ entries \(\d+ new, \d+ kept, 1 removed\)/,
    );
    const b = await readBaselineFile(root);
    expect(b.entries.find((e) => e.ruleId === 'false-success')!.justification).toBe('Known: cycle 1 is being reopened');
    expect(b.entries.some((e) => e.justification === 'Residue left on purpose for the incident write-up')).toBe(false);
    expect(
      b.entries.filter(
        (e) => e.subject === 'folder .agent-os/specs/2025-09-01-new-thing' || e.subject?.includes('new-thing'),
      ).length,
    ).toBeGreaterThan(0);
    const again = await runCli(['scan', ...OFFLINE], { cwd: root });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
  });

  it('entries a scan cannot judge are neither stale nor dropped (--no-kv keeps the KV entries)', async () => {
    const before = await readBaselineFile(root);
    const r = await runCli(['scan', '--no-kv', '--no-default-logs', '--format', 'json'], { cwd: root });
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.baseline!.stale).toEqual([]);
    expect(rep.baseline!.unchecked).toBeGreaterThan(0);
    const u = await runCli(['scan', '--no-kv', '--no-default-logs', '--update-baseline'], { cwd: root });
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/0 removed/);
    const after = new Set((await readBaselineFile(root)).entries.map((e) => e.fingerprint));
    for (const e of before.entries) expect(after.has(e.fingerprint), `${e.ruleId} ${e.fingerprint}`).toBe(true);
  });

  it('--baseline FILE: elsewhere; missing or invalid files are exit 2; an incomplete scan never rewrites it', async () => {
    const missing = await runCli(['scan', ...OFFLINE, '--baseline', 'other.json'], { cwd: root });
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toBe(
      'peer-audit: other.json: no such baseline file (write one with scan --update-baseline)\n',
    );

    const made = await runCli(['scan', ...OFFLINE, '--baseline', 'ci/accepted.json', '--update-baseline'], {
      cwd: root,
    });
    expect(made.code, made.stderr).toBe(0);
    expect((await readBaselineFile(root, 'ci/accepted.json')).entries.length).toBeGreaterThan(0);

    await writeJson(path.join(root, 'bad.json'), {
      format: 'peer-audit-baseline/1',
      entries: [{ fingerprint: 'xyz', ruleId: 'false-success' }],
    });
    const bad = await runCli(['scan', ...OFFLINE, '--baseline', 'bad.json'], { cwd: root });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toBe(
      'peer-audit: bad.json: entries.0.fingerprint: expected 16 hex digits (a fingerprint from the scan)\npeer-audit: bad.json: entries.0.justification: Invalid input: expected string, received undefined\n',
    );

    const before = await fs.readFile(path.join(root, 'peer-audit-baseline.json'), 'utf8');
    const down = await runCli(['scan', '--server', 'nats://127.0.0.1:1', '--no-default-logs', '--update-baseline'], {
      cwd: root,
    });
    expect(down.code, down.stderr).toBe(2);
    expect(down.stderr).toMatch(/not updating peer-audit-baseline\.json: the scan is incomplete/);
    expect(await fs.readFile(path.join(root, 'peer-audit-baseline.json'), 'utf8')).toBe(before);
  });

  it('the baseline sits beside the config when there is one', async () => {
    const cfgRoot = await seedProject();
    await fs.mkdir(path.join(cfgRoot, 'sub'));
    await writeJson(path.join(cfgRoot, 'peer-audit.config.json'), {});
    const r = await runCli(
      ['scan', '--kv-snapshot', '../kv-snapshot.jsonl', '--no-default-logs', '--update-baseline'],
      { cwd: path.join(cfgRoot, 'sub') },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^peer-audit: wrote \.\.\/peer-audit-baseline\.json: /);
    await fs.access(path.join(cfgRoot, 'peer-audit-baseline.json'));
  });
});

describe('--max-warnings and --quiet', () => {
  let root: string;
  beforeAll(async () => {
    root = await seedProject();
    // Only warnings: every rule the seed trips becomes a warning.
    await writeJson(path.join(root, 'peer-audit.config.json'), {
      rules: Object.fromEntries(
        [
          'false-success',
          'missing-execute-phase',
          'missing-tasks-md',
          'phase-order-violation',
          'state-inconsistency',
          'heredoc-artifact',
          'truncated-file',
          'unverified-task-completion',
          'spec-name-mismatch',
        ].map((id) => [id, 'warning']),
      ),
    });
  });

  it('more warnings than --max-warnings: exit 1 with a notice; at or under it: exit 0', async () => {
    const j = JSON.parse((await runCli(['scan', ...OFFLINE, '--format', 'json'], { cwd: root })).stdout) as Report;
    const n = j.summary.warnings;
    expect(j.summary.errors).toBe(0);
    expect(n).toBeGreaterThan(3);
    const plain = await runCli(['scan', ...OFFLINE], { cwd: root });
    expect(plain.code, plain.stderr).toBe(0);
    const over = await runCli(['scan', ...OFFLINE, '--max-warnings', String(n - 1)], { cwd: root });
    expect(over.code, over.stderr).toBe(1);
    expect(over.stderr).toBe(`peer-audit: too many warnings: ${n} (--max-warnings ${n - 1})\n`);
    const at = await runCli(['scan', ...OFFLINE, '--max-warnings', String(n)], { cwd: root });
    expect(at.code, at.stderr).toBe(0);
    const zero = await runCli(['scan', ...OFFLINE, '--max-warnings', '0', '--format', 'json'], { cwd: root });
    expect(zero.code, zero.stderr).toBe(1);
    // Accepted warnings do not count.
    await runCli(['scan', ...OFFLINE, '--update-baseline'], { cwd: root });
    const accepted = await runCli(['scan', ...OFFLINE, '--max-warnings', '0'], { cwd: root });
    expect(accepted.code, accepted.stderr).toBe(0);
    await fs.rm(path.join(root, 'peer-audit-baseline.json'));
    for (const bad of ['-1', '1.5', 'many']) {
      const r = await runCli(['scan', ...OFFLINE, '--max-warnings', bad], { cwd: root });
      expect(r.code, bad).toBe(2);
    }
  });

  it('--quiet shows errors only, and the exit code still counts everything', async () => {
    const q = await runCli(['scan', ...OFFLINE, '--quiet', '--fail-on', 'warning'], { cwd: root });
    expect(q.code, q.stderr).toBe(1);
    expect(q.stdout).not.toMatch(/^ {2}warning/m);
    expect(q.stdout).toMatch(/✖ \d+ problems \(0 errors, \d+ warnings, 0 info\)/);
    const mw = await runCli(['scan', ...OFFLINE, '-q', '--max-warnings', '0'], { cwd: root });
    expect(mw.code, mw.stderr).toBe(1);
    const loud = await runCli(['scan', ...OFFLINE, '--no-config', '--quiet'], { cwd: root });
    expect(loud.code, loud.stderr).toBe(1);
    expect(loud.stdout).toMatch(/^ {2}error/m);
    expect(loud.stdout).not.toMatch(/^ {2}warning/m);
  });
});

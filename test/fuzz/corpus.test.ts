// The corrupt-evidence corpus (fixtures/corrupt/, built by scripts/fixtures/build-corrupt.mjs, plus two 20 MB
// single lines generated here). Each case is added to a copy of the seed incident and scanned with the CLI:
// the right finding at the right place, every finding of the seed still reported, and the scan complete
// exactly when nothing was lost.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const CORPUS = path.join(REPO, 'fixtures/corrupt');
const MB20 = 20 * 1024 * 1024;

interface Loc {
  kind: string;
  path?: string;
  line?: number;
  key?: string;
  revision?: number;
}
interface Json {
  complete: boolean;
  incompleteReasons: string[];
  sources: Array<{
    kind: string;
    ok: boolean;
    stats: Record<string, number>;
    problems: Array<{ where: string; line?: number; reason: string }>;
  }>;
  findings: Array<{
    ruleId: string;
    fingerprint: string;
    evidence: Array<{ location: Loc; note?: string; excerpt: string }>;
  }>;
}

async function project(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-corpus-'));
  await fs.cp(SEED, dir, { recursive: true });
  return dir;
}

async function scan(dir: string): Promise<{ code: number | null; json: Json; stderr: string }> {
  // The corrupt keys are runs with no folder or transcript here: --all-runs audits them although they are not this project's.
  const r = await runCli(
    [
      'scan',
      '--project',
      dir,
      '--kv-snapshot',
      path.join(dir, 'kv-snapshot.jsonl'),
      '--logs',
      path.join(dir, 'logs'),
      '--all-runs',
      '--format',
      'json',
    ],
    { cwd: dir, timeoutMs: 60_000 },
  );
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return { code: r.code, json: JSON.parse(r.stdout) as Json, stderr: r.stderr };
}

/** Appends the entries of a corpus snapshot to the seed's, numbered after the seed's last revision. */
async function addSnapshot(dir: string, corpusFile: string): Promise<number> {
  const seedFile = path.join(dir, 'kv-snapshot.jsonl');
  const seedLines = (await fs.readFile(seedFile, 'utf8')).trimEnd().split('\n');
  const offset = Math.max(...seedLines.slice(1).map((l) => (JSON.parse(l) as { revision: number }).revision));
  const extra = (await fs.readFile(corpusFile))
    .toString('latin1')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => {
      try {
        const e = JSON.parse(Buffer.from(l, 'latin1').toString('utf8')) as { revision: number };
        return JSON.stringify({ ...e, revision: e.revision + offset });
      } catch {
        return Buffer.from(l, 'latin1').toString('utf8'); // a damaged line stays as it is
      }
    });
  await fs.writeFile(seedFile, [...seedLines, ...extra].join('\n') + '\n');
  return offset;
}

const where = (l: Loc) => (l.kind === 'kv' ? `${l.key}@${l.revision}` : `${l.path}:${l.line}`);

interface Case {
  name: string;
  add(dir: string): Promise<void>;
  /** rule id and place (`file:line` or `key@revision`) of the finding the damage must give; null: none. */
  finding: { ruleId: string; at: string; note?: RegExp } | null;
  /** For transcripts that must be read whole: the file, and how many records it holds. */
  readWhole?: { file: string; records: number };
  complete: boolean;
  /** A source problem the damage must be reported as (sources section). */
  problem?: { where: string; line?: number; reason: RegExp };
}

const copyLog = (name: string) => async (dir: string) =>
  fs.copyFile(path.join(CORPUS, 'logs', `${name}.jsonl`), path.join(dir, 'logs', `${name}.jsonl`));
const addKv = (name: string) => async (dir: string) =>
  void (await addSnapshot(dir, path.join(CORPUS, 'kv', `${name}.jsonl`)));
const SEED_LAST = 10; // the seed snapshot's last revision: corpus revision n becomes n + 10
const LONG_KEY = `peer.spec.long-${'n'.repeat(1000 - 'peer.spec.'.length - '.cycle.1'.length - 'long-'.length)}.cycle.1`;

/** A small transcript whose tool result is one 20 MB line (valid), or whose line 2 is 20 MB of garbage. */
async function twentyMegabytes(dir: string, valid: boolean): Promise<void> {
  const sid = valid ? 'big-valid' : 'big-garbage';
  const rec = (i: number, type: string, content: unknown) =>
    JSON.stringify({
      parentUuid: i > 1 ? `${sid}-${i - 1}` : null,
      isSidechain: false,
      sessionId: sid,
      version: '1.0.69',
      type,
      message: { role: type, content },
      uuid: `${sid}-${i}`,
      timestamp: new Date(Date.UTC(2025, 8, 2, 9, 0, i)).toISOString(),
    });
  const big = valid
    ? rec(3, 'user', [{ type: 'tool_result', tool_use_id: 'toolu_big', content: 'y'.repeat(MB20) }])
    : 'x'.repeat(MB20);
  const lines = [
    rec(1, 'user', 'Dump the table.'),
    valid
      ? rec(2, 'assistant', [{ type: 'tool_use', id: 'toolu_big', name: 'Bash', input: { command: 'cat table.csv' } }])
      : big,
    valid ? big : rec(3, 'assistant', [{ type: 'text', text: 'Dumped.' }]),
    rec(4, 'assistant', [{ type: 'text', text: 'Done: the table is above.' }]),
  ];
  await fs.writeFile(path.join(dir, 'logs', `${sid}.jsonl`), lines.join('\n') + '\n');
}

const CASES: Case[] = [
  // Damaged lines in sessions that show no PEER activity are no run's gap: they are listed among the logs source's
  // problems (file and line) and counted, and no rule judges the session.
  {
    name: 'spliced records',
    add: copyLog('spliced'),
    finding: null,
    complete: true,
    problem: { where: 'logs/spliced.jsonl', line: 3, reason: /spliced record/ },
  },
  {
    name: 'a run of NUL bytes',
    add: copyLog('nul-run'),
    finding: null,
    complete: true,
    problem: { where: 'logs/nul-run.jsonl', line: 4, reason: /NUL bytes; record recovered/ },
  },
  {
    name: 'a cut-off last line',
    add: copyLog('cut-off'),
    finding: null,
    complete: true,
    problem: { where: 'logs/cut-off.jsonl', line: 6, reason: /cut-off last line/ },
  },
  {
    name: 'invalid UTF-8',
    add: copyLog('invalid-utf8'),
    finding: null,
    complete: true,
    problem: { where: 'logs/invalid-utf8.jsonl', line: 2, reason: /invalid UTF-8/ },
  },
  {
    name: 'CRLF line ends',
    add: copyLog('crlf'),
    finding: null,
    readWhole: { file: 'logs/crlf.jsonl', records: 6 },
    complete: true,
  },
  {
    name: 'a BOM',
    add: copyLog('bom'),
    finding: null,
    readWhole: { file: 'logs/bom.jsonl', records: 6 },
    complete: true,
  },
  {
    name: 'an empty file',
    add: copyLog('empty'),
    finding: null,
    readWhole: { file: 'logs/empty.jsonl', records: 0 },
    complete: true,
  },
  // Not one line of it is a record: a transcript that could not be read, so the scan is incomplete.
  {
    name: 'a binary file named .jsonl',
    add: copyLog('binary'),
    finding: null,
    complete: false,
    problem: {
      where: 'logs/binary.jsonl',
      reason: /^cannot read logs\/binary\.jsonl: none of its 10 lines is a JSON record/,
    },
  },
  {
    name: 'a 20 MB single line (a valid record)',
    add: (d) => twentyMegabytes(d, true),
    finding: null,
    readWhole: { file: 'logs/big-valid.jsonl', records: 4 },
    complete: true,
  },
  {
    name: 'a 20 MB single line of garbage',
    add: (d) => twentyMegabytes(d, false),
    finding: null,
    complete: true,
    problem: { where: 'logs/big-garbage.jsonl', line: 2, reason: /invalid JSON/ },
  },
  {
    name: 'a KV value with raw control characters',
    add: addKv('control-chars'),
    finding: {
      ruleId: 'invalid-state-value',
      at: `peer.spec.corrupt-control-chars.cycle.1@${SEED_LAST + 2}`,
      note: /Bad control character/,
    },
    complete: true,
  },
  {
    name: 'a KV value with a trailing EOF',
    add: addKv('trailing-eof'),
    finding: {
      ruleId: 'invalid-state-value',
      at: `peer.spec.corrupt-trailing-eof.cycle.1@${SEED_LAST + 2}`,
      note: /not JSON/,
    },
    complete: true,
  },
  {
    name: 'a KV value with an extra brace',
    add: addKv('extra-brace'),
    finding: {
      ruleId: 'invalid-state-value',
      at: `peer.spec.corrupt-extra-brace.cycle.1@${SEED_LAST + 2}`,
      note: /not JSON/,
    },
    complete: true,
  },
  {
    name: 'an empty KV value',
    add: addKv('empty-value'),
    finding: {
      ruleId: 'invalid-state-value',
      at: `peer.spec.corrupt-empty-value.cycle.1@${SEED_LAST + 2}`,
      note: /value is empty/,
    },
    complete: true,
  },
  {
    name: 'a delete marker as the latest revision',
    add: addKv('delete-latest'),
    finding: {
      ruleId: 'state-inconsistency',
      at: `peer.spec.corrupt-delete-latest.cycle.1@${SEED_LAST + 3}`,
      note: /deleted/,
    },
    complete: true,
  },
  {
    name: 'a key of 1,000 characters',
    add: addKv('long-key'),
    finding: { ruleId: 'missing-execute-phase', at: `${LONG_KEY}@${SEED_LAST + 1}` },
    complete: true,
  },
  {
    name: 'a damaged snapshot line',
    add: addKv('corrupt-entry'),
    finding: { ruleId: 'state-inconsistency', at: `peer.spec.corrupt-entry.cycle.1@${SEED_LAST + 1}` },
    complete: false,
    problem: { where: 'kv-snapshot.jsonl', line: 13, reason: /corrupt entry: not JSON/ },
  },
];

describe('corrupt-evidence corpus, each case added to the seed incident', () => {
  let baseline: Json;
  beforeAll(async () => {
    const dir = await project();
    const r = await scan(dir);
    expect(r.code).toBe(1);
    baseline = r.json;
    expect(baseline.complete).toBe(true);
    expect(baseline.findings.length).toBeGreaterThanOrEqual(17);
    await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it.concurrent.each(CASES)(
    '$name',
    async (c) => {
      const dir = await project();
      await c.add(dir);
      const { code, json, stderr } = await scan(dir);

      if (c.finding) {
        const f = c.finding;
        const hits = json.findings
          .filter((x) => x.ruleId === f.ruleId)
          .flatMap((x) => x.evidence)
          .filter((e) => where(e.location) === f.at);
        expect(
          hits.length,
          `${f.ruleId} at ${f.at}; got ${json.findings
            .map((x) => `${x.ruleId} ${x.evidence.map((e) => where(e.location)).join(',')}`)
            .join(' | ')
            .slice(0, 2000)}`,
        ).toBeGreaterThan(0);
        if (f.note) expect(hits.some((e) => f.note!.test(e.note ?? ''))).toBe(true);
        // Excerpts stay short whatever the line: at most 120 characters of it, escaped (\x00 is four).
        for (const e of hits) expect(e.excerpt.length).toBeLessThanOrEqual(120 * 6);
      }
      if (c.readWhole) {
        const file = c.readWhole.file;
        expect(
          json.findings.filter((x) => x.ruleId === 'malformed-log' && x.evidence.some((e) => e.location.path === file)),
        ).toEqual([]);
        const logs = json.sources.find((s) => s.kind === 'logs')!;
        const base = baseline.sources.find((s) => s.kind === 'logs')!;
        expect(logs.stats.records - base.stats.records).toBe(c.readWhole.records);
        expect(logs.stats.files - base.stats.files).toBe(1);
        expect(logs.stats.corruptLines).toBe(base.stats.corruptLines);
      }
      if (!c.finding && c.problem) {
        // The damage is a source problem, not a finding about the session.
        const file = c.problem.where;
        expect(json.findings.filter((x) => x.evidence.some((e) => e.location.path === file))).toEqual([]);
      }
      if (c.problem) {
        const p = c.problem;
        const all = json.sources.flatMap((s) => s.problems);
        expect(
          all.some((x) => x.where.endsWith(p.where) && x.line === p.line && p.reason.test(x.reason)),
          JSON.stringify(all),
        ).toBe(true);
      }

      // The rest of the scan goes on: every finding of the seed is still there.
      const fingerprints = new Set(json.findings.map((x) => x.fingerprint));
      for (const f of baseline.findings)
        expect(fingerprints.has(f.fingerprint), `seed finding ${f.ruleId} lost`).toBe(true);
      expect(json.complete).toBe(c.complete);
      expect(code).toBe(c.complete ? 1 : 2);
      if (!c.complete)
        expect(
          stderr
            .trim()
            .split('\n')
            .every((l) => l.startsWith('peer-audit: ')),
        ).toBe(true);
      await fs.rm(dir, { recursive: true, force: true });
    },
    60_000,
  );
});

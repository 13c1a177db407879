// The Markdown incident report over the seed incident: every point of the hand-written investigation is in it,
// its structure renders, its Mermaid timeline is well-formed, and a saved JSON scan renders the same report.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { fences, ganttProblems, headings, renderHtml, visibleText } from './helpers.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const SOURCES = ['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'];

let tmp: string;
let report: string;
let text: string;
let code: number | null;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-report-'));
  const r = await runCli(['report', ...SOURCES, '-o', path.join(tmp, 'incident.md')], { cwd: SEED });
  code = r.code;
  expect(r.stdout).toBe('');
  report = await fs.readFile(path.join(tmp, 'incident.md'), 'utf8');
  text = visibleText(report);
});

/** The section of the report under a heading, up to the next heading of the same or a higher level. */
function section(title: string | RegExp, level = 2): string {
  const lines = report.split('\n');
  const hashes = '#'.repeat(level);
  const start = lines.findIndex(
    (l) => l.startsWith(`${hashes} `) && (typeof title === 'string' ? l.slice(level + 1) === title : title.test(l)),
  );
  expect(start, `heading ${title}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^#{1,${level}} `).test(l));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

describe('incident report of the seed incident (report --kv-snapshot … --logs …)', () => {
  it('exits 1 like scan (the run is broken) and titles the spec and cycle', () => {
    expect(code).toBe(1);
    expect(headings(report, 1)).toEqual(['Incident report: wal-operation-handling-fix, cycle 1']);
    expect(report).not.toMatch(/Incomplete evidence/);
  });

  // Each point of /work/shared/seed's hand-written investigation, as a reader finds it in the report.
  const POINTS: [string, RegExp[]][] = [
    [
      'what the user asked for: the /peer create-spec request of the first human turn',
      [/Asked for: “\/peer --instruction=create-spec Fix WAL template operation handling/],
    ],
    [
      'execute never ran',
      [
        /execute never ran \(no entry in any of the 5 revisions, and no peer-executor was spawned\)/,
        /The execute phase never ran/,
      ],
    ],
    ['the cycle claims complete / 100%', [/"current_phase": "complete"/, /"progress_percent": 100/, /progress 100%/]],
    ['the "Execute phase missing" notes', [/"notes": "Execute phase missing - manual completion required"/]],
    [
      'the review output lists missing_phases',
      [/"missing_phases": \["execute"\]/, /the review lists missing phases: execute/],
    ],
    [
      'spec.md has 42 lines and ends in EOF < /dev/null',
      [/spec\.md \(42 lines\)/, /spec\.md:42/, /> 42 \| EOF < \/dev\/null/],
    ],
    [
      'technical-spec.md has 14 lines and ends in EOF < /dev/null',
      [
        /sub-specs\/technical-spec\.md \(14 lines, no final newline\)/,
        /technical-spec\.md:14/,
        /> 14 \| EOF < \/dev\/null/,
      ],
    ],
    ['tasks.md is missing', [/there is no tasks\.md/, /has no tasks\.md/]],
    [
      'the meilisearch tasks are all checked',
      [/2025-07-30-meilisearch-search-endpoint\/tasks\.md has every box checked \(4 tasks, 16 subtasks\)/],
    ],
    [
      'determine-context.sh failed at line 15 and succeeded on retry at line 20',
      [
        /determine-context\.sh failed at logs\/output-peer-test-2\.jsonl:15/,
        /logs\/output-peer-test-2\.jsonl:15 “❌ Error: No spec name provided for create-spec instruction” \(succeeded on retry at logs\/output-peer-test-2\.jsonl:20 \)/,
        /succeeded on retry at line 20/,
      ],
    ],
    [
      'the failed cycle read "Could not retrieve cycle data" at line 51',
      [
        /logs\/output-peer-test-2\.jsonl:51 \("❌ Error: Could not retrieve cycle data"\)/,
        /logs\/output-peer-test-2\.jsonl:51 “❌ Error: Could not retrieve cycle data” \(never retried\)/,
      ],
    ],
    [
      'the finalize "completed successfully" at line 186',
      [
        /“✅ PEER cycle 1 completed successfully” \( logs\/output-peer-test-2\.jsonl:186 \)/,
        /logs\/output-peer-test-2\.jsonl:186 .{0,40}claims success/,
      ],
    ],
  ];
  for (const [point, patterns] of POINTS) {
    it(`states: ${point}`, () => {
      for (const p of patterns) expect(text).toMatch(p);
    });
  }

  it('summarises in a few sentences: asked, claimed, what really happened, what is missing', () => {
    const s = visibleText(section('Summary'));
    for (const label of ['Asked for:', 'Claimed:', 'What really happened:', 'Missing or damaged:'])
      expect(s).toContain(label);
    expect(s).toMatch(
      /plan completed at 16:00:14; execute never ran .*; express completed at 16:06:11; review completed at 16:09:53/,
    );
    expect(s).toMatch(
      /Missing or damaged: the execute phase of cycle 1; tasks\.md in \.agent-os\/specs\/2025-08-05-wal-operation-handling-fix/,
    );
  });

  it('groups the findings under their root cause: the skipped execute explains the false success, the missing tasks.md and the phase order', () => {
    const root = section(/^### 1\. The execute phase never ran$/, 3);
    expect(root).toContain('`missing-execute-phase` · **error**');
    const follows = /\*\*Follows from it\*\* \(\d+\): (.*)\./.exec(root)?.[1] ?? '';
    for (const id of ['false-success', 'missing-tasks-md', 'phase-order-violation', 'state-inconsistency'])
      expect(follows).toContain(`\`${id}\``);
    // The truncation follows from the heredoc residue; the failed read from reading before the write.
    expect(report).toMatch(
      /### \d\. Heredoc residue left in files[\s\S]*#### \d\.\d heredoc-artifact[\s\S]*#### \d\. → truncated-file/,
    );
    expect(report).toMatch(/### \d\. State was read before it was written[\s\S]*#### \d\. → kv-read-failure/);
    // Every finding of the scan is in the report once, by its fingerprint.
    expect(report.match(/fingerprint `[0-9a-f]{16}`/g)).toHaveLength(17);
  });

  it('cites each finding’s evidence: key@revision with the JSON there, file:line with the lines around it, log file:line with the record', () => {
    expect(report).toMatch(
      /\*\*Evidence 1\*\* · KV `peer\.spec\.wal-operation-handling-fix\.cycle\.1@9\/phases\/execute`/,
    );
    expect(report).toMatch(
      /Nothing is at `\/phases\/execute`; the value at `\/phases` instead, at revision 9:\n\n```json\n\{\n  "plan": \{/,
    );
    expect(report).toMatch(/```text\n {2}40 \| [^\n]*\n {2}41 \| [^\n]*\n> 42 \| EOF < \/dev\/null\n```/);
    expect(report).toMatch(
      /\*\*Evidence \d+\*\* · log `logs\/output-peer-test-2\.jsonl:186` · 2025-08-05 16:11:30\.712 UTC — claims success\n\n```text\n✅ PEER cycle 1 completed successfully\n```/,
    );
  });

  it('has a timeline: a Mermaid gantt chart with a well-formed grammar, a phase table and an event table from KV and the transcript', () => {
    const t = section('Timeline');
    const charts = fences(t).filter((f) => f.info === 'mermaid');
    expect(charts).toHaveLength(1);
    const chart = charts[0].content.trimEnd();
    expect(ganttProblems(chart)).toEqual([]);
    expect(chart).toContain('section Cycle 1 state');
    expect(chart).toMatch(/^ {4}plan complete :done, e\d+, 2025-08-05T15:57:02, 2025-08-05T16:00:14$/m);
    expect(chart).toMatch(/^ {4}execute never ran :crit, milestone, e\d+, 2025-08-05T16:00:14, 2025-08-05T16:00:14$/m);
    expect(chart).toMatch(
      /^ {4}success claimed \(line 186\) :crit, milestone, e\d+, 2025-08-05T16:11:30, 2025-08-05T16:11:30$/m,
    );
    expect(t).toContain('| execute | **absent** | — | — | — | — |');
    expect(t).toMatch(
      /\| 2025-08-05 16:00:48\.902 \| KV \| cycle 1 revision 3: plan absent → complete \| `peer\.spec\.wal-operation-handling-fix\.cycle\.1@3` \|/,
    );
    expect(t).toMatch(/\| 2025-08-05 16:04:10\.335 \| transcript \| peer-express spawned/);
    expect(t).toMatch(
      /\| 2025-08-05 16:10:05\.450 \| KV \| meta revision 8: cycle 1 status running → incomplete; cycle 1 notes "Execute phase missing - manual completion required" \|/,
    );
  });

  it('renders to HTML with the expected structure: one title, its sections, tables and code fences', () => {
    const html = renderHtml(report);
    expect(headings(report, 2)).toEqual([
      'Summary',
      'Timeline',
      'Cost',
      'Findings by root cause',
      'Recommendations',
      'Repairs applied',
      'Appendix: sources',
    ]);
    expect(html.match(/<table>/g)?.length).toBeGreaterThanOrEqual(3);
    expect(html).toMatch(/<th>Time \(UTC\)<\/th>\s*<th>Source<\/th>\s*<th>What happened<\/th>\s*<th>Where<\/th>/);
    expect(html).toContain('<code class="language-mermaid">gantt');
    expect(html).toContain('<code class="language-json">');
    expect(html).not.toMatch(/<script|<iframe|<img/i);
    // Every table row has as many cells as its header (no pipe from the evidence split a cell).
    const md = report.split('\n');
    md.forEach((l, i) => {
      if (!/^\|---/.test(l)) return;
      const cols = md[i - 1].split(/(?<!\\)\|/).length;
      for (let j = i + 1; j < md.length && md[j].startsWith('|'); j++)
        expect(md[j].split(/(?<!\\)\|/).length, `row ${j + 1}`).toBe(cols);
    });
  });

  it('recommends per rule, from the rule docs ("What to do")', async () => {
    const rec = section('Recommendations');
    const doc = await fs.readFile(path.join(REPO, 'rules/missing-execute-phase.md'), 'utf8');
    const todo = /## What to do\n([\s\S]*?)\n## /.exec(doc)![1].trim();
    expect(rec).toContain(todo);
    expect(headings(rec, 3)).toEqual(
      expect.arrayContaining([
        'missing-execute-phase',
        'false-success',
        'missing-tasks-md',
        'heredoc-artifact',
        'kv-read-failure',
        'script-failure',
      ]),
    );
  });

  it('lists the sources: what was read, what was skipped as corrupt, the transcripts and keys', () => {
    const a = visibleText(section('Appendix: sources'));
    expect(a).toMatch(/kv-snapshot kv-snapshot\.jsonl read 2 keys, 10 revisions, 17171 bytes/);
    expect(a).toMatch(/logs logs\/output-peer-test-2\.jsonl:188 — cut-off last line/);
    expect(a).toMatch(/peer\.spec\.wal-operation-handling-fix\.cycle\.1 : 5 revisions retained, latest 9/);
    expect(visibleText(section('Repairs applied'))).toMatch(/No repair journals were given/);
  });
});

describe('docs/reports.md', () => {
  it('quotes the seed report as it is generated (every line of its excerpt is in the report)', async () => {
    const doc = await fs.readFile(path.join(REPO, 'docs/reports.md'), 'utf8');
    const excerpt = /`````markdown\n([\s\S]*?)\n`````/.exec(doc)?.[1];
    expect(excerpt).toBeDefined();
    const lines = excerpt!.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '…');
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect(report.split('\n'), l).toContain(l);
  });
});

describe('report --from a saved scan', () => {
  it('renders the same report as scanning (the JSON carries the runs section)', async () => {
    const scan = path.join(tmp, 'scan.json');
    const s = await runCli(['scan', ...SOURCES, '--format', 'json', '-o', scan], { cwd: SEED });
    expect(s.code).toBe(1);
    const json = JSON.parse(await fs.readFile(scan, 'utf8'));
    expect(json.version).toBe(1);
    expect(json.runs.version).toBe(1);
    const run = json.runs.items.find(
      (r: { keyPrefix?: string }) => r.keyPrefix === 'peer.spec.wal-operation-handling-fix',
    );
    expect(run.request.text).toMatch(/^\/peer --instruction=create-spec Fix WAL/);
    expect(run.cycles[0].phases.map((p: { name: string; status: string }) => `${p.name}:${p.status}`)).toEqual([
      'plan:completed',
      'execute:absent',
      'express:completed',
      'review:completed',
    ]);
    expect(
      run.sessions[0].events.map((e: { kind: string; location: { line: number } }) => `${e.kind}@${e.location.line}`),
    ).toEqual(
      expect.arrayContaining([
        'request@1',
        'failed-call@15',
        'spawn@23',
        'failed-call@51',
        'spawn@70',
        'spawn@108',
        'claim@186',
        'cut-off@188',
      ]),
    );

    const r = await runCli(['report', '--from', scan], { cwd: os.tmpdir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const strip = (m: string) =>
      m
        .split('\n')
        .filter((l) => !l.startsWith('peer-audit 0.'))
        .join('\n');
    expect(strip(r.stdout)).toBe(strip(report));
    expect(r.stdout).toContain(`rendered from the saved scan \`${scan}\``);
  });

  it('renders a scan saved by an older version (no runs section), saying the timeline is missing', async () => {
    const scan = path.join(tmp, 'scan.json');
    const old = JSON.parse(await fs.readFile(scan, 'utf8'));
    delete old.runs;
    const file = path.join(tmp, 'old.json');
    await fs.writeFile(file, JSON.stringify(old));
    const r = await runCli(['report', '--from', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no runs section/);
    expect(r.stdout).toContain('This scan carries no run context');
    expect(r.stdout.match(/fingerprint `[0-9a-f]{16}`/g)).toHaveLength(17);
  });

  const BAD: [string, string, RegExp][] = [
    ['a text file', 'just some notes\n', /is not a peer-audit scan: it is not JSON/],
    ['another JSON document', '{"hello":"world"}\n', /is not a peer-audit scan: version: /],
    ['a SARIF file', '{"version":"2.1.0","runs":[]}\n', /is a SARIF file, not a peer-audit scan/],
    [
      'a future format version',
      '{"version":2,"tool":{"name":"peer-audit","version":"9.0.0"}}\n',
      /format version 2; this peer-audit reads version 1/,
    ],
    [
      'a scan with a broken finding',
      '{"version":1,"tool":{"name":"peer-audit","version":"0.1.0"},"generatedAt":"x","projectRoot":"/","bucket":"b","complete":true,"incompleteReasons":[],"sources":[],"summary":{"errors":0,"warnings":0,"infos":0},"findings":[{"ruleId":"x"}]}',
      /is not a peer-audit scan: findings\.0\.severity/,
    ],
  ];
  for (const [what, content, message] of BAD) {
    it(`refuses ${what} with a clear error and exit 2`, async () => {
      const file = path.join(tmp, `bad-${what.replace(/\W+/g, '-')}.json`);
      await fs.writeFile(file, content);
      const r = await runCli(['report', '--from', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('refuses a file that does not exist (exit 2)', async () => {
    const r = await runCli(['report', '--from', path.join(tmp, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
  });

  /** The saved seed scan, changed by `edit`, written pretty as `scan --format json` writes it. */
  const savedVariant = async (name: string, edit: (scan: Record<string, any>) => void) => {
    const scan = JSON.parse(await fs.readFile(path.join(tmp, 'scan.json'), 'utf8'));
    edit(scan);
    const file = path.join(tmp, name);
    const text = `${JSON.stringify(scan, null, 2)}\n`;
    await fs.writeFile(file, text);
    return { file, lines: text.split('\n') };
  };

  it('refuses a file cut off in the middle, naming the line and column where it ends (exit 2)', async () => {
    const text = await fs.readFile(path.join(tmp, 'scan.json'), 'utf8');
    const cut = text.slice(0, Math.floor(text.length / 2));
    const file = path.join(tmp, 'cut.json');
    await fs.writeFile(file, cut);
    const lines = cut.split('\n');
    const r = await runCli(['report', '--from', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(
      `${file} is cut off: it ends at line ${lines.length}, column ${lines.at(-1)!.length + 1}, before the JSON does`,
    );
  });

  it('refuses a finding in the middle that is not one, naming it and the line it starts at (exit 2)', async () => {
    const { file, lines } = await savedVariant('bad-finding.json', (s) => (s.findings[8].severity = 'fatal'));
    const r = await runCli(['report', '--from', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const m = /is not a peer-audit scan: findings\.8\.severity: .*\(the finding at line (\d+), column 5\)$/.exec(
      r.stderr.trim(),
    );
    expect(m, r.stderr).not.toBeNull();
    const line = Number(m![1]);
    expect(lines[line - 1]).toBe('    {');
    expect(lines.slice(0, line).filter((l) => l.includes('"ruleId":'))).toHaveLength(8);
    expect(lines[line]).toMatch(/^ {6}"ruleId": /);
  });

  it('refuses a run in the middle that is not one, naming it and the line it starts at (exit 2)', async () => {
    const { file, lines } = await savedVariant('bad-run.json', (s) => {
      s.runs.items.push(s.runs.items[0], { ...s.runs.items[0], folders: 'none' }, s.runs.items[0]);
    });
    const r = await runCli(['report', '--from', file]);
    expect(r.code).toBe(2);
    const bad = JSON.parse(await fs.readFile(file, 'utf8')).runs.items.length - 2;
    const m = new RegExp(`runs\\.items\\.${bad}\\.folders: .*\\(the run at line (\\d+), column 7\\)$`).exec(
      r.stderr.trim(),
    );
    expect(m, r.stderr).not.toBeNull();
    expect(lines[Number(m![1]) - 1]).toBe('      {');
  });

  it('refuses a file whose JSON breaks in the middle, naming the line and column (exit 2)', async () => {
    const text = await fs.readFile(path.join(tmp, 'scan.json'), 'utf8');
    const lines = text.split('\n');
    const at = lines.findIndex((l, i) => i > lines.length / 2 && l.endsWith(','));
    lines[at] = lines[at].slice(0, -1);
    const file = path.join(tmp, 'broken.json');
    await fs.writeFile(file, lines.join('\n'));
    const r = await runCli(['report', '--from', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const col = lines[at + 1].length - lines[at + 1].trimStart().length + 1;
    expect(r.stderr).toContain(
      `${file} is not a peer-audit scan: it is not valid JSON at line ${at + 2}, column ${col}`,
    );
  });
});

describe('report --journal: the repairs applied, with before and after', () => {
  it('shows a real repair journal: reason, status, and the diff of every change', async () => {
    const project = path.join(tmp, 'seed-copy');
    await fs.cp(SEED, project, { recursive: true });
    const rep = await runCli(
      [
        'repair',
        '--no-kv',
        '--logs',
        'logs',
        '--rule',
        'heredoc-artifact',
        '--apply',
        '--reason',
        'remove the heredoc residue',
        '--yes',
      ],
      { cwd: project },
    );
    expect(rep.code).toBe(0);
    const [journal] = await fs.readdir(path.join(project, '.peer-audit/journal'));
    const file = path.join(project, '.peer-audit/journal', journal);

    const r = await runCli(['report', ...SOURCES, '--journal', file, '-o', 'after.md'], { cwd: project });
    expect(r.stdout).toBe('');
    const out = await fs.readFile(path.join(project, 'after.md'), 'utf8');
    const rep2 = out.slice(out.indexOf('## Repairs applied'), out.indexOf('## Appendix'));
    expect(rep2).toContain(`### repair \`${journal.replace(/\.json$/, '')}\``);
    expect(rep2).toMatch(/reason “remove the heredoc residue”/);
    expect(rep2).toMatch(
      /\| 1 \| `\.agent-os\/specs\/2025-08-05-wal-operation-handling-fix\/spec\.md` \| applied \| file \| heredoc-artifact \|/,
    );
    const diffs = fences(rep2).filter((f) => f.info === 'diff');
    expect(diffs).toHaveLength(2);
    expect(diffs[0].content).toMatch(/^-EOF < \/dev\/null$/m);
    expect(diffs[0].content).toMatch(/^ 3\. WAL segments written before the fix replay without errors\.$/m);
    // The repaired files no longer carry the residue: the report of the repaired project says so.
    expect(out).not.toMatch(/### \d\. Heredoc residue left in files/);
  });

  it('refuses a journal that cannot be read (exit 2)', async () => {
    const bad = path.join(tmp, 'bad-journal.json');
    await fs.writeFile(bad, '{"format":"something else"}');
    const r = await runCli(['report', ...SOURCES, '--journal', bad], { cwd: SEED });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/is not a peer-audit journal/);
  });
});

describe('reports of every bundled incident', () => {
  for (const fixture of ['v2-skipped-execute', 'v2-review-rewrite', 'healthy-v1', 'healthy-v2']) {
    it(`${fixture}: one title, the seven sections, well-formed Mermaid, every finding once`, async () => {
      const dir = path.join(REPO, 'fixtures/incidents', fixture);
      const r = await runCli(['report', ...SOURCES, '--now', '2025-08-25T00:00:00Z'], { cwd: dir });
      const j = await runCli(['scan', ...SOURCES, '--now', '2025-08-25T00:00:00Z', '--format', 'json'], { cwd: dir });
      expect(r.stderr).toBe('');
      const md = r.stdout;
      const findings = JSON.parse(j.stdout).findings as { fingerprint: string }[];
      expect(headings(md, 1)).toHaveLength(1);
      expect(headings(md, 2)).toEqual([
        'Summary',
        'Timeline',
        'Cost',
        'Findings by root cause',
        'Recommendations',
        'Repairs applied',
        'Appendix: sources',
      ]);
      const charts = fences(md).filter((f) => f.info === 'mermaid');
      expect(charts.length).toBeGreaterThan(0);
      for (const c of charts) expect(ganttProblems(c.content.trimEnd())).toEqual([]);
      for (const f of findings) expect(md.split(`fingerprint \`${f.fingerprint}\``).length - 1, f.fingerprint).toBe(1);
      if (findings.length === 0) expect(headings(md, 1)[0]).toMatch(/^PEER audit: no problems found/);
    });
  }

  it('v2-skipped-execute: the pending execute is the root cause, and the summary says it never ran', async () => {
    const r = await runCli(['report', ...SOURCES, '--now', '2025-08-25T00:00:00Z'], {
      cwd: path.join(REPO, 'fixtures/incidents/v2-skipped-execute'),
    });
    expect(headings(r.stdout, 1)).toEqual(['Incident report: csv-export-endpoint, cycle 1']);
    expect(visibleText(r.stdout)).toMatch(/execute never ran : it is still pending , yet the phases after it ran/);
    expect(r.stdout).toMatch(/### 1\. The execute phase never ran[\s\S]*#### 1\. → false-success/);
  });
});

// End to end: spec folders as real projects keep them, scanned by the real CLI. PEER is optional, many folders are
// written by hand or by other tools, heredoc residue lands wherever the heredoc wrote, and a file that exists but
// cannot be read is never missing.
import { execFileSync } from 'node:child_process';
import { promises as fs, accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding, Location } from '../../src/model/types.js';
import { runCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { v2Cycle } from '../rules/state-fixtures.js';

interface ScanJson {
  complete: boolean;
  findings: Finding[];
  sources: { kind: string; ok: boolean; problems: { where: string; reason: string }[] }[];
}

type Put = [key: string, value: unknown, created?: string];

/** A snapshot file (the format `peer-audit snapshot` writes); revisions are numbered in the order given. */
async function writeSnapshot(dir: string, puts: Put[]): Promise<string> {
  const header = {
    format: 'peer-audit-kv/1',
    bucket: 'agent-os-peer-state',
    taken_at: '2025-09-30T00:00:00.000Z',
    source: null,
    server_version: '2.10.0',
    config: { history: 50, replicas: 3, ttl_ms: 0, storage: 'file', max_value_size: -1 },
  };
  const lines = [JSON.stringify(header)];
  puts.forEach(([key, value, created], i) => {
    const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    lines.push(
      JSON.stringify({
        key,
        revision: i + 1,
        operation: 'PUT',
        created: created ?? new Date(Date.UTC(2025, 8, 1, 10, 0, i)).toISOString(),
        length: bytes.length,
        value_b64: bytes.toString('base64'),
      }),
    );
  });
  const file = path.join(dir, 'kv-snapshot.jsonl');
  await fs.writeFile(file, lines.join('\n') + '\n');
  return file;
}

async function scan(project: string, puts: Put[] = [], extra: string[] = []) {
  const snapshot = await writeSnapshot(project, puts);
  const r = await runCli(
    [
      'scan',
      '--project',
      project,
      '--kv-snapshot',
      snapshot,
      '--no-default-logs',
      '--no-config',
      '--no-baseline',
      '--format',
      'json',
      ...extra,
    ],
    { cwd: project },
  );
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout) as ScanJson };
}

const loc = (l: Location) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'file'
      ? `file ${l.path}${l.line ? `:${l.line}` : ''}`
      : l.kind === 'log'
        ? `log ${l.path}:${l.line}`
        : l.kind;
/** Each finding as rule id, severity and its first evidence location, in report order. */
const rows = (fs: Finding[]) => fs.map((f) => [f.ruleId, f.severity, loc(f.evidence[0].location)]);
const specsSource = (j: ScanJson) => j.sources.find((s) => s.kind === 'specs')!;

const SPEC = [
  '# Spec Requirements Document',
  '',
  '## Overview',
  '',
  'Make it work.',
  '',
  '## User Stories',
  '',
  'As a user, I want it.',
  '',
  '## Spec Scope',
  '',
  '1. One.',
  '',
  '## Out of Scope',
  '',
  '- Two',
  '',
  '## Expected Deliverable',
  '',
  '1. Done.',
  '',
].join('\n');
const LITE = '# Spec Summary (Lite)\n\nMake it work for every user.\n';
const TECH = '# Technical Specification\n\nThe details.\n';
const ALL_DONE =
  '# Spec Tasks\n\n## Tasks\n\n- [x] 1. First\n  - [x] 1.1 Write tests\n- [x] 2. Second\n  - [x] 2.1 Write tests\n';
/** 9 tasks with 12 subtasks each, every box checked: far above create-spec's 5 tasks and 8 subtasks. */
const BIG = [
  '# Spec Tasks',
  '',
  ...Array.from({ length: 9 }, (_, t) => [
    `- [x] ${t + 1}. Task ${t + 1}`,
    ...Array.from({ length: 12 }, (_, s) => `  - [x] ${t + 1}.${s + 1} Step`),
  ]).flat(),
  '',
].join('\n');
const done4 = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' } as const;

describe('no error from absence alone', () => {
  it('an empty bucket, checked tasks, big task lists: warnings at most; a recap counts as the work shown', async () => {
    const project = await tempProject({
      '.agent-os/specs/2025-09-01-plain/spec.md': SPEC,
      '.agent-os/specs/2025-09-01-plain/spec-lite.md': LITE,
      '.agent-os/specs/2025-09-01-plain/sub-specs/technical-spec.md': TECH,
      '.agent-os/specs/2025-09-01-plain/tasks.md': ALL_DONE,
      '.agent-os/specs/2025-09-02-recapped/spec.md': SPEC,
      '.agent-os/specs/2025-09-02-recapped/tasks.md': BIG,
      '.agent-os/recaps/2025-09-02-recapped.md':
        '# Recap\n\nThis recaps what was built for the spec documented at .agent-os/specs/2025-09-02-recapped/spec.md.\n',
      '.agent-os/specs/2025-09-03-product-recap/spec.md': SPEC,
      '.agent-os/specs/2025-09-03-product-recap/tasks.md': ALL_DONE,
      '.agent-os/product/recaps/2025-09-04-product-recap-completion.md': '# Completion Recap\n\nAll tasks shipped.\n',
    });
    const r = await scan(project);
    expect(r.stderr).toBe('');
    expect(rows(r.json.findings)).toEqual([
      ['unverified-task-completion', 'warning', 'file .agent-os/specs/2025-09-01-plain/tasks.md:5'],
    ]);
    expect(r.json.findings[0].message).toContain(
      'KV has no state for plain at all, no transcripts were read, and no recap names it in .agent-os/recaps/ or .agent-os/product/recaps/',
    );
    expect(r.json.complete).toBe(true);
    expect(r.code).toBe(0);
  });

  it('the create-tasks era: 2025-08-22 for a PEER create-spec (the fork), 2025-08-18 for a folder no run produced', async () => {
    const project = await tempProject({
      '.agent-os/specs/2025-08-21-peer-spec/spec.md': SPEC,
      '.agent-os/specs/2025-08-21-peer-spec/spec-lite.md': LITE,
      '.agent-os/specs/2025-08-21-peer-spec/sub-specs/technical-spec.md': TECH,
      '.agent-os/specs/2025-08-20-plain-spec/spec.md': SPEC,
    });
    const cycle = v2Cycle('peer.spec.peer-spec', 1, 'COMPLETED', done4, { instruction_name: 'create-spec' });
    const r = await scan(project, [['peer.spec.peer-spec.cycle.1', cycle, '2025-08-21T10:20:00.000Z']]);
    const mine = r.json.findings.filter((f) =>
      [
        'missing-tasks-md',
        'missing-spec-file',
        'truncated-file',
        'task-list-anomaly',
        'unverified-task-completion',
      ].includes(f.ruleId),
    );
    expect(rows(mine)).toEqual([['missing-tasks-md', 'error', 'file .agent-os/specs/2025-08-21-peer-spec']]);
    expect(mine[0].message).toContain("and the PEER fork's create-spec before 2025-08-22 writes tasks.md");
    expect(r.code).toBe(1);
  });
});

describe("folders no PEER run produced are not judged by create-spec's template", () => {
  it('hand-written folders (no date, other headings, README.md instead of spec-lite.md): nothing above info, exit 0', async () => {
    const project = await tempProject({
      '.agent-os/specs/auth-flow/README.md': '# Auth flow\n\nHow sign-in works.\n',
      '.agent-os/specs/auth-flow/spec.md':
        '# Auth flow\n\n## Goals\n\nSign in with a link.\n\n## Design\n\nA token per link.\n',
      '.agent-os/specs/auth-flow/tasks.md': '# Tasks\n\n- [ ] 1. Token store\n',
      '.agent-os/specs/2025-09-05-half/spec.md': '# Spec Requirements Document\n\n## Overview\n\nMake half of it.\n',
      '.agent-os/specs/2025-09-05-half/spec-lite.md': LITE,
      '.agent-os/specs/2025-09-05-half/tasks.md': '# Spec Tasks\n\n- [ ] 1. Half\n',
      '.agent-os/specs/2025-07-01-old/spec.md': SPEC,
    });
    const r = await scan(project);
    expect(rows(r.json.findings)).toEqual([
      ['missing-tasks-md', 'info', 'file .agent-os/specs/2025-07-01-old'],
      ['missing-spec-file', 'info', 'file .agent-os/specs/2025-09-05-half'],
      ['truncated-file', 'info', 'file .agent-os/specs/2025-09-05-half/spec.md:3'],
    ]);
    expect(r.json.findings.every((f) => /no PEER run produced this folder/.test(f.message))).toBe(true);
    expect(r.code).toBe(0);
  });

  it('a real cut is still an error on a folder no run produced (a last line cut mid-sentence, an unclosed code fence)', async () => {
    const project = await tempProject({
      '.agent-os/specs/notes/design.md': '# Design\n\nThe service writes to the\n',
      '.agent-os/specs/notes/api.md': '# API\n\n```ts\nexport function f() {}\n',
    });
    const r = await scan(project);
    expect(rows(r.json.findings)).toEqual([
      ['truncated-file', 'error', 'file .agent-os/specs/notes/api.md:3'],
      ['truncated-file', 'error', 'file .agent-os/specs/notes/design.md:3'],
    ]);
    expect(r.code).toBe(1);
  });

  it('a transcript that ties the folder to a PEER run makes it judged: missing sections warn, a missing create-spec file is an error', async () => {
    const dir = '.agent-os/specs/2025-09-05-half-done';
    const project = await tempProject({
      [`${dir}/spec.md`]: '# Spec Requirements Document\n\n## Overview\n\nMake half of it.\n',
      [`${dir}/spec-lite.md`]: LITE,
      [`${dir}/tasks.md`]: '# Spec Tasks\n\n- [ ] 1. Half\n',
    });
    const logs = await new Transcript()
      .human('/peer --instruction=create-spec --spec=half-done')
      .task('t1', 'peer-executor', 'Created 2025-09-05-half-done')
      .write(path.join(project, 'logs'));
    const r = await scan(project, [], ['--logs', logs]);
    const mine = r.json.findings.filter((f) =>
      ['missing-spec-file', 'truncated-file', 'missing-tasks-md'].includes(f.ruleId),
    );
    expect(rows(mine)).toEqual([
      ['missing-spec-file', 'error', `file ${dir}`],
      ['truncated-file', 'warning', `file ${dir}/spec.md:3`],
    ]);
  });
});

describe('residue wherever it lands', () => {
  it('any delimiter word the file or the writing call opened; look-alikes stay quiet', async () => {
    const dir = '.agent-os/specs/2025-09-07-residue';
    const project = await tempProject({
      [`${dir}/spec.md`]: SPEC + 'EOL < /dev/null\n',
      [`${dir}/notes.md`]: '# Notes\n\nSetup ran `cat > setup.sh <<END` first.\n\nEND < /dev/null\n',
      [`${dir}/quiet.md`]: [
        '# Quiet',
        '',
        'Heredocs must not leave `EOF < /dev/null` in files.',
        "Clean up with `sed -i '/^EOF < \\/dev\\/null$/d' spec.md`.",
        'ENDSCRIPT < /dev/null',
        'eof < /dev/null',
        '',
        '```bash',
        "cat > out.txt <<'DONE'",
        'hello',
        'DONE',
        '```',
        '',
        'The end.',
        '',
      ].join('\n'),
    });
    const logs = await new Transcript()
      .bash('b1', `cat > /home/dev/app/${dir}/spec.md << 'EOL'\n${SPEC}EOL < /dev/null`, '')
      .write(path.join(project, 'logs'));
    const r = await scan(project, [], ['--logs', logs]);
    const residue = r.json.findings.filter((f) => f.ruleId === 'heredoc-artifact');
    expect(residue.map((f) => [f.severity, f.evidence.map((e) => loc(e.location))])).toEqual([
      ['error', [`file ${dir}/notes.md:5`]],
      ['error', [`file ${dir}/spec.md:22`, 'log logs/session.jsonl:1']],
    ]);
    expect(residue[1].message).toBe(
      `${dir}/spec.md:22 contains the heredoc residue "EOL < /dev/null" as the last line.`,
    );
    expect(r.code).toBe(1);
  });

  it('inside KV values: each key and pointer once, at the first revision it appears; keys outside peer. are not judged', async () => {
    const project = await tempProject({ '.agent-os/specs/2025-09-08-demo/spec.md': SPEC });
    const K = 'peer.spec.demo.cycle.1';
    const clean = v2Cycle('peer.spec.demo', 1, 'EXPRESSING', {
      plan: 'completed',
      execute: 'completed',
      express: 'in_progress',
      review: 'pending',
    });
    const dirty = structuredClone(clean) as Record<string, any>;
    dirty.phases.express.output = {
      summary: 'Delivered the spec.\nEOF < /dev/null',
      note: 'the agent once appended EOF < /dev/null to strings',
    };
    const r = await scan(project, [
      [K, clean],
      [K, dirty],
      [K, dirty],
      ['test.wrapper.validation.one', { text: 'x\nEOF < /dev/null' }],
    ]);
    const residue = r.json.findings.filter((f) => f.ruleId === 'heredoc-artifact');
    expect(residue.map((f) => [f.severity, loc(f.evidence[0].location)])).toEqual([
      ['error', `kv ${K}@2/phases/express/output/summary`],
    ]);
    expect(residue[0].message).toBe(
      `${K}/phases/express/output/summary holds the heredoc residue "EOF < /dev/null" at the end of the string (revision 2 of 3).`,
    );
  });
});

describe('evidence that could not be read is never clean', () => {
  it('a FIFO and a directory where spec files should be: the specs source is incomplete (exit 2), nothing reported missing', async () => {
    const dir = '.agent-os/specs/2025-09-09-unread';
    const project = await tempProject({ [`${dir}/spec-lite.md`]: LITE, [`${dir}/sub-specs/technical-spec.md`]: TECH });
    execFileSync('mkfifo', [path.join(project, dir, 'tasks.md')]);
    await fs.mkdir(path.join(project, dir, 'spec.md'));
    const cycle = v2Cycle('peer.spec.unread', 1, 'COMPLETED', done4, { instruction_name: 'create-spec' });
    const r = await scan(project, [['peer.spec.unread.cycle.1', cycle, '2025-08-21T10:20:00.000Z']]);
    expect(r.code).toBe(2);
    expect(r.json.complete).toBe(false);
    expect(specsSource(r.json).ok).toBe(false);
    expect(specsSource(r.json).problems).toEqual([
      { where: `${dir}/spec.md`, reason: 'a directory where a file is expected, not read' },
      { where: `${dir}/tasks.md`, reason: 'a FIFO, not opened' },
    ]);
    expect(r.json.findings.filter((f) => ['missing-spec-file', 'missing-tasks-md'].includes(f.ruleId))).toEqual([]);
  }, 30_000);

  it('a spec file without read permission (skipped when the test runs with rights that read it anyway)', async (ctx) => {
    const dir = '.agent-os/specs/2025-09-10-locked';
    const project = await tempProject({ [`${dir}/spec.md`]: SPEC, [`${dir}/tasks.md`]: ALL_DONE });
    const locked = path.join(project, dir, 'tasks.md');
    await fs.chmod(locked, 0o000);
    try {
      accessSync(locked, constants.R_OK);
      ctx.skip();
    } catch {
      /* not readable: the case to test */
    }
    const r = await scan(project);
    await fs.chmod(locked, 0o644);
    expect(r.code).toBe(2);
    expect(specsSource(r.json).problems).toEqual([{ where: `${dir}/tasks.md`, reason: 'cannot read: EACCES' }]);
    expect(r.json.findings.filter((f) => f.ruleId === 'missing-tasks-md')).toEqual([]);
  });
});

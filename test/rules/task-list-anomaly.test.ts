import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v2Cycle } from './state-fixtures.js';

const RULE = 'task-list-anomaly';
const P = 'peer.spec.demo-spec';
const F = '.agent-os/specs/2025-08-05-demo-spec';
const T = `${F}/tasks.md`;

const loc = (l: Finding['evidence'][number]['location']) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'file'
      ? `file ${l.path}${l.line ? `:${l.line}` : ''}`
      : l.kind;
const locs = (f: Finding) => f.evidence.map((e) => loc(e.location));

async function run(tasks: string, puts: Put[] = []) {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({ [T]: tasks }) }), RULE);
}

/** `- [ ] N. Task N` blocks with `subs` subtasks each; line numbers: header 3 lines, then each task 1 + subs lines. */
function list(n: number, subs: number, mark: (task: number, sub: number) => string = () => ' '): string {
  const out = ['# Spec Tasks', '', '## Tasks'];
  for (let t = 1; t <= n; t++) {
    out.push(`- [${mark(t, 0)}] ${t}. Task ${t}`);
    for (let s = 1; s <= subs; s++) out.push(`  - [${mark(t, s)}] ${t}.${s} Subtask ${t}.${s}`);
  }
  return out.join('\n') + '\n';
}

const execDone = (instruction: string) =>
  v1Cycle(
    { plan: done(), execute: done() },
    { cycle_number: 2, instruction, status: { current_phase: 'complete', progress_percent: 100 } },
  );

describe('task-list-anomaly', () => {
  // Counts over create-spec's guidance are not a failure: refine-spec adds tasks by design, and lists written by hand
  // follow their own. They are noted (info) only when the state shows a create-spec cycle wrote the list and no
  // refine-spec cycle ran after it.
  const createSpec = v2Cycle(
    P,
    1,
    'COMPLETED',
    { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
    { instruction_name: 'create-spec' },
  );
  const refine = v2Cycle(
    P,
    2,
    'COMPLETED',
    { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
    { instruction_name: 'refine-spec' },
  );

  it('notes (info) more than 5 major tasks from a create-spec cycle, citing each task over the limit and the cycle', async () => {
    const fs = await run(list(7, 2), [[`${P}.cycle.1`, createSpec]]);
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect([f.ruleId, f.severity]).toEqual([RULE, 'info']);
    expect(f.subject).toEqual({ spec: 'demo-spec', keyPrefix: P, folder: F, cycle: 1 });
    expect(locs(f)).toEqual([`file ${T}:19`, `file ${T}:22`, `kv ${P}.cycle.1@1/metadata/instruction_name`]);
    expect(f.evidence.map((e) => e.note)).toEqual([
      'task 6, over the limit of 5',
      'over the limit',
      'create-spec cycle 1 wrote the list',
    ]);
    expect(f.message).toBe(
      `${T} has 7 major tasks (14 subtasks); create-spec writes at most 5, and create-spec cycle 1 wrote it with no refine-spec cycle after it.`,
    );
  });

  it('notes (info) once per task with more than 8 subtasks, citing the task and the first subtask over the limit', async () => {
    const fs = await run(list(2, 10), [[`${P}.cycle.1`, createSpec]]);
    expect(fs.map((f) => [f.severity, f.message, locs(f)])).toEqual([
      [
        'info',
        `Task 1 in ${T} has 10 subtasks; create-spec writes at most 8 per task, and create-spec cycle 1 wrote it with no refine-spec cycle after it.`,
        [`file ${T}:4`, `file ${T}:13`, `kv ${P}.cycle.1@1/metadata/instruction_name`],
      ],
      [
        'info',
        `Task 2 in ${T} has 10 subtasks; create-spec writes at most 8 per task, and create-spec cycle 1 wrote it with no refine-spec cycle after it.`,
        [`file ${T}:15`, `file ${T}:24`, `kv ${P}.cycle.1@1/metadata/instruction_name`],
      ],
    ]);
    expect(new Set(fs.map((f) => f.fingerprint)).size).toBe(2);
  });

  it('never reports counts alone: not without state, not after refine-spec', async () => {
    expect(await run(list(9, 12))).toEqual([]);
    expect(
      await run(list(9, 12), [
        [`${P}.cycle.1`, createSpec],
        [`${P}.cycle.2`, refine],
      ]),
    ).toEqual([]);
  });

  it('after a finished execute-tasks cycle, fires on open items of a task it started that carry no blocking note', async () => {
    const tasks = list(2, 3, (t, s) => (t === 1 && s !== 3 ? 'x' : ' '));
    const fs = await run(tasks, [[`${P}.cycle.2`, execDone('execute-tasks')]]);
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.subject.cycle).toBe(2);
    expect(locs(f)).toEqual([`file ${T}:7`, `kv ${P}.cycle.2@1/instruction`, `kv ${P}.cycle.2@1/status/current_phase`]);
    expect(f.evidence[0]).toMatchObject({
      excerpt: '- [ ] 1.3 Subtask 1.3',
      note: 'unchecked, with no "⚠️ Blocking issue" note',
    });
    expect(f.message).toBe(
      `${T} has 1 unchecked task with no "⚠️ Blocking issue" note after execute-tasks cycle 2 ran to completion (in tasks it started; a task is finished or marked blocked).`,
    );
  });

  it('after complete-tasks, every open item without a blocker counts (v2 cycle)', async () => {
    const c = v2Cycle(
      P,
      3,
      'COMPLETED',
      { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
      { instruction_name: 'complete-tasks' },
    );
    const fs = await run(
      list(3, 1, (t) => (t === 1 ? 'x' : ' ')),
      [[`${P}.cycle.3`, c]],
    );
    expect(fs.map((f) => locs(f))).toEqual([
      [
        `file ${T}:6`,
        `file ${T}:7`,
        `file ${T}:8`,
        `file ${T}:9`,
        `kv ${P}.cycle.3@1/metadata/instruction_name`,
        `kv ${P}.cycle.3@1/metadata/status`,
      ],
    ]);
    expect(fs[0].message).toContain('(complete-tasks requires every task checked or marked blocked)');
  });

  it('when execute-tasks finished but nothing is checked, names the next open task', async () => {
    const fs = await run(list(2, 2), [[`${P}.cycle.2`, execDone('execute-tasks')]]);
    expect(fs.map((f) => locs(f).filter((l) => l.startsWith('file')))).toEqual([
      [`file ${T}:4`, `file ${T}:5`, `file ${T}:6`],
    ]);
    expect(fs[0].message).toContain('nothing is checked, not even the next open task');
  });

  it('is quiet within the limits, for open tasks with a blocking note, and for tasks execute-tasks did not take up', async () => {
    expect(await run(list(5, 8))).toEqual([]);
    const blocked = list(2, 3, (t, s) => (t === 1 && s < 2 ? 'x' : ' ')).replace(
      '  - [ ] 1.2 Subtask 1.2\n',
      '  - [ ] 1.2 Subtask 1.2\n    ⚠️ Blocking issue: the staging database is read-only\n',
    );
    expect(await run(blocked, [[`${P}.cycle.2`, execDone('execute-tasks')]])).toEqual([]);
    const nextOnly = list(3, 2, (t) => (t === 1 ? 'x' : ' '));
    expect(await run(nextOnly, [[`${P}.cycle.2`, execDone('execute-task')]])).toEqual([]);
  });

  it('is quiet for open tasks while the execute-tasks cycle is still running, and after create-spec only', async () => {
    const running = v1Cycle(
      { plan: done(), execute: { status: 'running', started_at: '2025-08-06T10:00:00Z' } },
      { cycle_number: 2, instruction: 'execute-tasks' },
    );
    expect(
      await run(
        list(2, 2, (t, s) => (t === 1 && s === 1 ? 'x' : ' ')),
        [[`${P}.cycle.2`, running]],
      ),
    ).toEqual([]);
    const createSpec = v1Cycle(
      { plan: done(), execute: done() },
      { status: { current_phase: 'complete', progress_percent: 100 } },
    );
    expect(await run(list(3, 4), [[`${P}.cycle.1`, createSpec]])).toEqual([]);
  });

  it('does not count struck-through items refine-spec keeps', async () => {
    const tasks = list(5, 8) + '- [x] ~~6. Obsolete task~~\n' + '  - [x] ~~6.1 Obsolete subtask~~\n';
    expect(await run(tasks)).toEqual([]);
  });
});

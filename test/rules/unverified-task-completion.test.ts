import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.js';
import type { Finding, KvData } from '../../src/model/types.js';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import { readSpecs } from '../../src/sources/specs.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'unverified-task-completion';
const P = 'peer.spec.demo-spec';
const F = '.agent-os/specs/2025-08-05-demo-spec';
const CWD = '/home/dev/app';

const loc = (l: Finding['evidence'][number]['location']) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'file'
      ? `file ${l.path}${l.line ? `:${l.line}` : ''}`
      : l.kind === 'log'
        ? `log ${l.path}:${l.line}`
        : `bucket ${l.bucket} ${l.origin}`;
const locs = (f: Finding) => f.evidence.map((e) => loc(e.location));

const ALL_DONE = [
  '# Spec Tasks',
  '',
  '## Tasks',
  '',
  '- [x] 1. Token store',
  '  - [x] 1.1 Write tests',
  '  - [x] 1.2 Verify all tests pass',
  '',
  '- [x] 2. Reset form',
  '  - [x] 2.1 Write tests',
  '',
].join('\n');
const SOME_DONE = ALL_DONE.replace('- [x] 2. Reset form', '- [ ] 2. Reset form').replace('- [x] 2.1', '- [ ] 2.1');

/** A small transcript in the Claude Code 1.0.x shape, written under <project>/logs. */
class Log {
  private recs: object[] = [];
  private rec(type: 'user' | 'assistant', content: unknown) {
    const n = this.recs.length + 1;
    this.recs.push({
      parentUuid: n > 1 ? `u${n - 1}` : null,
      isSidechain: false,
      type,
      cwd: CWD,
      sessionId: 's-2',
      version: '1.0.69',
      message: { role: type, content },
      uuid: `u${n}`,
      timestamp: new Date(Date.UTC(2025, 7, 6, 10, 0, n)).toISOString(),
    });
    return this;
  }
  human(text: string) {
    return this.rec('user', text);
  }
  tool(id: string, name: string, input: Record<string, unknown>, out = 'ok') {
    this.rec('assistant', [{ type: 'tool_use', id, name, input }]);
    return this.rec('user', [{ type: 'tool_result', tool_use_id: id, content: out, is_error: false }]);
  }
  task(id: string, agent: string, prompt: string) {
    this.rec('assistant', [
      { type: 'tool_use', id, name: 'Task', input: { description: `Run ${agent}`, subagent_type: agent, prompt } },
    ]);
    return this.rec('user', [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'done' }] }]);
  }
  async write(project: string) {
    await fsp.mkdir(path.join(project, 'logs'), { recursive: true });
    await fsp.writeFile(
      path.join(project, 'logs', 'session.jsonl'),
      this.recs.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    return (await readLogs([path.join(project, 'logs', '*.jsonl')], project)).data;
  }
}

async function scan(opts: { kv?: KvData; files: Record<string, string>; log?: Log }) {
  const project = await tempProject(opts.files);
  const logs = opts.log ? await opts.log.write(project) : undefined;
  return findingsOf(await modelOf({ kv: opts.kv, project, logs }), RULE);
}

const createSpecDone = v1Cycle(
  { plan: done(), execute: done(), express: done(), review: done() },
  { status: { current_phase: 'complete', progress_percent: 100 } },
);

describe('unverified-task-completion', () => {
  it('warns on the seed: the meilisearch tasks.md has every box checked and KV holds nothing for it (PEER is optional, so absence is no error)', async () => {
    const dir = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
    const specs = (await readSpecs({ projectRoot: dir })).data;
    const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
    const fs = await findingsOf(buildModel({ projectRoot: dir, bucket: kv.bucket, kv, specs, logs }), RULE);
    const tasks = '.agent-os/specs/2025-07-30-meilisearch-search-endpoint/tasks.md';
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.severity).toBe('warning');
    expect(f.subject).toEqual({
      spec: 'meilisearch-search-endpoint',
      folder: '.agent-os/specs/2025-07-30-meilisearch-search-endpoint',
    });
    expect(locs(f)).toEqual([
      `file ${tasks}:10`,
      `file ${tasks}:16`,
      `file ${tasks}:23`,
      `bucket agent-os-peer-state ${path.join(dir, 'kv-snapshot.jsonl')}`,
    ]);
    expect(f.evidence[0].excerpt).toBe('- [x] 1. Meilisearch client wrapper');
    expect(f.evidence[2].note).toBe('checked; 4 of 4 tasks and 16 subtasks checked in all');
    expect(f.evidence[3].excerpt).toBe('no keys under peer.spec.meilisearch-search-endpoint');
    expect(f.message).toMatch(
      new RegExp(
        `^${tasks.replace(/\./g, '\\.')} has every box checked \\(4 tasks, 16 subtasks\\), but KV has no state for meilisearch-search-endpoint at all, no transcript shows the work`,
      ),
    );
  });

  it('names the create-spec cycle when that is all the state holds for the spec (a plain /execute-tasks writes no state: a warning)', async () => {
    const fs = await scan({
      kv: kvData([
        [`${P}.meta`, v1Meta('demo-spec')],
        [`${P}.cycle.1`, createSpecDone],
      ]),
      files: { [`${F}/tasks.md`]: ALL_DONE },
    });
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual([`file ${F}/tasks.md:5`, `file ${F}/tasks.md:9`, `kv ${P}.cycle.1@2/instruction`]);
    expect(fs[0].evidence[2].note).toBe('cycle 1 runs create-spec, which does not check task boxes');
    expect(fs[0].message).toContain(
      'but no execute-tasks, execute-task or complete-tasks cycle for demo-spec is in KV (only create-spec)',
    );
    expect(fs[0].message).toContain('no transcripts were read');
  });

  it('names an execute-tasks cycle that did not run to completion', async () => {
    const c = v1Cycle(
      { plan: done(), execute: { status: 'running', started_at: '2025-08-06T10:00:00Z' } },
      { instruction: 'execute-tasks' },
    );
    const fs = await scan({ kv: kvData([[`${P}.cycle.2`, c]]), files: { [`${F}/tasks.md`]: SOME_DONE } });
    expect(fs.map((f) => [f.severity, locs(f)])).toEqual([
      ['warning', [`file ${F}/tasks.md:5`, `kv ${P}.cycle.2@1/instruction`]],
    ]);
    expect(fs[0].evidence[1].note).toBe('execute-tasks cycle 2 did not run to completion (execute running)');
    expect(fs[0].message).toContain(
      'has 3 of 5 boxes checked, but the execute-tasks cycle 2 did not run to completion',
    );
  });

  it('is an error when every box is checked and the only execute-tasks cycle in the state did not run to completion', async () => {
    const c = v1Cycle(
      { plan: done(), execute: { status: 'running', started_at: '2025-08-06T10:00:00Z' } },
      { instruction: 'execute-tasks' },
    );
    const fs = await scan({ kv: kvData([[`${P}.cycle.2`, c]]), files: { [`${F}/tasks.md`]: ALL_DONE } });
    expect(fs.map((f) => [f.severity, locs(f)])).toEqual([
      ['error', [`file ${F}/tasks.md:5`, `file ${F}/tasks.md:9`, `kv ${P}.cycle.2@1/instruction`]],
    ]);
  });

  it('takes a recap in .agent-os/recaps/ or .agent-os/product/recaps/ as the work shown', async () => {
    const recap =
      '# Recap\n\nThis recaps what was built for the spec documented at .agent-os/specs/2025-08-05-demo-spec/spec.md.\n';
    expect(
      await scan({
        kv: kvData([]),
        files: { [`${F}/tasks.md`]: ALL_DONE, '.agent-os/recaps/2025-08-05-demo-spec.md': recap },
      }),
    ).toEqual([]);
    expect(
      await scan({
        kv: kvData([]),
        files: {
          [`${F}/tasks.md`]: ALL_DONE,
          '.agent-os/product/recaps/2025-08-09-demo-spec-completion.md': '# Done\n',
        },
      }),
    ).toEqual([]);
    expect(
      await scan({
        kv: kvData([]),
        files: {
          [`${F}/tasks.md`]: ALL_DONE,
          '.agent-os/recaps/weekly.md': `# Week\n\nShipped ${F.split('/').pop()}.\n`,
        },
      }),
    ).toEqual([]);
    // A recap of another spec is not evidence for this one.
    const other = await scan({
      kv: kvData([]),
      files: { [`${F}/tasks.md`]: ALL_DONE, '.agent-os/recaps/2025-08-05-demo-spec-two.md': '# Other\n' },
    });
    expect(other.map((f) => f.severity)).toEqual(['warning']);
    expect(other[0].message).toContain('and no recap names it in .agent-os/recaps/ or .agent-os/product/recaps/');
  });

  it('still reports when KV was not scanned, as a warning that says no state was available', async () => {
    const fs = await scan({ files: { [`${F}/tasks.md`]: ALL_DONE } });
    expect(fs.map((f) => f.severity)).toEqual(['warning']);
    expect(fs[0].message).toContain('no state was available (KV was not scanned)');
    expect(locs(fs[0])).toEqual([`file ${F}/tasks.md:5`, `file ${F}/tasks.md:9`]);
  });

  it('does not take look-alikes for the work: /tmp writes, code edits in a session not about the spec, prose naming execute-tasks', async () => {
    const log = new Log()
      .human('/peer --instruction=create-spec (tasks.md will be ready for execute-tasks later)')
      .tool('t1', 'Bash', { command: `cat ${F}/spec.md` }, '# Spec')
      .tool('t2', 'Write', { file_path: '/tmp/peer_review_output.json', content: '{}' })
      .tool('t3', 'Write', { file_path: `${CWD}/.agent-os/specs/2025-08-05-demo-spec/notes.md`, content: 'x' });
    const fs = await scan({ kv: kvData([]), files: { [`${F}/tasks.md`]: ALL_DONE }, log });
    expect(fs.map((f) => f.severity)).toEqual(['warning']);
    expect(fs[0].message).toContain(
      '1 session mentions the spec; looked for a task instruction, a task subagent and edits to project code',
    );

    const other = new Log()
      .tool('e1', 'Edit', { file_path: `${CWD}/src/other.ts`, old_string: 'a', new_string: 'b' })
      .human('Now run /execute-tasks for 2025-08-05-other-spec');
    const fs2 = await scan({
      kv: kvData([]),
      files: { [`${F}/tasks.md`]: ALL_DONE, '.agent-os/specs/2025-08-05-other-spec/spec.md': '# S\n' },
      log: other,
    });
    expect(fs2.map((f) => f.subject.spec)).toEqual(['demo-spec']);
  });

  it('is quiet when an execute-tasks, execute-task or complete-tasks cycle ran to completion (v1, v2, or v1 meta)', async () => {
    const v2 = v2Cycle(
      P,
      2,
      'COMPLETED',
      { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
      { instruction_name: 'execute-tasks' },
    );
    expect(await scan({ kv: kvData([[`${P}.cycle.2`, v2]]), files: { [`${F}/tasks.md`]: ALL_DONE } })).toEqual([]);
    const v1 = v1Cycle({ plan: done(), execute: done() }, { instruction: 'execute-task' });
    expect(await scan({ kv: kvData([[`${P}.cycle.2`, v1]]), files: { [`${F}/tasks.md`]: ALL_DONE } })).toEqual([]);
    const meta = v1Meta('demo-spec', { current_cycle: 2, current_phase: 'complete' }, {});
    (meta.cycles as Record<string, unknown>)['2'] = {
      instruction: 'complete-tasks',
      status: 'complete',
      completed_at: '2025-08-06T10:00:00Z',
    };
    const c2 = v1Cycle({ plan: done() }, { cycle_number: 2, instruction: undefined });
    expect(
      await scan({
        kv: kvData([
          [`${P}.meta`, meta],
          [`${P}.cycle.2`, c2],
        ]),
        files: { [`${F}/tasks.md`]: ALL_DONE },
      }),
    ).toEqual([]);
  });

  it('is quiet when the transcript shows the work: the command, a task subagent, or code edits for the spec', async () => {
    const files = { [`${F}/tasks.md`]: ALL_DONE };
    const slash = new Log().human(`<command-name>/execute-tasks</command-name>\n<command-args>${F}</command-args>`);
    expect(await scan({ kv: kvData([]), files, log: slash })).toEqual([]);
    const spawn = new Log().task(
      'x1',
      'peer-executor',
      'Instruction: execute-tasks\nSpec name: demo-spec\nKey prefix: peer.spec.demo-spec',
    );
    expect(await scan({ kv: kvData([]), files, log: spawn })).toEqual([]);
    const edits = new Log()
      .tool('r1', 'Read', { file_path: `${CWD}/${F}/tasks.md` }, '- [ ] 1. Token store')
      .tool('w1', 'Write', { file_path: `${CWD}/src/reset.ts`, content: 'x' });
    expect(await scan({ kv: kvData([]), files, log: edits })).toEqual([]);
  });

  it('is quiet for unchecked lists and for struck-through obsolete items refine-spec keeps checked', async () => {
    const files = {
      [`${F}/tasks.md`]: ALL_DONE.replace(/\[x\]/g, '[ ]'),
      '.agent-os/specs/2025-08-05-refined/tasks.md':
        '## Tasks\n\n- [ ] 1. New approach\n- [x] ~~2. Old approach~~\n  - [x] ~~2.1 Old subtask~~\n- [x] 3. ~~Dropped~~\n',
    };
    expect(await scan({ kv: kvData([]), files })).toEqual([]);
  });
});

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, KvData, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { done, v1Cycle, v1Meta } from './state-fixtures.js';

const RULE = 'missing-user-review';
const DIR = '.agent-os/specs/2025-08-05-demo-spec';
const ASK = `I've created the spec documentation:\n\n- Spec Requirements: @${DIR}/spec.md\n\nPlease review the spec documents before I create the task breakdown.`;
const WRITE_SPEC = `cat > ${DIR}/spec.md << 'EOF'\n# Spec Requirements Document\nEOF`;
const WRITE_TASKS = `cat > ${DIR}/tasks.md << 'EOF'\n# Spec Tasks\n\n- [ ] 1. First task\nEOF`;

async function fixture(name: string) {
  const dir = path.join(REPO, 'fixtures/incidents', name);
  const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

async function scan(t: Transcript | undefined, opts: { kv?: KvData; files?: Record<string, string> } = {}) {
  const dir = await tempProject(opts.files ?? {});
  if (t) await t.write(dir);
  const logs = t ? (await readLogs([path.join(dir, '*.jsonl')], dir)).data : undefined;
  return findingsOf(await modelOf({ kv: opts.kv, project: dir, logs }), RULE);
}

const at = (l: Location) =>
  l.kind === 'log'
    ? `${l.path}:${l.line}`
    : l.kind === 'kv'
      ? `${l.key}@${l.revision}${l.pointer ?? ''}`
      : l.kind === 'file'
        ? l.path
        : l.kind;
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

describe('missing-user-review', () => {
  it('fires on the seed: the planner asks for a review at line 43 (Task result line 44) and the run goes on to express and the finalize success', async () => {
    const fs = await fixture('wal-operation-handling-fix');
    expect(fs).toHaveLength(1);
    const [f] = fs;
    const log = 'logs/output-peer-test-2.jsonl';
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
    expect(locs(f)).toEqual([`${log}:43`, `${log}:44`, `${log}:70`, `${log}:186`]);
    expect(f.evidence[0].excerpt).toBe('Please review the spec documents before I create the task breakdown.');
    expect(f.evidence.map((e) => e.note)).toEqual([
      `peer-planner (spawned at ${log}:23) asks for a review before creating the tasks`,
      'the request reaches the main agent in the Task result',
      'peer-express spawned with no user answer',
      'claims success with no user answer',
    ]);
    expect(f.message).toBe(
      `peer-planner asked for a review of the spec before the task breakdown (${log}:43) and the run went on without a user answer: peer-express spawned at line 70, success claimed at line 186; no user turn follows.`,
    );
    expect(f.subject).toMatchObject({
      spec: 'wal-operation-handling-fix',
      keyPrefix: 'peer.spec.wal-operation-handling-fix',
    });
  });

  it('does not fire on healthy-v1 (the user approves at line 60 before tasks.md is written) nor on healthy-v2 (it hands tasks to /create-tasks)', async () => {
    expect(await fixture('healthy-v1')).toEqual([]);
    expect(await fixture('healthy-v2')).toEqual([]);
  });

  it.skipIf(!existsSync(REWRITE))(
    'v2-review-rewrite: the executor writes tasks.md right after the spec files, and the state records no interaction',
    async () => {
      const fs = await fixture('v2-review-rewrite');
      expect(fs).toHaveLength(1);
      expect(locs(fs[0])).toEqual([
        'logs/agent-27c84d6c.jsonl:13',
        'logs/agent-27c84d6c.jsonl:21',
        'peer.spec.search-api-pagination.cycle.1@16/phases/execute/output/outputs/user_interactions',
        'peer.spec.search-api-pagination.cycle.1@16/phases/execute/output/outputs/files_created/4',
        '.agent-os/specs/2025-08-06-search-api-pagination/tasks.md',
      ]);
    },
  );

  it('fires when tasks.md is written after the review request with no user turn in between', async () => {
    const fs = await scan(
      new Transcript()
        .human('/peer --instruction=create-spec demo')
        .bash('w1', WRITE_SPEC, '')
        .say(ASK)
        .bash('w2', WRITE_TASKS, ''),
    );
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual(['session.jsonl:4', 'session.jsonl:5']);
    expect(fs[0].evidence[1]).toMatchObject({
      excerpt: `Bash ${DIR}/tasks.md`,
      note: 'tasks.md written with no user answer',
    });
    expect(fs[0].message).toContain('tasks.md written at line 5; no user turn follows.');
  });

  it('fires on "Would you like me to proceed with creating tasks?" followed by the next phase, and names the late user turn', async () => {
    const fs = await scan(
      new Transcript()
        .human('/peer --instruction=create-spec demo')
        .say('The spec is ready. Would you like me to proceed with creating tasks?')
        .task('x1', 'peer-express', 'Summary written.')
        .human('hm, I wanted to change the spec first'),
    );
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:3']);
    expect(fs[0].message).toContain("peer-express spawned at line 3; the user's next turn only comes at line 5.");
  });

  it('fires on tasks.md written in a create-spec run that never asked for a review', async () => {
    const fs = await scan(
      new Transcript()
        .human('/peer --instruction=create-spec demo')
        .bash('w1', WRITE_SPEC, '')
        .bash('w2', WRITE_TASKS, '')
        .say('Done.'),
    );
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:4']);
    expect(fs[0].message).toBe(
      'create-spec wrote tasks.md at session.jsonl:4 without asking for a review of the spec (written from line 2) and with no user turn in between.',
    );
  });

  it('stays quiet when the user answers before tasks.md, on hand-offs to /create-tasks, and outside create-spec', async () => {
    expect(
      await scan(
        new Transcript()
          .human('/peer --instruction=create-spec demo')
          .say(ASK)
          .human('yes, create the tasks')
          .bash('w2', WRITE_TASKS, ''),
      ),
    ).toEqual([]);
    expect(
      await scan(
        new Transcript()
          .human('/peer --instruction=create-spec demo')
          .say('Please review the spec. Once it is approved, run /create-tasks to create tasks.md.')
          .task('x1', 'peer-express', 'ok')
          .say('PEER cycle 1 completed successfully.'),
      ),
    ).toEqual([]);
    expect(
      await scan(
        new Transcript().human('/peer --instruction=execute-tasks --spec=demo-spec').bash('w2', WRITE_TASKS, ''),
      ),
    ).toEqual([]);
    // The request quoted inside a tool result (the instruction file being read) is not the agent asking.
    expect(
      await scan(
        new Transcript()
          .human('/peer --instruction=create-spec demo')
          .bash('r1', 'cat create-spec.md', ASK)
          .task('x1', 'peer-express', 'ok'),
      ),
    ).toEqual([]);
  });

  describe('with state', () => {
    const cycle = (interactions: unknown[], files: string[]) =>
      v1Cycle({
        plan: done(),
        execute: done({
          instruction_executed: 'create-spec',
          execution_status: 'success',
          outputs: { files_created: files, decisions_made: [], user_interactions: interactions },
        }),
      });
    const kv = (interactions: unknown[], files = [`${DIR}/spec.md`, `${DIR}/tasks.md`]) =>
      kvData([
        ['peer.spec.demo-spec.meta', v1Meta('demo-spec')],
        ['peer.spec.demo-spec.cycle.1', cycle(interactions, files)],
      ]);
    const files = { [`${DIR}/spec.md`]: '# Spec\n', [`${DIR}/tasks.md`]: '# Spec Tasks\n\n- [ ] 1. First task\n' };

    it('fires when the execute output records no user interaction for a create-spec that wrote tasks.md', async () => {
      const fs = await scan(undefined, { kv: kv([]), files });
      expect(fs).toHaveLength(1);
      expect(fs[0].severity).toBe('warning');
      expect(fs[0].subject).toMatchObject({ spec: 'demo-spec', cycle: 1, folder: DIR });
      expect(locs(fs[0])).toEqual([
        'peer.spec.demo-spec.cycle.1@2/phases/execute/output/outputs/user_interactions',
        'peer.spec.demo-spec.cycle.1@2/phases/execute/output/outputs/files_created/1',
        `${DIR}/tasks.md`,
      ]);
      expect(fs[0].message).toContain(
        'create-spec cycle 1 wrote tasks.md (listed in files_created) but its execute output records no user interaction',
      );
    });

    it('stays quiet with a recorded approval, or when tasks.md is neither listed nor in the folder', async () => {
      expect(
        await scan(undefined, { kv: kv([{ type: 'approval', question: 'Spec OK?', answer: 'yes' }]), files }),
      ).toEqual([]);
      expect(
        await scan(undefined, { kv: kv([], [`${DIR}/spec.md`]), files: { [`${DIR}/spec.md`]: '# Spec\n' } }),
      ).toEqual([]);
    });

    it('joins the state to the transcript finding instead of reporting twice', async () => {
      const t = new Transcript()
        .human('/peer --instruction=create-spec --spec=demo-spec')
        .say(ASK)
        .bash('w2', WRITE_TASKS, '');
      const fs = await scan(t, { kv: kv([]), files });
      expect(fs).toHaveLength(1);
      expect(locs(fs[0])).toEqual([
        'session.jsonl:2',
        'session.jsonl:3',
        'peer.spec.demo-spec.cycle.1@2/phases/execute/output/outputs/user_interactions',
        'peer.spec.demo-spec.cycle.1@2/phases/execute/output/outputs/files_created/1',
        `${DIR}/tasks.md`,
      ]);
      expect(fs[0].message).toContain('The state agrees: cycle 1 records no user interaction.');
    });
  });
});

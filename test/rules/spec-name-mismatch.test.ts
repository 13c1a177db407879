import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.js';
import type { Finding, KvData } from '../../src/model/types.js';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import { readSpecs } from '../../src/sources/specs.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'spec-name-mismatch';
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
        : l.kind;
const locs = (f: Finding) => f.evidence.map((e) => loc(e.location));

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
      sessionId: 's-3',
      version: '1.0.69',
      message: { role: type, content },
      uuid: `u${n}`,
      timestamp: new Date(Date.UTC(2025, 7, 5, 16, 0, n)).toISOString(),
    });
    return this;
  }
  say(text: string) {
    return this.rec('assistant', [{ type: 'text', text }]);
  }
  tool(id: string, name: string, input: Record<string, unknown>, out = 'ok') {
    this.rec('assistant', [{ type: 'tool_use', id, name, input }]);
    return this.rec('user', [{ type: 'tool_result', tool_use_id: id, content: out, is_error: false }]);
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

async function scan(puts: Put[], files: Record<string, string>, log?: Log, kv: KvData | undefined = kvData(puts)) {
  const project = await tempProject(files);
  const logs = log ? await log.write(project) : undefined;
  return findingsOf(await modelOf({ kv, project, logs }), RULE);
}

const finished = (spec = 'demo-spec') =>
  v1Cycle(
    { plan: done({ instruction: 'create-spec', spec_name: spec }), execute: done(), express: done(), review: done() },
    { status: { current_phase: 'complete', progress_percent: 100 } },
  );
const SPEC = { [`${F}/spec.md`]: '# Spec\n' };

describe('spec-name-mismatch', () => {
  it('fires on the seed: the plan (revision 9) and the planner text (line 43) name wal-template-operations-fix', async () => {
    const dir = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
    const specs = (await readSpecs({ projectRoot: dir })).data;
    const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
    const fs = await findingsOf(buildModel({ projectRoot: dir, bucket: kv.bucket, kv, specs, logs }), RULE);
    const key = 'peer.spec.wal-operation-handling-fix';
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect([f.ruleId, f.severity]).toEqual([RULE, 'warning']);
    expect(f.subject).toEqual({
      spec: 'wal-operation-handling-fix',
      keyPrefix: key,
      folder: '.agent-os/specs/2025-08-05-wal-operation-handling-fix',
      cycle: 1,
    });
    expect(locs(f)).toEqual([
      `kv ${key}.cycle.1@9/phases/plan/output/spec_name`,
      'log logs/output-peer-test-2.jsonl:41',
      'log logs/output-peer-test-2.jsonl:43',
      'file .agent-os/specs/2025-08-05-wal-operation-handling-fix',
    ]);
    expect(f.evidence[0].excerpt).toBe('"spec_name": "wal-template-operations-fix"');
    expect(f.evidence[2].note).toBe(`peer-planner's text names the spec "wal-template-operations-fix"`);
    expect(f.evidence[2].excerpt).toContain('for spec "wal-template-operations-fix"');
    expect(f.message).toBe(
      `${key} names the spec "wal-template-operations-fix" in the plan of cycle 1 and in the transcript (lines 41, 43), but its folder is .agent-os/specs/2025-08-05-wal-operation-handling-fix.`,
    );
  });

  it('fires when a finished cycle has no folder for its spec name, pointing at a folder from the same day', async () => {
    const K = 'peer.spec.wal-operation-handling-fix';
    const fs = await scan(
      [
        [`${K}.meta`, v1Meta('wal-operation-handling-fix')],
        [`${K}.cycle.1`, finished('wal-operation-handling-fix')],
      ],
      {
        '.agent-os/specs/2025-08-05-wal-template-operations-fix/spec.md': '# Spec\n',
      },
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].subject).toEqual({ spec: 'wal-operation-handling-fix', keyPrefix: K, cycle: 1 });
    expect(locs(fs[0])).toEqual([
      `kv ${K}.cycle.1@2/status/current_phase`,
      'file .agent-os/specs/2025-08-05-wal-template-operations-fix',
    ]);
    expect(fs[0].message).toBe(
      `No spec folder .agent-os/specs/*-wal-operation-handling-fix/ exists for ${K}, although cycle 1 (create-spec) claims to be finished; 2025-08-05-wal-template-operations-fix was created that day.`,
    );
  });

  it('shows three folders from the same day and counts the rest', async () => {
    const K = 'peer.spec.wal-operation-handling-fix';
    const folders = Object.fromEntries(
      ['a', 'b', 'c', 'd', 'e'].map((x) => [`.agent-os/specs/2025-08-05-other-${x}/spec.md`, '# Spec\n']),
    );
    const fs = await scan(
      [
        [`${K}.meta`, v1Meta('wal-operation-handling-fix')],
        [`${K}.cycle.1`, finished('wal-operation-handling-fix')],
      ],
      folders,
    );
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual([
      `kv ${K}.cycle.1@2/status/current_phase`,
      'file .agent-os/specs/2025-08-05-other-a',
      'file .agent-os/specs/2025-08-05-other-b',
      'file .agent-os/specs/2025-08-05-other-c',
    ]);
    expect(fs[0].evidence[3].note).toBe('a folder from the same day under another name; 2 more from that day');
    expect(fs[0].message).toBe(
      `No spec folder .agent-os/specs/*-wal-operation-handling-fix/ exists for ${K}, although cycle 1 (create-spec) claims to be finished; 2025-08-05-other-a, 2025-08-05-other-b, 2025-08-05-other-c and 2 more were created that day.`,
    );
  });

  it('with no folder, cites the other name the transcript wrote to', async () => {
    const K = 'peer.spec.wal-operation-handling-fix';
    const log = new Log()
      .tool('b1', 'Bash', { command: `~/.agent-os/scripts/peer/initialize-cycle.sh # ${K}` }, `key_prefix=${K}`)
      .tool('m1', 'Bash', { command: 'mkdir -p .agent-os/specs/2025-08-05-wal-template-operations-fix/sub-specs' }, '');
    const fs = await scan(
      [[`${K}.cycle.1`, finished('wal-operation-handling-fix')]],
      { '.agent-os/specs/2025-07-30-search-endpoint/spec.md': '# S\n' },
      log,
    );
    expect(fs.map((f) => [locs(f), f.message])).toEqual([
      [
        [`kv ${K}.cycle.1@1/status/current_phase`, 'log logs/session.jsonl:3'],
        `No spec folder .agent-os/specs/*-wal-operation-handling-fix/ exists for ${K}, although cycle 1 (create-spec) claims to be finished; "wal-template-operations-fix" appears in the transcript instead.`,
      ],
    ]);
    expect(fs[0].evidence[1].note).toBe('the mkdir path names .agent-os/specs/2025-08-05-wal-template-operations-fix/');
  });

  it('fires when files_created names another folder', async () => {
    const c = finished();
    (c.phases.execute as { output: unknown }).output = {
      outputs: { files_created: [`${F}/spec.md`, '.agent-os/specs/2025-08-05-demo-spec-v2/spec-lite.md'] },
    };
    const fs = await scan([[`${P}.cycle.1`, c]], SPEC);
    expect(fs.map((f) => [locs(f), f.message])).toEqual([
      [
        [`kv ${P}.cycle.1@1/phases/execute/output/outputs/files_created/1`, `file ${F}`],
        `${P} names the spec "demo-spec-v2" in the files created in cycle 1, but its folder is ${F}.`,
      ],
    ]);
  });

  it('names the folder when only the date differs', async () => {
    const c = finished();
    (c.phases.execute as { output: unknown }).output = {
      outputs: { files_created: ['.agent-os/specs/2025-08-04-demo-spec/spec.md'] },
    };
    const fs = await scan([[`${P}.cycle.1`, c]], SPEC);
    expect(fs.map((f) => f.message)).toEqual([
      `${P} names the folder .agent-os/specs/2025-08-04-demo-spec/ in the files created in cycle 1, but its folder is ${F}.`,
    ]);
  });

  it('fires on the fallback name new-feature, in a key or in the plan', async () => {
    const K = 'peer.spec.new-feature';
    const fs = await scan(
      [
        [
          `${K}.cycle.1`,
          v2Cycle(K, 1, 'EXECUTING', {
            plan: 'completed',
            execute: 'in_progress',
            express: 'pending',
            review: 'pending',
          }),
        ],
      ],
      { '.agent-os/specs/2025-08-21-new-feature/spec.md': '# S\n' },
    );
    expect(fs.map((f) => [locs(f), f.message.split(';')[0]])).toEqual([
      [
        [`kv ${K}.cycle.1@1`, 'file .agent-os/specs/2025-08-21-new-feature'],
        `${K} uses the spec name "new-feature", the fallback create-spec takes when it could not derive a name from the request`,
      ],
    ]);
    const fs2 = await scan([[`${P}.cycle.1`, finished('new-feature')]], SPEC);
    expect(fs2.map((f) => f.message)).toEqual([
      `${P} names the spec "new-feature" ("new-feature" is the fallback name) in the plan of cycle 1, but its folder is ${F}.`,
    ]);
  });

  it('fires when one key prefix matches several dated folders', async () => {
    const fs = await scan([[`${P}.cycle.1`, finished()]], {
      ...SPEC,
      '.agent-os/specs/2025-07-20-demo-spec/spec.md': '# Old\n',
    });
    expect(fs.map((f) => [locs(f), f.evidence.map((e) => e.note)])).toEqual([
      [
        ['file .agent-os/specs/2025-07-20-demo-spec', `file ${F}`],
        ['no cycle dates match this folder', 'matches cycle 1 by date'],
      ],
    ]);
    expect(fs[0].message).toBe(
      `${P} matches 2 spec folders (2025-07-20-demo-spec, 2025-08-05-demo-spec): the key has no date, so the state of different specs shares one prefix.`,
    );
  });

  it('fires on a transcript that writes the spec under another folder name', async () => {
    const log = new Log()
      .tool('b1', 'Bash', { command: `nats kv get agent-os-peer-state ${P}.cycle.1 --raw` }, '{}')
      .tool(
        'w1',
        'Write',
        { file_path: `${CWD}/.agent-os/specs/2025-08-05-demo-feature/spec.md`, content: '# Spec' },
        'File created successfully',
      );
    const fs = await scan([[`${P}.cycle.1`, finished()]], SPEC, log);
    expect(fs.map((f) => [locs(f), f.evidence[0].note])).toEqual([
      [['log logs/session.jsonl:3', `file ${F}`], 'the Write path names .agent-os/specs/2025-08-05-demo-feature/'],
    ]);
    expect(fs[0].message).toBe(
      `${P} names the spec "demo-feature" in the transcript (line 3), but its folder is ${F}.`,
    );
  });

  it('is quiet when state, folder and transcript agree, and on mentions of other specs that exist', async () => {
    const log = new Log()
      .tool('b1', 'Bash', { command: `nats kv get agent-os-peer-state ${P}.cycle.1 --raw` }, '{}')
      .tool('r1', 'Read', { file_path: `${CWD}/.agent-os/specs/2025-07-30-search-endpoint/spec.md` })
      .say('Following the layout of spec "search-endpoint" for spec "demo-spec".')
      .tool(
        'g1',
        'Bash',
        {
          command:
            'grep -rn "demo-template-fix" .agent-os/specs/ || echo "no folder or reference for demo-template-fix"',
        },
        'no folder or reference for demo-template-fix',
      )
      .say('Planned spec name demo-template-fix differs from the folder name.');
    const fs = await scan(
      [[`${P}.cycle.1`, finished()]],
      { ...SPEC, '.agent-os/specs/2025-07-30-search-endpoint/spec.md': '# S\n' },
      log,
    );
    expect(fs).toEqual([]);
  });

  it('is quiet for a name with no folder while nothing claims to be finished, or when no spec folders were found at all', async () => {
    const K = 'peer.spec.still-planning';
    const planning = v1Cycle({ plan: done({ spec_name: 'still-planning' }) });
    expect(await scan([[`${K}.cycle.1`, planning]], SPEC)).toEqual([]);
    const done1 = finished('lonely-spec');
    expect(await scan([['peer.spec.lonely-spec.cycle.1', done1]], {})).toEqual([]);
  });
});

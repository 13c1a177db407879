import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.js';
import type { Finding } from '../../src/model/types.js';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import { readSpecs } from '../../src/sources/specs.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'missing-spec-file';
const P = 'peer.spec.demo-spec';
const F = '.agent-os/specs/2025-08-05-demo-spec';

const loc = (l: Finding['evidence'][number]['location']) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'file'
      ? `file ${l.path}${l.line ? `:${l.line}` : ''}`
      : l.kind === 'log'
        ? `log ${l.path}:${l.line}`
        : `bucket ${l.bucket}`;
const locs = (f: Finding) => f.evidence.map((e) => loc(e.location));

async function run(puts: Put[], files: Record<string, string>) {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject(files) }), RULE);
}

const finishedV1 = v1Cycle(
  { plan: done(), execute: done(), express: done(), review: done() },
  { status: { current_phase: 'complete', progress_percent: 100 } },
);
const SPEC = '# Spec Requirements Document\n\n## Overview\n\nText.\n';

describe('missing-spec-file', () => {
  it('fires when a finished create-spec cycle of the spec-lite era left no spec-lite.md', async () => {
    const fs = await run([[`${P}.cycle.1`, finishedV1]], {
      [`${F}/spec.md`]: SPEC,
      [`${F}/sub-specs/technical-spec.md`]: '# Technical Specification\n',
    });
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('error');
    expect(f.subject).toEqual({ spec: 'demo-spec', keyPrefix: P, folder: F, cycle: 1 });
    expect(locs(f)).toEqual([`file ${F}`, `kv ${P}.cycle.1@1/status/current_phase`]);
    expect(f.evidence[0]).toMatchObject({
      excerpt: 'files: spec.md, sub-specs/technical-spec.md',
      note: 'no spec-lite.md in the folder',
    });
    expect(f.evidence[1].note).toBe('create-spec cycle 1 claims to be finished');
    expect(f.message).toBe(
      `${F} has no spec-lite.md, but create-spec cycle 1 (2025-08-05) claims to be finished, and create-spec from 2025-07-29 on writes spec.md, spec-lite.md and sub-specs/technical-spec.md (create-spec cycle 1 started 2025-08-05).`,
    );
  });

  it('reports each missing file once, spec.md first, with a v2 COMPLETED cycle as the claim', async () => {
    const K = 'peer.spec.oauth-login';
    const dir = '.agent-os/specs/2025-08-21-oauth-login';
    const c = v2Cycle(K, 1, 'COMPLETED', {
      plan: 'completed',
      execute: 'completed',
      express: 'completed',
      review: 'completed',
    });
    const fs = await run(
      [
        [`${K}.cycle.1`, c],
        [`${K}.cycle.current`, '1'],
      ],
      { [`${dir}/sub-specs/api-spec.md`]: '# API\n' },
    );
    expect(fs.map((f) => f.message.split(',')[0])).toEqual([
      `${dir} has no spec.md`,
      `${dir} has no spec-lite.md`,
      `${dir} has no sub-specs/technical-spec.md`,
    ]);
    expect(fs.map((f) => locs(f)[1])).toEqual(Array(3).fill(`kv ${K}.cycle.1@1/metadata/status`));
    expect(new Set(fs.map((f) => f.fingerprint)).size).toBe(3);
  });

  it('without state or transcript, only notes (info) a create-spec-shaped folder with tasks.md that lacks a file', async () => {
    // No PEER run produced the folder: it may have been written by hand or by another tool.
    const dir = '.agent-os/specs/2025-08-10-no-state';
    const fs = await run([], {
      [`${dir}/spec.md`]: SPEC,
      [`${dir}/spec-lite.md`]: '# Lite\n\nA sentence here.\n',
      [`${dir}/tasks.md`]: '# Spec Tasks\n\n- [ ] 1. Do it\n',
    });
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('info');
    expect(fs[0].message).toContain('no PEER run produced this folder, so it may follow another file set');
    expect(fs[0].subject).toEqual({ spec: 'no-state', folder: dir });
    expect(locs(fs[0])).toEqual([`file ${dir}`, `file ${dir}/tasks.md`]);
    expect(fs[0].message).toContain(
      'has no sub-specs/technical-spec.md, but the folder has tasks.md, which is written after the spec documents',
    );
  });

  it('fires for a file the execute output lists as created, even one create-spec writes only when needed', async () => {
    const K = 'peer.spec.orders-api';
    const dir = '.agent-os/specs/2025-08-21-orders-api';
    const c = v2Cycle(K, 1, 'EXPRESSING', {
      plan: 'completed',
      execute: 'completed',
      express: 'in_progress',
      review: 'pending',
    });
    (c.phases.execute as { output: unknown }).output = {
      outputs: {
        files_created: [
          `${dir}/spec.md`,
          `${dir}/spec-lite.md`,
          `${dir}/sub-specs/technical-spec.md`,
          `${dir}/sub-specs/api-spec.md`,
        ],
      },
    };
    const fs = await run([[`${K}.cycle.1`, c]], {
      [`${dir}/spec.md`]: SPEC,
      [`${dir}/spec-lite.md`]: 'x\n',
      [`${dir}/sub-specs/technical-spec.md`]: 'x\n',
    });
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual([`file ${dir}`, `kv ${K}.cycle.1@1/phases/execute/output/outputs/files_created/3`]);
    expect(fs[0].message).toBe(`${dir} has no sub-specs/api-spec.md, but the state lists it among the files created.`);
  });

  it('judges an older folder by the older create-spec: technical-spec.md yes, spec-lite.md no', async () => {
    const dir = '.agent-os/specs/2025-07-20-old-spec';
    const fs = await run([], {
      [`${dir}/spec.md`]: SPEC,
      [`${dir}/tasks.md`]: '- [ ] 1. A\n',
      [`${dir}/sub-specs/tests.md`]: '# Tests\n',
    });
    expect(fs.map((f) => f.message)).toEqual([
      `${dir} has no sub-specs/technical-spec.md, but the folder has tasks.md, which is written after the spec documents, and create-spec before 2025-07-29 writes spec.md and sub-specs/technical-spec.md (the folder date 2025-07-20); no PEER run produced this folder, so it may follow another file set.`,
    ]);
  });

  it('expects spec-lite.md from an older-looking folder once the install lag is long past', async () => {
    const dir = '.agent-os/specs/2025-09-15-late-spec';
    const fs = await run([], {
      [`${dir}/spec.md`]: SPEC,
      [`${dir}/tasks.md`]: '- [ ] 1. A\n',
      [`${dir}/sub-specs/technical-spec.md`]: 'x\n',
      [`${dir}/sub-specs/tests.md`]: 'x\n',
    });
    expect(fs.map((f) => f.evidence[0].note)).toEqual(['no spec-lite.md in the folder']);
    expect(fs[0].message).toContain(
      'create-spec from 2025-07-29 on writes spec.md, spec-lite.md and sub-specs/technical-spec.md (the folder date 2025-09-15)',
    );
  });

  it('warns instead when the file sits at another place in the folder', async () => {
    const fs = await run([[`${P}.cycle.1`, finishedV1]], {
      [`${F}/spec.md`]: SPEC,
      [`${F}/spec-lite.md`]: 'x\n',
      [`${F}/technical-spec.md`]: '# Technical Specification\n',
    });
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual([`file ${F}`, `kv ${P}.cycle.1@1/status/current_phase`, `file ${F}/technical-spec.md`]);
    expect(fs[0].message).toMatch(/^\S+ has no sub-specs\/technical-spec\.md \(there is a technical-spec\.md\), but/);
  });

  it('counts a finished execute-tasks cycle, and cites the transcript write of the missing file', async () => {
    const project = await tempProject({
      [`${F}/spec.md`]: SPEC,
      [`${F}/sub-specs/technical-spec.md`]: 'x\n',
      [`${F}/tasks.md`]: '- [x] 1. A\n',
    });
    const rec = (n: number, type: string, content: unknown) =>
      JSON.stringify({
        parentUuid: n > 1 ? `u${n - 1}` : null,
        isSidechain: false,
        type,
        cwd: project,
        sessionId: 's-9',
        version: '1.0.69',
        message: { role: type, content },
        uuid: `u${n}`,
        timestamp: `2025-08-05T16:00:0${n}.000Z`,
      });
    const { promises: fsp } = await import('node:fs');
    await fsp.mkdir(path.join(project, 'logs'));
    await fsp.writeFile(
      path.join(project, 'logs', 'session.jsonl'),
      [
        rec(1, 'user', `/peer --instruction=execute-tasks --spec=demo-spec`),
        rec(2, 'assistant', [
          {
            type: 'tool_use',
            id: 't1',
            name: 'Write',
            input: { file_path: `${project}/${F}/spec-lite.md`, content: '# Lite' },
          },
        ]),
        rec(3, 'user', [{ type: 'tool_result', tool_use_id: 't1', content: 'File created successfully' }]),
      ].join('\n') + '\n',
    );
    const logs = (await readLogs([path.join(project, 'logs', '*.jsonl')], project)).data;
    const c = v1Cycle(
      { plan: done(), execute: done() },
      { instruction: 'execute-tasks', status: { current_phase: 'complete', progress_percent: 100 } },
    );
    const fs = await findingsOf(await modelOf({ kv: kvData([[`${P}.cycle.2`, c]]), project, logs }), RULE);
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual([
      `file ${F}`,
      `kv ${P}.cycle.2@1/status/current_phase`,
      `file ${F}/tasks.md`,
      'log logs/session.jsonl:2',
    ]);
    expect(fs[0].evidence[1].note).toBe('execute-tasks cycle 2 finished; it works from the finished spec');
    expect(fs[0].message).toContain('the transcript writes it (logs/session.jsonl:2)');
  });

  it('is quiet for the older file set a few days into the new era (an installed create-spec lags the repo)', async () => {
    const dir = '.agent-os/specs/2025-07-30-search-endpoint';
    const fs = await run([], {
      [`${dir}/spec.md`]: SPEC,
      [`${dir}/tasks.md`]: '- [x] 1. A\n',
      [`${dir}/sub-specs/technical-spec.md`]: 'x\n',
      [`${dir}/sub-specs/tests.md`]: 'x\n',
    });
    expect(fs).toEqual([]);
  });

  it('is quiet for folders nobody says are finished: only spec.md and no state, or a create-spec cycle still running', async () => {
    const fs = await run(
      [
        [`peer.spec.running-spec.meta`, v1Meta('running-spec')],
        [
          'peer.spec.running-spec.cycle.1',
          v1Cycle({ plan: done(), execute: { status: 'running', started_at: '2025-08-05T16:01:00Z' } }),
        ],
      ],
      {
        '.agent-os/specs/2025-08-05-in-progress/spec.md': SPEC,
        '.agent-os/specs/2025-08-05-running-spec/spec.md': SPEC,
      },
    );
    expect(fs).toEqual([]);
  });

  it('is quiet for complete folders of both eras and for an undated folder without spec-lite.md', async () => {
    const fs = await run([[`${P}.cycle.1`, finishedV1]], {
      [`${F}/spec.md`]: SPEC,
      [`${F}/spec-lite.md`]: 'x\n',
      [`${F}/sub-specs/technical-spec.md`]: 'x\n',
      '.agent-os/specs/2025-07-01-older/spec.md': SPEC,
      '.agent-os/specs/2025-07-01-older/tasks.md': '- [ ] 1. A\n',
      '.agent-os/specs/2025-07-01-older/sub-specs/technical-spec.md': 'x\n',
      '.agent-os/specs/undated/spec.md': SPEC,
      '.agent-os/specs/undated/tasks.md': '- [ ] 1. A\n',
      '.agent-os/specs/undated/sub-specs/technical-spec.md': 'x\n',
    });
    expect(fs).toEqual([]);
  });

  it('is quiet on the seed incident: the wal folder is complete and the meilisearch folder has the older file set', async () => {
    const dir = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
    const specs = (await readSpecs({ projectRoot: dir })).data;
    const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
    const model = buildModel({ projectRoot: dir, bucket: kv.bucket, kv, specs, logs });
    expect(await findingsOf(model, RULE)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';
const kvLocs = (f: { evidence: { location: { kind: string } }[] }) =>
  f.evidence.map((e) => e.location).filter((l): l is { kind: 'kv'; key: string; revision: number; pointer?: string } => l.kind === 'kv').map((l) => `${l.key}@${l.revision}${l.pointer ?? ''}`);

async function run(puts: Put[], rule: string, files: Record<string, string> = {}) {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject(files) }), rule);
}

const completeMeta = v1Meta('demo-spec', { current_phase: 'complete' }, { status: 'complete', completed_at: '2025-08-05T16:11:30Z' });
const skipped = v1Cycle(
  { plan: done(), express: done(), review: done({ execution_status: 'incomplete', missing_phases: ['execute'], completeness: false }) },
  { completed_at: '2025-08-05T16:10:00Z', status: { current_phase: 'complete', progress_percent: 100, last_update: '2025-08-05T15:56:53Z' } },
);

describe('missing-execute-phase', () => {
  it('fires on a v1 cycle whose express and review ran without execute', async () => {
    const fs = await run([[`${P}.meta`, v1Meta('demo-spec')], [`${P}.cycle.1`, v1Cycle({ plan: done() })], [`${P}.cycle.1`, v1Cycle({ plan: done(), express: done() })], [`${P}.cycle.1`, skipped], [`${P}.meta`, completeMeta]], 'missing-execute-phase');
    expect(fs).toHaveLength(1);
    expect(fs[0].subject).toEqual({ spec: 'demo-spec', keyPrefix: P, cycle: 1 });
    expect(kvLocs(fs[0])).toEqual([`${P}.cycle.1@4/phases/execute`, `${P}.cycle.1@4/phases/express`, `${P}.cycle.1@4/phases/review`, `${P}.cycle.1@3/phases/express`]);
    expect(fs[0].message).toBe('Cycle 1 went past the execute phase but execute is absent: express and review ran, and the cycle claims to be finished.');
  });

  it('fires on a v2 cycle marked COMPLETED with execute pending', async () => {
    const fs = await run([[`${P}.cycle.1`, v2Cycle(P, 1, 'COMPLETED', { plan: 'completed', execute: 'pending', express: 'completed', review: 'completed' })], [`${P}.cycle.current`, '1']], 'missing-execute-phase');
    expect(fs.map((f) => kvLocs(f)[0])).toEqual([`${P}.cycle.1@1/phases/execute`]);
    expect(fs[0].message).toContain('execute is pending');
  });

  it('fires when the cycle only claims completion (no later phase ran)', async () => {
    const fs = await run([[`${P}.cycle.1`, v2Cycle(P, 1, 'COMPLETE', { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' })]], 'missing-execute-phase');
    expect(fs).toHaveLength(1);
    expect(kvLocs(fs[0])).toEqual([`${P}.cycle.1@1/phases/execute`, `${P}.cycle.1@1/metadata/status`]);
  });

  it('stays quiet on healthy and still-running cycles', async () => {
    const fs = await run(
      [
        [`${P}.cycle.1`, v1Cycle({ plan: done(), execute: done(), express: done(), review: done() }, { status: { current_phase: 'complete', progress_percent: 100 } })],
        ['peer.spec.running-one.cycle.1', v1Cycle({ plan: done(), execute: { status: 'running', started_at: '2025-08-05T16:01:00Z' } })],
        ['peer.spec.v2-running.cycle.1', v2Cycle('peer.spec.v2-running', 1, 'EXECUTING', { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' })],
        ['peer.spec.enum-drift.cycle.1', v2Cycle('peer.spec.enum-drift', 1, 'COMPLETED', { plan: 'complete', execute: 'COMPLETED', express: 'completed', review: 'Completed' })],
      ],
      'missing-execute-phase',
    );
    expect(fs).toEqual([]);
  });
});

describe('false-success', () => {
  it('fires with the claims and the contradictions from meta and cycle', async () => {
    const fs = await run([[`${P}.meta`, v1Meta('demo-spec')], [`${P}.cycle.1`, skipped], [`${P}.meta`, { ...completeMeta, cycles: { '1': { ...completeMeta.cycles['1'], notes: 'Execute phase missing - manual completion required' } } }]], 'false-success');
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.severity).toBe('error');
    expect(kvLocs(f)).toEqual([
      `${P}.cycle.1@2/status/current_phase`,
      `${P}.cycle.1@2/status/progress_percent`,
      `${P}.cycle.1@2/completed_at`,
      `${P}.meta@3/current_phase`,
      `${P}.meta@3/cycles/1/status`,
      `${P}.meta@3/cycles/1/completed_at`,
      `${P}.cycle.1@2/phases/execute`,
      `${P}.cycle.1@2/phases/review/output/missing_phases`,
      `${P}.cycle.1@2/phases/review/output/execution_status`,
      `${P}.cycle.1@2/phases/review/output/completeness`,
      `${P}.meta@3/cycles/1/notes`,
    ]);
    expect(f.message).toMatch(/^Cycle 1 is marked complete \(.*\) but execute is missing; the review lists missing phases: execute;/);
  });

  it('fires on a v2 COMPLETED cycle with a failed phase', async () => {
    const fs = await run([[`${P}.cycle.1`, v2Cycle(P, 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'error', review: 'completed' }, { completed_at: '2025-08-21T10:30:00Z' })]], 'false-success');
    expect(fs).toHaveLength(1);
    expect(fs[0].message).toContain('express is error');
  });

  it('v1: result.success true written by express is no claim until review completed', async () => {
    const inReview = { ...v1Cycle({ plan: done(), execute: done(), express: done() }), result: { success: true, summary: 'ok' } };
    expect(await run([[`${P}.meta`, v1Meta('demo-spec', { current_phase: 'review' })], [`${P}.cycle.1`, inReview]], 'false-success')).toEqual([]);
    // once review completed, it is a claim: a missing execute contradicts it
    const reviewed = { ...v1Cycle({ plan: done(), express: done(), review: done() }), result: { success: true, summary: 'ok' } };
    const fs = await run([[`${P}.cycle.1`, reviewed]], 'false-success');
    expect(fs.map((f) => kvLocs(f))).toEqual([[`${P}.cycle.1@1/result/success`, `${P}.cycle.1@1/phases/execute`]]);
  });

  it('is quiet for a cycle that is still running, and for a healthy one', async () => {
    const fs = await run(
      [
        [`${P}.cycle.1`, v2Cycle(P, 1, 'EXPRESSING', { plan: 'completed', execute: 'completed', express: 'in_progress', review: 'pending' })],
        ['peer.spec.good-one.cycle.1', v2Cycle('peer.spec.good-one', 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' }, { completed_at: '2025-08-21T10:30:00Z' })],
        ['peer.spec.v1-running.meta', v1Meta('v1-running', { current_phase: 'express' })],
        ['peer.spec.v1-running.cycle.1', v1Cycle({ plan: done(), execute: done() })],
      ],
      'false-success',
    );
    expect(fs).toEqual([]);
  });
});

/** A v2 cycle moved to 2025-08-23, after the PEER fork merged Agent OS 1.4.1 (its create-spec no longer writes tasks.md). */
function afterForkMerge<T>(cycle: T): T {
  return JSON.parse(JSON.stringify(cycle).replace(/2025-08-21T/g, '2025-08-23T')) as T;
}

describe('missing-tasks-md', () => {
  const folder = '.agent-os/specs/2025-08-05-demo-spec';
  const specFiles = { [`${folder}/spec.md`]: '# Spec Requirements Document\n', [`${folder}/spec-lite.md`]: '# Spec Summary (Lite)\n' };

  it('fires for a finished create-spec cycle of the era that wrote tasks.md, naming the cycle', async () => {
    const fs = await run([[`${P}.meta`, completeMeta], [`${P}.cycle.1`, skipped]], 'missing-tasks-md', specFiles);
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(fs[0].subject.cycle).toBe(1);
    expect(fs[0].evidence[0].location).toEqual({ kind: 'file', path: folder });
    expect(kvLocs(fs[0])[0]).toBe(`${P}.cycle.1@2/instruction`);
    expect(fs[0].message).toContain('create-spec cycle 1 (2025-08-05) claims to be finished');
  });

  it('fires when the state lists tasks.md among files created', async () => {
    const f2 = '.agent-os/specs/2025-08-23-demo-spec';
    const c = afterForkMerge(v2Cycle(P, 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' }));
    (c.phases.execute as { output: unknown }).output = { outputs: { files_created: [`${f2}/spec.md`, `${f2}/tasks.md`] } };
    const fs = await run([[`${P}.cycle.1`, c]], 'missing-tasks-md', { [`${f2}/spec.md`]: '# Spec\n' });
    expect(fs).toHaveLength(1);
    expect(kvLocs(fs[0])).toEqual([`${P}.cycle.1@1/phases/execute/output/outputs/files_created/1`]);
  });

  it('is quiet when tasks.md exists, for a running cycle, and for a create-spec after the review gate moved', async () => {
    // The PEER fork's create-spec stopped writing tasks.md when it merged Agent OS 1.4.1 on 2025-08-22.
    const later = '.agent-os/specs/2025-08-22-later-spec';
    const fs = await run(
      [
        [`${P}.cycle.1`, skipped],
        ['peer.spec.running-spec.cycle.1', v1Cycle({ plan: done() })],
        ['peer.spec.later-spec.cycle.1', afterForkMerge(v2Cycle('peer.spec.later-spec', 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' }))],
      ],
      'missing-tasks-md',
      {
        ...specFiles,
        [`${folder}/tasks.md`]: '# Spec Tasks\n\n## Tasks\n\n- [ ] 1. Do it\n',
        '.agent-os/specs/2025-08-05-running-spec/spec.md': '# Spec\n',
        [`${later}/spec.md`]: '# Spec\n',
      },
    );
    expect(fs).toEqual([]);
  });

  it('judges a PEER create-spec by the fork era (2025-08-22), other folders by upstream (2025-08-18)', async () => {
    const peerFolder = '.agent-os/specs/2025-08-20-peer-spec';
    const c = v2Cycle('peer.spec.peer-spec', 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' });
    const fs = await run([['peer.spec.peer-spec.cycle.1', c]], 'missing-tasks-md', {
      [`${peerFolder}/spec.md`]: '# Spec\n',
      '.agent-os/specs/2025-08-20-plain-spec/spec.md': '# Spec\n',
    });
    expect(fs.map((f) => [f.severity, f.evidence[0].location])).toEqual([['error', { kind: 'file', path: peerFolder }]]);
    expect(fs[0].message).toContain("create-spec cycle 1 (2025-08-21) claims to be finished, and the PEER fork's create-spec before 2025-08-22 writes tasks.md");
  });

  it('only notes (info) an old folder that no PEER run produced (no state, no transcript)', async () => {
    // Such a folder may have been written by hand or by another tool.
    const fs = await run([], 'missing-tasks-md', { '.agent-os/specs/2025-07-01-old-one/spec.md': '# Spec\n' });
    expect(fs.map((f) => [f.severity, f.evidence[0].location])).toEqual([['info', { kind: 'file', path: '.agent-os/specs/2025-07-01-old-one' }]]);
    expect(fs[0].message).toContain('no PEER run produced this folder');
  });
});

describe('invalid-state-value', () => {
  it('names the key, the revision and the last revision that parses', async () => {
    const good = v1Cycle({ plan: done() });
    const fs = await run(
      [
        [`${P}.cycle.1`, good],
        [`${P}.cycle.1`, '{"cycle_number":1,"phases":{"plan":{"status":"complete","output":"line1\nline2"}}}', { raw: true }],
        [`${P}.meta`, `${JSON.stringify(v1Meta('demo-spec'))}\nEOF`, { raw: true }],
        ['peer.spec.empty.cycle.1', '', { raw: true }],
        ['peer.spec.shape.cycle.1', [1, 2, 3]],
        ['peer.spec.counter.cycle.current', 'one', { raw: true }],
      ],
      'invalid-state-value',
    );
    expect(fs.map((f) => kvLocs(f).join(' '))).toEqual([
      'peer.spec.counter.cycle.current@6',
      `${P}.meta@3`,
      `${P}.cycle.1@2 ${P}.cycle.1@1`,
      'peer.spec.empty.cycle.1@4',
      'peer.spec.shape.cycle.1@5',
    ]);
    expect(fs[2].evidence[0].note).toMatch(/^value is not JSON: Bad control character/);
    expect(fs[2].evidence[0].excerpt).toContain('line1\\nline2');
    expect(fs[1].evidence[0].note).toMatch(/^value is not JSON/);
    expect(fs[3].evidence[0].note).toBe('value is empty');
    expect(fs[4].evidence[0].note).toBe('cycle value is JSON but not an object');
    expect(fs[2].message).toContain('Revision 1 is the last that parses.');
    expect(fs[1].message).toContain('No earlier revision parses.');
  });

  it('is quiet for readable values and delete markers', async () => {
    const fs = await run([[`${P}.cycle.1`, v1Cycle({})], [`${P}.cycle.current`, '1'], ['peer.spec.gone.cycle.1', '', { op: 'DEL' }]], 'invalid-state-value');
    expect(fs).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { kvLocs, stateFindings as run } from '../helpers/evidence.js';
import { completeMeta, skipped, v1Cycle, done, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';

/** A v2 cycle moved to 2025-08-23, after the PEER fork merged Agent OS 1.4.1 (its create-spec no longer writes tasks.md). */
function afterForkMerge<T>(cycle: T): T {
  return JSON.parse(JSON.stringify(cycle).replace(/2025-08-21T/g, '2025-08-23T')) as T;
}

describe('missing-tasks-md', () => {
  const folder = '.agent-os/specs/2025-08-05-demo-spec';
  const specFiles = {
    [`${folder}/spec.md`]: '# Spec Requirements Document\n',
    [`${folder}/spec-lite.md`]: '# Spec Summary (Lite)\n',
  };

  it('fires for a finished create-spec cycle of the era that wrote tasks.md, naming the cycle', async () => {
    const fs = await run(
      [
        [`${P}.meta`, completeMeta],
        [`${P}.cycle.1`, skipped],
      ],
      'missing-tasks-md',
      specFiles,
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(fs[0].subject.cycle).toBe(1);
    expect(fs[0].evidence[0].location).toEqual({ kind: 'file', path: folder });
    expect(kvLocs(fs[0])[0]).toBe(`${P}.cycle.1@2/instruction`);
    expect(fs[0].message).toContain('create-spec cycle 1 (2025-08-05) claims to be finished');
  });

  it('fires when the state lists tasks.md among files created', async () => {
    const f2 = '.agent-os/specs/2025-08-23-demo-spec';
    const c = afterForkMerge(
      v2Cycle(P, 1, 'COMPLETED', {
        plan: 'completed',
        execute: 'completed',
        express: 'completed',
        review: 'completed',
      }),
    );
    (c.phases.execute as { output: unknown }).output = {
      outputs: { files_created: [`${f2}/spec.md`, `${f2}/tasks.md`] },
    };
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
        [
          'peer.spec.later-spec.cycle.1',
          afterForkMerge(
            v2Cycle('peer.spec.later-spec', 1, 'COMPLETED', {
              plan: 'completed',
              execute: 'completed',
              express: 'completed',
              review: 'completed',
            }),
          ),
        ],
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
    const c = v2Cycle('peer.spec.peer-spec', 1, 'COMPLETED', {
      plan: 'completed',
      execute: 'completed',
      express: 'completed',
      review: 'completed',
    });
    const fs = await run([['peer.spec.peer-spec.cycle.1', c]], 'missing-tasks-md', {
      [`${peerFolder}/spec.md`]: '# Spec\n',
      '.agent-os/specs/2025-08-20-plain-spec/spec.md': '# Spec\n',
    });
    expect(fs.map((f) => [f.severity, f.evidence[0].location])).toEqual([
      ['error', { kind: 'file', path: peerFolder }],
    ]);
    expect(fs[0].message).toContain(
      "create-spec cycle 1 (2025-08-21) claims to be finished, and the PEER fork's create-spec before 2025-08-22 writes tasks.md",
    );
  });

  it('only notes (info) an old folder that no PEER run produced (no state, no transcript)', async () => {
    // Such a folder may have been written by hand or by another tool.
    const fs = await run([], 'missing-tasks-md', { '.agent-os/specs/2025-07-01-old-one/spec.md': '# Spec\n' });
    expect(fs.map((f) => [f.severity, f.evidence[0].location])).toEqual([
      ['info', { kind: 'file', path: '.agent-os/specs/2025-07-01-old-one' }],
    ]);
    expect(fs[0].message).toContain('no PEER run produced this folder');
  });
});

// missing-execute-phase: from the state alone, and what a transcript adds.
import { describe, expect, it } from 'vitest';
import { kvData, kvLocs, logFindings as findings, stateFindings as run } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { completeMeta, done, skipped, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';

describe('missing-execute-phase', () => {
  it('fires on a v1 cycle whose express and review ran without execute', async () => {
    const fs = await run(
      [
        [`${P}.meta`, v1Meta('demo-spec')],
        [`${P}.cycle.1`, v1Cycle({ plan: done() })],
        [`${P}.cycle.1`, v1Cycle({ plan: done(), express: done() })],
        [`${P}.cycle.1`, skipped],
        [`${P}.meta`, completeMeta],
      ],
      'missing-execute-phase',
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].subject).toEqual({ spec: 'demo-spec', keyPrefix: P, cycle: 1 });
    expect(kvLocs(fs[0])).toEqual([
      `${P}.cycle.1@4/phases/execute`,
      `${P}.cycle.1@4/phases/express`,
      `${P}.cycle.1@4/phases/review`,
      `${P}.cycle.1@3/phases/express`,
    ]);
    expect(fs[0].message).toBe(
      'Cycle 1 went past the execute phase but execute is absent: express and review ran, and the cycle claims to be finished.',
    );
  });

  it('fires on a v2 cycle marked COMPLETED with execute pending', async () => {
    const fs = await run(
      [
        [
          `${P}.cycle.1`,
          v2Cycle(P, 1, 'COMPLETED', {
            plan: 'completed',
            execute: 'pending',
            express: 'completed',
            review: 'completed',
          }),
        ],
        [`${P}.cycle.current`, '1'],
      ],
      'missing-execute-phase',
    );
    expect(fs.map((f) => kvLocs(f)[0])).toEqual([`${P}.cycle.1@1/phases/execute`]);
    expect(fs[0].message).toContain('execute is pending');
  });

  it('fires when the cycle only claims completion (no later phase ran)', async () => {
    const fs = await run(
      [
        [
          `${P}.cycle.1`,
          v2Cycle(P, 1, 'COMPLETE', {
            plan: 'completed',
            execute: 'in_progress',
            express: 'pending',
            review: 'pending',
          }),
        ],
      ],
      'missing-execute-phase',
    );
    expect(fs).toHaveLength(1);
    expect(kvLocs(fs[0])).toEqual([`${P}.cycle.1@1/phases/execute`, `${P}.cycle.1@1/metadata/status`]);
  });

  it('stays quiet on healthy and still-running cycles', async () => {
    const fs = await run(
      [
        [
          `${P}.cycle.1`,
          v1Cycle(
            { plan: done(), execute: done(), express: done(), review: done() },
            { status: { current_phase: 'complete', progress_percent: 100 } },
          ),
        ],
        [
          'peer.spec.running-one.cycle.1',
          v1Cycle({ plan: done(), execute: { status: 'running', started_at: '2025-08-05T16:01:00Z' } }),
        ],
        [
          'peer.spec.v2-running.cycle.1',
          v2Cycle('peer.spec.v2-running', 1, 'EXECUTING', {
            plan: 'completed',
            execute: 'in_progress',
            express: 'pending',
            review: 'pending',
          }),
        ],
        [
          'peer.spec.enum-drift.cycle.1',
          v2Cycle('peer.spec.enum-drift', 1, 'COMPLETED', {
            plan: 'complete',
            execute: 'COMPLETED',
            express: 'completed',
            review: 'Completed',
          }),
        ],
      ],
      'missing-execute-phase',
    );
    expect(fs).toEqual([]);
  });
});

describe('missing-execute-phase with a transcript', () => {
  const kv = () =>
    kvData([
      ['peer.spec.demo-spec.meta', v1Meta('demo-spec', { current_phase: 'review' })],
      ['peer.spec.demo-spec.cycle.1', v1Cycle({ plan: done(), express: done() })],
    ]);

  it('says the executor was spawned but never returned', async () => {
    const dir = await new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('e1', 'peer-executor')
      .task('x1', 'peer-express', 'ok')
      .write();
    const fs2 = await findings(dir, 'missing-execute-phase', kv());
    expect(fs2).toHaveLength(1);
    expect(fs2[0].message).toBe(
      'Cycle 1 went past the execute phase but execute is absent: express ran. The transcript spawns peer-executor, but it never returned.',
    );
    expect(
      fs2[0].evidence
        .filter((e) => e.location.kind === 'log')
        .map((e) => [(e.location as { line: number }).line, e.note]),
    ).toEqual([[3, 'peer-executor spawned']]);
  });

  it('adds nothing from a transcript where the executor returned', async () => {
    const dir = await new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('e1', 'peer-executor', 'executed')
      .task('x1', 'peer-express', 'ok')
      .write();
    const fs2 = await findings(dir, 'missing-execute-phase', kv());
    expect(fs2[0].evidence.every((e) => e.location.kind === 'kv')).toBe(true);
  });
});

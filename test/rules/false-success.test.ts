// false-success: claims in the state contradicted by the state, and claims in a transcript contradicted by it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { findingsOf, kvLocs, logFindings as findings, modelOf, stateFindings as run } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { completeMeta, skipped, v1Cycle, v1Meta, done, v2Cycle } from './state-fixtures.js';

const COMPOSED = fileURLToPath(new URL('../fixtures-logs/composed/', import.meta.url));
const GET = 'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw';

const P = 'peer.spec.demo-spec';

describe('false-success', () => {
  it('fires with the claims and the contradictions from meta and cycle', async () => {
    const fs = await run(
      [
        [`${P}.meta`, v1Meta('demo-spec')],
        [`${P}.cycle.1`, skipped],
        [
          `${P}.meta`,
          {
            ...completeMeta,
            cycles: {
              '1': { ...completeMeta.cycles['1'], notes: 'Execute phase missing - manual completion required' },
            },
          },
        ],
      ],
      'false-success',
    );
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
    expect(f.message).toMatch(
      /^Cycle 1 is marked complete \(.*\) but execute is missing; the review lists missing phases: execute;/,
    );
  });

  it('fires on a v2 COMPLETED cycle with a failed phase', async () => {
    const fs = await run(
      [
        [
          `${P}.cycle.1`,
          v2Cycle(
            P,
            1,
            'COMPLETED',
            { plan: 'completed', execute: 'completed', express: 'error', review: 'completed' },
            { completed_at: '2025-08-21T10:30:00Z' },
          ),
        ],
      ],
      'false-success',
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].message).toContain('express is error');
  });

  it('v1: result.success true written by express is no claim until review completed', async () => {
    const inReview = {
      ...v1Cycle({ plan: done(), execute: done(), express: done() }),
      result: { success: true, summary: 'ok' },
    };
    expect(
      await run(
        [
          [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'review' })],
          [`${P}.cycle.1`, inReview],
        ],
        'false-success',
      ),
    ).toEqual([]);
    // once review completed, it is a claim: a missing execute contradicts it
    const reviewed = {
      ...v1Cycle({ plan: done(), express: done(), review: done() }),
      result: { success: true, summary: 'ok' },
    };
    const fs = await run([[`${P}.cycle.1`, reviewed]], 'false-success');
    expect(fs.map((f) => kvLocs(f))).toEqual([[`${P}.cycle.1@1/result/success`, `${P}.cycle.1@1/phases/execute`]]);
  });

  it('is quiet for a cycle that is still running, and for a healthy one', async () => {
    const fs = await run(
      [
        [
          `${P}.cycle.1`,
          v2Cycle(P, 1, 'EXPRESSING', {
            plan: 'completed',
            execute: 'completed',
            express: 'in_progress',
            review: 'pending',
          }),
        ],
        [
          'peer.spec.good-one.cycle.1',
          v2Cycle(
            'peer.spec.good-one',
            1,
            'COMPLETED',
            { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
            { completed_at: '2025-08-21T10:30:00Z' },
          ),
        ],
        ['peer.spec.v1-running.meta', v1Meta('v1-running', { current_phase: 'express' })],
        ['peer.spec.v1-running.cycle.1', v1Cycle({ plan: done(), execute: done() })],
      ],
      'false-success',
    );
    expect(fs).toEqual([]);
  });
});

describe('false-success in a transcript', () => {
  it('fires on the composed example: a failed state read, then "completed successfully"', async () => {
    const logs = (
      await readLogs([path.join(COMPOSED, 'main.jsonl'), path.join(COMPOSED, 'agent-a4f09c2.jsonl')], COMPOSED)
    ).data;
    const fs2 = await findingsOf(await modelOf({ project: COMPOSED, logs }), 'false-success');
    expect(fs2).toHaveLength(1);
    expect(fs2[0].subject).toEqual({ session: '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35' });
    expect(
      fs2[0].evidence.map((e) => [
        e.location.kind,
        (e.location as { path: string }).path,
        (e.location as { line: number }).line,
        e.note,
      ]),
    ).toEqual([
      ['log', 'agent-a4f09c2.jsonl', 3, 'state read failed (peer.spec.x.cycle.1) and was never retried'],
      ['log', 'main.jsonl', 4, 'peer-planner spawned; peer-executor, peer-express and peer-review never were'],
      ['log', 'main.jsonl', 7, 'claims success'],
    ]);
    // only the planner was spawned: the other phases cannot have completed
    expect(fs2[0].message).toContain(
      'peer-executor, peer-express and peer-review were never spawned (the run spawned only peer-planner)',
    );
  });

  it('fires on a stream-json result of subtype success after a failed read', async () => {
    const logs = (await readLogs([path.join(COMPOSED, 'stream-json.jsonl')], COMPOSED)).data;
    const fs2 = await findingsOf(await modelOf({ project: COMPOSED, logs }), 'false-success');
    expect(fs2.map((f) => f.evidence.map((e) => `${(e.location as { line: number }).line} ${e.note}`))).toEqual([
      ['4 state read failed (peer.spec.x.cycle.1) and was never retried', '5 claims success'],
    ]);
  });

  it('stays quiet when the failed read was retried successfully before the claim', async () => {
    const dir = await new Transcript()
      .human('/peer --continue')
      .bash('t1', GET, 'nats: error: nats: key not found', true)
      .bash('t2', GET, '{"phases":{}}')
      .say('PEER cycle 1 completed successfully')
      .write();
    expect(await findings(dir, 'false-success')).toEqual([]);
  });

  it('stays quiet when the claim comes before the failure, or nothing is claimed', async () => {
    const dir = await new Transcript()
      .say('PEER cycle 1 completed successfully')
      .bash('t1', GET, 'nats: error: timeout', true)
      .write();
    expect(await findings(dir, 'false-success')).toEqual([]);
    const dir2 = await new Transcript()
      .bash('t1', GET, 'nats: error: timeout', true)
      .say('The read failed; stopping here.')
      .write();
    expect(await findings(dir2, 'false-success')).toEqual([]);
  });

  it('fires on a skipped executor in the transcript alone, naming the express spawn', async () => {
    const dir = await new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('x1', 'peer-express', 'expressed')
      .task('r1', 'peer-review', 'reviewed')
      .bash(
        'f1',
        '~/.agent-os/scripts/peer/finalize-cycle.sh',
        '🏁 Finalizing PEER cycle...\n✅ PEER cycle 1 completed successfully',
      )
      .write();
    const fs2 = await findings(dir, 'false-success');
    expect(fs2.map((f) => f.evidence.map((e) => `${(e.location as { line: number }).line} ${e.note}`))).toEqual([
      ['3 peer-express ran, but peer-executor was never spawned', '8 claims success'],
    ]);
  });
});

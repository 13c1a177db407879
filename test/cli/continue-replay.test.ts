// `/peer --continue` replayed (test/helpers/peer-continue.ts) on the broken runs as they are, before any repair:
// what the real logic does with them today. Real nats-server, state read back with `peer-audit snapshot`.
import { afterEach, describe, expect, it } from 'vitest';
import {
  rescan,
  replayContinue,
  scenario,
  trace,
  V1_ERROR,
  V1_SEED,
  V2_ERROR,
  V2_SEED,
  V2_STUCK,
  type Scenario,
} from './continue-replay.helpers.js';

let s: Scenario | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe('--continue on the unrepaired state', () => {
  it('v1 seed: the case refuses "already complete" (L309-313); execute never runs, and the state claims completion', async () => {
    s = await scenario(V1_SEED);
    const r = await replayContinue(s);
    expect([r.outcome, r.message, r.ran], trace(r)).toEqual(['refused', 'This cycle is already complete', []]);
    expect(r.readings.steps).toMatchObject({ outcome: 'refused', message: 'This cycle is already complete' });
    expect(r.writes).toEqual([]);
    expect(r.earlyClaims.map((c) => `${c.key} ${c.pointer}`)).toEqual(
      expect.arrayContaining([
        `${s.prefix}.meta /current_phase`,
        `${s.prefix}.meta /cycles/1/status`,
        `${s.prefix}.cycle.1 /status/current_phase`,
      ]),
    );
    // The rescan of the state after --continue sees what is wrong (it is not clean by construction).
    const after = await rescan(s, r);
    expect(after.code).toBe(1);
    expect(after.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^false-success error cycle 1: /)]));
  });

  it('v1 failed execute: the two readings of current_phase "execute" disagree; the case skips execute', async () => {
    s = await scenario(V1_ERROR);
    const r = await replayContinue(s);
    expect(r.readings.case.ran, trace(r)).toEqual(['express', 'review']);
    expect(r.readings.steps.ran).toEqual(['execute', 'express', 'review']);
    // The executor resumes (Step 4 writes /tmp/partial_execution.json, executor L64-91), then the lib's writes.
    expect(r.writes.map((w) => w.step)).toEqual([
      'executorResume',
      'v1.executorUpdateProgress',
      'v1.executorFinalizeExecution',
      'v1.coordinatorUpdateMetaPhase (express)',
      'v1.expressStoreOutput',
      'v1.expressStoreResult',
      'v1.coordinatorUpdateMetaPhase (review)',
      'v1.reviewStoreCycle',
      'v1.reviewStoreMeta',
      'v1.coordinatorFinalizeCycle (meta)',
      'v1.coordinatorFinalizeCycle (cycle)',
    ]);
  });

  it('v2 skipped execute: COMPLETED, so "No incomplete cycle found to continue" (L196-199)', async () => {
    s = await scenario(V2_SEED);
    const r = await replayContinue(s);
    expect([r.outcome, r.message, r.ran], trace(r)).toEqual(['refused', 'No incomplete cycle found to continue', []]);
  });

  it('v2 recorded execute error: the executor refuses status ERROR (peer-executor.md L109-114)', async () => {
    s = await scenario(V2_ERROR);
    const r = await replayContinue(s);
    expect([r.outcome, r.message, r.ran], trace(r)).toEqual([
      'stopped',
      'Execution not allowed in current status: ERROR',
      [],
    ]);
    expect(r.readings.firstIncomplete).toEqual(r.readings.lastCompleted);
  });

  it('v2 execute stuck in_progress (the error write never landed): --continue already runs execute, express, review; rescan clean', async () => {
    s = await scenario(V2_STUCK);
    const r = await replayContinue(s);
    expect([r.outcome, r.ran, r.skipped], trace(r)).toEqual(['finished', ['execute', 'express', 'review'], []]);
    expect(r.readings.firstIncomplete).toEqual(r.readings.lastCompleted);
    expect(r.earlyClaims).toEqual([]);
    expect(r.writes.map((w) => w.step)).toEqual([
      'v2.executorMarkInProgress',
      'v2.executorStoreResults',
      'v2.expressUpdateState',
      'v2.reviewUpdateState',
      'v2.coordinatorFinalizeCycle',
    ]);
    const after = await rescan(s, r);
    expect([after.code, after.complete, after.problems], after.stderr).toEqual([0, true, []]);
  });
});

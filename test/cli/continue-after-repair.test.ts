// After `repair --apply` or `reopen --apply`, the real `/peer --continue` (replayed by test/helpers/peer-continue.ts on
// the state the CLI wrote to a real nats-server) must run execute and then express and review, both readings of
// the fork must agree, nothing may claim completion before review completes, and the state after the run must
// scan clean. The broken runs: the skipped execute of the seed incidents (v1, v2) and a failed execute (v1 recorded
// error; v2 recorded ERROR; v2 error write lost, execute left in_progress).
import { afterEach, describe, expect, it } from 'vitest';
import {
  CASES,
  repair,
  reopen,
  rescan,
  replayContinue,
  scenario,
  trace,
  type Scenario,
} from './continue-replay.helpers.js';
import type { ContinueResult } from '../helpers/peer-continue.js';

let s: Scenario | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

function agree(r: ContinueResult) {
  const [a, b] = Object.values(r.readings);
  expect.soft(a, `the fork's two readings differ\n${trace(r)}`).toEqual(b);
}

async function resumesAtExecuteAndRescansClean(r: ContinueResult) {
  // Soft assertions: a failing run reports every point it misses, not only the first.
  expect.soft([r.outcome, r.message], trace(r)).toEqual(['finished', undefined]);
  // execute runs, and express and review after it.
  expect.soft(r.ran, trace(r)).toEqual(['execute', 'express', 'review']);
  agree(r);
  expect.soft(r.earlyClaims, trace(r)).toEqual([]);
  const after = await rescan(s!, r);
  // Any info that remains is the record of the repair or reopen itself ("Known: recorded by peer-audit …").
  expect([after.code, after.complete, after.problems], `${after.stderr}\ninfos: ${after.infos.join('\n')}`).toEqual([
    0,
    true,
    [],
  ]);
  return after;
}

describe.each(CASES)('$name', (c) => {
  it('repair --apply, then /peer --continue runs execute, express, review; nothing claims completion early; rescan clean', async () => {
    s = await scenario(c);
    const fixed = await repair(s);
    expect(fixed.code, fixed.stderr).toBe(0);
    const r = await replayContinue(s);
    // repair rewrites the cycle in place: --continue works on the same cycle.
    expect(r.cycle, trace(r)).toBe(c.generation === 'v1' && c.spec === 'invoice-csv-export' ? 2 : 1);
    await resumesAtExecuteAndRescansClean(r);
  });

  it('reopen --apply, then /peer --continue runs execute, express, review on the new cycle; the old one no longer reads as complete; rescan clean', async () => {
    s = await scenario(c);
    const opened = await reopen(s);
    expect(opened.code, opened.stderr).toBe(0);
    const r = await replayContinue(s);
    const before = c.generation === 'v1' && c.spec === 'invoice-csv-export' ? 2 : 1;
    expect(r.cycle, trace(r)).toBe(before + 1);
    // v2 refine-spec reads "the most recent completed cycle" (L159-163): the superseded cycle must not be one.
    expect.soft(r.supersededStillComplete).toEqual([]);
    await resumesAtExecuteAndRescansClean(r);
  });
});

// The fix that puts a cycle back where PEER's own `/peer --continue` runs the phase that never completed:
// the exact ops per state layout, and the exact bytes the repair planner makes of them.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findingsOf, kvData, modelOf, type Put } from '../helpers/evidence.js';
import { REPO } from '../helpers/cli.js';
import { done, T0, v1Cycle, v1Meta, v2Cycle } from '../rules/state-fixtures.js';
import { resumeFixes, resumeNote } from '../../src/model/resume-fixes.js';
import { planRepair } from '../../src/repair/plan.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Model } from '../../src/model/build.js';

const P = 'peer.spec.demo-spec';
const AT = '2025-08-06T00:00:00.000Z';

async function model(puts: Put[]): Promise<Model> {
  return modelOf({ kv: kvData(puts) });
}

function resumeOf(m: Model, n = 1) {
  const run = m.runs.find((r) => r.prefix === P)!;
  return resumeFixes(
    run.cycles.find((c) => c.number === n)!,
    run.meta,
  );
}

/** What `repair` would write for every fixable finding, per key: the exact bytes, decoded as text. */
async function repaired(m: Model): Promise<Record<string, string>> {
  const findings = (await findingsOf(m)).filter((f) => f.fix?.length);
  const plan = await planRepair(findings, m, { reason: 'execute never ran', actor: 'tester', now: AT });
  expect(plan.skipped).toEqual([]);
  return Object.fromEntries(
    plan.changes.map((c) => [c.kind === 'kv' ? c.key : c.path, Buffer.from(c.after_b64, 'base64').toString('utf8')]),
  );
}

const review = {
  status: 'complete',
  completed_at: '2025-08-05T16:09:53Z',
  output: { quality_score: 'medium', completeness: false },
};
const express = { status: 'complete', completed_at: '2025-08-05T16:06:11Z', output: { summary: 'spec drafted' } };
const result = { success: true, instruction: 'create-spec', summary: 'done' };
const insights = { learnings: ['x'] };

describe('v1', () => {
  // The seed incident's shape: plan, express and review complete, execute absent, everything stamped complete.
  const seedCycle = v1Cycle(
    { plan: done(), express, review },
    {
      status: { current_phase: 'complete', progress_percent: 100, last_update: T0 },
      completed_at: '2025-08-05T16:09:53Z',
      result,
      insights,
    },
  );
  const seedMeta = v1Meta(
    'demo-spec',
    { current_phase: 'complete' },
    {
      status: 'complete',
      completed_at: '2025-08-05T16:11:30Z',
      notes: 'Execute phase missing - manual completion required',
    },
  );

  it('skipped execute: meta current_phase "plan" (the last phase done), execute and later phases pending, completion removed', async () => {
    const m = await model([
      [`${P}.meta`, seedMeta],
      [`${P}.cycle.1`, seedCycle],
    ]);
    const r = resumeOf(m);
    expect(r.gap).toBe('execute');
    expect(r.refused).toBeUndefined();
    expect(r.fixes.map((f) => (f.kind === 'kv-json' ? [f.key, f.revision, f.ops] : f))).toEqual([
      [
        `${P}.cycle.1`,
        2,
        [
          { op: 'set', path: '/status/current_phase', value: 'plan' },
          { op: 'set', path: '/status/progress_percent', value: 25 },
          { op: 'remove', path: '/completed_at' },
          { op: 'set', path: '/phases/execute', value: { status: 'pending' } },
          { op: 'set', path: '/phases/express', value: { status: 'pending' } },
          { op: 'set', path: '/phases/review', value: { status: 'pending' } },
          { op: 'remove', path: '/result' },
          { op: 'remove', path: '/insights' },
        ],
      ],
      [
        `${P}.meta`,
        1,
        [
          { op: 'set', path: '/current_phase', value: 'plan' },
          { op: 'set', path: '/cycles/1/status', value: 'running' },
          { op: 'remove', path: '/cycles/1/completed_at' },
          { op: 'set', path: '/cycles/1/notes', value: resumeNote('execute') },
        ],
      ],
    ]);

    const after = await repaired(m);
    const why = [
      'cycle 1: execute never completed; reset so /peer --continue (meta current_phase "plan") runs execute, express, review',
    ];
    const record = (rules: string[], previous: Record<string, unknown>) => ({
      repairs: [{ at: AT, by: 'tester', reason: 'execute never ran', rules, why, previous }],
    });
    // Compact in, compact out; every removed or replaced subtree is kept whole under peer_audit.
    expect(after[`${P}.cycle.1`]).toBe(
      JSON.stringify({
        cycle_number: 1,
        instruction: 'create-spec',
        started_at: T0,
        phases: {
          plan: done(),
          express: { status: 'pending' },
          review: { status: 'pending' },
          execute: { status: 'pending' },
        },
        status: { current_phase: 'plan', progress_percent: 25, last_update: T0 },
        peer_audit: record(['false-success', 'missing-execute-phase'], {
          '/status/current_phase': 'complete',
          '/status/progress_percent': 100,
          '/completed_at': '2025-08-05T16:09:53Z',
          '/phases/execute': null,
          '/phases/express': express,
          '/phases/review': review,
          '/result': result,
          '/insights': insights,
        }),
      }),
    );
    expect(after[`${P}.meta`]).toBe(
      JSON.stringify({
        spec_name: 'demo-spec',
        created_at: T0,
        current_cycle: 1,
        current_phase: 'plan',
        cycles: {
          '1': { instruction: 'create-spec', status: 'running', started_at: T0, notes: resumeNote('execute') },
        },
        peer_audit: record(['false-success', 'missing-execute-phase'], {
          '/current_phase': 'complete',
          '/cycles/1/status': 'complete',
          '/cycles/1/completed_at': '2025-08-05T16:11:30Z',
          '/cycles/1/notes': 'Execute phase missing - manual completion required',
        }),
      }),
    );
  });

  it('failed execute: recorded-failure offers the same fix; the error object is kept, not left in the phase', async () => {
    const error = { message: 'test database unreachable', occurred_at: '2025-08-07T14:07:24Z' };
    const failed = { status: 'error', started_at: '2025-08-07T14:03:27Z', output: { steps_completed: 1 }, error };
    const m = await model([
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'execute' })],
      [`${P}.cycle.1`, v1Cycle({ plan: done(), execute: failed })],
    ]);
    const findings = (await findingsOf(m)).filter((f) => f.severity === 'error');
    expect(findings.map((f) => [f.ruleId, f.fix?.length])).toEqual([['recorded-failure', 2]]);
    const r = resumeOf(m);
    expect(r.fixes.map((f) => (f.kind === 'kv-json' ? f.ops : []))).toEqual([
      [
        { op: 'set', path: '/status/progress_percent', value: 25 },
        { op: 'set', path: '/phases/execute', value: { status: 'pending' } },
        { op: 'set', path: '/phases/express', value: { status: 'pending' } },
        { op: 'set', path: '/phases/review', value: { status: 'pending' } },
      ],
      [
        { op: 'set', path: '/current_phase', value: 'plan' },
        { op: 'set', path: '/cycles/1/notes', value: resumeNote('execute') },
      ],
    ]);
    const after = JSON.parse((await repaired(m))[`${P}.cycle.1`]);
    expect(after.phases).toEqual({
      plan: done(),
      execute: { status: 'pending' },
      express: { status: 'pending' },
      review: { status: 'pending' },
    });
    expect(after.peer_audit.repairs[0].previous['/phases/execute']).toEqual(failed);
  });

  it('a missing review resumes at review through current_phase "express" (express skips its complete phase)', async () => {
    const m = await model([
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'complete' }, { status: 'complete' })],
      [
        `${P}.cycle.1`,
        v1Cycle(
          { plan: done(), execute: done(), express },
          { status: { current_phase: 'complete', progress_percent: 100, last_update: T0 }, result },
        ),
      ],
    ]);
    const r = resumeOf(m);
    expect(r.gap).toBe('review');
    expect(r.fixes.map((f) => (f.kind === 'kv-json' ? f.ops : []))).toEqual([
      [
        { op: 'set', path: '/status/current_phase', value: 'express' },
        { op: 'set', path: '/status/progress_percent', value: 75 },
        { op: 'set', path: '/phases/review', value: { status: 'pending' } },
      ],
      [
        { op: 'set', path: '/current_phase', value: 'express' },
        { op: 'set', path: '/cycles/1/status', value: 'running' },
        { op: 'set', path: '/cycles/1/notes', value: resumeNote('review') },
      ],
    ]);
  });

  it('refuses, with the reason, where no state makes v1 --continue resume right', async () => {
    const cases: [string, Put[], RegExp][] = [
      [
        'a failed plan',
        [
          [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'error' })],
          [`${P}.cycle.1`, v1Cycle({ plan: { status: 'error', error: { message: 'no instruction' } } })],
        ],
        /^v1 --continue never runs the planner .*; start a new cycle$/,
      ],
      [
        'a failed express',
        [
          [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'express' })],
          [
            `${P}.cycle.1`,
            v1Cycle({ plan: done(), execute: done(), express: { status: 'error', error: { message: 'x' } } }),
          ],
        ],
        /^v1 --continue cannot resume at express \(on current_phase "execute" its case runs express but Step 4 re-runs the executor/,
      ],
      [
        'a cycle the meta no longer points at',
        [
          [`${P}.meta`, v1Meta('demo-spec', { current_cycle: 2, current_phase: 'plan' })],
          [`${P}.cycle.1`, v1Cycle({ plan: done(), execute: { status: 'error', error: { message: 'x' } } })],
          [`${P}.cycle.2`, { ...v1Cycle({}), cycle_number: 2 }],
        ],
        /^v1 --continue resumes only the meta's current_cycle \(2\), not cycle 1/,
      ],
    ];
    for (const [what, puts, why] of cases) {
      const m = await model(puts);
      const r = resumeOf(m);
      expect(r.fixes, what).toEqual([]);
      expect(r.refused, what).toMatch(why);
      const f = (await findingsOf(m, 'recorded-failure')).find((x) => x.subject.cycle === 1)!;
      expect(f.fix, what).toBeUndefined();
      expect(f.unfixable, what).toBe(r.refused);
      expect(f.message, what).toContain(` Not repairable: ${r.refused}.`);
    }
  });
});

describe('v2', () => {
  it('skipped execute: metadata.status EXECUTING at execute, later phases pending, contract root status kept as EXECUTING', async () => {
    const c = {
      ...v2Cycle(
        P,
        1,
        'COMPLETED',
        { plan: 'completed', execute: 'pending', express: 'completed', review: 'completed' },
        { completed_at: '2025-08-21T10:30:00Z' },
      ),
      status: 'COMPLETED',
      insights: { learnings: [] },
      cycle_summary: { success: true, completion: 100 },
      completed_at: '2025-08-21T10:30:00Z',
    };
    const m = await model([
      [`${P}.cycle.1`, c],
      [`${P}.cycle.current`, '1'],
    ]);
    const r = resumeOf(m);
    expect(r.fixes).toHaveLength(1);
    const fix = r.fixes[0];
    expect(fix.kind === 'kv-json' && fix.ops).toEqual([
      { op: 'set', path: '/metadata/status', value: 'EXECUTING' },
      { op: 'set', path: '/metadata/current_phase', value: 'execute' },
      { op: 'remove', path: '/metadata/completed_at' },
      { op: 'set', path: '/status', value: 'EXECUTING' },
      { op: 'set', path: '/phases/express', value: { status: 'pending' } },
      { op: 'set', path: '/phases/review', value: { status: 'pending' } },
      { op: 'remove', path: '/cycle_summary' },
      { op: 'remove', path: '/insights' },
      { op: 'remove', path: '/completed_at' },
    ]);
    const after = JSON.parse((await repaired(m))[`${P}.cycle.1`]);
    expect(after.status).toBe('EXECUTING');
    expect(after.metadata).toMatchObject({ status: 'EXECUTING', current_phase: 'execute' });
    expect(Object.keys(after).sort()).toEqual([
      'context',
      'cycle_id',
      'metadata',
      'peer_audit',
      'phases',
      'status',
      'version',
    ]);
    expect(after.peer_audit.repairs[0].previous).toMatchObject({
      '/status': 'COMPLETED',
      '/cycle_summary': { success: true, completion: 100 },
      '/phases/review': c.phases.review,
    });
  });

  it('failed execute (metadata ERROR, phase error object): indented in, indented out, the error kept under peer_audit', async () => {
    const error = {
      message: 'go test failed: 3 tests failing',
      type: 'build',
      occurred_at: '2025-08-21T10:09:00Z',
      recoverable: true,
    };
    const c = v2Cycle(
      P,
      1,
      'ERROR',
      { plan: 'completed', execute: 'error', express: 'pending', review: 'pending' },
      { current_phase: 'execute' },
    );
    (c.phases.execute as Record<string, unknown>).error = error;
    const m = await model([
      [`${P}.cycle.1`, JSON.stringify(c, null, 2), { raw: true }],
      [`${P}.cycle.current`, '1'],
    ]);
    const r = resumeOf(m);
    const fix = r.fixes[0];
    expect(fix.kind === 'kv-json' && fix.ops).toEqual([
      { op: 'set', path: '/metadata/status', value: 'EXECUTING' },
      { op: 'set', path: '/phases/execute', value: { status: 'pending' } },
    ]);
    const findings = (await findingsOf(m)).filter((f) => f.fix?.length);
    expect(findings.map((f) => f.ruleId)).toEqual(['recorded-failure']);
    const text = (await repaired(m))[`${P}.cycle.1`];
    const expected = structuredClone(c) as Record<string, any>;
    expected.metadata.status = 'EXECUTING';
    expected.phases.execute = { status: 'pending' };
    expected.peer_audit = {
      repairs: [
        {
          at: AT,
          by: 'tester',
          reason: 'execute never ran',
          rules: ['recorded-failure'],
          why: [
            'cycle 1: execute never completed; reset so /peer --continue (metadata.status EXECUTING) runs execute, express, review',
          ],
          previous: { '/metadata/status': 'ERROR', '/phases/execute': { status: 'error', error } },
        },
      ],
    };
    expect(text).toBe(JSON.stringify(expected, null, 2));
  });
});

it('a multi-key draft cycle gets no fix', async () => {
  const { data } = await readSnapshot(path.join(REPO, 'fixtures/real-runs/multikey-execute-skipped/kv-snapshot.jsonl'));
  const m = await modelOf({ kv: data });
  const cycles = m.runs.flatMap((r) =>
    r.cycles.filter((c) => c.layout === 'multi-key').map((c) => resumeFixes(c, r.meta)),
  );
  expect(cycles.length).toBeGreaterThan(0);
  for (const r of cycles) expect(r).toEqual({ fixes: [] });
  expect((await findingsOf(m)).filter((f) => f.fix?.length)).toEqual([]);
});

describe('after the repair', () => {
  const skipped = v2Cycle(P, 1, 'COMPLETED', {
    plan: 'completed',
    execute: 'pending',
    express: 'completed',
    review: 'completed',
  });
  const resetRecord = (previous: Record<string, unknown>) => ({
    repairs: [{ at: AT, by: 'tester', reason: 'r', rules: ['false-success', 'missing-execute-phase'], previous }],
  });

  it('the repaired cycle reports nothing; a continued run that skips execute again is new, not known', async () => {
    const repaired = {
      ...v2Cycle(
        P,
        1,
        'EXECUTING',
        { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' },
        { current_phase: 'execute' },
      ),
      peer_audit: resetRecord({ '/phases/express': skipped.phases.express, '/phases/review': skipped.phases.review }),
    };
    const m = await model([
      [`${P}.cycle.1`, skipped],
      [`${P}.cycle.1`, repaired],
      [`${P}.cycle.current`, '1'],
    ]);
    expect((await findingsOf(m)).filter((f) => f.subject.cycle === 1 && f.severity !== 'info')).toEqual([]);

    const again = { ...repaired, phases: { ...repaired.phases, express: skipped.phases.express } };
    const m2 = await model([
      [`${P}.cycle.1`, skipped],
      [`${P}.cycle.1`, repaired],
      [`${P}.cycle.1`, again],
      [`${P}.cycle.current`, '1'],
    ]);
    const f = (await findingsOf(m2, 'missing-execute-phase'))[0];
    expect(f.severity).toBe('error');
    expect(f.message).not.toContain('Known');
  });

  it('a repair that left the later phases as they were (recorded no reset) still makes the finding known', async () => {
    const truthful = {
      ...skipped,
      metadata: { ...skipped.metadata, status: 'EXECUTING', current_phase: 'execute' },
      peer_audit: resetRecord({ '/metadata/status': 'COMPLETED' }),
    };
    const m = await model([
      [`${P}.cycle.1`, truthful],
      [`${P}.cycle.current`, '1'],
    ]);
    const f = (await findingsOf(m, 'missing-execute-phase'))[0];
    expect(f.severity).toBe('info');
    expect(f.message).toContain('Known: recorded by peer-audit repair');
  });
});

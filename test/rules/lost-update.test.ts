import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v2Cycle } from './state-fixtures.js';

const RULE = 'lost-update';
const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;

const where = (f: Finding) =>
  f.evidence.map((e) =>
    e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}${e.location.pointer ?? ''}` : e.location.kind,
  );

async function run(puts: Put[]) {
  const fs = await findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), RULE);
  for (const f of fs) {
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
  }
  return fs;
}

const result = {
  success: true,
  instruction: 'create-spec',
  summary: 'Spec created',
  highlights: ['x'],
  completion: 100,
};

describe('lost-update', () => {
  it('fires on the review rewrite: root result dropped; the root status and completed_at it added are not reported', async () => {
    const before = {
      ...v2Cycle(P, 1, 'REVIEWING', {
        plan: 'completed',
        execute: 'completed',
        express: 'completed',
        review: 'pending',
      }),
      result,
    };
    const after = {
      ...v2Cycle(P, 1, 'REVIEWING', {
        plan: 'completed',
        execute: 'completed',
        express: 'completed',
        review: 'completed',
      }),
      status: 'COMPLETED',
      completed_at: '2025-08-21T10:30:00Z',
    };
    const fs = await run([
      [C1, before],
      [C1, after],
    ]);
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.subject).toEqual({ keyPrefix: P, spec: 'demo-spec', cycle: 1 });
    expect(where(f)).toEqual([`${C1}@1/result`, `${C1}@2/result`]);
    expect(f.evidence[0].excerpt).toMatch(/^"result": \{"success":true/);
    expect(f.evidence[1]).toMatchObject({ excerpt: 'the value has no "result"', note: 'gone at revision 2' });
    expect(f.message).toBe(
      `${C1} revision 2 (the write that completed review) dropped "result" (present at revision 1).`,
    );
  });

  it('is quiet on a peer-audit repair that records what it removed, and fires on the same removal without the record', async () => {
    const before = {
      ...v2Cycle(P, 1, 'COMPLETED', {
        plan: 'completed',
        execute: 'pending',
        express: 'completed',
        review: 'completed',
      }),
      insights: { learnings: ['x'] },
    };
    const reset = {
      ...v2Cycle(P, 1, 'EXECUTING', { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' }),
    };
    const previous = {
      '/phases/express': before.phases.express,
      '/phases/review': before.phases.review,
      '/insights': before.insights,
    };
    const repaired = {
      ...reset,
      peer_audit: { repairs: [{ at: '2025-08-22T00:00:00Z', rules: ['missing-execute-phase'], previous }] },
    };
    expect(
      await run([
        [C1, before],
        [C1, repaired],
      ]),
    ).toEqual([]);
    // A later repair recorded on top of an earlier one counts only what it recorded itself.
    const again = {
      ...repaired,
      peer_audit: { repairs: [...repaired.peer_audit.repairs, { rules: ['x'], previous: {} }] },
    };
    expect(
      await run([
        [C1, { ...before, peer_audit: repaired.peer_audit }],
        [C1, again],
      ]),
    ).toHaveLength(1);
    const fs = await run([
      [C1, before],
      [C1, reset],
    ]);
    expect(fs).toHaveLength(1);
    expect(fs[0].message).toBe(
      `${C1} revision 2 (the write that set metadata.status to EXECUTING) dropped "insights", phases.express.output and phases.review.output (present at revision 1).`,
    );
  });

  it('is quiet when v2 agents write the root status and completed_at their output contracts name', async () => {
    const phases = (review: string) => ({ plan: 'completed', execute: 'completed', express: 'completed', review });
    const fs = await run([
      [
        C1,
        v2Cycle(P, 1, 'INITIALIZED', { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' }),
      ],
      // the planner's contract: status = "EXECUTING" at the root
      [
        C1,
        {
          ...v2Cycle(P, 1, 'EXECUTING', {
            plan: 'completed',
            execute: 'pending',
            express: 'pending',
            review: 'pending',
          }),
          status: 'EXECUTING',
        },
      ],
      [
        C1,
        {
          ...v2Cycle(P, 1, 'EXPRESSING', {
            plan: 'completed',
            execute: 'completed',
            express: 'pending',
            review: 'pending',
          }),
          status: 'EXECUTING',
        },
      ],
      [C1, { ...v2Cycle(P, 1, 'REVIEWING', phases('pending')), status: 'EXECUTING' }],
      // the review's contract: status = "COMPLETE" and completed_at at the root
      [
        C1,
        {
          ...v2Cycle(P, 1, 'COMPLETE', phases('completed'), { completed_at: '2025-08-21T10:29:58Z' }),
          status: 'COMPLETE',
          completed_at: '2025-08-21T10:29:58Z',
        },
      ],
    ]);
    expect(fs).toEqual([]);
  });

  it('fires when the write that completed review also changed the plan output', async () => {
    const plan = { ...done({ summary: 'the plan' }) };
    const fs = await run([
      [C1, v1Cycle({ plan, execute: done(), express: done() })],
      [
        C1,
        v1Cycle({
          plan: { ...plan, output: { summary: 'rewritten by review' } },
          execute: done(),
          express: done(),
          review: done(),
        }),
      ],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${C1}@1/phases/plan/output`, `${C1}@2/phases/plan/output`]);
    expect(fs[0].evidence.map((e) => e.excerpt)).toEqual([
      '"output": {"summary":"the plan"}',
      '"output": {"summary":"rewritten by review"}',
    ]);
    expect(fs[0].evidence[1].note).toBe('changed at revision 2, by the write that completed review');
    expect(fs[0].message).toBe(
      `${C1} revision 2 (the write that completed review) changed phases.plan.output, which belongs to another phase.`,
    );
  });

  it('fires when a phase entry or a phase output vanishes, and when one write completes two phases', async () => {
    const fs = await run([
      [C1, v1Cycle({ plan: done(), execute: done({ files_created: ['spec.md'] }) })],
      [C1, v1Cycle({ plan: done(), execute: { status: 'complete', completed_at: '2025-08-05T16:00:00Z' } })],
      [C1, v1Cycle({ execute: { status: 'complete' } })],
      [C1, v1Cycle({ execute: { status: 'complete' }, express: { status: 'running' }, review: { status: 'running' } })],
      [C1, v1Cycle({ execute: { status: 'complete' }, express: done(), review: done() })],
    ]);
    expect(fs.map((f) => [f.message, where(f)])).toEqual([
      [
        `${C1} revision 2 dropped phases.execute.output (present at revision 1).`,
        [`${C1}@1/phases/execute/output`, `${C1}@2/phases/execute/output`],
      ],
      [`${C1} revision 3 dropped phases.plan (present at revision 2).`, [`${C1}@2/phases/plan`, `${C1}@3/phases/plan`]],
      [
        `${C1} revision 5 completed express and review in one write (each agent completes only its own phase).`,
        [
          `${C1}@4/phases/express/status`,
          `${C1}@5/phases/express/status`,
          `${C1}@4/phases/review/status`,
          `${C1}@5/phases/review/status`,
        ],
      ],
    ]);
  });

  it('stays quiet on the normal course of a run: phases filled in turn, metadata updated, incidental fields dropped by their owner', async () => {
    const fs = await run([
      [
        C1,
        v2Cycle(P, 1, 'INITIALIZED', { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' }),
      ],
      [
        C1,
        v2Cycle(P, 1, 'EXECUTING', { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' }),
      ],
      [
        C1,
        {
          ...v2Cycle(
            P,
            1,
            'EXECUTING',
            { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' },
            { current_phase: 'execute' },
          ),
          phases: {
            ...v2Cycle(P, 1, 'X', { plan: 'completed' }).phases,
            execute: { status: 'in_progress', started_at: 'T', last_update: 'T', output: { steps_total: 5 } },
            express: { status: 'pending' },
            review: { status: 'pending' },
          },
        },
      ],
      [
        C1,
        v2Cycle(P, 1, 'EXPRESSING', { plan: 'completed', execute: 'completed', express: 'pending', review: 'pending' }),
      ],
      [
        C1,
        v2Cycle(P, 1, 'REVIEWING', {
          plan: 'completed',
          execute: 'completed',
          express: 'completed',
          review: 'pending',
        }),
      ],
      [
        C1,
        v2Cycle(
          P,
          1,
          'COMPLETED',
          { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' },
          { completed_at: '2025-08-21T10:30:00Z' },
        ),
      ],
      // v1: the executor replaces its running output with the final one, drops resumed_at; the root completed_at is v1's own
      [
        'peer.spec.v1.cycle.1',
        v1Cycle({ plan: done(), execute: { status: 'resuming', resumed_at: 'T', output: { steps_completed: 2 } } }),
      ],
      [
        'peer.spec.v1.cycle.1',
        v1Cycle(
          { plan: done(), execute: done({ execution_status: 'success' }) },
          { completed_at: '2025-08-05T16:30:00Z' },
        ),
      ],
      // a delete resets the value: what follows is a new value, not a loss
      ['peer.spec.reset.cycle.1', { ...v1Cycle({ plan: done() }), result }],
      ['peer.spec.reset.cycle.1', '', { op: 'DEL' }],
      ['peer.spec.reset.cycle.1', v1Cycle({})],
    ]);
    expect(fs).toEqual([]);
  });
});

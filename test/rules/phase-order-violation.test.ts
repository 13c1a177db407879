import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'phase-order-violation';
const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;

const where = (f: Finding) =>
  f.evidence.map((e) => {
    const l = e.location;
    return l.kind === 'kv'
      ? `${l.key}@${l.revision}${l.pointer ?? ''}`
      : l.kind === 'log'
        ? `${l.path}:${l.line}`
        : l.kind;
  });

async function run(puts: Put[]) {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), RULE);
}

async function withLog(t: Transcript, puts: Put[] = []) {
  const dir = await t.write();
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ kv: kvData(puts), project: dir, logs }), RULE);
}

const at = (t: string) => ({ status: 'complete', started_at: t, completed_at: t, output: { summary: 'ok' } });

/** A v2 cycle whose completed phases ran one after the other, ten minutes each. */
function v2InOrder(status: string, phases: Record<string, string>) {
  const c = v2Cycle(P, 1, status, phases);
  Object.entries(c.phases).forEach(([, e], i) => {
    const entry = e as Record<string, unknown>;
    if (entry.status !== 'pending')
      Object.assign(entry, { started_at: `2025-08-21T1${i}:00:00Z`, completed_at: `2025-08-21T1${i}:09:00Z` });
  });
  return c;
}

describe('phase-order-violation', () => {
  it('fires on a v1 cycle whose express and review ran while execute was absent, naming the first revision that did so', async () => {
    const fs = await run([
      [`${P}.meta`, v1Meta('demo-spec')],
      [C1, v1Cycle({ plan: done() })],
      [C1, v1Cycle({ plan: done(), express: done() })],
      [C1, v1Cycle({ plan: done(), express: done(), review: done() })],
    ]);
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('error');
    expect(f.subject).toEqual({ spec: 'demo-spec', keyPrefix: P, cycle: 1 });
    expect(where(f)).toEqual([
      `${C1}@4/phases/execute`,
      `${C1}@4/phases/express`,
      `${C1}@4/phases/review`,
      `${C1}@3/phases/express`,
    ]);
    expect(f.evidence[0].note).toBe('execute is absent');
    expect(f.evidence[3].note).toBe('revision 3 is the first with express ahead of execute (execute absent)');
    expect(f.message).toBe(
      'Cycle 1 ran its phases out of order: express and review ran before execute completed (execute is absent); revision 3 already had express complete while execute was absent.',
    );
  });

  it('fires on a v2 cycle whose express completed while execute was pending', async () => {
    const fs = await run([
      [C1, v2InOrder('EXECUTING', { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' })],
      [C1, v2InOrder('REVIEWING', { plan: 'completed', execute: 'pending', express: 'completed', review: 'pending' })],
      [`${P}.cycle.current`, '1'],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${C1}@2/phases/execute`, `${C1}@2/phases/express`]);
    expect(fs[0].message).toBe(
      'Cycle 1 ran its phases out of order: express ran before execute completed (execute is pending).',
    );
  });

  it('fires when execute ran before the plan completed', async () => {
    const fs = await run([
      [C1, v1Cycle({ plan: { status: 'error' }, execute: { status: 'running', started_at: '2025-08-05T16:01:00Z' } })],
    ]);
    expect(fs).toHaveLength(1);
    expect(fs[0].message).toContain('execute ran before plan completed (plan is error)');
  });

  it('fires on history alone when the state was mended afterwards, with the timestamps that show it', async () => {
    const fs = await run([
      [C1, v1Cycle({ plan: at('2025-08-05T16:00:00Z'), express: at('2025-08-05T16:05:00Z') })],
      [
        C1,
        v1Cycle({
          plan: at('2025-08-05T16:00:00Z'),
          execute: at('2025-08-05T16:09:00Z'),
          express: at('2025-08-05T16:05:00Z'),
        }),
      ],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([
      `${C1}@1/phases/express`,
      `${C1}@2/phases/express/started_at`,
      `${C1}@2/phases/execute/completed_at`,
    ]);
    expect(fs[0].message).toBe(
      'Cycle 1 ran its phases out of order: revision 1 already had express complete while execute was absent; execute completed only later; express started at 2025-08-05T16:05:00Z, before execute completed at 2025-08-05T16:09:00Z.',
    );
  });

  it('fires on timestamps alone: review started before express completed', async () => {
    const c = v2InOrder('COMPLETED', {
      plan: 'completed',
      execute: 'completed',
      express: 'completed',
      review: 'completed',
    });
    Object.assign(c.phases.review as object, {
      started_at: '2025-08-21T12:05:00Z',
      completed_at: '2025-08-21T13:09:00Z',
    });
    const fs = await run([[C1, c]]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${C1}@1/phases/review/started_at`, `${C1}@1/phases/express/completed_at`]);
    expect(fs[0].message).toBe(
      'Cycle 1 ran its phases out of order: review started at 2025-08-21T12:05:00Z, before express completed at 2025-08-21T12:09:00Z.',
    );
  });

  it('adds the transcript: peer-express spawned with no peer-executor before it', async () => {
    const t = new Transcript()
      .human('/peer --instruction=create-spec')
      .task('p1', 'peer-planner', 'planned')
      .say('Now invoking the peer-executor subagent.')
      .task('x1', 'peer-express', 'expressed');
    const fs = await withLog(t, [
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'review' })],
      [C1, v1Cycle({ plan: done(), express: done() })],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${C1}@2/phases/execute`, `${C1}@2/phases/express`, 'session.jsonl:5']);
    expect(fs[0].evidence[2].note).toBe('peer-express spawned with no peer-executor spawn before it');
    expect(fs[0].message).toBe(
      'Cycle 1 ran its phases out of order: express ran before execute completed (execute is absent); session.jsonl spawns peer-express (line 5) with no peer-executor spawn before it.',
    );
  });

  it('fires on a transcript alone when express is spawned before the executor returned', async () => {
    const t = new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('e1', 'peer-executor')
      .task('x1', 'peer-express', 'expressed');
    const fs = await withLog(t);
    expect(fs).toHaveLength(1);
    expect(fs[0].subject.session).toBe('s-1');
    expect(where(fs[0])).toEqual(['session.jsonl:4', 'session.jsonl:3']);
    expect(fs[0].evidence.map((e) => e.note)).toEqual([
      'peer-express spawned before peer-executor (line 3) returned',
      'peer-executor spawned here, never returned',
    ]);
    expect(fs[0].message).toBe(
      'The run spawned its PEER subagents out of order: session.jsonl spawns peer-express (line 4) before peer-executor returned.',
    );
  });

  it('stays quiet on runs in order, running cycles, an express that refused to run, and equal timestamps', async () => {
    const fs = await run([
      [
        C1,
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
        v2InOrder('EXECUTING', { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' }),
      ],
      [
        'peer.spec.drift.cycle.1',
        v2InOrder('COMPLETED', { plan: 'complete', execute: 'COMPLETED', express: 'completed', review: 'Completed' }),
      ],
      // express checked its precondition and wrote an error: that is the order being enforced
      [
        'peer.spec.refused.cycle.1',
        v1Cycle({ plan: done(), express: { status: 'error', error: { message: 'execute not complete' } } }),
      ],
      // v1 agents stamp started_at == completed_at; the next phase starting in that same second is not early
      [
        'peer.spec.same-second.cycle.1',
        v1Cycle({
          plan: at('2025-08-05T16:00:00Z'),
          execute: at('2025-08-05T16:00:00Z'),
          express: at('2025-08-05T16:00:00Z'),
        }),
      ],
    ]);
    expect(fs).toEqual([]);
  });

  it('stays quiet on a transcript that spawns every phase in order, and on a --continue session after execute completed', async () => {
    const inOrder = new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('e1', 'peer-executor', 'executed')
      .task('e2', 'peer-executor', 'continued')
      .task('x1', 'peer-express', 'ok')
      .task('r1', 'peer-review', 'ok');
    expect(await withLog(inOrder)).toEqual([]);

    const resumed = new Transcript()
      .human('/peer --continue')
      .task('x1', 'peer-express', 'ok')
      .task('r1', 'peer-review', 'ok');
    const early = { created: '2025-08-05T15:00:00.000Z' };
    const fs = await withLog(resumed, [
      [C1, v1Cycle({ plan: done() }), early],
      [C1, v1Cycle({ plan: done(), execute: done() }), early],
      [
        C1,
        v1Cycle({ plan: done(), execute: done(), express: done(), review: done() }),
        { created: '2025-08-05T16:00:30.000Z' },
      ],
    ]);
    expect(fs).toEqual([]);
  });
});

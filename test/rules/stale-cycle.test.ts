import { describe, expect, it } from 'vitest';
import type { RuleOptions } from '../../src/engine/rule.js';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'stale-cycle';
const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;
const where = (f: Finding) => f.evidence.map((e) => (e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}${e.location.pointer ?? ''}` : e.location.kind));

async function run(puts: Put[], options: Partial<RuleOptions> = {}) {
  const fs = await findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), RULE, { now: '2025-08-08T20:30:00Z', ...options });
  for (const f of fs) {
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
  }
  return fs;
}

const running = (over: Record<string, unknown> = {}) => ({ status: 'running', started_at: '2025-08-05T16:01:00Z', ...over });

describe('stale-cycle', () => {
  it('fires on a v1 executor left running, with how long and since when', async () => {
    const fs = await run([
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'plan' }), { created: '2025-08-05T16:00:00.000Z' }],
      [C1, v1Cycle({ plan: done(), execute: running() }), { created: '2025-08-05T16:02:10.000Z' }],
    ]);
    expect(fs).toHaveLength(1);
    expect(fs[0].subject).toEqual({ spec: 'demo-spec', keyPrefix: P, cycle: 1 });
    expect(where(fs[0])).toEqual([`${C1}@2/phases/execute/status`, `${P}.meta@1/cycles/1/status`, `${C1}@2`]);
    expect(fs[0].evidence[2]).toMatchObject({ excerpt: 'revision 2 written 2025-08-05T16:02:10.000Z', note: `the last update: revision 2 of ${C1}` });
    expect(fs[0].message).toBe(
      'Cycle 1 is in progress (execute running, meta status running) with no update for 3 d 4 h (last update 2025-08-05T16:02:10.000Z, limit 6 h): it was most likely abandoned, or failed without recording it.',
    );
  });

  it('fires on a v2 cycle stuck at INITIALIZED / planning, taking the newest of revision time and updated_at', async () => {
    const c = v2Cycle(P, 1, 'INITIALIZED', { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' }, { current_phase: 'planning', updated_at: '2025-08-08T09:00:00Z' });
    const fs = await run([[C1, c, { created: '2025-08-08T08:00:00.000Z' }]]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${C1}@1/metadata/status`, `${C1}@1/metadata/updated_at`]);
    expect(fs[0].message).toContain('(status INITIALIZED) with no update for 11 h 30 min (last update 2025-08-08T09:00:00Z, limit 6 h)');
  });

  it('honours staleAfterMs', async () => {
    const puts: Put[] = [[C1, v2Cycle(P, 1, 'EXECUTING', { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' }, { updated_at: '2025-08-08T18:00:00Z' }), { created: '2025-08-08T18:00:00.000Z' }]];
    expect(await run(puts)).toEqual([]);
    const fs = await run(puts, { staleAfterMs: 3600_000 });
    expect(fs.map((f) => f.message)).toEqual([
      'Cycle 1 is in progress (execute in_progress, status EXECUTING) with no update for 2 h 30 min (last update 2025-08-08T18:00:00.000Z, limit 1 h): it was most likely abandoned, or failed without recording it.',
    ]);
  });

  it('stays quiet on finished, failed and recently updated cycles', async () => {
    const old = { created: '2025-08-05T16:00:00.000Z' };
    const fs = await run([
      [C1, v1Cycle({ plan: done(), execute: done(), express: done(), review: done() }, { status: { current_phase: 'complete', progress_percent: 100 } }), old],
      ['peer.spec.v2-done.cycle.1', v2Cycle('peer.spec.v2-done', 1, 'COMPLETED', { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' }), old],
      // claims completion, even with a phase left running: false-success's business, not a stale cycle
      ['peer.spec.claimed.cycle.1', v2Cycle('peer.spec.claimed', 1, 'COMPLETE', { plan: 'completed', execute: 'in_progress', express: 'pending', review: 'pending' }), old],
      ['peer.spec.failed.cycle.1', v2Cycle('peer.spec.failed', 1, 'ERROR', { plan: 'completed', execute: 'error', express: 'pending', review: 'pending' }), old],
      // v1: the executor recorded its error; the meta entry stays "running" because no v1 code writes anything else there
      ['peer.spec.v1-failed.meta', v1Meta('v1-failed', { current_phase: 'execute' }), old],
      ['peer.spec.v1-failed.cycle.1', v1Cycle({ plan: done(), execute: { status: 'error', error: { message: 'boom', occurred_at: '2025-08-05T16:05:00Z' } } }), old],
      // v2 ERROR without a phase marked (the error write landed on metadata only), and the v1 meta at "error"
      ['peer.spec.v2-error.cycle.1', v2Cycle('peer.spec.v2-error', 1, 'ERROR', { plan: 'pending', execute: 'pending', express: 'pending', review: 'pending' }, { current_phase: 'planning' }), old],
      ['peer.spec.meta-error.meta', v1Meta('meta-error', { current_phase: 'error' }), old],
      ['peer.spec.meta-error.cycle.1', v1Cycle({ plan: done() }), old],
      // a running phase whose last_update is recent
      ['peer.spec.busy.cycle.1', v1Cycle({ plan: done(), execute: running({ last_update: '2025-08-08T20:00:00Z' }) }), old],
    ]);
    expect(fs).toEqual([]);
  });
});

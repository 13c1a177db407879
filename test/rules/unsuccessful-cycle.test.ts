import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;
const where = (f: Finding) => f.evidence.map((e) => (e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}${e.location.pointer ?? ''}` : e.location.kind));

async function run(puts: Put[], rule: string) {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), rule);
}

const all = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };
/** The user-cancel path: execute completes with execution_status "cancelled", review says success false, finalize COMPLETED. */
function cancelled(summary: Record<string, unknown> = { success: false, completion: 40 }) {
  const c = v2Cycle(P, 1, 'COMPLETED', all, { completed_at: '2025-08-21T10:30:00Z' });
  (c.phases.execute as Record<string, unknown>).output = { execution_status: 'cancelled', notes: 'cancelled at the review gate' };
  (c.phases.review as Record<string, unknown>).output = { completeness: false };
  return { ...c, cycle_summary: summary };
}

describe('unsuccessful-cycle', () => {
  it('warns on a COMPLETED cycle the user cancelled, with the outcome and the lifecycle status as evidence', async () => {
    const fs = await run([[C1, cancelled()]], 'unsuccessful-cycle');
    expect(fs).toHaveLength(1);
    const [f] = fs;
    expect(f.severity).toBe('warning');
    expect(where(f)).toEqual([`${C1}@1/cycle_summary/success`, `${C1}@1/phases/execute/output/execution_status`, `${C1}@1/metadata/status`]);
    expect(f.message).toMatch(/^Cycle 1 finished unsuccessfully: cycle_summary\.success is false; the executor reported cancelled/);
  });

  it('says "records an unsuccessful outcome" when the lifecycle has not ended', async () => {
    const c = v2Cycle(P, 1, 'EXPRESSING', { plan: 'completed', execute: 'completed', express: 'pending', review: 'pending' });
    (c.phases.execute as Record<string, unknown>).output = { execution_status: 'cancelled' };
    const fs = await run([[C1, c]], 'unsuccessful-cycle');
    expect(fs.map((f) => f.message)).toEqual(['Cycle 1 records an unsuccessful outcome: the executor reported cancelled (the user cancelled).']);
  });

  it('v1: result.success false after review', async () => {
    const c = { ...v1Cycle({ plan: done(), execute: done(), express: done(), review: done() }, { status: { current_phase: 'complete', progress_percent: 100 } }), result: { success: false } };
    const fs = await run([[`${P}.meta`, v1Meta('demo-spec', { current_phase: 'complete' }, { status: 'complete' })], [C1, c]], 'unsuccessful-cycle');
    expect(fs.map(where)).toEqual([[`${C1}@2/result/success`, `${C1}@2/status/current_phase`]]);
  });

  it('is quiet on a successful cycle', async () => {
    expect(await run([[C1, { ...v2Cycle(P, 1, 'COMPLETED', all), cycle_summary: { success: true, completion: 100 } }]], 'unsuccessful-cycle')).toEqual([]);
  });

  it('the same cycles are not false-success: lifecycle is not outcome', async () => {
    expect(await run([[C1, cancelled()]], 'false-success')).toEqual([]);
    // a literal "cancelled" phase status too
    expect(await run([[C1, v2Cycle(P, 1, 'COMPLETED', { ...all, execute: 'cancelled' })]], 'false-success')).toEqual([]);
  });

  it('but a success claim next to the cancel is contradicted by it', async () => {
    const fs = await run([[C1, cancelled({ success: true, completion: 100 })]], 'false-success');
    expect(fs).toHaveLength(1);
    expect(fs[0].message).toContain('the executor reported cancelled');
  });
});

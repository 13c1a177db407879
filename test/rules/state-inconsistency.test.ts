import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'state-inconsistency';
const P = 'peer.spec.demo-spec';
const M = `${P}.meta`;
const C1 = `${P}.cycle.1`;

const where = (f: Finding) =>
  f.evidence.map((e) =>
    e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}${e.location.pointer ?? ''}` : e.location.kind,
  );
const brief = (fs: Finding[]) => fs.map((f) => [f.severity, where(f)]);

async function run(puts: Put[]) {
  const fs = await findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), RULE);
  for (const f of fs) expect(f.ruleId).toBe(RULE);
  return fs;
}

const allDone = { plan: done(), execute: done(), express: done(), review: done() };
const finished = (completedAt: string) =>
  v1Cycle(allDone, {
    completed_at: completedAt,
    status: { current_phase: 'complete', progress_percent: 100, last_update: '2025-08-05T15:56:53Z' },
  });
const finishedMeta = (entry: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  v1Meta('demo-spec', { current_phase: 'complete', ...over }, { status: 'complete', ...entry });

describe('state-inconsistency (v1 meta and cycle)', () => {
  it('fires on two completion times and on notes that contradict the status (the seed incident)', async () => {
    const notes = 'Execute phase missing - manual completion required';
    const fs = await run([
      [M, v1Meta('demo-spec')],
      [C1, finished('2025-08-05T16:09:53Z')],
      [M, v1Meta('demo-spec', { current_phase: 'review' }, { status: 'incomplete', notes })],
      [M, finishedMeta({ completed_at: '2025-08-05T16:11:30Z', notes })],
    ]);
    expect(brief(fs)).toEqual([
      ['error', [`${M}@4/cycles/1/status`, `${M}@4/cycles/1/notes`, `${M}@3/cycles/1/status`]],
      ['warning', [`${M}@4/cycles/1/completed_at`, `${C1}@2/completed_at`]],
    ]);
    expect(fs[0].message).toBe(`${M} marks cycle 1 "complete" while its own notes say otherwise: "${notes}".`);
    expect(fs[0].evidence[2].note).toBe('at revision 3 the same notes came with status "incomplete"');
    expect(fs[1].message).toBe(
      `Cycle 1 has two completion times: ${M} says 2025-08-05T16:11:30Z, ${C1} says 2025-08-05T16:09:53Z (1 min 37 s apart).`,
    );
    expect(fs.every((f) => f.subject.cycle === 1 && f.subject.keyPrefix === P)).toBe(true);
  });

  it('tolerates completion times up to a minute apart (review stamps the cycle, then the meta), not 61 s', async () => {
    const at = (completedAt: string) =>
      [
        [C1, finished('2025-08-05T16:09:53Z')],
        [M, finishedMeta({ completed_at: completedAt })],
      ] as Put[];
    expect(await run(at('2025-08-05T16:09:56Z'))).toEqual([]);
    expect(await run(at('2025-08-05T16:10:53Z'))).toEqual([]);
    expect(brief(await run(at('2025-08-05T16:10:54Z')))).toEqual([
      ['warning', [`${M}@2/cycles/1/completed_at`, `${C1}@1/completed_at`]],
    ]);
  });

  it('fires when current_cycle points at no cycle key, and when a meta entry has no key', async () => {
    const fs = await run([
      [
        M,
        v1Meta('demo-spec', {
          current_cycle: 3,
          cycles: {
            '1': { status: 'complete' },
            '2': { instruction: 'execute-tasks', status: 'running' },
            '3': { status: 'running' },
          },
        }),
      ],
      [C1, finished('2025-08-05T16:00:00Z')],
    ]);
    // ordered by cycle: the entry for cycle 2, then current_cycle 3
    expect(brief(fs)).toEqual([
      ['error', [`${M}@1/cycles/2`]],
      ['error', [`${M}@1/current_cycle`]],
    ]);
    expect(fs[0].message).toBe(`${M} lists cycle 2 (execute-tasks, running), but ${P}.cycle.2 does not exist.`);
    expect(fs[1].message).toBe(`${M} says current_cycle is 3, but ${P}.cycle.3 does not exist.`);
  });

  it('names a deleted cycle key, and warns about a cycle key the meta does not list or a current_cycle behind the keys', async () => {
    const fs = await run([
      [M, v1Meta('demo-spec')],
      [C1, v1Cycle({ plan: done() })],
      [`${P}.cycle.2`, v1Cycle({ plan: done() }, { cycle_number: 2 })],
      [C1, '', { op: 'DEL' }],
    ]);
    expect(brief(fs)).toEqual([
      ['error', [`${M}@1/current_cycle`, `${C1}@4`]],
      ['warning', [`${P}.cycle.2@3`, `${M}@1/cycles`]],
    ]);
    expect(fs[0].message).toBe(`${M} says current_cycle is 1, but ${C1} was deleted (revision 4).`);
    expect(fs[1].message).toBe(`${P}.cycle.2 exists, but ${M} has no entry for cycle 2 in "cycles".`);

    const behind = await run([
      [M, v1Meta('demo-spec', { cycles: { '1': { status: 'complete' }, '2': { status: 'running' } } })],
      [C1, v1Cycle({ plan: done() })],
      [`${P}.cycle.2`, v1Cycle({ plan: done() }, { cycle_number: 2 })],
    ]);
    expect(brief(behind)).toEqual([['warning', [`${M}@1/current_cycle`, `${P}.cycle.2@3`]]]);
    expect(behind[0].message).toContain('the next run will number its cycle 2 again');
  });

  it('fires when meta and cycle disagree on completion at the end', async () => {
    const fs = await run([
      [M, v1Meta('demo-spec', { current_phase: 'review' }, { status: 'complete' })],
      [C1, finished('2025-08-05T16:00:00Z')],
    ]);
    expect(brief(fs)).toEqual([['error', [`${M}@1/current_phase`, `${C1}@2/status/current_phase`]]]);
    expect(fs[0].message).toBe(
      `Cycle 1: ${C1} says status.current_phase "complete" but ${M} still says current_phase "review".`,
    );

    const other = await run([
      [M, finishedMeta({})],
      [C1, v1Cycle(allDone)],
    ]);
    expect(brief(other)).toEqual([['error', [`${M}@1/current_phase`, `${C1}@2/status/current_phase`]]]);
    expect(other[0].message).toBe(
      `Cycle 1: ${M} says current_phase "complete" but ${C1} still says status.current_phase "plan".`,
    );
  });

  it('fires when the meta marks the cycle incomplete while the cycle says complete', async () => {
    const fs = await run([
      [M, v1Meta('demo-spec', { current_phase: 'complete' }, { status: 'incomplete' })],
      [C1, finished('2025-08-05T16:00:00Z')],
    ]);
    expect(brief(fs)).toEqual([['error', [`${M}@1/cycles/1/status`, `${C1}@2/status/current_phase`]]]);
  });

  it('warns about a v1 cycle with no meta at all', async () => {
    const fs = await run([['peer.spec..cycle.1', v1Cycle({ plan: done() })]]);
    expect(brief(fs)).toEqual([['warning', ['peer.spec..cycle.1@1']]]);
    expect(fs[0].message).toContain('there is no peer.spec..meta');
  });

  it('stays quiet mid-cycle (meta "express", cycle "plan") and on a consistent finish', async () => {
    const fs = await run([
      [M, v1Meta('demo-spec', { current_phase: 'express' })],
      [C1, v1Cycle({ plan: done(), execute: done() })],
      ['peer.spec.ok.meta', { ...finishedMeta({ completed_at: '2025-08-05T09:41:55Z' }), spec_name: 'ok' }],
      // the same second written with and without milliseconds is one time
      ['peer.spec.ok.cycle.1', finished('2025-08-05T09:41:55.400Z')],
      // notes that do not contradict the status
      ['peer.spec.noted.meta', { ...finishedMeta({ notes: 'User approved the spec' }), spec_name: 'noted' }],
      ['peer.spec.noted.cycle.1', finished('2025-08-05T09:41:55Z')],
    ]);
    expect(fs).toEqual([]);
  });
});

describe('state-inconsistency (v2)', () => {
  const cyc = (n: number, status = 'COMPLETED', over: Record<string, unknown> = {}) =>
    v2Cycle(P, n, status, { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' }, over);

  it('fires when cycle.current is below the highest cycle, or points at no key', async () => {
    const fs = await run([
      [C1, cyc(1)],
      [`${P}.cycle.2`, cyc(2)],
      [`${P}.cycle.current`, '1'],
    ]);
    expect(brief(fs)).toEqual([['error', [`${P}.cycle.current@3`, `${P}.cycle.2@2`]]]);
    expect(fs[0].message).toBe(
      `${P}.cycle.current is 1, but cycle 2 exists (${P}.cycle.2); the next run will try to create cycle 2 again.`,
    );

    const ahead = await run([
      [C1, cyc(1)],
      [`${P}.cycle.current`, '3'],
    ]);
    expect(brief(ahead)).toEqual([['error', [`${P}.cycle.current@2`]]]);
    expect(ahead[0].message).toBe(`${P}.cycle.current is 3, but ${P}.cycle.3 does not exist.`);
  });

  it('warns when v2 cycles have no counter at all', async () => {
    const fs = await run([[C1, cyc(1)]]);
    expect(brief(fs)).toEqual([['warning', [`${C1}@1`]]]);
  });

  it('fires when cycle_id, key_prefix or cycle_number do not match the key', async () => {
    const c = cyc(1, 'COMPLETED', { key_prefix: 'peer.global', cycle_number: 2 });
    (c as Record<string, unknown>).cycle_id = 'peer.spec.other.cycle.1';
    const fs = await run([
      [C1, c],
      [`${P}.cycle.current`, '1'],
    ]);
    expect(brief(fs)).toEqual([
      ['error', [`${C1}@1/cycle_id`]],
      ['error', [`${C1}@1/metadata/key_prefix`]],
      ['error', [`${C1}@1/metadata/cycle_number`]],
    ]);
    expect(fs.map((f) => f.message)).toEqual([
      `${C1} holds a value whose cycle_id is "peer.spec.other.cycle.1".`,
      `${C1} holds a value whose metadata.key_prefix is "peer.global", not ${P}.`,
      `${C1} holds a value for cycle 2 (metadata.cycle_number), not cycle 1.`,
    ]);
  });

  it('fires on REVIEWING with completed_at, and on a root status COMPLETED next to metadata REVIEWING', async () => {
    const c = cyc(1, 'REVIEWING', { completed_at: '2025-08-21T10:30:00Z' });
    const fs = await run([
      [C1, { ...c, status: 'COMPLETED' }],
      [`${P}.cycle.current`, '1'],
    ]);
    expect(brief(fs)).toEqual([
      ['error', [`${C1}@1/metadata/status`, `${C1}@1/metadata/completed_at`]],
      ['error', [`${C1}@1/status`, `${C1}@1/metadata/status`]],
    ]);
    expect(fs.map((f) => f.message)).toEqual([
      'Cycle 1: metadata.status is "REVIEWING" but metadata.completed_at is set ("2025-08-21T10:30:00Z"): the value says both under way and finished.',
      'Cycle 1: the root "status" is "COMPLETED" while metadata.status is "REVIEWING".',
    ]);
  });

  it('stays quiet on a root status left behind by the planner\'s contract ("EXECUTING") while the metadata completed', async () => {
    const fs = await run([
      [C1, { ...cyc(1, 'COMPLETED', { completed_at: '2025-08-21T10:30:00Z' }), status: 'EXECUTING' }],
      [`${P}.cycle.current`, '1'],
    ]);
    expect(fs).toEqual([]);
  });

  it('stays quiet on a consistent v2 run, enum drift, and a colon-delimited cycle_id (malformed-key reports that)', async () => {
    const colon = cyc(1);
    (colon as Record<string, unknown>).cycle_id = 'peer:spec:demo-spec:cycle:1';
    const fs = await run([
      [C1, colon],
      [`${P}.cycle.2`, cyc(2, 'COMPLETE', { completed_at: '2025-08-21T10:30:00Z' })],
      [`${P}.cycle.current`, '2'],
      [
        'peer.spec.running.cycle.1',
        v2Cycle('peer.spec.running', 1, 'EXECUTING', {
          plan: 'completed',
          execute: 'in_progress',
          express: 'pending',
          review: 'pending',
        }),
      ],
      ['peer.spec.running.cycle.current', '1'],
      ['peer.global.cycle.current', ''],
    ]);
    expect(fs).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'recorded-failure';
const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;
const where = (f: Finding) =>
  f.evidence.map((e) =>
    e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}${e.location.pointer ?? ''}` : e.location.kind,
  );

async function run(puts: Put[]) {
  const fs = await findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject({}) }), RULE);
  for (const f of fs) expect(f.ruleId).toBe(RULE);
  return fs;
}

const v2 = (status: string, phases: Record<string, unknown>) => {
  const c = v2Cycle(P, 1, status, { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' });
  return { ...c, phases: { ...c.phases, ...phases } };
};

describe('recorded-failure', () => {
  it('v1: a phase in error, quoting its error message, with the key, revision and pointer', async () => {
    const fs = await run([
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'execute' })],
      [C1, v1Cycle({ plan: done(), execute: { status: 'running', started_at: '2025-08-05T16:01:00Z' } })],
      [
        C1,
        v1Cycle({
          plan: done(),
          execute: {
            status: 'error',
            started_at: '2025-08-05T16:01:00Z',
            error: { message: 'Failed to execute instruction: permission denied', occurred_at: '2025-08-05T16:03:00Z' },
          },
        }),
      ],
    ]);
    expect(fs).toHaveLength(1);
    const [f] = fs;
    expect(f.severity).toBe('error');
    expect(f.subject).toEqual({ spec: 'demo-spec', keyPrefix: P, cycle: 1 });
    expect(where(f)).toEqual([`${C1}@3/phases/execute/error/message`]);
    expect(f.evidence[0]).toMatchObject({
      excerpt: '"message": "Failed to execute instruction: permission denied", "occurred_at": "2025-08-05T16:03:00Z"',
      note: 'execute error',
    });
    expect(f.message).toBe(
      'Cycle 1 recorded a failure in execute (execute error: "Failed to execute instruction: permission denied").',
    );
  });

  it('v1: the meta at current_phase "error" and a failed meta entry, one finding for the cycle', async () => {
    const fs = await run([
      [C1, v1Cycle({ plan: done() })],
      [`${P}.meta`, v1Meta('demo-spec', { current_phase: 'error' }, { status: 'error' })],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${P}.meta@2/current_phase`, `${P}.meta@2/cycles/1/status`]);
  });

  it('v2: ERROR with the phase error object; two failed phases are listed in one finding', async () => {
    const fs = await run([
      [
        C1,
        v2('ERROR', {
          execute: {
            status: 'error',
            error: { message: 'boom', type: 'runtime', occurred_at: 'T', recoverable: false },
          },
          express: { status: 'failed', error: 'no execute output' },
        }),
      ],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([
      `${C1}@1/phases/execute/error/message`,
      `${C1}@1/phases/express/error`,
      `${C1}@1/metadata/status`,
    ]);
    expect(fs[0].message).toBe(
      'Cycle 1 recorded a failure in execute and express (execute error: "boom"; express failed: "no execute output"; metadata.status is ERROR).',
    );
  });

  it('v2: a failed phase with no error text points at its status; an executor output with execution_status "error"', async () => {
    const fs = await run([
      [C1, v2('FAILED', { review: { status: 'failed' } })],
      [
        'peer.spec.other.cycle.1',
        {
          ...v2Cycle('peer.spec.other', 1, 'EXPRESSING', {
            plan: 'completed',
            execute: 'completed',
            express: 'pending',
            review: 'pending',
          }),
        },
      ],
      [
        'peer.spec.other.cycle.1',
        (() => {
          const c = v2Cycle('peer.spec.other', 1, 'EXPRESSING', {
            plan: 'completed',
            execute: 'completed',
            express: 'pending',
            review: 'pending',
          });
          (c.phases.execute as Record<string, unknown>).output = {
            execution_status: 'error',
            errors: ['go build failed'],
          };
          return c;
        })(),
      ],
    ]);
    expect(fs.map(where)).toEqual([
      [`${C1}@1/phases/review/status`, `${C1}@1/metadata/status`],
      ['peer.spec.other.cycle.1@3/phases/execute/output/errors/0'],
    ]);
    expect(fs[1].message).toBe(
      'Cycle 1 recorded a failure in execute (the executor reported error: "go build failed").',
    );
  });

  it('is quiet for healthy, running, cancelled and resumed cycles', async () => {
    const fs = await run([
      [C1, v1Cycle({ plan: done(), execute: { status: 'error', error: { message: 'first try failed' } } })],
      // resumed and completed: the latest value is what counts
      [C1, v1Cycle({ plan: done(), execute: { ...done(), error: { message: 'first try failed' } } })],
      [
        'peer.spec.running.cycle.1',
        v2Cycle('peer.spec.running', 1, 'EXECUTING', {
          plan: 'completed',
          execute: 'in_progress',
          express: 'pending',
          review: 'pending',
        }),
      ],
      [
        'peer.spec.cancel.cycle.1',
        v2Cycle('peer.spec.cancel', 1, 'COMPLETED', {
          plan: 'completed',
          execute: 'cancelled',
          express: 'completed',
          review: 'completed',
        }),
      ],
    ]);
    expect(fs).toEqual([]);
  });
});

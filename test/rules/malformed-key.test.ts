import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { findingsOf, kvData, modelOf, tempProject, type Put } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta, v2Cycle } from './state-fixtures.js';

const RULE = 'malformed-key';
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

const all = { plan: 'completed', execute: 'completed', express: 'completed', review: 'completed' };

describe('malformed-key', () => {
  it('fires on a key with an empty spec segment', async () => {
    const fs = await run([['peer.spec..cycle.1', v1Cycle({ plan: done() })]]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual(['peer.spec..cycle.1@1']);
    expect(fs[0].subject).toEqual({ keyPrefix: 'peer.spec.', cycle: 1 });
    expect(fs[0].message).toBe(
      'Key peer.spec..cycle.1 has an empty segment (segment 3 of 5). The spec name was empty when the key was built (the agents put ${spec_name} into the key without checking it).',
    );
  });

  it('fires on colon delimiters, naming the key it was meant to be', async () => {
    const fs = await run([['peer:spec:demo-spec:cycle:1', v1Cycle({ plan: done() })]]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual(['peer:spec:demo-spec:cycle:1@1']);
    expect(fs[0].subject).toEqual({ keyPrefix: 'peer.spec.demo-spec', spec: 'demo-spec', cycle: 1 });
    expect(fs[0].message).toBe(
      'Key peer:spec:demo-spec:cycle:1 has ":" as a delimiter (PEER keys use "."). It was probably meant as peer.spec.demo-spec.cycle.1.',
    );
  });

  it('fires on a spec-aware instruction stored under peer.instruction.*', async () => {
    const P = 'peer.instruction.create-spec';
    const fs = await run([
      [`${P}.meta`, v1Meta('', { spec_name: 'password-reset' })],
      [`${P}.cycle.1`, v1Cycle({ plan: done() })],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([`${P}.meta@1/spec_name`, `${P}.cycle.1@2/instruction`]);
    expect(fs[0].message).toBe(
      'create-spec state is stored under peer.instruction.create-spec, but create-spec is spec-aware: its state belongs under peer.spec.password-reset, where the agents read and write it.',
    );
  });

  it('fires on analyze-product under peer.instruction.* only when it names a spec', async () => {
    const P = 'peer.instruction.analyze-product';
    const named = await run([
      [`${P}.meta`, v1Meta('billing', { cycles: { '1': { instruction: 'analyze-product', status: 'running' } } })],
      [`${P}.cycle.1`, v1Cycle({ plan: done() }, { instruction: 'analyze-product' })],
    ]);
    expect(named.map(where)).toEqual([[`${P}.meta@1/spec_name`, `${P}.cycle.1@2/instruction`]]);
    const plain = await run([
      [`${P}.meta`, v1Meta('', { cycles: { '1': { instruction: 'analyze-product', status: 'running' } } })],
      [`${P}.cycle.1`, v1Cycle({ plan: done() }, { instruction: 'analyze-product' })],
    ]);
    expect(plain).toEqual([]);
  });

  it('fires on a create-spec cycle under peer.global that names its spec', async () => {
    const c = v2Cycle('peer.global', 1, 'COMPLETED', all, { spec_name: 'csv-export' });
    const fs = await run([
      ['peer.global.cycle.1', c],
      ['peer.global.cycle.current', '1'],
    ]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([
      'peer.global.cycle.1@1/metadata/instruction_name',
      'peer.global.cycle.1@1/metadata/spec_name',
    ]);
    expect(fs[0].subject).toEqual({ keyPrefix: 'peer.global', spec: 'csv-export', cycle: 1 });
    expect(fs[0].message).toBe(
      'peer.global.cycle.1 is a create-spec cycle for spec "csv-export" stored under peer.global; it belongs under peer.spec.csv-export (the prefix was fixed before the spec name was derived).',
    );
  });

  it('fires on colon-delimited ids inside a value', async () => {
    const c = v2Cycle('peer.spec.demo-spec', 1, 'COMPLETED', all, { key_prefix: 'peer:spec:demo-spec' });
    (c as Record<string, unknown>).cycle_id = 'peer:spec:demo-spec:cycle:1';
    const fs = await run([['peer.spec.demo-spec.cycle.1', c]]);
    expect(fs).toHaveLength(1);
    expect(where(fs[0])).toEqual([
      'peer.spec.demo-spec.cycle.1@1/cycle_id',
      'peer.spec.demo-spec.cycle.1@1/metadata/key_prefix',
    ]);
    expect(fs[0].message).toBe(
      'peer.spec.demo-spec.cycle.1 holds cycle_id "peer:spec:demo-spec:cycle:1" and metadata.key_prefix "peer:spec:demo-spec": colon-delimited ids (the delimiter is ".", since 2025-08-06).',
    );
  });

  it('stays quiet on well-formed keys: spec runs, product instructions, peer.global without a spec, commit plans', async () => {
    const fs = await run([
      ['peer.spec.demo-spec.meta', v1Meta('demo-spec')],
      ['peer.spec.demo-spec.cycle.1', v1Cycle({ plan: done() })],
      [
        'peer.instruction.plan-product.meta',
        v1Meta('', { cycles: { '1': { instruction: 'plan-product', status: 'running' } } }),
      ],
      ['peer.instruction.plan-product.cycle.1', v1Cycle({ plan: done() }, { instruction: 'plan-product' })],
      [
        'peer.global.cycle.1',
        v2Cycle('peer.global', 1, 'COMPLETED', all, { instruction_name: 'plan-product', spec_name: undefined }),
      ],
      ['peer.global.cycle.2', v2Cycle('peer.global', 2, 'COMPLETED', all, { spec_name: '' })],
      ['peer.global.cycle.current', '2'],
      ['peer.commit.2025.08.14.10.30', { status: 'completed' }],
    ]);
    expect(fs).toEqual([]);
  });
});

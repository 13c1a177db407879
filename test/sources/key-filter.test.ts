import { describe, expect, it } from 'vitest';
import { keepKeys, subjectMatches } from '../../src/sources/key-filter.js';
import type { KvData } from '../../src/model/types.js';

describe('subjectMatches', () => {
  it.each([
    ['peer.spec.x.>', 'peer.spec.x.meta', true],
    ['peer.spec.x.>', 'peer.spec.x.cycle.1', true],
    ['peer.spec.x.>', 'peer.spec.x', false],
    ['peer.spec.x.>', 'peer.spec.x-2.meta', false],
    ['peer.spec.x.>', 'peer.spec.xy.meta', false],
    ['peer.*.x.meta', 'peer.spec.x.meta', true],
    ['peer.*.x.meta', 'peer.spec.x.cycle.1', false],
    ['peer.spec.x.meta', 'peer.spec.x.meta', true],
    ['peer.spec.x.meta', 'peer.spec.x.meta.old', false],
  ])('%s takes %s: %s', (filter, key, expected) => {
    expect(subjectMatches(filter, key)).toBe(expected);
  });
});

describe('keepKeys', () => {
  const data: KvData = {
    bucket: 'b',
    origin: 'snapshot',
    originRef: 'f',
    takenAt: '',
    keys: new Map([
      ['peer.spec.a.meta', []],
      ['peer.spec.b.meta', []],
      ['peer.instruction.c.cycle.1', []],
    ]),
  };
  it('keeps the keys some filter matches, in their order', () => {
    expect([...keepKeys(data, ['peer.spec.a.>', 'peer.instruction.c.>']).keys.keys()]).toEqual([
      'peer.spec.a.meta',
      'peer.instruction.c.cycle.1',
    ]);
  });
  it('keeps everything without filters', () => {
    expect(keepKeys(data, undefined)).toBe(data);
  });
});

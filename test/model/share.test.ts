import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { shareUnchanged } from '../../src/model/build.js';

describe('shareUnchanged', () => {
  it('reuses the parts a revision did not change and keeps the ones it did', () => {
    const prev = JSON.parse(
      '{"phases":{"plan":{"status":"completed","output":{"files":["a","b"]}},"execute":{"status":"running"}},"n":1}',
    );
    const next = JSON.parse(
      '{"phases":{"plan":{"status":"completed","output":{"files":["a","b"]}},"execute":{"status":"completed"}},"n":1}',
    );
    const out = shareUnchanged(prev, next) as typeof next;
    expect(out).toBe(next);
    expect(out.phases.plan).toBe(prev.phases.plan);
    expect(out.phases.execute).not.toBe(prev.phases.execute);
    expect(out.phases.execute.status).toBe('completed');
    expect(shareUnchanged(prev, JSON.parse(JSON.stringify(prev)))).toBe(prev);
  });

  it('does not share objects whose keys come in another order', () => {
    const prev = JSON.parse('{"a":1,"b":2}');
    const next = JSON.parse('{"b":2,"a":1}');
    expect(JSON.stringify(shareUnchanged(prev, next))).toBe('{"b":2,"a":1}');
  });

  it('leaves a "__proto__" member a plain member', () => {
    const prev = JSON.parse('{"__proto__":{"x":1},"y":2}');
    const next = JSON.parse('{"__proto__":{"x":1},"y":3}');
    const out = shareUnchanged(prev, next) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"x":1},"y":3}');
  });

  it('never changes what a value says, for any pair of JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const prevText = JSON.stringify(a);
        const nextText = JSON.stringify(b);
        const prev = JSON.parse(prevText);
        const out = shareUnchanged(prev, JSON.parse(nextText));
        expect(JSON.stringify(out)).toBe(nextText);
        expect(JSON.stringify(prev)).toBe(prevText);
      }),
      { numRuns: 3000 },
    );
  });

  it('shares the unchanged half of a value and writes the same text, for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), (keep, before, after) => {
        const prev = JSON.parse(JSON.stringify({ keep, change: before }));
        const nextText = JSON.stringify({ keep, change: after });
        const out = shareUnchanged(prev, JSON.parse(nextText)) as { keep: unknown };
        expect(JSON.stringify(out)).toBe(nextText);
        if (keep !== null && typeof keep === 'object') expect(out.keep).toBe(prev.keep);
      }),
      { numRuns: 3000 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MentionIndex } from '../../src/model/mentions.js';

const found = (needles: string[], text: string) => {
  const out = new Set<string>();
  new MentionIndex(needles).scan(text, out);
  return [...out].sort();
};

describe('MentionIndex', () => {
  it('finds key prefixes and spec names on segment boundaries', () => {
    const needles = ['peer.spec.wal-fix', 'wal-fix', 'peer.spec.other', 'auth-flow'];
    expect(found(needles, 'nats kv get agent-os-peer-state peer.spec.wal-fix.cycle.1 | jq .')).toEqual([
      'peer.spec.wal-fix',
      'wal-fix',
    ]);
    expect(found(needles, 'Write .agent-os/specs/2025-08-05-wal-fix/spec.md')).toEqual(['wal-fix']);
    expect(found(needles, 'key_prefix=peer.spec.other\n')).toEqual(['peer.spec.other']);
    expect(found(needles, '"spec_name": "auth-flow"')).toEqual(['auth-flow']);
  });

  it('does not match inside a longer segment or a longer kebab-case name', () => {
    expect(found(['spec-1', 'peer.spec.abc'], 'spec-12 and peer.spec.abcd and xspec-1')).toEqual([]);
    expect(found(['spec-1'], 'spec-1.md')).toEqual(['spec-1']);
    expect(
      found(
        ['user-auth', 'peer.spec.user-auth'],
        'peer.spec.user-auth-v2.cycle.1 and .agent-os/specs/2025-08-05-user-auth-v2/ and my-user-auth',
      ),
    ).toEqual([]);
    expect(
      found(['user-auth'], 'specs/2025-08-05-user-auth/spec.md, 1999-1-1-user-auth, x2025-08-05-user-auth'),
    ).toEqual(['user-auth']);
    expect(found(['user-auth'], '1999-1-1-user-auth x2025-08-05-user-auth')).toEqual([]);
  });

  it('tests names with other characters as plain substrings', () => {
    expect(
      found(['peer.spec.x.cycle.2"', 'current_cycle=2\n'], 'echo "peer.spec.x.cycle.2" current_cycle=2\n'),
    ).toEqual(['current_cycle=2\n', 'peer.spec.x.cycle.2"']);
    expect(found(['peer.spec.x.cycle.2"'], 'peer.spec.x.cycle.22"')).toEqual([]);
  });

  it('finds what a boundary-aware substring search finds, for any text', () => {
    const seg = fc.stringMatching(/^[a-z0-9]{1,4}$/);
    const sep = fc.constantFrom('.', '-', '_', '/', '=');
    const name = fc
      .tuple(seg, fc.array(fc.tuple(sep, seg), { maxLength: 3 }))
      .map(([h, t]) => h + t.map(([a, b]) => a + b).join(''));
    const filler = fc.constantFrom(
      ' ',
      '\n',
      '"',
      ':',
      '(',
      'é',
      '.',
      '-',
      'x',
      '2025-08-05-',
      '/2025-08-05-',
      'x2025-08-05-',
    );
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 1, maxLength: 6 }),
        fc.array(fc.oneof(name, filler), { maxLength: 30 }),
        (needles, parts) => {
          const text = parts.join('');
          // The rule, written plainly: before the name the word starts, or a hard separator, or a date's hyphen;
          // after it the word ends, or a hard separator.
          const isWord = (c: string | undefined) => c !== undefined && /[A-Za-z0-9._/=-]/.test(c);
          const isHard = (c: string | undefined) => c !== undefined && /[._/=]/.test(c);
          const dateBefore = (i: number) => /(^|[^A-Za-z0-9._/=-]|[._/=])\d{4}-\d{2}-\d{2}-$/.test(text.slice(0, i));
          const expected = new Set<string>();
          for (const n of needles) {
            for (let i = text.indexOf(n); i >= 0; i = text.indexOf(n, i + 1)) {
              const before = text[i - 1];
              const after = text[i + n.length];
              if (
                (!isWord(before) || isHard(before) || (before === '-' && dateBefore(i))) &&
                (!isWord(after) || isHard(after))
              )
                expected.add(n);
            }
          }
          expect(found(needles, text)).toEqual([...expected].sort());
        },
      ),
      { numRuns: 2000 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { formatCounter, formatJson, layoutOf } from '../../src/repair/json-layout.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('json-layout: a rewritten value keeps its writer layout', () => {
  const v = { a: 1, b: { c: [2] } };
  it.each([
    ['compact, no newline (nats kv put of a jq -c or heredoc value)', '{"x":1}', '{"a":1,"b":{"c":[2]}}'],
    [
      'jq output: two spaces and a newline',
      '{\n  "x": 1\n}\n',
      '{\n  "a": 1,\n  "b": {\n    "c": [\n      2\n    ]\n  }\n}\n',
    ],
    ['indented, no final newline', '{\n  "x": 1\n}', '{\n  "a": 1,\n  "b": {\n    "c": [\n      2\n    ]\n  }\n}'],
    ['tabs', '{\n\t"x": 1\n}\n', '{\n\t"a": 1,\n\t"b": {\n\t\t"c": [\n\t\t\t2\n\t\t]\n\t}\n}\n'],
    [
      'CRLF, four spaces',
      '{\r\n    "x": 1\r\n}\r\n',
      '{\r\n    "a": 1,\r\n    "b": {\r\n        "c": [\r\n            2\r\n        ]\r\n    }\r\n}\r\n',
    ],
  ])('%s', (_what, before, after) => {
    expect(formatJson(v, layoutOf(enc(before)))).toBe(after);
  });

  it('no original: compact', () => {
    expect(formatJson(v, layoutOf(null))).toBe('{"a":1,"b":{"c":[2]}}');
  });

  it('counters keep quotes and newline; a new one is written as echo N writes it', () => {
    expect(formatCounter(enc('1\n'), 2)).toBe('2\n');
    expect(formatCounter(enc('1'), 2)).toBe('2');
    expect(formatCounter(enc('"7"'), 8)).toBe('"8"');
    expect(formatCounter(null, 3)).toBe('3\n');
    expect(formatCounter(enc('garbage'), 3)).toBe('3\n');
  });
});

// The streaming JSON reader behind `report --from`: the same values as JSON.parse wherever the file's chunks end,
// and the place where a damaged text breaks.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstSyntaxError, JsonReader, JsonSyntaxError, lineAndColumn } from '../../src/report/json-reader.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-json-reader-'));
});

const DOC = {
  version: 1,
  name: 'quotes " and \\ backslashes \\" and \\\\',
  unicode: 'é — 😀 \u2028 \ud800 end',
  numbers: [0, -0, 1.5e-7, -12, 1e300, 1.2345678901234568e29],
  literals: [true, false, null],
  empty: [{}, [], ''],
  items: Array.from({ length: 40 }, (_, i) => ({ id: `item-${i}`, nested: { deep: [[i], { s: '}]"\\' }] } })),
  __proto__: { own: true },
};

/** Reads a document the way `report --from` does: the top level by hand, the items of "items" one at a time. */
async function readByItems(file: string, chunk: number): Promise<Record<string, unknown>> {
  const r = new JsonReader(file, chunk);
  const out: Record<string, unknown> = {};
  await r.expect('{', "'{'");
  for (;;) {
    const key = await r.key();
    if (key === 'items') {
      const items: unknown[] = [];
      await r.expect('[', "'['");
      for (;;) {
        items.push(await r.value());
        if ((await r.peek()) === ']') break;
        await r.expect(',', "','");
      }
      await r.expect(']', "']'");
      Object.defineProperty(out, key, { value: items, enumerable: true, writable: true, configurable: true });
    } else Object.defineProperty(out, key, { value: await r.value(), enumerable: true, writable: true });
    if ((await r.peek()) === '}') break;
    await r.expect(',', "','");
  }
  await r.expect('}', "'}'");
  await r.end();
  return out;
}

describe('JsonReader', () => {
  for (const [name, text] of [
    ['compact', JSON.stringify(DOC)],
    ['pretty', JSON.stringify(DOC, null, 2)],
    ['with __proto__ as a key', JSON.stringify(DOC).replace('"version"', '"__proto__":{"x":1},"version"')],
  ] as const)
    it(`reads ${name} JSON as JSON.parse does, wherever the chunks end`, async () => {
      const file = path.join(tmp, `${name.replace(/\W+/g, '-')}.json`);
      await fs.writeFile(file, text);
      const expected = JSON.parse(text);
      for (const chunk of [1, 2, 3, 5, 7, 16, 64, 1 << 20]) {
        const whole = new JsonReader(file, chunk);
        expect(await whole.value(), `value, chunk ${chunk}`).toStrictEqual(expected);
        expect(await readByItems(file, chunk), `items, chunk ${chunk}`).toStrictEqual(expected);
      }
    });

  it('says where the text breaks, and whether it is cut off', async () => {
    const cases: [string, number, boolean][] = [
      ['{"a":[1,2}', 9, false],
      ['{"a":x}', 5, false],
      ['{"a":1.}', 7, false],
      ['{"a":"\\q"}', 7, false],
      ['{"a":[1,2', 9, true],
      ['{"a":"abc', 9, true],
      ['{"a":tru', 8, true],
    ];
    for (const [text, offset, truncated] of cases) {
      const file = path.join(tmp, 'broken.json');
      await fs.writeFile(file, text);
      for (const chunk of [1, 3, 1 << 20]) {
        const err = await readByItems(file, chunk).catch((e: unknown) => e);
        expect(err, text).toBeInstanceOf(JsonSyntaxError);
        expect([(err as JsonSyntaxError).offset, (err as JsonSyntaxError).truncated], text).toEqual([
          offset,
          truncated,
        ]);
      }
    }
  });

  it('firstSyntaxError finds nothing in valid JSON', () => {
    const text = JSON.stringify(DOC, null, 1);
    expect(firstSyntaxError(text, 0, text.length)).toBeUndefined();
  });

  it('lineAndColumn counts from 1', async () => {
    const file = path.join(tmp, 'lines.json');
    await fs.writeFile(file, 'ab\ncd\n\nef');
    expect(await lineAndColumn(file, 0)).toEqual({ line: 1, column: 1 });
    expect(await lineAndColumn(file, 4)).toEqual({ line: 2, column: 2 });
    expect(await lineAndColumn(file, 7)).toEqual({ line: 4, column: 1 });
  });
});

// Property tests for the KV snapshot file: what writeSnapshot writes reads back byte for byte (with CRLF
// line ends and a BOM too), and a damaged file never throws: each line is read, or reported at its line.
import { isUtf8 } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvData, KvRevision } from '../../src/model/types.js';
import { readSnapshot, writeSnapshot } from '../../src/sources/snapshot.js';
import { bytes, invalidUtf8, kvDataArb, physicalLines } from './gen.js';
import { params, runs, timeoutFor } from './runs.js';

const ROUND_TRIP_RUNS = 300;
const DAMAGE_RUNS = 1000;

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'pa-fuzz-snap-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function flat(d: KvData) {
  return [...d.keys.values()]
    .flat()
    .map((r) => ({
      key: r.key,
      revision: r.revision,
      operation: r.operation,
      created: r.created,
      value: Buffer.from(r.value).toString('hex'),
    }))
    .sort((a, b) => a.revision - b.revision);
}

type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'cut'; at: number; len: number }
  | { kind: 'insert'; at: number; bytes: Buffer }
  | { kind: 'crlf' }
  | { kind: 'bom' }
  | { kind: 'duplicate-line'; line: number }
  | { kind: 'drop-line'; line: number }
  | { kind: 'add-line'; line: number; bytes: Buffer }
  | { kind: 'flip'; at: number; to: number };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 400 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      invalidUtf8,
      fc.integer({ min: 1, max: 32 }).map((k) => Buffer.alloc(k)),
      fc.constantFrom(
        Buffer.from('\r'),
        Buffer.from('}'),
        Buffer.from('EOF'),
        Buffer.from('{"key"'),
        Buffer.from('\u2028'),
      ),
    ),
  }),
  fc.record({ kind: fc.constant('crlf' as const) }),
  fc.record({ kind: fc.constant('bom' as const) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('drop-line' as const), line: fc.nat() }),
  fc.record({
    kind: fc.constant('add-line' as const),
    line: fc.nat(),
    bytes: fc.oneof(
      bytes(60).map((b) => Buffer.from(b.filter((x) => x !== 0x0a))),
      fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.constant(
        Buffer.from('{"key":"k","revision":1,"operation":"PUT","created":"2025-01-01T00:00:00Z","value":"x"}'),
      ),
    ),
  }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), to: fc.nat(255) }),
);

function applyDamage(buf: Buffer, d: Damage): Buffer {
  const pos = (at: number) => (buf.length === 0 ? 0 : at % (buf.length + 1));
  switch (d.kind) {
    case 'truncate':
      return buf.subarray(0, pos(d.at));
    case 'cut': {
      const i = pos(d.at);
      return Buffer.concat([buf.subarray(0, i), buf.subarray(Math.min(buf.length, i + d.len))]);
    }
    case 'insert': {
      const i = pos(d.at);
      return Buffer.concat([buf.subarray(0, i), d.bytes, buf.subarray(i)]);
    }
    case 'crlf':
      return Buffer.from(buf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]);
    case 'flip': {
      const copy = Buffer.from(buf);
      if (copy.length) copy[d.at % copy.length] = d.to;
      return copy;
    }
    default: {
      const lines = physicalLines(buf);
      const i = lines.length ? d.line % lines.length : 0;
      if (d.kind === 'duplicate-line' && lines.length) lines.splice(i, 0, lines[i]);
      if (d.kind === 'drop-line' && lines.length) lines.splice(i, 1);
      if (d.kind === 'add-line') lines.splice(Math.max(1, i), 0, d.bytes);
      return Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    }
  }
}

describe('snapshot round trip', () => {
  it(
    `${runs(ROUND_TRIP_RUNS)} generated buckets read back exactly, also with CRLF line ends and a BOM`,
    async () => {
      await fc.assert(
        // An empty key is the one thing a server cannot hold; the reader reports it as a corrupt entry.
        fc.asyncProperty(
          kvDataArb.filter((kv) => !kv.keys.has('')),
          fc.boolean(),
          fc.boolean(),
          async (kv, crlf, bom) => {
            const file = path.join(base, `rt${n++}.jsonl`);
            await writeSnapshot(kv, file);
            let buf: Buffer = readFileSync(file);
            if (crlf) buf = applyDamage(buf, { kind: 'crlf' });
            if (bom) buf = applyDamage(buf, { kind: 'bom' });
            writeFileSync(file, buf);
            const { data, report } = await readSnapshot(file);
            expect(report.ok, report.error ?? JSON.stringify(report.problems)).toBe(true);
            expect(report.problems).toEqual([]);
            expect(flat(data)).toEqual(flat(kv));
            expect(data.config ?? null).toEqual(kv.config ? { ...kv.config } : null);
          },
        ),
        params(ROUND_TRIP_RUNS),
      );
    },
    timeoutFor(ROUND_TRIP_RUNS, 5),
  );
});

describe('snapshot lines longer than a read', () => {
  it(
    `${runs(20)} buckets of values up to 300 kB (lines that cross read chunks) read back exactly`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.nat(255)), { minLength: 1, maxLength: 12 }),
          async (sizes) => {
            const keys = new Map<string, KvRevision[]>();
            sizes.forEach(([size, fill], i) => {
              const value = new Uint8Array(size).map((_, k) => (fill + k * 31) % 256);
              keys.set(`peer.spec.big.cycle.${i + 1}`, [
                {
                  key: `peer.spec.big.cycle.${i + 1}`,
                  revision: i + 1,
                  operation: 'PUT',
                  created: '2025-01-01T00:00:00.000Z',
                  value,
                },
              ]);
            });
            const kv: KvData = {
              bucket: 'agent-os-peer-state',
              origin: 'snapshot',
              originRef: 'fuzz',
              takenAt: '2025-01-02T00:00:00.000Z',
              keys,
            };
            const file = path.join(base, `big${n++}.jsonl`);
            await writeSnapshot(kv, file);
            const { data, report } = await readSnapshot(file);
            expect(report.problems).toEqual([]);
            expect(flat(data)).toEqual(flat(kv));
          },
        ),
        params(20),
      );
    },
    timeoutFor(20, 500),
  );
});

describe('damaged snapshot files', () => {
  it(
    `${runs(DAMAGE_RUNS)} damaged files: no exception; a clear error naming the file, or every line read or reported at its physical line`,
    async () => {
      await fc.assert(
        fc.asyncProperty(kvDataArb, fc.array(damage, { minLength: 1, maxLength: 3 }), async (kv, damages) => {
          const file = path.join(base, `d${n++}.jsonl`);
          await writeSnapshot(kv, file);
          const buf = damages.reduce(applyDamage, readFileSync(file));
          writeFileSync(file, buf);

          const { data, report } = await readSnapshot(file);

          const lines = physicalLines(buf);
          if (report.error) {
            expect(report.ok).toBe(false);
            expect(report.error).toContain(file);
            expect(report.error).not.toMatch(/\n/);
            return;
          }
          const problemLines = new Set<number>();
          for (const p of report.problems) {
            expect(p.where).toBe(file);
            expect(
              p.line,
              `problem "${p.reason}" at line ${p.line} of a ${lines.length}-line file`,
            ).toBeGreaterThanOrEqual(2);
            expect(p.line).toBeLessThanOrEqual(lines.length);
            problemLines.add(p.line!);
          }
          const held = new Map<number, string>();
          for (const list of data.keys.values()) for (const r of list) held.set(r.revision, r.key);
          lines.forEach((raw, i) => {
            if (i === 0) return; // the header
            let b = raw;
            if (b.length && b[b.length - 1] === 0x0d) b = b.subarray(0, -1);
            const text = b.toString('utf8');
            if (text.trim() === '') return;
            const at = i + 1;
            if (!isUtf8(b)) {
              expect(problemLines.has(at), `line ${at} is not UTF-8 but was not reported`).toBe(true);
              return;
            }
            let entry: { key?: unknown; revision?: unknown } | undefined;
            try {
              entry = JSON.parse(text.trim()); // white space around an entry (Unicode spaces too) is tolerated
            } catch {
              entry = undefined;
            }
            const understood =
              entry !== null && typeof entry === 'object' && held.get(entry.revision as number) === entry.key;
            if (!understood)
              expect(problemLines.has(at), `line ${at} was neither read nor reported: ${text.slice(0, 120)}`).toBe(
                true,
              );
          });
          // Evidence lost means the source is not ok: the scan will say it is incomplete.
          if (report.problems.some((p) => /corrupt entry|duplicate revision|not UTF-8/.test(p.reason)))
            expect(report.ok).toBe(false);
        }),
        params(DAMAGE_RUNS),
      );
    },
    timeoutFor(DAMAGE_RUNS, 5),
  );
});

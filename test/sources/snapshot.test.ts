import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvData, KvRevision } from '../../src/model/types.js';
import { readKvLive } from '../../src/sources/kv.js';
import { readSnapshot, writeSnapshot } from '../../src/sources/snapshot.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { startNatsServer } from '../helpers/nats-server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pa-snapshot-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEADER =
  '{"format":"peer-audit-kv/1","bucket":"agent-os-peer-state","taken_at":"2025-08-05T10:00:00.000Z","source":null,"server_version":null,"config":null}';

function rev(
  key: string,
  revision: number,
  operation: KvRevision['operation'],
  value: Uint8Array | string,
): KvRevision {
  return {
    key,
    revision,
    operation,
    created: `2025-08-05T10:00:0${revision % 10}.12${revision % 10}Z`,
    value: typeof value === 'string' ? new TextEncoder().encode(value) : value,
  };
}

function kvData(revs: KvRevision[], extra: Partial<KvData> = {}): KvData {
  const keys = new Map<string, KvRevision[]>();
  for (const r of revs) {
    const list = keys.get(r.key) ?? [];
    list.push(r);
    keys.set(r.key, list);
  }
  return {
    bucket: 'agent-os-peer-state',
    origin: 'live',
    originRef: 'nats://127.0.0.1:4222',
    takenAt: '2025-08-05T10:01:00.000Z',
    keys,
    ...extra,
  };
}

async function write(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');

describe('writeSnapshot / readSnapshot', () => {
  it('writes the documented lines and reads them back byte for byte', async () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]); // a BOM is kept as bytes, and as text
    const data = kvData(
      [
        rev('peer.spec.a.cycle.1', 1, 'PUT', '{"phase":"plan"}'),
        rev('raw', 2, 'PUT', new Uint8Array([0x80, 0x00, 0xff])),
        rev('peer.spec.a.cycle.1', 3, 'DEL', new Uint8Array(0)),
        rev('bom', 4, 'PUT', bom),
        rev('ctrl', 5, 'PUT', '\u0000\u0007\u001b[0m\r\n'),
      ],
      {
        config: { history: 50, replicas: 3, ttlMs: 0, storage: 'file', description: 'PEER state', maxValueSize: -1 },
        serverVersion: '2.10.22',
      },
    );
    const file = path.join(dir, 'a', 'b', 'snap.jsonl');
    await writeSnapshot(data, file);
    const raw = await readFile(file, 'utf8');
    const lines = raw.split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe('');
    expect(lines[0]).toBe(
      '{"format":"peer-audit-kv/1","bucket":"agent-os-peer-state","taken_at":"2025-08-05T10:01:00.000Z","source":"nats://127.0.0.1:4222","server_version":"2.10.22","config":{"history":50,"replicas":3,"ttl_ms":0,"storage":"file","description":"PEER state","max_value_size":-1}}',
    );
    expect(lines[1]).toBe(
      '{"key":"peer.spec.a.cycle.1","revision":1,"operation":"PUT","created":"2025-08-05T10:00:01.121Z","length":16,"value_b64":"eyJwaGFzZSI6InBsYW4ifQ==","value":"{\\"phase\\":\\"plan\\"}"}',
    );
    expect(lines[2]).toBe(
      '{"key":"raw","revision":2,"operation":"PUT","created":"2025-08-05T10:00:02.122Z","length":3,"value_b64":"gAD/"}',
    );
    expect(lines[3]).toBe(
      '{"key":"peer.spec.a.cycle.1","revision":3,"operation":"DEL","created":"2025-08-05T10:00:03.123Z","length":0,"value_b64":"","value":""}',
    );
    expect(JSON.parse(lines[4]).value).toBe('\ufeffhi');
    expect(JSON.parse(lines[5]).value).toBe('\u0000\u0007\u001b[0m\r\n');
    expect(await readdir(path.dirname(file))).toEqual(['snap.jsonl']);

    const { data: back, report } = await readSnapshot(file);
    expect(report).toEqual({
      kind: 'kv-snapshot',
      ref: file,
      ok: true,
      stats: { keys: 4, revisions: 5, bytes: 16 + 3 + 5 + 8 },
      problems: [],
    });
    expect(back.origin).toBe('snapshot');
    expect(back.originRef).toBe(file);
    expect(back.bucket).toBe('agent-os-peer-state');
    expect(back.takenAt).toBe('2025-08-05T10:01:00.000Z');
    expect(back.serverVersion).toBe('2.10.22');
    expect(back.config).toEqual(data.config);
    expect([...back.keys.keys()]).toEqual(['bom', 'ctrl', 'peer.spec.a.cycle.1', 'raw']);
    for (const [key, list] of data.keys) {
      const other = back.keys.get(key)!;
      expect(other.map((r) => [r.revision, r.operation, r.created])).toEqual(
        list.map((r) => [r.revision, r.operation, r.created]),
      );
      list.forEach((r, i) => expect(Buffer.from(other[i].value).equals(Buffer.from(r.value))).toBe(true));
    }
  });

  it('replaces an existing file whole and leaves no temp file', async () => {
    const file = path.join(dir, 'replace.jsonl');
    await writeFile(file, 'old contents\n');
    await writeSnapshot(kvData([rev('k', 1, 'PUT', 'v')], { origin: 'snapshot', originRef: '/elsewhere.jsonl' }), file);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0])).toEqual({
      format: 'peer-audit-kv/1',
      bucket: 'agent-os-peer-state',
      taken_at: '2025-08-05T10:01:00.000Z',
      source: null,
      server_version: null,
      config: null,
    });
    expect(lines).toHaveLength(2);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('writes a header-only file for an empty bucket', async () => {
    const file = path.join(dir, 'empty.jsonl');
    await writeSnapshot(kvData([]), file);
    const { data, report } = await readSnapshot(file);
    expect(report.ok).toBe(true);
    expect(report.stats).toEqual({ keys: 0, revisions: 0, bytes: 0 });
    expect(data.keys.size).toBe(0);
  });
});

describe('readSnapshot failures', () => {
  it('reports a missing file', async () => {
    const file = path.join(dir, 'nope.jsonl');
    const { data, report } = await readSnapshot(file);
    expect(report).toEqual({
      kind: 'kv-snapshot',
      ref: file,
      ok: false,
      error: `cannot read snapshot ${file}: ENOENT`,
      stats: {},
      problems: [],
    });
    expect(data.keys.size).toBe(0);
  });

  it('reports a directory', async () => {
    const sub = path.join(dir, 'a-dir');
    await mkdir(sub, { recursive: true });
    const { report } = await readSnapshot(sub);
    expect(report.error).toBe(`cannot read snapshot ${sub}: EISDIR`);
  });

  it('reports a file without the format header', async () => {
    const entryFirst = await write('no-header.jsonl', [
      '{"key":"k","revision":1,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value":"v"}',
    ]);
    expect((await readSnapshot(entryFirst)).report.error).toBe(
      `${entryFirst} is not a peer-audit KV snapshot (missing format header)`,
    );
    const notJson = await write('not-json.jsonl', ['hello']);
    expect((await readSnapshot(notJson)).report.error).toBe(
      `${notJson} is not a peer-audit KV snapshot (missing format header)`,
    );
    const empty = path.join(dir, 'empty-file.jsonl');
    await writeFile(empty, '');
    const r = await readSnapshot(empty);
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toBe(`${empty} is not a peer-audit KV snapshot (missing format header)`);
  });

  it('reports an unsupported format and an invalid header', async () => {
    const v2 = await write('v2.jsonl', [
      '{"format":"peer-audit-kv/2","bucket":"b","taken_at":"2025-08-05T10:00:00.000Z"}',
    ]);
    expect((await readSnapshot(v2)).report.error).toBe(
      `${v2} has unsupported snapshot format "peer-audit-kv/2" (this version reads peer-audit-kv/1)`,
    );
    const noBucket = await write('no-bucket.jsonl', [
      '{"format":"peer-audit-kv/1","taken_at":"2025-08-05T10:00:00.000Z"}',
    ]);
    const r = await readSnapshot(noBucket);
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toMatch(
      new RegExp(`^${noBucket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has an invalid snapshot header: bucket: `),
    );
  });

  it('records a corrupt entry line with its line number and keeps reading', async () => {
    const file = await write('corrupt.jsonl', [
      HEADER,
      '{"key":"k","revision":1,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value_b64":"djE="}',
      '{"key":"k","revision":2,"operation":"PU',
      '{"key":"k","revision":3,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value_b64":"djM="}',
      '{"key":"k","revision":4,"operation":"PATCH","created":"2025-08-05T10:00:00.000Z","value":"x"}',
      '{"key":"k","revision":5,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value_b64":"***"}',
      '{"key":"k","revision":6,"operation":"PUT","created":"2025-08-05T10:00:00.000Z"}',
    ]);
    const { data, report } = await readSnapshot(file);
    expect(report.ok).toBe(false);
    expect(report.error).toBeUndefined();
    expect(report.stats).toEqual({ keys: 1, revisions: 2, bytes: 4 });
    expect(report.problems.map((p) => [p.where, p.line])).toEqual([
      [file, 3],
      [file, 5],
      [file, 6],
      [file, 7],
    ]);
    expect(report.problems[0].reason).toMatch(/^corrupt entry: not JSON \(/);
    expect(report.problems[1].reason).toMatch(/^corrupt entry: operation: /);
    expect(report.problems[2].reason).toBe('corrupt entry: value_b64: not base64');
    expect(report.problems[3].reason).toBe('corrupt entry: PUT k revision 6 has neither "value_b64" nor "value"');
    expect(data.keys.get('k')!.map((r) => [r.revision, text(r.value)])).toEqual([
      [1, 'v1'],
      [3, 'v3'],
    ]);
  });

  it('reads hand-written entries that only have "value", and sorts by revision', async () => {
    const file = await write('value-only.jsonl', [
      HEADER,
      '{"key":"peer.spec.x.cycle.1","revision":3,"operation":"PUT","created":"2025-08-05T10:00:03Z","value":"{\\"phase\\":\\"execute\\"}"}',
      '{"key":"peer.spec.x.cycle.1","revision":1,"operation":"PUT","created":"2025-08-05T10:00:01Z","value":"{\\"phase\\":\\"plan\\"}"}',
      '',
      '{"key":"peer.spec.x.cycle.1","revision":4,"operation":"DEL","created":"2025-08-05T10:00:04Z"}',
      '{"key":"naïve","revision":2,"operation":"PUT","created":"2025-08-05T10:00:02.5+02:00","value":"é"}',
    ]);
    const { data, report } = await readSnapshot(file);
    expect(report).toEqual({
      kind: 'kv-snapshot',
      ref: file,
      ok: true,
      stats: { keys: 2, revisions: 4, bytes: 19 + 16 + 2 },
      problems: [],
    });
    expect(data.config).toBeUndefined();
    expect(data.serverVersion).toBeUndefined();
    expect(
      data.keys.get('peer.spec.x.cycle.1')!.map((r) => [r.revision, r.operation, r.created, text(r.value)]),
    ).toEqual([
      [1, 'PUT', '2025-08-05T10:00:01.000Z', '{"phase":"plan"}'],
      [3, 'PUT', '2025-08-05T10:00:03.000Z', '{"phase":"execute"}'],
      [4, 'DEL', '2025-08-05T10:00:04.000Z', ''],
    ]);
    expect([...data.keys.get('naïve')![0].value]).toEqual([0xc3, 0xa9]);
    expect(data.keys.get('naïve')![0].created).toBe('2025-08-05T08:00:02.500Z');
  });

  it('lets value_b64 win over a disagreeing value, and flags length and duplicate revisions', async () => {
    const file = await write('disagree.jsonl', [
      HEADER,
      '{"key":"k","revision":1,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value_b64":"YQ==","value":"b"}',
      '{"key":"k","revision":2,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","length":5,"value_b64":"YQ=="}',
    ]);
    const { data, report } = await readSnapshot(file);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([
      { where: file, line: 2, reason: '"value" disagrees with "value_b64" for k revision 1; value_b64 used' },
      { where: file, line: 3, reason: '"length" is 5 but the value has 1 bytes (k revision 2)' },
    ]);
    expect(data.keys.get('k')!.map((r) => text(r.value))).toEqual(['a', 'a']);

    const dup = await write('dup.jsonl', [
      HEADER,
      '{"key":"k","revision":1,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value":"a"}',
      '{"key":"other","revision":1,"operation":"PUT","created":"2025-08-05T10:00:00.000Z","value":"b"}',
    ]);
    const d = await readSnapshot(dup);
    expect(d.report.ok).toBe(false);
    expect(d.report.problems).toEqual([
      { where: dup, line: 3, reason: 'duplicate revision 1 (first at line 2); this line ignored' },
    ]);
    expect([...d.data.keys.keys()]).toEqual(['k']);
  });
});

describe('loadSnapshotIntoServer', () => {
  it('replays a hand-written snapshot with the same revision numbers', async () => {
    const file = await write('fixture.jsonl', [
      '{"format":"peer-audit-kv/1","bucket":"agent-os-peer-state","taken_at":"2025-08-05T10:00:00.000Z","source":null,"server_version":null,"config":{"history":5,"replicas":3}}',
      '{"key":"peer.spec.x.cycle.1","revision":1,"operation":"PUT","created":"2025-08-05T10:00:01Z","value":"{\\"phase\\":\\"plan\\"}"}',
      '{"key":"peer.spec.x.cycle.1","revision":2,"operation":"PUT","created":"2025-08-05T10:00:02Z","value":"{\\"phase\\":\\"execute\\"}"}',
      '{"key":"peer.spec.y.cycle.1","revision":3,"operation":"PUT","created":"2025-08-05T10:00:03Z","value_b64":"AP8="}',
      '{"key":"peer.spec.x.cycle.1","revision":4,"operation":"DEL","created":"2025-08-05T10:00:04Z"}',
      '{"key":"peer.spec.y.cycle.1","revision":7,"operation":"PURGE","created":"2025-08-05T10:00:07Z"}',
      '{"key":"peer.spec.z.cycle.1","revision":8,"operation":"PUT","created":"2025-08-05T10:00:08Z","value":"z"}',
    ]);
    const srv = await startNatsServer();
    try {
      await loadSnapshotIntoServer(file, srv.url);
      const { data, report } = await readKvLive({ servers: srv.url, bucket: 'agent-os-peer-state', timeoutMs: 3_000 });
      expect(report.ok).toBe(true);
      expect(data.config?.history).toBe(5);
      expect(data.config?.replicas).toBe(1);
      const shape = [...data.keys].map(([k, list]) => [
        k,
        list.map((r) => [r.revision, r.operation, Buffer.from(r.value).toString('hex')]),
      ]);
      expect(shape).toEqual([
        [
          'peer.spec.x.cycle.1',
          [
            [1, 'PUT', Buffer.from('{"phase":"plan"}').toString('hex')],
            [2, 'PUT', Buffer.from('{"phase":"execute"}').toString('hex')],
            [4, 'DEL', ''],
          ],
        ],
        ['peer.spec.y.cycle.1', [[7, 'PURGE', '']]],
        ['peer.spec.z.cycle.1', [[8, 'PUT', '7a']]],
      ]);

      // Loading the same file again cannot keep the numbers: it refuses instead of drifting.
      await expect(loadSnapshotIntoServer(file, srv.url)).rejects.toThrow(
        `cannot load ${file}: revision 1 (peer.spec.x.cycle.1) is not after the bucket's last revision 8`,
      );
    } finally {
      await srv.stop();
    }
  }, 30_000);
});

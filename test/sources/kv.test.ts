import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvData, KvRevision } from '../../src/model/types.js';
import {
  connectNats,
  describeNatsError,
  displayServers,
  isoTime,
  natsConnectionOptions,
  readKvLive,
  type KvConnectOptions,
} from '../../src/sources/kv.js';
import { readSnapshot, writeSnapshot } from '../../src/sources/snapshot.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const SERVER_TEST = 30_000;
const BUCKET = 'agent-os-peer-state';
const enc = new TextEncoder();

function opts(url: string, extra: Partial<KvConnectOptions> = {}): KvConnectOptions {
  return { servers: url, bucket: BUCKET, timeoutMs: 3_000, ...extra };
}

async function withConnection<T>(url: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url.replace('nats://', ''), reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.drain();
  }
}

/** key -> [revision, operation, bytes as hex] for exact comparisons. */
function shape(data: KvData): Record<string, Array<[number, string, string]>> {
  const out: Record<string, Array<[number, string, string]>> = {};
  for (const [key, list] of data.keys) {
    out[key] = list.map((r: KvRevision) => [r.revision, r.operation, Buffer.from(r.value).toString('hex')]);
  }
  return out;
}

const hex = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s)).toString('hex');

// Values with awkward bytes: raw control characters (not JSON) and bytes that are not UTF-8.
const CTRL = new Uint8Array([
  0x00, 0x01, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x09, 0x0a, 0x7f, 0x6e, 0x6f, 0x74, 0x20, 0x6a, 0x73, 0x6f, 0x6e,
]);
const NOT_UTF8 = new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);

// ---------------------------------------------------------------- options (no server)

describe('natsConnectionOptions', () => {
  it('splits comma lists, strips schemes and sets the one-shot options', () => {
    const o = natsConnectionOptions({
      servers: 'nats://a.example:4222, tls://b.example:4223,c.example',
      bucket: BUCKET,
      timeoutMs: 1500,
    });
    expect(o.servers).toEqual(['a.example:4222', 'b.example:4223', 'c.example']);
    expect(o.reconnect).toBe(false);
    expect(o.timeout).toBe(1500);
    expect(o.name).toBe('peer-audit');
    expect(o.user).toBeUndefined();
    expect(o.token).toBeUndefined();
    expect(o.authenticator).toBeUndefined();
  });

  it('pulls user:pass@ and token@ out of the URL', () => {
    const up = natsConnectionOptions({
      servers: 'nats://auditor:p%40ss@127.0.0.1:4222',
      bucket: BUCKET,
      timeoutMs: 1000,
    });
    expect(up.servers).toEqual(['127.0.0.1:4222']);
    expect(up.user).toBe('auditor');
    expect(up.pass).toBe('p@ss');
    const tok = natsConnectionOptions({ servers: 'nats://s3cr3t@127.0.0.1:4222', bucket: BUCKET, timeoutMs: 1000 });
    expect(tok.token).toBe('s3cr3t');
    expect(tok.user).toBeUndefined();
  });

  it('lets explicit credentials win over URL userinfo', () => {
    const o = natsConnectionOptions({
      servers: 'nats://url-user:url-pass@127.0.0.1:4222',
      bucket: BUCKET,
      timeoutMs: 1000,
      user: 'flag-user',
      password: 'flag-pass',
    });
    expect(o.user).toBe('flag-user');
    expect(o.pass).toBe('flag-pass');
    const t = natsConnectionOptions({
      servers: 'nats://u:p@127.0.0.1:4222',
      bucket: BUCKET,
      timeoutMs: 1000,
      token: 'tok',
    });
    expect(t.token).toBe('tok');
    expect(t.user).toBeUndefined();
  });

  it('treats a user without a password as a token, like the nats CLI', () => {
    const o = natsConnectionOptions({ servers: '127.0.0.1:4222', bucket: BUCKET, timeoutMs: 1000, user: 'abc' });
    expect(o.token).toBe('abc');
    expect(o.user).toBeUndefined();
  });

  it('refuses an unreadable creds file with one clear line', () => {
    expect(() =>
      natsConnectionOptions({
        servers: '127.0.0.1:4222',
        bucket: BUCKET,
        timeoutMs: 1000,
        credsFile: '/nonexistent/peer.creds',
      }),
    ).toThrow(new Error('cannot read creds file /nonexistent/peer.creds: ENOENT'));
  });

  it('never shows userinfo in the display form', () => {
    expect(displayServers('nats://u:secret@10.0.0.1:4222,nats://tok@10.0.0.2:4222')).toBe(
      'nats://10.0.0.1:4222,nats://10.0.0.2:4222',
    );
  });

  it('describes errors by code', () => {
    const ctx = { url: 'nats://h:1', timeoutMs: 900, phase: 'read' as const, bucket: 'b' };
    expect(describeNatsError({ code: 'TIMEOUT', message: 'TIMEOUT' }, ctx)).toBe('NATS request timed out after 900 ms');
    expect(describeNatsError({ code: 'TIMEOUT', message: 'TIMEOUT' }, { ...ctx, phase: 'connect' })).toBe(
      'no NATS answer from nats://h:1 within 900 ms',
    );
    expect(
      describeNatsError({ code: '404', message: 'stream not found', api_error: { code: 404, err_code: 10059 } }, ctx),
    ).toBe('bucket "b" does not exist on nats://h:1 (create it with: nats kv add b --history=50)');
    expect(
      describeNatsError(
        { code: 'PERMISSIONS_VIOLATION', message: 'Permissions Violation for Publish to "$JS.API.INFO"' },
        ctx,
      ),
    ).toBe(
      'no permission to use the JetStream API on nats://h:1: the NATS user needs publish permission on $JS.API.> (or use other credentials)',
    );
    expect(describeNatsError({ code: '503', message: '503' }, { ...ctx, phase: 'jetstream' })).toBe(
      'JetStream is not enabled on nats://h:1: start nats-server with -js (or a jetstream {} block in its configuration)',
    );
    expect(describeNatsError(new Error('odd\nthing'), ctx)).toBe('NATS error at nats://h:1: odd thing');
  });
});

// ---------------------------------------------------------------- live reads

describe('isoTime', () => {
  it('writes what toISOString writes, in and out of order, at the edges of the four-digit years', () => {
    const times = [0, -1, -60_001, 59_999, 60_000, 1_756_684_800_123, 1_756_684_800_123, 1_756_684_859_999];
    times.push(Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), -8.64e15, 8.64e15);
    for (let ms = 1_756_684_000_000; ms < 1_756_684_000_000 + 200_000; ms += 997) times.push(ms, ms - 61_000);
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('readKvLive: a populated bucket', () => {
  let srv: NatsServerHandle;
  let copy: NatsServerHandle | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pa-kv-test-'));
    srv = await startNatsServer();
    await withConnection(srv.url, async (nc) => {
      const kv = await nc.jetstream().views.kv(BUCKET, { history: 10, replicas: 1, description: 'PEER state' });
      expect(await kv.put('peer.spec.alpha.cycle.1', enc.encode('{"phase":"plan"}'))).toBe(1);
      expect(await kv.put('peer.spec.alpha.cycle.1', enc.encode('{"phase":"execute"}'))).toBe(2);
      expect(await kv.put('peer.spec.beta.cycle.1', enc.encode('{"phase":"plan"}'))).toBe(3);
      await kv.delete('peer.spec.beta.cycle.1'); // 4
      expect(await kv.put('raw.ctrl', CTRL)).toBe(5);
      expect(await kv.put('raw.bin', NOT_UTF8)).toBe(6);
      expect(await kv.put('peer.spec.alpha.cycle.1', enc.encode('{"phase":"done"}'))).toBe(7);
      expect(await kv.put('gone', enc.encode('x'))).toBe(8);
      expect(await kv.put('gone', enc.encode('y'))).toBe(9);
      await kv.purge('gone'); // 10, drops 8 and 9
      expect(await kv.put('empty', new Uint8Array(0))).toBe(11);
    });
  }, SERVER_TEST);

  afterAll(async () => {
    await srv?.stop();
    await copy?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const expected = {
    empty: [[11, 'PUT', '']],
    gone: [[10, 'PURGE', '']],
    'peer.spec.alpha.cycle.1': [
      [1, 'PUT', hex('{"phase":"plan"}')],
      [2, 'PUT', hex('{"phase":"execute"}')],
      [7, 'PUT', hex('{"phase":"done"}')],
    ],
    'peer.spec.beta.cycle.1': [
      [3, 'PUT', hex('{"phase":"plan"}')],
      [4, 'DEL', ''],
    ],
    'raw.bin': [[6, 'PUT', hex([...NOT_UTF8])]],
    'raw.ctrl': [[5, 'PUT', hex([...CTRL])]],
  };

  it(
    'reads every retained revision, markers included, with exact bytes',
    async () => {
      const { data, report } = await readKvLive(opts(srv.url));
      expect(report).toEqual({
        kind: 'kv',
        ref: `${srv.url} bucket ${BUCKET}`,
        ok: true,
        stats: { keys: 6, revisions: 9, bytes: 16 + 19 + 16 + 16 + CTRL.length + NOT_UTF8.length },
        problems: [],
      });
      expect([...data.keys.keys()]).toEqual([
        'empty',
        'gone',
        'peer.spec.alpha.cycle.1',
        'peer.spec.beta.cycle.1',
        'raw.bin',
        'raw.ctrl',
      ]);
      expect(shape(data)).toEqual(expected);
      expect(data.bucket).toBe(BUCKET);
      expect(data.origin).toBe('live');
      expect(data.originRef).toBe(srv.url);
      expect(data.serverVersion).toBe('2.9.10');
      expect(data.config).toEqual({
        history: 10,
        replicas: 1,
        ttlMs: 0,
        storage: 'file',
        description: 'PEER state',
        maxValueSize: -1,
      });
      for (const list of data.keys.values()) {
        for (const r of list) expect(r.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
    },
    SERVER_TEST,
  );

  it(
    'round-trips through a snapshot byte for byte',
    async () => {
      const { data } = await readKvLive(opts(srv.url));
      const file = path.join(dir, 'nested', 'kv.jsonl');
      await writeSnapshot(data, file);

      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(10);
      const header = JSON.parse(lines[0]);
      expect(header).toEqual({
        format: 'peer-audit-kv/1',
        bucket: BUCKET,
        taken_at: data.takenAt,
        source: srv.url,
        server_version: '2.9.10',
        config: { history: 10, replicas: 1, ttl_ms: 0, storage: 'file', description: 'PEER state', max_value_size: -1 },
      });
      expect(lines.slice(1).map((l) => JSON.parse(l).revision)).toEqual([1, 2, 3, 4, 5, 6, 7, 10, 11]);
      const bin = JSON.parse(lines[6]);
      expect(bin).toEqual({
        key: 'raw.bin',
        revision: 6,
        operation: 'PUT',
        created: data.keys.get('raw.bin')![0].created,
        length: 6,
        value_b64: Buffer.from(NOT_UTF8).toString('base64'),
      });
      expect(JSON.parse(lines[5]).value).toBe(Buffer.from(CTRL).toString('utf8'));

      const back = await readSnapshot(file);
      expect(back.report).toEqual({
        kind: 'kv-snapshot',
        ref: file,
        ok: true,
        stats: { keys: 6, revisions: 9, bytes: 16 + 19 + 16 + 16 + CTRL.length + NOT_UTF8.length },
        problems: [],
      });
      expect(shape(back.data)).toEqual(expected);
      expect(back.data.config).toEqual(data.config);
      expect(back.data.serverVersion).toBe('2.9.10');
      expect(back.data.takenAt).toBe(data.takenAt);
      for (const [key, list] of data.keys) {
        const other = back.data.keys.get(key)!;
        expect(other.map((r) => r.created)).toEqual(list.map((r) => r.created));
        list.forEach((r, i) => expect(Buffer.compare(Buffer.from(other[i].value), Buffer.from(r.value))).toBe(0));
      }
    },
    SERVER_TEST,
  );

  it(
    'loads a snapshot into another server with identical revision numbers, gaps included',
    async () => {
      const { data } = await readKvLive(opts(srv.url));
      const file = path.join(dir, 'for-load.jsonl');
      await writeSnapshot(data, file);
      copy = await startNatsServer();
      await loadSnapshotIntoServer(file, copy.url);
      const again = await readKvLive(opts(copy.url));
      expect(again.report.ok).toBe(true);
      expect(shape(again.data)).toEqual(expected);
      expect(again.data.config?.history).toBe(10);
    },
    SERVER_TEST,
  );
});

describe('readKvLive: other buckets on one server', () => {
  let srv: NatsServerHandle;
  beforeAll(async () => {
    srv = await startNatsServer();
  }, SERVER_TEST);
  afterAll(async () => {
    await srv?.stop();
  });

  it(
    'reads an empty bucket',
    async () => {
      await withConnection(srv.url, async (nc) => {
        await nc.jetstream().views.kv('empty-bucket', { history: 5, replicas: 1 });
      });
      const { data, report } = await readKvLive(opts(srv.url, { bucket: 'empty-bucket' }));
      expect(report).toEqual({
        kind: 'kv',
        ref: `${srv.url} bucket empty-bucket`,
        ok: true,
        stats: { keys: 0, revisions: 0, bytes: 0 },
        problems: [],
      });
      expect(data.keys.size).toBe(0);
      expect(data.config?.history).toBe(5);
    },
    SERVER_TEST,
  );

  it(
    'reports a missing bucket in one line and does not create it',
    async () => {
      const { data, report } = await readKvLive(opts(srv.url, { bucket: 'no-such-bucket' }));
      expect(report.ok).toBe(false);
      expect(report.error).toBe(
        `bucket "no-such-bucket" does not exist on ${srv.url} (create it with: nats kv add no-such-bucket --history=50)`,
      );
      expect(report.kind).toBe('kv');
      expect(report.ref).toBe(`${srv.url} bucket no-such-bucket`);
      expect(data.keys.size).toBe(0);
      const names = await withConnection(srv.url, async (nc) => {
        const jsm = await nc.jetstreamManager();
        const all: string[] = [];
        for await (const n of jsm.streams.names()) all.push(n);
        return all;
      });
      expect(names).not.toContain('KV_no-such-bucket');
    },
    SERVER_TEST,
  );

  it('rejects an invalid bucket name before connecting', async () => {
    const { report } = await readKvLive(opts(srv.url, { bucket: 'peer state' }));
    expect(report.error).toBe('invalid bucket name "peer state" (allowed: letters, digits, "-" and "_")');
  });

  it('reports an unreadable creds file', async () => {
    const { report } = await readKvLive(opts(srv.url, { credsFile: '/nonexistent/peer.creds' }));
    expect(report.ok).toBe(false);
    expect(report.error).toBe('cannot read creds file /nonexistent/peer.creds: ENOENT');
  });

  it(
    'reports a malformed creds file',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'pa-creds-'));
      const creds = path.join(dir, 'bad.creds');
      await writeFile(creds, 'this is not a creds file\n');
      try {
        const { report } = await readKvLive(opts(srv.url, { credsFile: creds }));
        expect(report.ok).toBe(false);
        expect(report.error).toBe(`the creds file ${creds} is not valid NATS credentials (bad creds)`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SERVER_TEST,
  );

  it(
    'connectNats returns an open connection to reuse',
    async () => {
      const nc = await connectNats(opts(srv.url));
      try {
        expect(nc.isClosed()).toBe(false);
        expect(nc.info?.version).toBe('2.9.10');
      } finally {
        await nc.close();
      }
    },
    SERVER_TEST,
  );
});

describe('readKvLive: connection failures', () => {
  it(
    'reports connection refused',
    async () => {
      const gone = await startNatsServer({ jetstream: false });
      await gone.stop();
      const { data, report } = await readKvLive(opts(gone.url));
      expect(report.ok).toBe(false);
      expect(report.error).toBe(
        `cannot reach NATS at ${gone.url}: connection refused (is nats-server running? set --server or NATS_URL)`,
      );
      expect(data.keys.size).toBe(0);
      await expect(connectNats(opts(gone.url))).rejects.toMatchObject({ name: 'SourceFailure', message: report.error });
    },
    SERVER_TEST,
  );

  it(
    'reports an unresolvable host',
    async () => {
      const { report } = await readKvLive(opts('nats://nonexistent.invalid:4222'));
      expect(report.error).toBe(
        'cannot resolve host nonexistent.invalid for NATS at nats://nonexistent.invalid:4222 (set --server or NATS_URL)',
      );
    },
    SERVER_TEST,
  );

  describe('with --user/--pass on the server', () => {
    let srv: NatsServerHandle;
    beforeAll(async () => {
      srv = await startNatsServer({ user: 'auditor', password: 's3cret' });
    }, SERVER_TEST);
    afterAll(async () => {
      await srv?.stop();
    });

    it(
      'reports rejected credentials',
      async () => {
        const { report } = await readKvLive(opts(srv.url, { user: 'auditor', password: 'wrong' }));
        expect(report.ok).toBe(false);
        expect(report.error).toBe(
          `NATS rejected the credentials for ${srv.url} (authorization violation): check --user/--password, --token or --creds`,
        );
        const none = await readKvLive(opts(srv.url));
        expect(none.report.error).toBe(report.error);
      },
      SERVER_TEST,
    );

    it(
      'uses credentials from the URL and keeps them out of messages',
      async () => {
        const withInfo = `nats://auditor:s3cret@127.0.0.1:${srv.port}`;
        const { report } = await readKvLive(opts(withInfo, { bucket: 'absent' }));
        expect(report.error).toBe(
          `bucket "absent" does not exist on ${srv.url} (create it with: nats kv add absent --history=50)`,
        );
        expect(report.ref).toBe(`${srv.url} bucket absent`);
      },
      SERVER_TEST,
    );
  });

  it(
    'accepts a token from the URL',
    async () => {
      const srv = await startNatsServer({ token: 'tok3n' });
      try {
        const bad = await readKvLive(opts(`nats://nope@127.0.0.1:${srv.port}`, { bucket: 'absent' }));
        expect(bad.report.error).toBe(
          `NATS rejected the credentials for ${srv.url} (authorization violation): check --user/--password, --token or --creds`,
        );
        const good = await readKvLive(opts(`nats://tok3n@127.0.0.1:${srv.port}`, { bucket: 'absent' }));
        expect(good.report.error).toBe(
          `bucket "absent" does not exist on ${srv.url} (create it with: nats kv add absent --history=50)`,
        );
      } finally {
        await srv.stop();
      }
    },
    SERVER_TEST,
  );

  it(
    'reports a user without permission on the JetStream API',
    async () => {
      const srv = await startNatsServer({
        configText: [
          'authorization {',
          '  users = [',
          '    { user: admin, password: adminpw }',
          '    { user: reader, password: readerpw, permissions: { publish: { deny: ["$JS.API.>"] } } }',
          '  ]',
          '}',
        ].join('\n'),
        readyAuth: { user: 'admin', password: 'adminpw' },
      });
      try {
        const { report } = await readKvLive(opts(srv.url, { user: 'reader', password: 'readerpw' }));
        expect(report.ok).toBe(false);
        expect(report.error).toBe(
          `no permission to use the JetStream API on ${srv.url}: the NATS user needs publish permission on $JS.API.> (or use other credentials)`,
        );
      } finally {
        await srv.stop();
      }
    },
    SERVER_TEST,
  );

  it(
    'reports a server without JetStream',
    async () => {
      const srv = await startNatsServer({ jetstream: false });
      try {
        const { report } = await readKvLive(opts(srv.url));
        expect(report.ok).toBe(false);
        expect(report.error).toBe(
          `JetStream is not enabled on ${srv.url}: start nats-server with -js (or a jetstream {} block in its configuration)`,
        );
      } finally {
        await srv.stop();
      }
    },
    SERVER_TEST,
  );

  it(
    'returns in bounded time from a TCP peer that never speaks NATS',
    async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      const url = `nats://127.0.0.1:${port}`;
      try {
        const timeoutMs = 1_000;
        const started = Date.now();
        const { report } = await readKvLive(opts(url, { timeoutMs }));
        const elapsed = Date.now() - started;
        expect(report.ok).toBe(false);
        expect(report.error).toBe(`no NATS answer from ${url} within 1000 ms`);
        expect(elapsed).toBeLessThan(timeoutMs + 1_500);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    },
    SERVER_TEST,
  );
});

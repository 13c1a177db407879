// nats CLI contexts: the loader on real files, the flag/env/context precedence, and every auth kind against a
// nats-server configured for it (user/password, user:pass@ in the URL, token, nkey, creds in operator mode),
// with the CLI as a subprocess.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectArgs, resolveConnect, type ConnectArgs } from '../../src/commands/options.js';
import { describeNatsError, jetstreamOptions, natsConnectionOptions } from '../../src/sources/kv.js';
import { expandPath, loadNatsContext, NatsContextError, natsConfigDir } from '../../src/sources/nats-context.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const BUCKET = 'agent-os-peer-state';
const dec = new TextDecoder();

/** A temporary $HOME with $XDG_CONFIG_HOME inside it, and helpers to write contexts and select one. */
async function configHome() {
  const home = await mkdtemp(path.join(tmpdir(), 'pa-home-'));
  const xdg = path.join(home, 'xdg');
  const ctxDir = path.join(xdg, 'nats', 'context');
  await mkdir(ctxDir, { recursive: true });
  return {
    home,
    xdg,
    env: { HOME: home, XDG_CONFIG_HOME: xdg } as Record<string, string | undefined>,
    async write(name: string, ctx: Record<string, unknown> | string): Promise<string> {
      const file = path.join(ctxDir, `${name}.json`);
      await writeFile(file, typeof ctx === 'string' ? ctx : JSON.stringify(ctx, null, 2));
      return file;
    },
    async select(name: string): Promise<void> {
      await writeFile(path.join(xdg, 'nats', 'context.txt'), `${name}\n`);
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

const base: ConnectArgs = { bucket: BUCKET, timeout: 3000 };

// ---------------------------------------------------------------- loader (files, no server)

describe('loadNatsContext', () => {
  let h: Awaited<ReturnType<typeof configHome>>;
  beforeAll(async () => {
    h = await configHome();
  });
  afterAll(() => h.cleanup());

  it('reads the context named in context.txt, with $VAR and ~ expanded in paths', async () => {
    const file = await h.write('dev', {
      description: 'dev box',
      url: 'nats://a.example:4222,nats://b.example:4222',
      user: 'peer',
      password: 'pw',
      creds: '$CREDS_DIR/peer.creds',
      nkey: '~/keys/peer.nk',
      cert: '${CERTS}/client.pem',
      key: '~/certs/client.key',
      ca: '/etc/ca.pem',
      tls_first: true,
      inbox_prefix: '_INBOX_peer',
      jetstream_domain: 'hub',
      jetstream_api_prefix: '',
      color_scheme: 'dark',
      jetstream_event_prefix: '',
      some_future_field: { x: 1 },
    });
    await h.select('dev');
    const env = { ...h.env, CREDS_DIR: '/srv/creds', CERTS: '/srv/certs' };
    const c = loadNatsContext(undefined, env);
    expect(c).toMatchObject({
      name: 'dev',
      file,
      selectedBy: 'selection',
      description: 'dev box',
      url: 'nats://a.example:4222,nats://b.example:4222',
      user: 'peer',
      password: 'pw',
      creds: '/srv/creds/peer.creds',
      nkey: path.join(h.home, 'keys/peer.nk'),
      cert: '/srv/certs/client.pem',
      key: path.join(h.home, 'certs/client.key'),
      ca: '/etc/ca.pem',
      tlsFirst: true,
      inboxPrefix: '_INBOX_peer',
      jsDomain: 'hub',
    });
    expect(c?.jsApiPrefix).toBeUndefined(); // empty strings are unset
    expect(natsConfigDir(env)).toBe(path.join(h.xdg, 'nats'));
    expect(natsConfigDir({ HOME: '/home/x' })).toBe('/home/x/.config/nats');
  });

  it('--context beats $NATS_CONTEXT beats context.txt; --no-context uses none; a .json path works', async () => {
    await h.write('a', { url: 'nats://a:1' });
    await h.write('b', { url: 'nats://b:1' });
    await h.select('a');
    expect(loadNatsContext(undefined, h.env)?.url).toBe('nats://a:1');
    expect(loadNatsContext(undefined, { ...h.env, NATS_CONTEXT: 'b' })).toMatchObject({
      url: 'nats://b:1',
      selectedBy: 'env',
    });
    expect(loadNatsContext('a', { ...h.env, NATS_CONTEXT: 'b' })).toMatchObject({
      url: 'nats://a:1',
      selectedBy: 'flag',
    });
    expect(loadNatsContext(false, { ...h.env, NATS_CONTEXT: 'b' })).toBeUndefined();
    const loose = path.join(h.home, 'loose.json');
    await writeFile(loose, JSON.stringify({ url: 'nats://loose:1' }));
    expect(loadNatsContext('loose.json', h.env, h.home)).toMatchObject({ url: 'nats://loose:1', file: loose });
    expect(loadNatsContext('~/loose.json', h.env)).toMatchObject({ url: 'nats://loose:1' });
  });

  it('no context.txt, or an empty one: no context', async () => {
    const other = await configHome();
    try {
      expect(loadNatsContext(undefined, other.env)).toBeUndefined();
      await other.select('   ');
      expect(loadNatsContext(undefined, other.env)).toBeUndefined();
    } finally {
      await other.cleanup();
    }
  });

  it('password and token from env:// and file://', async () => {
    const secret = path.join(h.home, 'pw.txt');
    await writeFile(secret, 'from-file\n');
    await h.write('uris', {
      user: 'u',
      password: `file://${secret}`,
      token: 'env://PEER_TOKEN',
      creds: 'file://~/x.creds',
    });
    const c = loadNatsContext('uris', { ...h.env, PEER_TOKEN: 'from-env' });
    expect(c).toMatchObject({ password: 'from-file', token: 'from-env', creds: path.join(h.home, 'x.creds') });
    expect(() => loadNatsContext('uris', h.env)).toThrow(
      /takes "token" from env:\/\/PEER_TOKEN, but PEER_TOKEN is not set/,
    );
  });

  it('a missing, invalid or unusable context is one clear error naming the file and the problem', async () => {
    const missing = path.join(h.xdg, 'nats', 'context', 'gone.json');
    expect(() => loadNatsContext('gone', h.env)).toThrow(
      new NatsContextError(`NATS context "gone" (named by --context) cannot be read: ${missing}: no such file`),
    );
    await h.select('gone');
    expect(() => loadNatsContext(undefined, h.env)).toThrow(
      `NATS context "gone" (named by ${path.join(h.xdg, 'nats', 'context.txt')}) cannot be read: ${missing}: no such file`,
    );

    const bad = await h.write('bad', '{"url": "nats://x:1",');
    expect(() => loadNatsContext('bad', h.env)).toThrow(new RegExp(`^NATS context file ${bad} is not valid JSON: `));
    await h.write('arr', '[]');
    expect(() => loadNatsContext('arr', h.env)).toThrow(/arr\.json must hold one JSON object$/);
    await h.write('typed', { url: 4222 });
    expect(() => loadNatsContext('typed', h.env)).toThrow(/typed\.json has "url": 4222, which is not a string$/);
    await h.write('tf', { tls_first: 'yes' });
    expect(() => loadNatsContext('tf', h.env)).toThrow(/has "tls_first": "yes", which is not true or false/);
    expect(() => loadNatsContext('../etc/passwd', h.env)).toThrow(/is not a NATS context name/);
    expect(() => loadNatsContext('', h.env)).toThrow(/--context needs a context name/);
  });

  it('refuses fields the client cannot honour, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { socks_proxy: 'socks5://proxy:1080' },
        /sets "socks_proxy", which peer-audit does not support: the NATS JavaScript client cannot connect through a SOCKS proxy/,
      ],
      [{ windows_cert_store: 'windowscurrentuser' }, /sets "windows_cert_store", which peer-audit does not support/],
      [{ windows_ca_certs_match: ['My CA'] }, /sets "windows_ca_certs_match"/],
      [
        { nsc: 'nsc://op/acct/user' },
        /sets "nsc", which peer-audit does not support: nsc:\/\/ profiles need the nsc tool/,
      ],
      [
        { user: 'u', password: 'op://vault/nats/password' },
        /gives "password" as a op: URI, which peer-audit does not support/,
      ],
      [{ creds: 'nsc://op/acct/user' }, /gives "creds" as a nsc: URI/],
      [{ token: 'data:,abc' }, /gives "token" as a data: URI/],
    ];
    for (const [ctx, re] of cases) {
      await h.write('unsupported', ctx);
      expect(() => loadNatsContext('unsupported', h.env)).toThrow(re);
    }
    // Set but empty: nothing to refuse.
    await h.write('unsupported', { socks_proxy: '', windows_ca_certs_match: [] });
    expect(loadNatsContext('unsupported', h.env)).toBeDefined();
  });

  it('expandPath: $VAR, ${VAR}, unset variables empty, leading ~ only', () => {
    const env = { HOME: '/home/me', A: 'x' };
    expect(expandPath('$A/${A}/$UNSET/f', env)).toBe('x/x//f');
    expect(expandPath('~/f', env)).toBe('/home/me/f');
    expect(expandPath('~', env)).toBe('/home/me');
    expect(expandPath('a/~/b', env)).toBe('a/~/b');
  });
});

// ---------------------------------------------------------------- precedence (no server)

describe('resolveConnect: flags, then environment, then the context', () => {
  let h: Awaited<ReturnType<typeof configHome>>;
  beforeAll(async () => {
    h = await configHome();
    await h.write('ctx', {
      url: 'nats://ctx-user:ctx-pass@ctx.example:4222',
      user: 'cu',
      password: 'cp',
      creds: '/ctx/peer.creds',
      cert: '/ctx/c.pem',
      key: '/ctx/c.key',
      ca: '/ctx/ca.pem',
      inbox_prefix: '_CTX',
      jetstream_domain: 'ctxdomain',
    });
    await h.select('ctx');
  });
  afterAll(() => h.cleanup());

  it('uses the context when nothing else is given', () => {
    const r = resolveConnect(base, h.env, '/work');
    expect(r.serverOrigin).toBe('context');
    expect(r.context?.name).toBe('ctx');
    expect(r.options).toEqual({
      servers: 'nats://ctx-user:ctx-pass@ctx.example:4222',
      bucket: BUCKET,
      user: 'cu',
      password: 'cp',
      credsFile: '/ctx/peer.creds',
      tls: { cert: '/ctx/c.pem', key: '/ctx/c.key', ca: '/ctx/ca.pem' },
      inboxPrefix: '_CTX',
      jsDomain: 'ctxdomain',
      timeoutMs: 3000,
    });
  });

  it('NATS_URL beats the context URL, --server beats NATS_URL', () => {
    expect(resolveConnect(base, { ...h.env, NATS_URL: 'nats://env:1' }).options.servers).toBe('nats://env:1');
    const r = resolveConnect({ ...base, server: 'nats://flag:1' }, { ...h.env, NATS_URL: 'nats://env:1' });
    expect([r.options.servers, r.serverOrigin]).toEqual(['nats://flag:1', 'flag']);
  });

  it("the same server as the context (undo passes the journal's) keeps the context URL credentials", () => {
    expect(resolveConnect({ ...base, server: 'nats://ctx.example:4222' }, h.env).options.servers).toBe(
      'nats://ctx-user:ctx-pass@ctx.example:4222',
    );
  });

  it('credentials from a flag or variable replace all of the context credentials', () => {
    const flag = resolveConnect({ ...base, token: 'tok' }, h.env, '/work').options;
    expect([flag.token, flag.user, flag.password, flag.credsFile]).toEqual(['tok', undefined, undefined, undefined]);
    const env = resolveConnect(base, { ...h.env, NATS_USER: 'eu', NATS_PASSWORD: 'ep' }).options;
    expect([env.user, env.password, env.credsFile]).toEqual(['eu', 'ep', undefined]);
    const nk = resolveConnect(base, { ...h.env, NATS_NKEY: 'rel/peer.nk' }, '/work').options;
    expect([nk.nkeyFile, nk.user, nk.credsFile]).toEqual(['/work/rel/peer.nk', undefined, undefined]);
    const both = resolveConnect(
      { ...base, user: 'fu', password: 'fp' },
      { ...h.env, NATS_USER: 'eu', NATS_PASSWORD: 'ep' },
    ).options;
    expect([both.user, both.password]).toEqual(['fu', 'fp']);
    const creds = resolveConnect(
      { ...base, creds: 'my.creds' },
      { ...h.env, NATS_CREDS: '/env.creds' },
      '/work',
    ).options;
    expect(creds.credsFile).toBe('/work/my.creds');
  });

  it('TLS files override one by one; --tlsfirst; domain and API prefix replace each other', () => {
    const o = resolveConnect(
      { ...base, tlsca: 'ca2.pem', tlsfirst: true, jsApiPrefix: '$JS.hub.API' },
      { ...h.env, NATS_CERT: '/env/c.pem' },
      '/work',
    ).options;
    expect(o.tls).toEqual({ cert: '/env/c.pem', key: '/ctx/c.key', ca: '/work/ca2.pem', handshakeFirst: true });
    expect([o.jsDomain, o.jsApiPrefix]).toEqual([undefined, '$JS.hub.API']);
    expect(resolveConnect({ ...base, jsDomain: 'other', inboxPrefix: '_MINE' }, h.env).options).toMatchObject({
      jsDomain: 'other',
      inboxPrefix: '_MINE',
    });
  });

  it('--no-context ignores the selection; no context and no flags mean the local default server', () => {
    const r = resolveConnect({ ...base, context: false }, h.env);
    expect(r.context).toBeUndefined();
    expect(r.options).toEqual({ servers: 'nats://127.0.0.1:4222', bucket: BUCKET, timeoutMs: 3000 });
    expect(r.serverOrigin).toBe('default');
  });

  it('connectArgs reads the yargs argv of every connecting command', () => {
    expect(
      connectArgs({
        server: 's',
        bucket: 'b',
        user: 'u',
        password: 'p',
        token: 't',
        creds: 'c',
        timeout: 9,
        context: false,
        nkey: 'n',
        tlscert: 'tc',
        tlskey: 'tk',
        tlsca: 'ta',
        tlsfirst: true,
        'js-domain': 'd',
        'js-api-prefix': 'ap',
        'inbox-prefix': 'ip',
      }),
    ).toEqual({
      server: 's',
      bucket: 'b',
      user: 'u',
      password: 'p',
      token: 't',
      creds: 'c',
      timeout: 9,
      context: false,
      nkey: 'n',
      tlscert: 'tc',
      tlskey: 'tk',
      tlsca: 'ta',
      tlsfirst: true,
      jsDomain: 'd',
      jsApiPrefix: 'ap',
      inboxPrefix: 'ip',
    });
  });
});

describe('natsConnectionOptions: nkey, TLS, inbox prefix, JetStream domain', () => {
  it('maps them, reading the files up front', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pa-opts-'));
    try {
      const user = nkeys.createUser();
      const seedFile = path.join(dir, 'peer.nk');
      await writeFile(seedFile, `# peer-audit\n${dec.decode(user.getSeed())}\n`);
      await writeFile(path.join(dir, 'ca.pem'), 'CA PEM');
      await writeFile(path.join(dir, 'c.pem'), 'CERT PEM');
      await writeFile(path.join(dir, 'c.key'), 'KEY PEM');
      const o = natsConnectionOptions({
        servers: 'tls://127.0.0.1:4222',
        bucket: BUCKET,
        timeoutMs: 1000,
        nkeyFile: seedFile,
        tls: {
          ca: path.join(dir, 'ca.pem'),
          cert: path.join(dir, 'c.pem'),
          key: path.join(dir, 'c.key'),
          handshakeFirst: true,
        },
        inboxPrefix: '_INBOX_peer',
      });
      expect(typeof o.authenticator).toBe('function');
      expect(o.tls).toEqual({ ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', handshakeFirst: true });
      expect(o.inboxPrefix).toBe('_INBOX_peer');
      // A tls:// URL alone asks for TLS.
      expect(natsConnectionOptions({ servers: 'tls://127.0.0.1:4222', bucket: BUCKET, timeoutMs: 1000 }).tls).toEqual(
        {},
      );
      expect(
        natsConnectionOptions({ servers: 'nats://127.0.0.1:4222', bucket: BUCKET, timeoutMs: 1000 }).tls,
      ).toBeUndefined();

      const opts = { servers: '127.0.0.1:4222', bucket: BUCKET, timeoutMs: 1000 };
      expect(() => natsConnectionOptions({ ...opts, tls: { ca: path.join(dir, 'nope.pem') } })).toThrow(
        `cannot read TLS CA file ${path.join(dir, 'nope.pem')}: ENOENT`,
      );
      expect(() => natsConnectionOptions({ ...opts, tls: { cert: path.join(dir, 'c.pem') } })).toThrow(
        'a TLS client certificate needs its key: add --tlskey',
      );
      await writeFile(path.join(dir, 'empty.nk'), 'not a seed\n');
      expect(() => natsConnectionOptions({ ...opts, nkeyFile: path.join(dir, 'empty.nk') })).toThrow(
        /holds no NKey seed/,
      );
      expect(() => natsConnectionOptions({ ...opts, nkeyFile: path.join(dir, 'gone.nk') })).toThrow(
        `cannot read nkey seed file ${path.join(dir, 'gone.nk')}: ENOENT`,
      );

      expect(jetstreamOptions({ ...opts, jsDomain: 'hub' })).toEqual({ timeout: 1000, domain: 'hub' });
      expect(jetstreamOptions({ ...opts, jsApiPrefix: '$JS.x.API' })).toEqual({
        timeout: 1000,
        apiPrefix: '$JS.x.API',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeNatsError: TLS and JetStream-domain failures', () => {
  const ctx = { url: 'tls://h:1', timeoutMs: 900, phase: 'connect' as const };
  it('names the flag that fixes it', () => {
    expect(
      describeNatsError(
        { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' },
        ctx,
      ),
    ).toBe(
      'the TLS certificate of NATS at tls://h:1 is not signed by a CA this machine trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass the CA that signed it with --tlsca (or "ca" in the NATS context)',
    );
    expect(describeNatsError({ code: 'SERVER_OPT_NA', message: 'tls' }, ctx)).toMatch(
      /^NATS at tls:\/\/h:1 does not offer TLS, but TLS was asked for/,
    );
    expect(
      describeNatsError({ code: 'ECONNRESET', message: 'read ECONNRESET' }, { ...ctx, tls: 'no-client-cert' }),
    ).toMatch(/it requires a client certificate \(--tlscert and --tlskey/);
    expect(
      describeNatsError(
        { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'x' },
        { ...ctx, tls: 'no-client-cert' },
      ),
    ).toMatch(/it requires a client certificate .* \[ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\]$/);
    expect(describeNatsError({ code: 'ECONNRESET', message: 'x' }, { ...ctx, tls: 'client-cert' })).toMatch(
      /did not accept the client certificate/,
    );
    expect(describeNatsError({ code: 'TIMEOUT', message: 'TIMEOUT' }, { ...ctx, tls: 'no-client-cert' })).toMatch(
      /within 900 ms \(a server that requires a TLS client certificate can do this/,
    );
    expect(
      describeNatsError(
        { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" },
        ctx,
      ),
    ).toMatch(/is not for this host/);
    expect(
      describeNatsError({ code: '503', message: '503' }, { ...ctx, phase: 'jetstream', jsRoute: 'domain "hub"' }),
    ).toBe(
      'no JetStream answered on tls://h:1 for domain "hub": check --js-domain / --js-api-prefix (or the NATS context\'s jetstream_domain)',
    );
    expect(describeNatsError({ code: '503', message: '503' }, { ...ctx, phase: 'jetstream' })).toBe(
      'JetStream is not enabled on tls://h:1: start nats-server with -js (or a jetstream {} block in its configuration)',
    );
  });
});

// ---------------------------------------------------------------- real servers, the CLI as a subprocess

/** Environment for the CLI: only what the test gives, none of the machine's NATS settings. */
function cliEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    NATS_URL: undefined,
    NATS_CONTEXT: undefined,
    NATS_USER: undefined,
    NATS_PASSWORD: undefined,
    NATS_TOKEN: undefined,
    NATS_CREDS: undefined,
    NATS_NKEY: undefined,
    NATS_CERT: undefined,
    NATS_KEY: undefined,
    NATS_CA: undefined,
    ...extra,
  };
}

async function createBucket(url: string, auth: Partial<ConnectionOptions>): Promise<void> {
  const nc = await connect({ servers: url.replace('nats://', ''), reconnect: false, ...auth });
  try {
    await nc.jetstream().views.kv(BUCKET, { history: 50 });
  } finally {
    await nc.drain();
  }
}

/** An operator, an account with JetStream, a system account and one user, as JWTs signed with their nkeys. */
function operatorSetup(storeNote: string) {
  const b64 = (x: string | Uint8Array) => Buffer.from(x).toString('base64url');
  const sign = (
    issuer: ReturnType<typeof nkeys.createOperator>,
    sub: string,
    name: string,
    nats: Record<string, unknown>,
  ) => {
    const header = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
    const claims: Record<string, unknown> = {
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      name,
      sub,
      nats,
    };
    claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
    const body = b64(JSON.stringify(claims));
    return `${header}.${body}.${b64(issuer.sign(new TextEncoder().encode(`${header}.${body}`)))}`;
  };
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const op = nkeys.createOperator();
  const sys = nkeys.createAccount();
  const acct = nkeys.createAccount();
  const user = nkeys.createUser();
  const opJwt = sign(op, op.getPublicKey(), 'peer-op', { type: 'operator', version: 2 });
  const sysJwt = sign(op, sys.getPublicKey(), 'SYS', { type: 'account', version: 2, limits: unlimited });
  const acctJwt = sign(op, acct.getPublicKey(), 'PEER', {
    type: 'account',
    version: 2,
    limits: { ...unlimited, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const userJwt = sign(acct, user.getPublicKey(), 'auditor', {
    type: 'user',
    version: 2,
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  const creds = [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    `NKEY Seed printed below can be used to sign and prove identity (${storeNote}).`,
    '',
    '-----BEGIN USER NKEY SEED-----',
    dec.decode(user.getSeed()),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
  const configText = [
    `operator: ${opJwt}`,
    `system_account: ${sys.getPublicKey()}`,
    'resolver: MEMORY',
    `resolver_preload: {`,
    `  ${acct.getPublicKey()}: ${acctJwt}`,
    `  ${sys.getPublicKey()}: ${sysJwt}`,
    `}`,
    '',
  ].join('\n');
  return { configText, creds };
}

describe('contexts against real servers (scan, snapshot, repair, reopen, undo)', () => {
  let h: Awaited<ReturnType<typeof configHome>>;
  let project: string;
  let userpass: NatsServerHandle;
  let token: NatsServerHandle;
  let nkeySrv: NatsServerHandle;
  let operator: NatsServerHandle;
  let plain: NatsServerHandle;
  let deadUrl: string;
  let seedFile: string;
  let credsFile: string;

  beforeAll(async () => {
    h = await configHome();
    project = await tempProject({});
    const user = nkeys.createUser();
    seedFile = path.join(h.home, 'keys', 'auditor.nk');
    await mkdir(path.dirname(seedFile), { recursive: true });
    await writeFile(seedFile, `${dec.decode(user.getSeed())}\n`);
    const op = operatorSetup('test');
    credsFile = path.join(h.home, 'creds', 'auditor.creds');
    await mkdir(path.dirname(credsFile), { recursive: true });
    await writeFile(credsFile, op.creds);

    const dead = await startNatsServer({ jetstream: false });
    deadUrl = dead.url;
    await dead.stop();
    [userpass, token, nkeySrv, operator, plain] = await Promise.all([
      startNatsServer({ user: 'auditor', password: 's3cret' }),
      startNatsServer({ token: 'tok-123' }),
      startNatsServer({
        configText: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }\n`,
        readyOptions: { authenticator: nkeyAuthenticator(user.getSeed()) },
      }),
      startNatsServer({
        configText: op.configText,
        readyOptions: { authenticator: credsAuthenticator(new TextEncoder().encode(op.creds)) },
      }),
      startNatsServer(),
    ]);
    await Promise.all([
      createBucket(userpass.url, { user: 'auditor', pass: 's3cret' }),
      createBucket(token.url, { token: 'tok-123' }),
      createBucket(nkeySrv.url, { authenticator: nkeyAuthenticator(user.getSeed()) }),
      createBucket(operator.url, { authenticator: credsAuthenticator(new TextEncoder().encode(op.creds)) }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([userpass?.stop(), token?.stop(), nkeySrv?.stop(), operator?.stop(), plain?.stop()]);
    await h?.cleanup();
    if (project) await rm(project, { recursive: true, force: true });
  });

  const scan = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
    runCli(['scan', '--project', project, '--no-default-logs', '--format', 'json', '--timeout', '3000', ...args], {
      env: cliEnv({ ...h.env, ...env }),
    });

  function expectRead(r: CliResult, url: string): void {
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.complete).toBe(true);
    expect(json.sources.find((s: { kind: string }) => s.kind === 'kv')).toMatchObject({
      ok: true,
      ref: `${url} bucket ${BUCKET}`,
      stats: { keys: 0 },
    });
  }

  function expectOneLine(r: CliResult, re: RegExp): void {
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  it('user/password: the context selected in context.txt (XDG_CONFIG_HOME) is used', async () => {
    await h.write('peer', { url: userpass.url, user: 'auditor', password: 's3cret' });
    await h.select('peer');
    expectRead(await scan([]), userpass.url);
  });

  it('a flag overrides the context: --password right over a wrong one, --user/--password wrong over a right one', async () => {
    await h.write('wrongpw', { url: userpass.url, user: 'auditor', password: 'nope' });
    expectOneLine(
      await scan(['--context', 'wrongpw']),
      /incomplete: NATS rejected the credentials for nats:\/\/127\.0\.0\.1:\d+ \(authorization violation\)/,
    );
    expectRead(await scan(['--context', 'wrongpw', '--user', 'auditor', '--password', 's3cret']), userpass.url);
    expectOneLine(
      await scan(['--context', 'peer', '--password', 'wrong', '--user', 'auditor']),
      /NATS rejected the credentials/,
    );
    // …and the environment too.
    expectRead(await scan(['--context', 'wrongpw'], { NATS_USER: 'auditor', NATS_PASSWORD: 's3cret' }), userpass.url);
  });

  it('NATS_URL overrides the context URL, and --server overrides NATS_URL', async () => {
    await h.write('deadurl', { url: deadUrl, user: 'auditor', password: 's3cret' });
    expectRead(await scan(['--context', 'deadurl'], { NATS_URL: userpass.url }), userpass.url);
    expectRead(await scan(['--context', 'deadurl', '--server', userpass.url], { NATS_URL: deadUrl }), userpass.url);
    expectOneLine(
      await scan(['--context', 'deadurl']),
      /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+: connection refused/,
    );
  });

  it('user:pass@ in the context URL', async () => {
    await h.write('inurl', { url: `nats://auditor:s3cret@127.0.0.1:${userpass.port}` });
    expectRead(await scan(['--context', 'inurl']), userpass.url);
  });

  it('$NATS_CONTEXT picks a context; --no-context ignores every selection', async () => {
    await h.select('wrongpw');
    expectRead(await scan([], { NATS_CONTEXT: 'peer' }), userpass.url);
    // Without the context, the server gets no credentials.
    expectOneLine(
      await scan(['--no-context', '--server', userpass.url], { NATS_CONTEXT: 'peer' }),
      /NATS rejected the credentials/,
    );
    await h.select('peer');
  });

  it('token: from the context, and NATS_TOKEN over a wrong one', async () => {
    await h.write('tok', { url: token.url, token: 'tok-123' });
    expectRead(await scan(['--context', 'tok']), token.url);
    await h.write('badtok', { url: token.url, token: 'wrong' });
    expectOneLine(await scan(['--context', 'badtok']), /NATS rejected the credentials/);
    expectRead(await scan(['--context', 'badtok'], { NATS_TOKEN: 'tok-123' }), token.url);
  });

  it('nkey: a seed file named with ~ in the context, and --nkey', async () => {
    await h.write('nk', { url: nkeySrv.url, nkey: '~/keys/auditor.nk' });
    expectRead(await scan(['--context', 'nk']), nkeySrv.url);
    expectRead(await scan(['--no-context', '--server', nkeySrv.url, '--nkey', seedFile]), nkeySrv.url);
    const other = path.join(h.home, 'keys', 'other.nk');
    await writeFile(other, dec.decode(nkeys.createUser().getSeed()));
    expectOneLine(await scan(['--context', 'nk', '--nkey', other]), /NATS rejected the credentials/);
  });

  it('creds: an operator-mode server, the creds path with $VAR in the context, and NATS_CREDS', async () => {
    await h.write('op', { url: operator.url, creds: '$PEER_CREDS_DIR/auditor.creds' });
    expectRead(await scan(['--context', 'op'], { PEER_CREDS_DIR: path.dirname(credsFile) }), operator.url);
    expectRead(await scan(['--no-context', '--server', operator.url], { NATS_CREDS: credsFile }), operator.url);
    expectOneLine(await scan(['--no-context', '--server', operator.url]), /NATS rejected the credentials|authoriz/i);
  });

  it('jetstream_domain from the context (a server with domain "hub"); --js-domain overrides it', async () => {
    const hub = await startNatsServer({ configText: 'jetstream { domain: hub }\n' });
    try {
      await createBucket(hub.url, {});
      await h.write('hub', { url: hub.url, jetstream_domain: 'hub' });
      expectRead(await scan(['--context', 'hub']), hub.url);
      expectOneLine(
        await scan(['--context', 'hub', '--js-domain', 'elsewhere']),
        /^peer-audit: incomplete: no JetStream answered on nats:\/\/127\.0\.0\.1:\d+ for domain "elsewhere": check --js-domain/,
      );
      expectRead(await scan(['--no-context', '--server', hub.url, '--js-api-prefix', '$JS.hub.API']), hub.url);
    } finally {
      await hub.stop();
    }
  });

  it('inbox_prefix from the context: a user allowed to subscribe under _INBOX_peer only', async () => {
    const srv = await startNatsServer({
      configText:
        'authorization { users: [ { user: admin, password: admin }, { user: peer, password: pw, permissions: { publish: { allow: [">"] }, subscribe: { allow: ["_INBOX_peer.>"] } } } ] }\n',
      readyAuth: { user: 'admin', password: 'admin' },
    });
    try {
      await createBucket(srv.url, { user: 'admin', pass: 'admin' });
      await h.write('inbox', { url: srv.url, user: 'peer', password: 'pw', inbox_prefix: '_INBOX_peer' });
      expectRead(await scan(['--context', 'inbox']), srv.url);
      const r = await scan(['--context', 'inbox', '--inbox-prefix', '_INBOX', '--timeout', '1000']);
      expect(r.code, r.stderr).toBe(2);
    } finally {
      await srv.stop();
    }
  });

  it('an invalid or missing context file: exit 2, one line with the path and the problem, nothing scanned', async () => {
    const bad = await h.write('broken', '{ "url": ');
    let r = await scan(['--context', 'broken']);
    expectOneLine(
      r,
      new RegExp(`^peer-audit: NATS context file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON: `),
    );
    expect(r.stdout).toBe('');
    r = await scan(['--context', 'nosuch']);
    expectOneLine(
      r,
      /^peer-audit: NATS context "nosuch" \(named by --context\) cannot be read: .*\/nats\/context\/nosuch\.json: no such file$/,
    );
    await h.write('socks', { url: userpass.url, socks_proxy: 'socks5://127.0.0.1:1080' });
    r = await runCli(['snapshot', '-o', path.join(h.home, 's.jsonl'), '--context', 'socks'], { env: cliEnv(h.env) });
    expectOneLine(
      r,
      /^peer-audit: NATS context file .*socks\.json sets "socks_proxy", which peer-audit does not support/,
    );
    // A scan that reads no KV never needs the context.
    r = await runCli(['scan', '--project', project, '--no-kv', '--no-default-logs', '--context', 'broken'], {
      env: cliEnv(h.env),
    });
    expect(r.code, r.stderr).toBe(0);
  });

  it('snapshot, repair, reopen and undo connect through the context too', async () => {
    // A context with the URL only: no --server, no NATS_URL, so nothing but the context can lead there.
    const { loadSnapshotIntoServer } = await import('../helpers/kv-load.js');
    const fixture = path.resolve('fixtures/incidents/wal-operation-handling-fix');
    await loadSnapshotIntoServer(path.join(fixture, 'kv-snapshot.jsonl'), plain.url);
    await h.write('plain', { url: plain.url, inbox_prefix: '_INBOX_peer_audit' });
    const env = cliEnv({ ...h.env, NATS_CONTEXT: 'plain' });
    const work = await tempProject({});
    try {
      const snap = path.join(work, 'state.jsonl');
      let r = await runCli(['snapshot', '-o', snap], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse((await readFile(snap, 'utf8')).split('\n')[0])).toMatchObject({
        bucket: BUCKET,
        source: plain.url,
      });

      r = await runCli(['repair', '--project', work, '--no-default-logs'], { env });
      expect(r.stderr).not.toMatch(/cannot reach|incomplete/);
      expect(r.stdout).toContain('peer.spec.wal-operation-handling-fix');

      r = await runCli(
        [
          'reopen',
          'wal-operation-handling-fix',
          '--project',
          work,
          '--reason',
          'execute never ran',
          '--quiet-for',
          '0s',
          '--apply',
          '--yes',
        ],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const journal = /\.peer-audit\/journal\/[^\s]+\.json/.exec(r.stderr + r.stdout)?.[0];
      expect(journal).toBeDefined();

      r = await runCli(['undo', path.join(work, journal!), '--yes'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/undone \d+, left as they are 0/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

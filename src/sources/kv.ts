// Live source: every retained revision of the PEER state bucket, read over NATS JetStream.
//
// Rules this module keeps:
// - never create a bucket (bindOnly, and status() is the first call that touches the stream);
// - never throw for a source failure: readKvLive returns report.ok=false with one clear line;
// - map errors by err.code / api_error.err_code, never by message text;
// - always return within a bounded time, even against a peer that accepts TCP and never speaks NATS.

import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type JetStreamOptions,
  type KvEntry,
  type KvStatus,
  type NatsConnection,
  type QueuedIterator,
} from 'nats';
import type { BucketConfig, KvData, KvRevision, SourceReport } from '../model/types.js';
import { SourceFailure } from '../errors.js';
import { displayServers, parseServerList } from './servers.js';

export interface KvConnectOptions {
  /** One URL or a comma-separated list. Resolving the default (flag, env, context) is the caller's job. */
  servers: string;
  bucket: string;
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  /** NKey seed file (nkey authentication); used when no creds file is given. */
  nkeyFile?: string;
  /**
   * A user JWT and its seed given as text (a context's user_jwt/user_seed);
   * used when no creds or nkey file is given.
   */
  userJwt?: string;
  userSeed?: string;
  /** TLS: PEM file paths, and the TLS-first handshake. Any field (or a tls:// URL) makes TLS required. */
  tls?: { cert?: string; key?: string; ca?: string; handshakeFirst?: boolean };
  inboxPrefix?: string;
  /** JetStream domain / API prefix (a leaf node's hub, or an imported JetStream). */
  jsDomain?: string;
  jsApiPrefix?: string;
  /** Connect handshake timeout and JetStream request timeout, in ms. */
  timeoutMs: number;
}

// The server list is parsed in servers.ts (no NATS client needed to show a URL).
export { displayServers, parseServerList } from './servers.js';

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s !== '';

export function natsConnectionOptions(o: KvConnectOptions): ConnectionOptions {
  const parsed = parseServerList(o.servers);
  if (parsed.hostPorts.length === 0) {
    throw new Error(`no NATS server URL given (got "${o.servers}"): set --server or NATS_URL`);
  }
  const opts: ConnectionOptions = {
    servers: parsed.hostPorts,
    name: 'peer-audit',
    reconnect: false,
    noRandomize: true,
    timeout: Math.max(1, o.timeoutMs),
  };

  // Explicit credentials win over userinfo found in the URL.
  const flagsGiven = nonEmpty(o.user) || nonEmpty(o.password) || nonEmpty(o.token);
  let user = flagsGiven ? o.user : parsed.user;
  const pass = flagsGiven ? o.password : parsed.pass;
  let token = flagsGiven ? o.token : parsed.token;
  if (nonEmpty(user) && !nonEmpty(pass) && !nonEmpty(token)) {
    // As with the nats CLI: a user without a password is a token.
    token = user;
    user = undefined;
  }
  if (nonEmpty(user)) {
    opts.user = user;
    opts.pass = pass ?? '';
  }
  if (nonEmpty(token)) opts.token = token;

  if (nonEmpty(o.credsFile)) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(o.credsFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(`cannot read creds file ${o.credsFile}: ${code}`, { cause: err });
    }
    opts.authenticator = credsAuthenticator(bytes);
  } else if (nonEmpty(o.nkeyFile)) {
    const seed = /^\s*(S[A-Z][A-Z2-7]{40,})\s*$/m.exec(readText(o.nkeyFile, 'nkey seed file'))?.[1];
    if (!seed) throw new Error(`the nkey seed file ${o.nkeyFile} holds no NKey seed (a line starting with "SU")`);
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (nonEmpty(o.userJwt)) {
    opts.authenticator = jwtAuthenticator(
      o.userJwt.trim(),
      nonEmpty(o.userSeed) ? new TextEncoder().encode(o.userSeed.trim()) : undefined,
    );
  }

  // TLS: files are read here, so a missing one is named in one clear line before any connection is tried.
  const tlsUrl = o.servers.split(',').some((part) => /^\s*tls:\/\//i.test(part));
  const t = o.tls;
  if (tlsUrl || nonEmpty(t?.cert) || nonEmpty(t?.key) || nonEmpty(t?.ca) || t?.handshakeFirst) {
    if (nonEmpty(t?.cert) !== nonEmpty(t?.key)) {
      throw new Error(
        nonEmpty(t?.cert)
          ? `a TLS client certificate needs its key: add --tlskey`
          : `a TLS client key needs its certificate: add --tlscert`,
      );
    }
    opts.tls = {
      ...(nonEmpty(t?.cert) ? { cert: readText(t.cert, 'TLS certificate') } : {}),
      ...(nonEmpty(t?.key) ? { key: readText(t.key, 'TLS key') } : {}),
      ...(nonEmpty(t?.ca) ? { ca: readText(t.ca, 'TLS CA file') } : {}),
      ...(t?.handshakeFirst ? { handshakeFirst: true } : {}),
    };
  }
  if (nonEmpty(o.inboxPrefix)) opts.inboxPrefix = o.inboxPrefix;
  return opts;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot read ${what} ${file}: ${code}`, { cause: err });
  }
}

/**
 * How a message names the JetStream asked for: `domain "hub"`, `API prefix "$JS.hub.API"`,
 * or undefined for the default.
 */
export function jsRoute(o: KvConnectOptions): string | undefined {
  if (nonEmpty(o.jsDomain)) return `domain "${o.jsDomain}"`;
  if (nonEmpty(o.jsApiPrefix)) return `API prefix "${o.jsApiPrefix}"`;
  return undefined;
}

/** Options for nc.jetstream() / nc.jetstreamManager(): the request timeout, and the domain or API prefix if set. */
export function jetstreamOptions(o: KvConnectOptions): JetStreamOptions {
  const js: JetStreamOptions = { timeout: Math.max(1, o.timeoutMs) };
  if (nonEmpty(o.jsDomain)) js.domain = o.jsDomain;
  else if (nonEmpty(o.jsApiPrefix)) js.apiPrefix = o.jsApiPrefix;
  return js;
}

// ---------------------------------------------------------------- errors

/** Which step failed: the same code means different things at different steps (503, TIMEOUT). */
export type NatsPhase = 'connect' | 'jetstream' | 'bucket' | 'read' | 'write';

export interface NatsErrorContext {
  /** Server list as shown to the user (see displayServers). */
  url: string;
  timeoutMs: number;
  phase: NatsPhase;
  bucket?: string;
  credsFile?: string;
  /** Whether peer-audit asked for TLS, and with a client certificate: picks the hint for handshake failures. */
  tls?: 'no-client-cert' | 'client-cert';
  /** The JetStream domain or API prefix asked for, if any: "no responders" then means that one does not answer. */
  jsRoute?: string;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export function bucketMissingMessage(bucket: string, url: string): string {
  return `bucket "${bucket}" does not exist on ${url} (create it with: nats kv add ${bucket} --history=50)`;
}

/** One clear line for a NATS / JetStream failure. Maps by code and api_error.err_code only. */
export function describeNatsError(err: unknown, ctx: NatsErrorContext): string {
  if (err instanceof SourceFailure) return err.message;
  const e = (err ?? {}) as {
    code?: unknown;
    message?: unknown;
    hostname?: unknown;
    api_error?: { code?: number; err_code?: number; description?: string };
    chainedError?: { code?: unknown };
  };
  const code = typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : '';
  const errCode = e.api_error?.err_code;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const { url, timeoutMs, phase, bucket } = ctx;

  if (errCode === 10059 || (code === '404' && phase !== 'connect' && bucket !== undefined)) {
    if (bucket !== undefined) return bucketMissingMessage(bucket, url);
  }
  if (errCode === 10071) {
    return oneLine(
      `revision conflict on ${url}: the key changed since it was read (${e.api_error?.description ?? message})`,
    );
  }
  switch (code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return (
        `the TLS certificate of NATS at ${url} is not signed by a CA this machine trusts (${code}): ` +
        `pass the CA that signed it with --tlsca (or "ca" in the NATS context)`
      );
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return (
        `the TLS certificate of NATS at ${url} is not valid now (${code}): ` +
        `check the server certificate and this machine's clock`
      );
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return oneLine(
        `the TLS certificate of NATS at ${url} is not for this host (${message}): ` +
          `connect by a name the certificate lists`,
      );
    case 'SERVER_OPT_NA':
      return message === 'tls'
        ? `NATS at ${url} does not offer TLS, but TLS was asked for ` +
            '(a tls:// URL, --tlsca/--tlscert/--tlskey/--tlsfirst, or cert/key/ca in the NATS context)'
        : oneLine(`NATS at ${url} does not support ${message}`);
    case 'CONNECTION_REFUSED':
    case 'ECONNREFUSED':
      return `cannot reach NATS at ${url}: connection refused (is nats-server running? set --server or NATS_URL)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME': {
      const host = typeof e.hostname === 'string' ? e.hostname : url;
      return `cannot resolve host ${host} for NATS at ${url} (set --server or NATS_URL)`;
    }
    case 'TIMEOUT':
      if (phase === 'connect' && ctx.tls === 'no-client-cert') {
        return (
          `no NATS answer from ${url} within ${timeoutMs} ms ` +
          `(a server that requires a TLS client certificate can do this: --tlscert and --tlskey)`
        );
      }
      return phase === 'connect'
        ? `no NATS answer from ${url} within ${timeoutMs} ms`
        : `NATS request timed out after ${timeoutMs} ms`;
    case 'AUTHORIZATION_VIOLATION':
      return (
        `NATS rejected the credentials for ${url} (authorization violation): ` +
        `check --user/--password, --token or --creds`
      );
    case 'AUTHENTICATION_EXPIRED':
    case 'ACCOUNT_EXPIRED':
      return `NATS credentials for ${url} have expired: renew the --creds file`;
    case 'AUTHENTICATION_TIMEOUT':
      return `NATS at ${url} timed out waiting for authentication: check --user/--password, --token or --creds`;
    case 'BAD_CREDS':
      return ctx.credsFile
        ? `the creds file ${ctx.credsFile} is not valid NATS credentials (bad creds)`
        : `NATS credentials for ${url} are malformed (bad creds): check --creds`;
    case 'PERMISSIONS_VIOLATION':
      return (
        `no permission to use the JetStream API on ${url}: ` +
        `the NATS user needs publish permission on $JS.API.> (or use other credentials)`
      );
    case '503':
      if (ctx.jsRoute && phase !== 'write')
        return (
          `no JetStream answered on ${url} for ${ctx.jsRoute}: ` +
          `check --js-domain / --js-api-prefix (or the NATS context's jetstream_domain)`
        );
      return phase === 'jetstream' || phase === 'connect'
        ? `JetStream is not enabled on ${url}: ` +
            `start nats-server with -js (or a jetstream {} block in its configuration)`
        : `JetStream on ${url} did not answer (no responders)`;
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DRAINING':
    case 'DISCONNECT':
    case 'ECONNRESET':
    case 'EPIPE':
      if (phase === 'connect' && ctx.tls) return tlsRejected(url, ctx.tls);
      if (phase === 'connect') {
        return (
          `NATS at ${url} closed the connection while connecting ` +
          `(a server that requires TLS client certificates does this: --tlscert, --tlskey, --tlsca)`
        );
      }
      return `NATS connection to ${url} closed before the ${phase === 'write' ? 'write' : 'read'} finished`;
    default:
      // The server's TLS alert when it refuses the client's certificate (or its absence);
      // the name varies with the TLS version.
      if (
        phase === 'connect' &&
        ctx.tls &&
        /^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)$/.test(
          code,
        )
      ) {
        return `${tlsRejected(url, ctx.tls)} [${code}]`;
      }
      if (code.startsWith('ERR_SSL_')) {
        return oneLine(`the TLS handshake with NATS at ${url} failed (${code}): check --tlscert/--tlskey/--tlsca`);
      }
      break;
  }
  const chained = typeof e.chainedError?.code === 'string' ? e.chainedError.code : '';
  const suffix = code && code !== message ? ` (${code})` : chained ? ` (${chained})` : '';
  return oneLine(`NATS error at ${url}: ${message}${suffix}`);
}

function tlsRejected(url: string, tls: 'no-client-cert' | 'client-cert'): string {
  return tls === 'no-client-cert'
    ? `NATS at ${url} closed the connection during the TLS handshake: ` +
        `it requires a client certificate (--tlscert and --tlskey, or cert/key in the NATS context)`
    : `NATS at ${url} closed the connection during the TLS handshake: ` +
        `it did not accept the client certificate (is it signed by a CA the server trusts, and still valid?)`;
}

function timeoutError(): Error {
  return Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
}

// ---------------------------------------------------------------- connect

function tlsHint(o: KvConnectOptions): NatsErrorContext['tls'] {
  const t = o.tls;
  if (nonEmpty(t?.cert)) return 'client-cert';
  if (nonEmpty(t?.ca) || t?.handshakeFirst || /(^|,)\s*tls:\/\//i.test(o.servers)) return 'no-client-cert';
  return undefined;
}

/** The settings of a bucket as the audit reports them, from the client's status. */
export function bucketConfigOf(st: KvStatus): BucketConfig {
  return {
    history: st.history,
    replicas: st.replicas,
    ttlMs: st.ttl,
    storage: String(st.storage),
    description: st.description,
    maxValueSize: st.maxValueSize,
  };
}

/**
 * Connect with the project's options. Returns within about timeoutMs per server + 1 s, whatever the peer does.
 * Throws a SourceFailure whose message is the one line to show. `client`: client options on top of those (watch
 * reconnects forever once the first connection is up).
 */
export async function connectNats(
  o: KvConnectOptions,
  client: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  const url = displayServers(o.servers);
  const ctx: NatsErrorContext = {
    url,
    timeoutMs: o.timeoutMs,
    phase: 'connect',
    credsFile: o.credsFile,
    tls: tlsHint(o),
  };
  let copts: ConnectionOptions;
  try {
    copts = { ...natsConnectionOptions(o), ...client };
  } catch (err) {
    throw new SourceFailure(oneLine((err as Error).message), err);
  }
  const serverCount = Array.isArray(copts.servers) ? copts.servers.length : 1;
  // The client's own handshake timeout leaves a silent socket behind and may not settle promptly:
  // a guard timer makes sure this call returns.
  const budget = Math.max(1, o.timeoutMs) * Math.max(1, serverCount) + 1_000;
  let pending: Promise<NatsConnection>;
  try {
    pending = connect(copts);
  } catch (err) {
    throw new SourceFailure(describeNatsError(err, ctx), err);
  }
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), budget);
  });
  try {
    return await Promise.race([pending, guard]);
  } catch (err) {
    // A connection that completes after we gave up must not stay open.
    pending.then((nc) => nc.close()).catch(() => undefined);
    throw new SourceFailure(describeNatsError(err, ctx), err);
  } finally {
    clearTimeout(timer);
  }
}

/** Drain (or close) a connection without letting a dead peer hold the caller for more than about a second. */
export async function closeNats(nc: NatsConnection, timeoutMs: number): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      nc.drain(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(Math.max(100, timeoutMs), 1_000));
      }),
    ]);
  } catch {
    /* fall through to close */
  } finally {
    clearTimeout(timer);
  }
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

// ---------------------------------------------------------------- read

const BUCKET_NAME = /^[-\w]+$/;

function emptyData(o: KvConnectOptions, url: string): KvData {
  return { bucket: o.bucket, origin: 'live', originRef: url, takenAt: new Date().toISOString(), keys: new Map() };
}

function failure(o: KvConnectOptions, url: string, error: string): { data: KvData; report: SourceReport } {
  return {
    data: emptyData(o, url),
    report: { kind: 'kv', ref: `${url} bucket ${o.bucket}`, ok: false, error, stats: {}, problems: [] },
  };
}

/** Values are copied into shared slabs: one allocation per megabyte instead of one per revision. */
const SLAB_BYTES = 1 << 20;
let slab = new Uint8Array(0);
let slabUsed = 0;

function copyValue(v: Uint8Array): Uint8Array {
  if (v.length > SLAB_BYTES / 8) return new Uint8Array(v);
  if (slabUsed + v.length > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + v.length);
  view.set(v);
  slabUsed += v.length;
  return view;
}

/** The last year whose ISO form has four digits (toISOString writes `+010000-…` from 10000 on). */
const ISO_PLAIN_END = Date.UTC(10000, 0, 1);
let isoMinute = NaN;
let isoPrefix = '';
let isoLastMs = NaN;
let isoLast = '';
const ISO_SECONDS = Array.from({ length: 60 }, (_, s) => `${String(s).padStart(2, '0')}.`);
const ISO_MILLIS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z`);

/**
 * `new Date(ms).toISOString()`, from the formatted minute and lookup tables: revisions arrive in time order, so the
 * minute (and often the millisecond) repeats, and formatting a date costs about as much as reading the revision.
 */
export function isoTime(ms: number): string {
  if (ms === isoLastMs) return isoLast;
  if (!(ms >= 0 && ms < ISO_PLAIN_END)) return new Date(ms).toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== isoMinute) {
    isoPrefix = new Date(minute * 60_000).toISOString().slice(0, 17); // YYYY-MM-DDTHH:mm:
    isoMinute = minute;
  }
  const rest = ms - minute * 60_000;
  const text = isoPrefix + ISO_SECONDS[Math.floor(rest / 1000)] + ISO_MILLIS[rest % 1000];
  // Held for every revision: flatten the concatenation now (a flat string is a third of the size of its parts).
  text.charCodeAt(0);
  isoLastMs = ms;
  isoLast = text;
  return text;
}

/** `progress`, when given, counts keys and revisions as they arrive (for a progress line). */
/**
 * `keys`, when given, are the subjects to read (NATS wildcards, e.g. `peer.spec.x.>`), one history per subject:
 * the keys of one run without listing a bucket that holds thousands (one filter per consumer, as servers before
 * 2.10 take it).
 */
export async function readKvLive(
  o: KvConnectOptions,
  progress?: { keys: number; revisions: number },
  keys?: string[],
): Promise<{ data: KvData; report: SourceReport }> {
  const url = displayServers(o.servers);
  if (!BUCKET_NAME.test(o.bucket)) {
    return failure(o, url, `invalid bucket name "${o.bucket}" (allowed: letters, digits, "-" and "_")`);
  }
  const ctx: NatsErrorContext = {
    url,
    timeoutMs: o.timeoutMs,
    phase: 'connect',
    bucket: o.bucket,
    credsFile: o.credsFile,
    tls: tlsHint(o),
    jsRoute: jsRoute(o),
  };

  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(o);

    ctx.phase = 'jetstream';
    const js = nc.jetstream(jetstreamOptions(o));
    const kv = await js.views.kv(o.bucket, { bindOnly: true });

    ctx.phase = 'bucket';
    const st = await kv.status();
    const config = bucketConfigOf(st);
    const takenAt = new Date().toISOString();
    const byKey = new Map<string, KvRevision[]>();
    const names: string[] = [];
    let revisions = 0;
    let bytes = 0;
    // Entries come in stream order: anything at or below the last revision is a redelivery
    // after an ordered-consumer reset.
    let lastRevision = 0;

    for (const filter of st.values > 0 ? (keys ?? ['>']) : []) {
      ctx.phase = 'read';
      lastRevision = 0;
      const it: QueuedIterator<KvEntry> = await kv.history({ key: filter });
      // history() ends by itself once the consumer has caught up; a stalled consumer must not hang us. One timer
      // checks for silence (re-arming a timer per entry costs more than reading the entry).
      const limit = Math.max(1, o.timeoutMs);
      let heard = Date.now();
      const idle = setInterval(
        () => {
          if (Date.now() - heard >= limit) it.stop(timeoutError());
        },
        Math.max(1, Math.min(250, Math.floor(limit / 4))),
      );
      try {
        for await (const e of it) {
          heard = Date.now();
          const revision = e.revision;
          if (revision <= lastRevision) continue;
          lastRevision = revision;
          let key = e.key;
          let list = byKey.get(key);
          if (!list) {
            list = [];
            byKey.set(key, list);
            names.push(key);
            if (progress) progress.keys++;
          } else {
            // Two filters that overlap deliver a key twice.
            if (keys && list[list.length - 1].revision >= revision) continue;
            key = list[0].key; // one string per key: the entry's own is a slice that keeps its whole subject alive
          }
          const value = copyValue(e.value); // copy: the client may reuse its buffer
          list.push({ key, revision, operation: e.operation, created: isoTime(e.created.getTime()), value });
          revisions += 1;
          if (progress) progress.revisions++;
          bytes += value.length;
        }
      } finally {
        clearInterval(idle);
      }
      // The iterator also ends quietly when the connection drops: that is an incomplete read, not a clean one.
      if (nc.isClosed()) {
        throw Object.assign(new Error('CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
      }
      // Each key's revisions are already in order: they arrive in stream order and redeliveries are skipped.
    }

    // Keys in code-unit order (the default sort's), as a snapshot lists them.
    names.sort();
    const sorted = new Map<string, KvRevision[]>();
    for (const name of names) sorted.set(name, byKey.get(name) as KvRevision[]);
    const data: KvData = {
      bucket: o.bucket,
      origin: 'live',
      originRef: url,
      takenAt,
      config,
      serverVersion: nc.info?.version,
      keys: sorted,
    };
    return {
      data,
      report: {
        kind: 'kv',
        ref: `${url} bucket ${o.bucket}`,
        ok: true,
        stats: { keys: sorted.size, revisions, bytes },
        problems: [],
      },
    };
  } catch (err) {
    return failure(o, url, describeNatsError(err, ctx));
  } finally {
    if (nc) await closeNats(nc, o.timeoutMs);
  }
}

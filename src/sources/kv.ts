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
  type ConnectionOptions,
  type KvEntry,
  type NatsConnection,
  type QueuedIterator,
} from 'nats';
import type { BucketConfig, KvData, KvRevision, SourceReport } from '../model/types.js';

export interface KvConnectOptions {
  /** One URL or a comma-separated list. Resolving the default (flag, env, context) is the caller's job. */
  servers: string;
  bucket: string;
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  /** Connect handshake timeout and JetStream request timeout, in ms. */
  timeoutMs: number;
}

// ---------------------------------------------------------------- server list

interface ParsedServers {
  /** host:port entries for the client (scheme and userinfo removed). */
  hostPorts: string[];
  /** What to show in messages and report refs: the URLs as given, without userinfo. */
  display: string;
  user?: string;
  pass?: string;
  token?: string;
}

function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Split a comma-separated server list, strip schemes, and pull `user:pass@` / `token@` userinfo out. */
export function parseServerList(servers: string): ParsedServers {
  const hostPorts: string[] = [];
  const shown: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  let sawUserinfo = false;
  for (const raw of servers.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(part)?.[0] ?? '';
    const rest = part.slice(scheme.length);
    const end = rest.search(/[/?#]/);
    const authority = end === -1 ? rest : rest.slice(0, end);
    const at = authority.lastIndexOf('@');
    const host = at === -1 ? authority : authority.slice(at + 1);
    if (at !== -1 && !sawUserinfo) {
      // The first URL that carries userinfo decides; the client itself ignores userinfo entirely.
      sawUserinfo = true;
      const info = authority.slice(0, at);
      const colon = info.indexOf(':');
      if (colon === -1) {
        token = decodePart(info);
      } else {
        user = decodePart(info.slice(0, colon));
        pass = decodePart(info.slice(colon + 1));
      }
    }
    if (host === '') continue;
    hostPorts.push(host);
    shown.push(scheme + host);
  }
  return { hostPorts, display: shown.join(','), user, pass, token };
}

/** The server list as it may appear in messages: userinfo removed, so secrets never reach a report. */
export function displayServers(servers: string): string {
  const d = parseServerList(servers).display;
  return d === '' ? servers.trim() : d;
}

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
  let pass = flagsGiven ? o.password : parsed.pass;
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
      throw new Error(`cannot read creds file ${o.credsFile}: ${code}`);
    }
    opts.authenticator = credsAuthenticator(bytes);
  }
  return opts;
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
}

/** An error whose message is already the one line to show. */
export class NatsSourceError extends Error {
  readonly code?: string;
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'NatsSourceError';
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') this.code = code;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export function bucketMissingMessage(bucket: string, url: string): string {
  return `bucket "${bucket}" does not exist on ${url} (create it with: nats kv add ${bucket} --history=50)`;
}

/** One clear line for a NATS / JetStream failure. Maps by code and api_error.err_code only. */
export function describeNatsError(err: unknown, ctx: NatsErrorContext): string {
  if (err instanceof NatsSourceError) return err.message;
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
    return oneLine(`revision conflict on ${url}: the key changed since it was read (${e.api_error?.description ?? message})`);
  }
  switch (code) {
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
      return phase === 'connect'
        ? `no NATS answer from ${url} within ${timeoutMs} ms`
        : `NATS request timed out after ${timeoutMs} ms`;
    case 'AUTHORIZATION_VIOLATION':
      return `NATS rejected the credentials for ${url} (authorization violation): check --user/--password, --token or --creds`;
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
      return `no permission to use the JetStream API on ${url}`;
    case '503':
      return phase === 'jetstream' || phase === 'connect'
        ? `JetStream is not enabled on ${url}`
        : `JetStream on ${url} did not answer (no responders)`;
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DRAINING':
    case 'DISCONNECT':
    case 'ECONNRESET':
    case 'EPIPE':
      return `NATS connection to ${url} closed before the ${phase === 'write' ? 'write' : 'read'} finished`;
    default:
      break;
  }
  const chained = typeof e.chainedError?.code === 'string' ? e.chainedError.code : '';
  const suffix = code && code !== message ? ` (${code})` : chained ? ` (${chained})` : '';
  return oneLine(`NATS error at ${url}: ${message}${suffix}`);
}

function timeoutError(): Error {
  return Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
}

// ---------------------------------------------------------------- connect

/**
 * Connect with the project's options. Returns within about timeoutMs per server + 1 s, whatever the peer does.
 * Throws a NatsSourceError whose message is the one line to show.
 */
export async function connectNats(o: KvConnectOptions): Promise<NatsConnection> {
  const url = displayServers(o.servers);
  const ctx: NatsErrorContext = { url, timeoutMs: o.timeoutMs, phase: 'connect', credsFile: o.credsFile };
  let copts: ConnectionOptions;
  try {
    copts = natsConnectionOptions(o);
  } catch (err) {
    throw new NatsSourceError(oneLine((err as Error).message), err);
  }
  const serverCount = Array.isArray(copts.servers) ? copts.servers.length : 1;
  // The client's own handshake timeout leaves a silent socket behind and may not settle promptly:
  // a guard timer makes sure this call returns.
  const budget = Math.max(1, o.timeoutMs) * Math.max(1, serverCount) + 1_000;
  let pending: Promise<NatsConnection>;
  try {
    pending = connect(copts);
  } catch (err) {
    throw new NatsSourceError(describeNatsError(err, ctx), err);
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
    throw new NatsSourceError(describeNatsError(err, ctx), err);
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

export async function readKvLive(o: KvConnectOptions): Promise<{ data: KvData; report: SourceReport }> {
  const url = displayServers(o.servers);
  if (!BUCKET_NAME.test(o.bucket)) {
    return failure(o, url, `invalid bucket name "${o.bucket}" (allowed: letters, digits, "-" and "_")`);
  }
  const ctx: NatsErrorContext = { url, timeoutMs: o.timeoutMs, phase: 'connect', bucket: o.bucket, credsFile: o.credsFile };

  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(o);

    ctx.phase = 'jetstream';
    const js = nc.jetstream({ timeout: Math.max(1, o.timeoutMs) });
    const kv = await js.views.kv(o.bucket, { bindOnly: true });

    ctx.phase = 'bucket';
    const st = await kv.status();
    const config: BucketConfig = {
      history: st.history,
      replicas: st.replicas,
      ttlMs: st.ttl,
      storage: String(st.storage),
      description: st.description,
      maxValueSize: st.maxValueSize,
    };
    const takenAt = new Date().toISOString();
    const keys = new Map<string, KvRevision[]>();
    let revisions = 0;
    let bytes = 0;
    const seen = new Set<number>();

    if (st.values > 0) {
      ctx.phase = 'read';
      const it: QueuedIterator<KvEntry> = await kv.history({ key: '>' });
      // history() ends by itself once the consumer has caught up; a stalled consumer must not hang us.
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => it.stop(timeoutError()), Math.max(1, o.timeoutMs));
      };
      arm();
      try {
        for await (const e of it) {
          arm();
          if (seen.has(e.revision)) continue; // redelivery after an ordered-consumer reset
          seen.add(e.revision);
          let list = keys.get(e.key);
          if (!list) {
            list = [];
            keys.set(e.key, list);
          }
          const value = new Uint8Array(e.value); // copy: the client may reuse its buffer
          list.push({ key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString(), value });
          revisions += 1;
          bytes += value.length;
        }
      } finally {
        clearTimeout(idle);
      }
      // The iterator also ends quietly when the connection drops: that is an incomplete read, not a clean one.
      if (nc.isClosed()) {
        throw Object.assign(new Error('CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
      }
      for (const list of keys.values()) list.sort((a, b) => a.revision - b.revision);
    }

    const sorted = new Map([...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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

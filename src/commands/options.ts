// Option shapes shared by the commands that read evidence, and how a connection is put together:
// flags, then the environment, then the NATS context, then the defaults.
import path from 'node:path';
import type { KvConnectOptions } from '../sources/kv.js';
import { displayServers, parseServerList } from '../sources/servers.js';
import { loadNatsContext, type NatsContext } from '../sources/nats-context.js';
import { DEFAULT_BUCKET, DEFAULT_SERVER } from '../config/config.js';

// The defaults live beside the config's schema; the commands' flags take them from here too.
export { DEFAULT_BUCKET, DEFAULT_SERVER };

export interface ConnectArgs {
  server?: string;
  bucket: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  timeout: number;
  /** `--context NAME|FILE.json`; false for `--no-context`; undefined: $NATS_CONTEXT, else the nats CLI's selection. */
  context?: string | false;
  nkey?: string;
  tlscert?: string;
  tlskey?: string;
  tlsca?: string;
  tlsfirst?: boolean;
  jsDomain?: string;
  jsApiPrefix?: string;
  inboxPrefix?: string;
}

/** The connection flags out of a parsed command line (yargs argv), for every command that connects. */
export function connectArgs(a: Record<string, unknown>): ConnectArgs {
  const s = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const ctx = a.context;
  return {
    server: s('server'),
    bucket: s('bucket') ?? DEFAULT_BUCKET,
    user: s('user'),
    password: s('password'),
    token: s('token'),
    creds: s('creds'),
    timeout: typeof a.timeout === 'number' ? a.timeout : 5000,
    context: ctx === false ? false : typeof ctx === 'string' ? ctx : undefined,
    nkey: s('nkey'),
    tlscert: s('tlscert'),
    tlskey: s('tlskey'),
    tlsca: s('tlsca'),
    tlsfirst: a.tlsfirst === true ? true : undefined,
    jsDomain: s('js-domain'),
    jsApiPrefix: s('js-api-prefix'),
    inboxPrefix: s('inbox-prefix'),
  };
}

/** Where the server list came from, for messages such as doctor's. */
export type ServerOrigin = 'flag' | 'env' | 'context' | 'default';

export interface ResolvedConnect {
  options: KvConnectOptions;
  /** The NATS context used, if any. */
  context?: NatsContext;
  serverOrigin: ServerOrigin;
}

type Env = Record<string, string | undefined>;

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

/** The first non-empty of the values: flag, then environment, then context. */
function pick(...values: Array<string | undefined>): string | undefined {
  return values.find(given);
}

/**
 * Flags, then environment (NATS_URL, NATS_USER, …), then the NATS context, then the defaults.
 * Credentials are one unit: when a flag or variable gives any of user, password, token, creds or nkey, none of the
 * context's credentials are used. Throws NatsContextError for a context that cannot be used.
 */
export function resolveConnect(a: ConnectArgs, env: Env = process.env, cwd: string = process.cwd()): ResolvedConnect {
  const ctx = loadNatsContext(a.context, env, cwd);

  let servers: string;
  let serverOrigin: ServerOrigin;
  if (given(a.server)) {
    servers = a.server;
    serverOrigin = 'flag';
    // The same server as the context's URL (e.g. undo's server from the journal): keep the context's user:pass@.
    const p = parseServerList(a.server);
    if (
      ctx?.url &&
      p.user === undefined &&
      p.token === undefined &&
      displayServers(ctx.url) === displayServers(a.server)
    )
      servers = ctx.url;
  } else if (given(env.NATS_URL)) {
    servers = env.NATS_URL;
    serverOrigin = 'env';
  } else if (ctx?.url) {
    servers = ctx.url;
    serverOrigin = 'context';
  } else {
    servers = DEFAULT_SERVER;
    serverOrigin = 'default';
  }

  const user = pick(a.user, env.NATS_USER);
  const password = pick(a.password, env.NATS_PASSWORD);
  const token = pick(a.token, env.NATS_TOKEN);
  const creds = pick(a.creds, env.NATS_CREDS);
  const nkey = pick(a.nkey, env.NATS_NKEY);
  const explicitAuth = [user, password, token, creds, nkey].some(given);
  const c = explicitAuth ? undefined : ctx;

  const abs = (p: string | undefined) => (given(p) ? path.resolve(cwd, p) : undefined);
  const cert = abs(pick(a.tlscert, env.NATS_CERT)) ?? ctx?.cert;
  const key = abs(pick(a.tlskey, env.NATS_KEY)) ?? ctx?.key;
  const ca = abs(pick(a.tlsca, env.NATS_CA)) ?? ctx?.ca;
  const handshakeFirst = a.tlsfirst === true || ctx?.tlsFirst === true;
  const tls =
    cert || key || ca || handshakeFirst ? { cert, key, ca, ...(handshakeFirst ? { handshakeFirst } : {}) } : undefined;

  const options: KvConnectOptions = {
    servers,
    bucket: a.bucket,
    user: explicitAuth ? user : c?.user,
    password: explicitAuth ? password : c?.password,
    token: explicitAuth ? token : c?.token,
    credsFile: explicitAuth ? abs(creds) : c?.creds,
    nkeyFile: explicitAuth ? abs(nkey) : c?.nkey,
    userJwt: c?.userJwt,
    userSeed: c?.userSeed,
    tls,
    inboxPrefix: pick(a.inboxPrefix, ctx?.inboxPrefix),
    // A domain given on the command line replaces the context's API prefix too, and the other way round.
    jsDomain: given(a.jsDomain) ? a.jsDomain : given(a.jsApiPrefix) ? undefined : ctx?.jsDomain,
    jsApiPrefix: given(a.jsApiPrefix) ? a.jsApiPrefix : given(a.jsDomain) ? undefined : ctx?.jsApiPrefix,
    timeoutMs: a.timeout,
  };
  // Keep the object tidy for messages and tests: no keys that say nothing.
  for (const k of Object.keys(options) as Array<keyof KvConnectOptions>)
    if (options[k] === undefined) delete options[k];
  return { options, context: ctx, serverOrigin };
}

export function kvOptions(a: ConnectArgs): KvConnectOptions {
  return resolveConnect(a).options;
}

// The nats CLI's connection contexts: ${XDG_CONFIG_HOME:-~/.config}/nats/context/<name>.json, the selected one named
// in …/nats/context.txt. Reading them lets peer-audit connect exactly where `nats kv ls` does.
//
// Loading is synchronous and never connects; every problem is a NatsContextError whose message names the file
// and what is wrong with it, so the CLI can print it as one line and exit 2.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A context file, read and checked: paths expanded, credential URIs resolved, empty strings dropped. */
export interface NatsContext {
  /** The context name, or the file path when a .json file was named. */
  name: string;
  /** Absolute path of the context file. */
  file: string;
  /** What chose it: --context, $NATS_CONTEXT, or the nats CLI's selection in context.txt. */
  selectedBy: 'flag' | 'env' | 'selection';
  description?: string;
  url?: string;
  user?: string;
  password?: string;
  token?: string;
  /** Absolute path of a creds file. */
  creds?: string;
  /** Absolute path of an NKey seed file. */
  nkey?: string;
  userJwt?: string;
  userSeed?: string;
  /** Absolute PEM file paths. */
  cert?: string;
  key?: string;
  ca?: string;
  tlsFirst?: boolean;
  inboxPrefix?: string;
  jsDomain?: string;
  jsApiPrefix?: string;
}

/** A context that cannot be used: the message is the one line to show. */
export class NatsContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsContextError';
  }
}

type Env = Record<string, string | undefined>;

const STRING_FIELDS = [
  'description',
  'url',
  'user',
  'password',
  'token',
  'creds',
  'nkey',
  'cert',
  'key',
  'ca',
  'nsc',
  'user_jwt',
  'user_seed',
  'inbox_prefix',
  'jetstream_domain',
  'jetstream_api_prefix',
  'jetstream_event_prefix',
  'socks_proxy',
  'color_scheme',
  'name',
  'windows_cert_store',
  'windows_cert_match_by',
  'windows_cert_match',
] as const;

/** Fields the NATS JavaScript client has no equivalent for: a context that sets one is refused, never half-applied. */
const UNSUPPORTED: Record<string, string> = {
  socks_proxy: 'the NATS JavaScript client cannot connect through a SOCKS proxy',
  nsc: 'nsc:// profiles need the nsc tool; point "creds" at the user\'s .creds file instead',
  windows_cert_store: 'the Windows certificate store is not available to Node; use "cert", "key" and "ca" PEM files',
  windows_cert_match_by: 'the Windows certificate store is not available to Node; use "cert", "key" and "ca" PEM files',
  windows_cert_match: 'the Windows certificate store is not available to Node; use "cert", "key" and "ca" PEM files',
  windows_ca_certs_match: 'the Windows certificate store is not available to Node; use "ca" with a PEM file',
};

/** `${XDG_CONFIG_HOME:-~/.config}/nats`, as the nats CLI computes it. */
export function natsConfigDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return xdg ? path.resolve(xdg, 'nats') : path.join(homeDir(env), '.config', 'nats');
}

function homeDir(env: Env): string {
  return env.HOME || os.homedir();
}

/** `$VAR` / `${VAR}` expansion (unset variables become empty, as Go's os.ExpandEnv does), then a leading `~`. */
export function expandPath(p: string, env: Env = process.env): string {
  const expanded = p.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? '',
  );
  if (expanded === '~') return homeDir(env);
  if (expanded.startsWith('~/')) return path.join(homeDir(env), expanded.slice(2));
  return expanded;
}

/** A context name as the nats CLI accepts it: no path separators, no "..", nothing empty. */
function checkName(name: string, where: string): void {
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\\') ||
    name.includes('\0')
  ) {
    throw new NatsContextError(
      `"${name}" from ${where} is not a NATS context name ` +
        `(a name in ${path.join('~', '.config', 'nats', 'context')}/ or a path to a .json file)`,
    );
  }
}

function describeSelection(by: NatsContext['selectedBy'], selectionFile: string): string {
  return by === 'flag' ? '--context' : by === 'env' ? '$NATS_CONTEXT' : selectionFile;
}

/**
 * The context to use: `--context NAME|FILE.json` (choice), else $NATS_CONTEXT, else the name in context.txt.
 * `false` (`--no-context`) and no selection at all give undefined.
 */
export function loadNatsContext(
  choice: string | false | undefined,
  env: Env = process.env,
  cwd: string = process.cwd(),
): NatsContext | undefined {
  if (choice === false) return undefined;
  const dir = natsConfigDir(env);
  const selectionFile = path.join(dir, 'context.txt');
  let name: string;
  let selectedBy: NatsContext['selectedBy'];
  if (choice !== undefined) {
    if (choice.trim() === '')
      throw new NatsContextError('--context needs a context name or the path of a context .json file');
    name = choice.trim();
    selectedBy = 'flag';
  } else if (env.NATS_CONTEXT && env.NATS_CONTEXT.trim() !== '') {
    name = env.NATS_CONTEXT.trim();
    selectedBy = 'env';
  } else {
    let selected: string;
    try {
      selected = readFileSync(selectionFile, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // the nats CLI never selected one
      throw new NatsContextError(
        `cannot read the selected NATS context from ${selectionFile}: ${code ?? (err as Error).message}`,
      );
    }
    if (selected === '') return undefined;
    name = selected;
    selectedBy = 'selection';
  }

  const where = describeSelection(selectedBy, selectionFile);
  let file: string;
  if (name.endsWith('.json')) {
    file = path.resolve(cwd, expandPath(name, env));
  } else {
    checkName(name, where);
    file = path.join(dir, 'context', `${name}.json`);
  }

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? (err as Error).message);
    throw new NatsContextError(`NATS context "${name}" (named by ${where}) cannot be read: ${file}: ${why}`);
  }
  return parseNatsContext(text, { name, file, selectedBy }, env);
}

/** Check and normalise the JSON of one context file. */
export function parseNatsContext(
  text: string,
  at: Pick<NatsContext, 'name' | 'file' | 'selectedBy'>,
  env: Env = process.env,
): NatsContext {
  const bad = (problem: string): NatsContextError => new NatsContextError(`NATS context file ${at.file} ${problem}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('must hold one JSON object');
  const o = raw as Record<string, unknown>;

  const str = (field: (typeof STRING_FIELDS)[number]): string | undefined => {
    const v = o[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw bad(`has "${field}": ${JSON.stringify(v)}, which is not a string`);
    return v.trim() === '' ? undefined : v;
  };
  for (const f of STRING_FIELDS) str(f); // type-check every known string field up front
  if (o.tls_first !== undefined && o.tls_first !== null && typeof o.tls_first !== 'boolean') {
    throw bad(`has "tls_first": ${JSON.stringify(o.tls_first)}, which is not true or false`);
  }
  const caMatch = o.windows_ca_certs_match;
  if (caMatch !== undefined && caMatch !== null && !Array.isArray(caMatch))
    throw bad('has "windows_ca_certs_match" that is not a list');

  for (const [field, why] of Object.entries(UNSUPPORTED)) {
    const v = o[field];
    const set = Array.isArray(v) ? v.length > 0 : typeof v === 'string' && v.trim() !== '';
    if (set) throw bad(`sets "${field}", which peer-audit does not support: ${why}`);
  }

  /** password, token, user_jwt, user_seed: a literal, file://PATH (its content) or env://VAR. */
  const secret = (field: 'password' | 'token' | 'user_jwt' | 'user_seed'): string | undefined => {
    const v = str(field);
    if (v === undefined) return undefined;
    const scheme = credentialScheme(v);
    if (scheme === undefined) return v;
    if (scheme === 'env') {
      const name = v.slice('env://'.length);
      const value = env[name];
      if (value === undefined || value === '') throw bad(`takes "${field}" from env://${name}, but ${name} is not set`);
      return value;
    }
    if (scheme === 'file') {
      const p = path.resolve(expandPath(fileUriPath(v), env));
      try {
        return readFileSync(p, 'utf8').trim();
      } catch (err) {
        throw bad(
          `takes "${field}" from ${p}, which cannot be read: ` +
            `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
    throw bad(
      `gives "${field}" as a ${scheme}: URI, which peer-audit does not support ` +
        '(use the value itself, file:// or env://)',
    );
  };

  /** creds, nkey, cert, key, ca: a path ($VAR and ~ expanded) or file://PATH. */
  const filePath = (field: 'creds' | 'nkey' | 'cert' | 'key' | 'ca'): string | undefined => {
    const v = str(field);
    if (v === undefined) return undefined;
    const scheme = credentialScheme(v);
    if (scheme !== undefined && scheme !== 'file') {
      throw bad(`gives "${field}" as a ${scheme}: URI, which peer-audit does not support (give the path of the file)`);
    }
    return path.resolve(expandPath(scheme === 'file' ? fileUriPath(v) : v, env));
  };

  return {
    ...at,
    description: str('description'),
    url: str('url'),
    user: str('user'),
    password: secret('password'),
    token: secret('token'),
    creds: filePath('creds'),
    nkey: filePath('nkey'),
    userJwt: secret('user_jwt'),
    userSeed: secret('user_seed'),
    cert: filePath('cert'),
    key: filePath('key'),
    ca: filePath('ca'),
    tlsFirst: o.tls_first === true ? true : undefined,
    inboxPrefix: str('inbox_prefix'),
    jsDomain: str('jetstream_domain'),
    jsApiPrefix: str('jetstream_api_prefix'),
  };
}

/** The credential URI schemes newer nats CLIs understand; anything else is a literal value or a path. */
function credentialScheme(v: string): 'file' | 'env' | 'op' | 'nsc' | 'data' | undefined {
  const m = /^(file|env|op|nsc):\/\//i.exec(v) ?? /^(data):/i.exec(v);
  return m ? (m[1].toLowerCase() as 'file' | 'env' | 'op' | 'nsc' | 'data') : undefined;
}

function fileUriPath(v: string): string {
  const rest = v.slice('file://'.length);
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

// Secrets never leave peer-audit: every string of a scan result (messages, excerpts, notes, contexts, run
// summaries, source descriptions) is masked here, once, before any format renders it.

/** What a masked secret is replaced with. */
export const MASK = (kind: string) => `[REDACTED:${kind}]`;

// Text reaches us escaped (a newline is the two characters \n, ESC is \x1b): a secret right after such an
// escape, or after an SGR colour sequence, still starts a token.
const START = String.raw`(?<=^|[^A-Za-z0-9_]|\\[ntr]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\x1b\[[0-9;]*[A-Za-z])`;
const END = String.raw`(?![A-Za-z0-9_])`;

/**
 * Names whose values are secrets: a segment (split on _ - .) that says so, e.g. NATS_PASSWORD, api_key, x-auth-token.
 */
const SECRET_NAME =
  /^(?:[A-Za-z0-9]+[_.-])*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|secret[_-]?key|client[_-]?secret|credentials?|auth|authorization|cookie|session[_-]?key)(?:[_.-][A-Za-z0-9]+)*$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

interface Pattern {
  kind: string;
  re: RegExp;
  /**
   * A cheap test that every match implies (a literal the pattern needs): most strings of a scan hold no
   * secret, and the lookbehind patterns are slow to run over long texts that cannot match.
   */
  may: (s: string) => boolean;
  /** Returns the replacement, or undefined to leave the match alone. */
  replace: (m: RegExpExecArray) => string | undefined;
}

const whole = (kind: string) => () => MASK(kind);

// The literals the patterns need. Every secret name (SECRET_NAME, the flag names) holds one of these words.
const SECRET_WORD = /pass|pwd|secret|token|key|credential|auth|cookie/i;
const hasSecretName = (s: string) => SECRET_WORD.test(s);
const BEARER_WORD = /Bearer|bearer|BEARER|Basic|Token/;
const AWS_ID = /(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}/;
const NKEY_SEED = /S[UAOCNXP][A-Z2-7]{40}/;
const BASE64_40 = /[A-Za-z0-9/+]{40}/;

const PATTERNS: Pattern[] = [
  // Key material in PEM-like blocks: private keys, NATS creds files' nkey seed (cut-off blocks too).
  {
    kind: 'private-key',
    may: (s) => s.includes('BEGIN '),
    re: /-{4,}BEGIN [A-Z0-9 ]*(?:PRIVATE KEY|NKEY SEED|SEED)-{4,}[\s\S]*?(?:-{4,}END [A-Z0-9 ]*-{4,}|$)/g,
    replace: whole('private-key'),
  },
  // JSON fields with secret names: "password": "…", and the same escaped inside a JSON string (\"token\":\"…\").
  {
    kind: 'secret',
    may: hasSecretName,
    re: /("([A-Za-z0-9_.-]{1,64})"\s*:\s*")((?:[^"\\]|\\.)*)(")/g,
    replace: (m) =>
      isSecretName(m[2]) && m[3] !== '' && !isMasked(m[3]) ? `${m[1]}${MASK('secret')}${m[4]}` : undefined,
  },
  {
    kind: 'secret',
    may: hasSecretName,
    re: /(\\"([A-Za-z0-9_.-]{1,64})\\"\s*:\s*\\")((?:(?!\\")[^"])*)(\\")/g,
    replace: (m) =>
      isSecretName(m[2]) && m[3] !== '' && !isMasked(m[3]) ? `${m[1]}${MASK('secret')}${m[4]}` : undefined,
  },
  // Passwords (and NATS tokens) in URLs: scheme://user:pass@host, nats://token@host.
  {
    kind: 'url-password',
    may: (s) => s.includes('://'),
    re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"`[\]]*)(:[^\s@/'"`[\]]+)?@(?=[^\s@/'"`])/gi,
    replace: (m) => {
      const [, scheme, user, pass] = m;
      if (pass !== undefined) return isMasked(pass.slice(1)) ? undefined : `${scheme}${user}:${MASK('url-password')}@`;
      // A bare user part is a token for NATS URLs; for other schemes it is a user name.
      return /^(nats|tls|ws|wss):\/\/$/i.test(scheme) && user !== '' && !isMasked(user)
        ? `${scheme}${MASK('url-token')}@`
        : undefined;
    },
  },
  // Bearer / Basic / Token authorisation values.
  {
    kind: 'bearer-token',
    may: (s) => BEARER_WORD.test(s),
    re: new RegExp(String.raw`${START}(Bearer|bearer|BEARER|Basic|Token)(\s+)([A-Za-z0-9._~+/=-]{8,})`, 'g'),
    // A credential, not a word of prose ("Token validation failed"): digits and letters, or long.
    replace: (m) =>
      isMasked(m[3]) || !((/[0-9]/.test(m[3]) && /[A-Za-z]/.test(m[3])) || m[3].length >= 24)
        ? undefined
        : `${m[1]}${m[2]}${MASK('bearer-token')}`,
  },
  // Anthropic, then other sk- keys (OpenAI, Stripe …).
  {
    kind: 'anthropic-key',
    may: (s) => s.includes('sk-ant-'),
    re: new RegExp(String.raw`${START}sk-ant-[A-Za-z0-9_-]{8,}`, 'g'),
    replace: whole('anthropic-key'),
  },
  {
    kind: 'api-key',
    may: (s) => s.includes('sk-'),
    re: new RegExp(String.raw`${START}sk-(?:[a-z]+[-_])?[A-Za-z0-9_]{16,}[A-Za-z0-9_-]*`, 'g'),
    replace: whole('api-key'),
  },
  // GitHub tokens.
  {
    kind: 'github-token',
    may: (s) => s.includes('gh') || s.includes('github_pat_'),
    re: new RegExp(String.raw`${START}(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`, 'g'),
    replace: whole('github-token'),
  },
  // AWS access key ids.
  {
    kind: 'aws-access-key',
    may: (s) => AWS_ID.test(s),
    re: new RegExp(String.raw`${START}(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}${END}`, 'g'),
    replace: whole('aws-access-key'),
  },
  // JWTs (NATS user and account JWTs included), whole or cut off.
  {
    kind: 'jwt',
    may: (s) => s.includes('eyJ'),
    re: /eyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]{4,}){0,2}\.?[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_-]{17,}/g,
    replace: whole('jwt'),
  },
  // NATS nkey seeds (user, account, operator, cluster, server, curve): S + type + base32, 58 characters.
  {
    kind: 'nkey-seed',
    may: (s) => NKEY_SEED.test(s),
    re: new RegExp(String.raw`${START}S[UAOCNXP][A-Z2-7]{40,}`, 'g'),
    replace: whole('nkey-seed'),
  },
  // NAME=value (env lines, .env files, shell assignments) and NAME: value (headers, YAML) for secret names.
  {
    kind: 'secret',
    may: hasSecretName,
    re: new RegExp(
      String.raw`${START}((?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*=\s*)("[^"]*"|'[^']*'|[^\s"'\\;&|,)}]+)`,
      'g',
    ),
    replace: (m) =>
      isSecretName(m[2]) && !isMasked(m[3]) && !/^["']?\$/.test(m[3]) ? `${m[1]}${MASK('secret')}` : undefined,
  },
  {
    kind: 'secret',
    may: hasSecretName,
    re: new RegExp(String.raw`${START}(([A-Za-z][A-Za-z0-9_-]{0,63}):[ \t]+)(?!Bearer|Basic|Token)([^\s"',;}]+)`, 'gi'),
    replace: (m) =>
      isSecretName(m[2]) && !isMasked(m[3]) && /[0-9]|[A-Z].*[a-z]|[a-z].*[A-Z]/.test(m[3])
        ? `${m[1]}${MASK('secret')}`
        : undefined,
  },
  // Command-line flags: --password X, --token=X, --api-key X.
  {
    kind: 'secret',
    may: hasSecretName,
    re: /(--?(?:password|passwd|pass|token|secret|api-key|apikey|auth-token|access-token|client-secret)(?:=|\s+))("[^"]*"|'[^']*'|[^\s"'\\]+)/gi,
    replace: (m) =>
      isMasked(m[2]) || m[2].startsWith('-') || /^["']?\$/.test(m[2]) ? undefined : `${m[1]}${MASK('secret')}`,
  },
  // Excerpts are cut to a bounded length with "…": the start of a secret is still a secret.
  {
    kind: 'cut-off-secret',
    may: (s) => s.includes('…'),
    re: new RegExp(
      String.raw`${START}(?:sk-[A-Za-z0-9_-]{4,}|gh[pousr]_[A-Za-z0-9]{2,}|github_pat_[A-Za-z0-9_]{2,}|` +
        String.raw`(?:AKIA|ASIA)[A-Z0-9]{2,}|eyJ[A-Za-z0-9_.-]{2,}|S[UAOCNXP][A-Z2-7]{16,})(?=…)`,
      'g',
    ),
    replace: whole('cut-off-secret'),
  },
  {
    kind: 'secret',
    may: (s) => s.includes('…') && hasSecretName(s),
    re: /("([A-Za-z0-9_.-]{1,64})"\s*:\s*")([^"]+…)$/g,
    replace: (m) => (isSecretName(m[2]) ? `${m[1]}${MASK('secret')}…` : undefined),
  },
  {
    kind: 'url-password',
    may: (s) => s.includes('…') && s.includes('://'),
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`[\]]*:)([^\s@/'"`[\]]+…)$/gi,
    replace: (m) => `${m[1]}${MASK('url-password')}…`,
  },
  // AWS secret access keys standing alone: 40 characters of base64 with upper, lower and digits.
  {
    kind: 'aws-secret-key',
    may: (s) => BASE64_40.test(s),
    re: new RegExp(String.raw`${START}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])`, 'g'),
    replace: (m) => {
      const s = m[0];
      if (/[/+=]/.test(m.input.charAt(m.index - 1))) return undefined; // inside a longer base64 run or a path
      const slashes = (s.match(/\//g) ?? []).length;
      return /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s) && slashes <= 3 && !s.startsWith('/')
        ? MASK('aws-secret-key')
        : undefined;
    },
  },
];

function isMasked(s: string): boolean {
  return /^["']?\[REDACTED:[a-z-]+\]["']?$/.test(s);
}

/** Masks every secret in one string. */
export function redactText(s: string): { text: string; count: number } {
  return redactWith(s, true);
}

/** redactText without the cheap tests that skip patterns: what they must never change. */
export function redactTextEveryPattern(s: string): { text: string; count: number } {
  return redactWith(s, false);
}

function redactWith(s: string, skip: boolean): { text: string; count: number } {
  let count = 0;
  let text = s;
  for (const p of PATTERNS) {
    if (skip && !p.may(text)) continue;
    p.re.lastIndex = 0;
    text = text.replace(p.re, (...args: unknown[]) => {
      // Rebuild an exec-like array from replace()'s arguments: match, groups…, offset, input[, named groups].
      const hasNamed = typeof args[args.length - 1] === 'object';
      const groups = args.slice(0, args.length - (hasNamed ? 3 : 2)) as string[];
      const m = Object.assign([...groups], {
        index: args[args.length - (hasNamed ? 3 : 2)] as number,
        input: text,
      }) as unknown as RegExpExecArray;
      const out = p.replace(m);
      if (out === undefined || out === m[0]) return m[0];
      count++;
      return out;
    });
  }
  return { text, count };
}

/** No pattern matches fewer characters than this (`pwd=x`). */
const SHORTEST_SECRET = 5;
/** Strings up to this long are remembered within one result. */
const MEMO_MAX = 256;

/** Fields that are identifiers made by peer-audit, never text from the evidence. */
const SKIP_KEYS = new Set(['fingerprint', 'ruleId', 'severity', 'kind', 'version', 'generatedAt']);

/**
 * The scan result with every secret masked (a copy where anything changed); evidence, transcript events and the request
 * that held a secret are marked `redacted: true`; `summary.redacted` counts the masked secrets (added to any count
 * already there, so masking twice changes nothing).
 */
export function redactResult<R extends { summary: { redacted?: number } }>(result: R): R {
  const { value, count } = redactDeep(result);
  const redacted = (result.summary.redacted ?? 0) + count;
  // A new top-level object always: the input is never changed.
  const out = value === result ? { ...result } : value;
  if (redacted > 0) out.summary = { ...out.summary, redacted };
  return out;
}

/**
 * Any value with every string in it masked, and the number of secrets masked: what held a secret is copied,
 * the rest is shared with the input (treat both as read-only). Objects that carry
 * a `location` (evidence, transcript events) and held a secret get `redacted: true`. For output that does not
 * go through a ScanResult, e.g. a single finding printed as it happens.
 */
export function redactDeep<T>(input: T): { value: T; count: number } {
  let total = 0;
  // A scan result repeats its short strings (keys, times, statuses, notes) thousands of times: each is masked once.
  const seen = new Map<string, { text: string; count: number }>();
  // Copy on write: a value with nothing to mask is returned as it is (most of a result), so masking costs a
  // walk, not a copy of every object.
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (v.length < SHORTEST_SECRET || (key !== undefined && SKIP_KEYS.has(key))) return v;
      let r = v.length <= MEMO_MAX ? seen.get(v) : undefined;
      if (!r) {
        r = redactText(v);
        if (v.length <= MEMO_MAX) seen.set(v, r);
      }
      total += r.count;
      return r.count > 0 ? r.text : v;
    }
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x = walk(v[i]);
        if (x !== v[i] && !out) out = v.slice(0, i);
        if (out) out.push(x);
      }
      return out ?? v;
    }
    if (v !== null && typeof v === 'object') {
      let out: Record<string, unknown> | undefined;
      const entries = Object.entries(v);
      for (let i = 0; i < entries.length; i++) {
        const [k, x] = entries[i];
        const y = walk(x, k);
        if (y !== x && !out) out = Object.fromEntries(entries.slice(0, i));
        if (out) out[k] = y;
      }
      if (!out) return v;
      // Evidence, transcript events and the request carry a location: they say that they were masked.
      if ('location' in out) out.redacted = true;
      return out;
    }
    return v;
  };
  const value = walk(input) as T;
  return { value, count: total };
}

// Deterministic pseudo-random numbers and text for the benchmark corpora: the same seed gives the same bytes.

export class Rng {
  constructor(seed) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32: a float in [0, 1). */
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick(list) {
    return list[Math.floor(this.next() * list.length)];
  }
  chance(p) {
    return this.next() < p;
  }
  hex(n) {
    let out = '';
    while (out.length < n)
      out += Math.floor(this.next() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, n);
  }
  uuid() {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  /** Base-62 id like the ones in Claude Code tool ids. */
  id(n) {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < n; i++) out += abc[Math.floor(this.next() * 62)];
    return out;
  }
}

const WORDS = (
  'account ledger export import range filter date handler router service client server cache queue ' +
  'retry timeout backoff token session user admin report invoice payment refund balance transfer audit ' +
  'event stream cursor page limit offset schema migration index table column record field value parse ' +
  'render template entry segment replay restart snapshot history revision bucket key state phase cycle ' +
  'plan execute express review spec task test verify build deploy config option flag default error'
).split(' ');

export const SPEC_WORDS = (
  'csv export endpoint wal operation handling fix password reset flow oauth login rate limit api gateway ' +
  'billing webhook retry queue search index pagination cursor audit trail user profile settings invoice ' +
  'pdf email digest notification sync offline cache layer metrics dashboard tenant isolation backup restore'
).split(' ');

export function sentence(rng, words = rng.int(6, 16)) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(rng.pick(WORDS));
  const s = out.join(' ');
  return s[0].toUpperCase() + s.slice(1) + '.';
}

export function paragraph(rng, sentences = rng.int(2, 6)) {
  const out = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(rng));
  return out.join(' ');
}

/** Source-code-like text of about `bytes` bytes (a little non-ASCII, as real files have). */
export function codeText(rng, bytes) {
  const lines = [];
  let size = 0;
  let depth = 0;
  while (size < bytes) {
    const r = rng.next();
    let line;
    if (r < 0.08) {
      line = `${'  '.repeat(depth)}export function ${rng.pick(WORDS)}${rng.pick(WORDS).replace(/^./, (c) => c.toUpperCase())}(${rng.pick(WORDS)}: string): Promise<void> {`;
      depth = Math.min(depth + 1, 4);
    } else if (r < 0.16 && depth > 0) {
      depth--;
      line = `${'  '.repeat(depth)}}`;
    } else if (r < 0.24) {
      line = `${'  '.repeat(depth)}// ${sentence(rng)}${rng.chance(0.1) ? ' — déjà vu ✓' : ''}`;
    } else if (r < 0.3) {
      line = '';
    } else {
      line = `${'  '.repeat(depth)}const ${rng.pick(WORDS)} = await ${rng.pick(WORDS)}.${rng.pick(WORDS)}("${rng.pick(WORDS)}", ${rng.int(0, 9999)});`;
    }
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
}

/** `cat -n` style numbering, as the Read tool returns file contents. */
export function numbered(text, first = 1) {
  return text
    .split('\n')
    .map((l, i) => `${String(i + first).padStart(6, ' ')}→${l}`)
    .join('\n');
}

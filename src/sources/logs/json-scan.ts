// Reading a JSON object from its bytes without building all of it: scanObject locates an object's members as
// byte ranges (checking the bytes as it goes), KeyTable finds known keys without decoding them, decodeValue
// decodes one member, and decodeBounded decodes one with its long strings cut to what their reader needs (a
// CutPolicy). parse-file.ts uses these to read only the fields of a transcript record that are decoded.

// ---------------------------------------------------------------- scanning an object without building it

/**
 * Byte classes outside strings: 1 whitespace, 2 a byte of a number or literal, 3 structure. 0 never appears
 * outside a string in JSON.
 */
const OUTSIDE = new Uint8Array(256);
for (const c of ' \t\n\r') OUTSIDE[c.charCodeAt(0)] = 1;
for (const c of '0123456789+-.eEtrufalsn') OUTSIDE[c.charCodeAt(0)] = 2;
for (const c of '{}[],:') OUTSIDE[c.charCodeAt(0)] = 3;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const MAX_DEPTH = 1024;
const depthStack = new Uint8Array(MAX_DEPTH);

/** Strings longer than this inside a member value are noted, so decodeBounded can cut them short. */
const LONG_STRING_BYTES = 6 * 1024;

/** The members of one object, as byte ranges: key without its quotes, value as written. */
export class Members {
  count = 0;
  private table = new Int32Array(4 * 64);
  /** Per member, the range of `long` entries found inside its value. */
  private longRange = new Int32Array(2 * 64);
  /** Start and end offsets of the long strings inside member values, in order. */
  long = new Int32Array(2 * 16);
  longCount = 0;

  longFrom(m: number): number {
    return this.longRange[2 * m];
  }
  longTo(m: number): number {
    return this.longRange[2 * m + 1];
  }

  addLong(start: number, end: number): void {
    if (2 * this.longCount + 2 > this.long.length) {
      const bigger = new Int32Array(this.long.length * 2);
      bigger.set(this.long);
      this.long = bigger;
    }
    this.long[2 * this.longCount] = start;
    this.long[2 * this.longCount + 1] = end;
    this.longCount++;
  }

  keyStart(m: number): number {
    return this.table[4 * m];
  }
  keyEnd(m: number): number {
    return this.table[4 * m + 1];
  }
  valueStart(m: number): number {
    return this.table[4 * m + 2];
  }
  valueEnd(m: number): number {
    return this.table[4 * m + 3];
  }

  add(ks: number, ke: number, vs: number, ve: number, longFrom: number): void {
    const at = 4 * this.count;
    if (at + 4 > this.table.length) {
      const bigger = new Int32Array(this.table.length * 2);
      bigger.set(this.table);
      this.table = bigger;
      const biggerRange = new Int32Array(this.longRange.length * 2);
      biggerRange.set(this.longRange);
      this.longRange = biggerRange;
    }
    this.table[at] = ks;
    this.table[at + 1] = ke;
    this.table[at + 2] = vs;
    this.table[at + 3] = ve;
    this.longRange[2 * this.count] = longFrom;
    this.longRange[2 * this.count + 1] = this.longCount;
    this.count++;
  }
}

function backslashEscaped(b: Buffer, quoteAt: number): boolean {
  let k = quoteAt - 1;
  while (b[k] === BACKSLASH) k--;
  return ((quoteAt - 1 - k) & 1) === 1;
}

/** Index just after the string whose opening quote is at `i`, or -1 when it never closes. */
function stringEnd(b: Buffer, i: number): number {
  // Keys, ids and times are short: a plain loop beats a native search there.
  const lim = Math.min(b.length, i + 48);
  let j = i + 1;
  for (; j < lim; j++) if (b[j] === QUOTE && !backslashEscaped(b, j)) return j + 1;
  for (;;) {
    j = b.indexOf(QUOTE, j);
    if (j === -1) return -1;
    if (!backslashEscaped(b, j)) return j + 1;
    j++;
  }
}

/**
 * Index just after the object or array that opens at `i`, or -1. Strings are skipped whole; between them only
 * JSON's structural, literal and number bytes may appear, and brackets must pair up.
 */
function containerEnd(b: Buffer, i: number, out: Members): number {
  let depth = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c === QUOTE) {
      const start = i;
      i = stringEnd(b, i);
      if (i < 0) return -1;
      if (i - start > LONG_STRING_BYTES) out.addLong(start, i);
      continue;
    }
    const kind = OUTSIDE[c];
    if (kind === 3) {
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (depth === MAX_DEPTH) return -1;
        depthStack[depth++] = c;
      } else if (c === CLOSE_OBJECT || c === 0x5d) {
        // '}' is '{' + 2 and ']' is '[' + 2.
        if (depth === 0 || depthStack[--depth] !== c - 2) return -1;
        if (depth === 0) return i + 1;
      }
    } else if (kind === 0) return -1;
    i++;
  }
  return -1;
}

function skipSpace(b: Buffer, i: number, end: number): number {
  while (i < end && OUTSIDE[b[i]] === 1) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** True when b[s, e) is exactly a JSON number or true/false/null. */
function validScalar(b: Buffer, s: number, e: number): boolean {
  const len = e - s;
  const c = b[s];
  if (c === 0x74) return len === 4 && b[s + 1] === 0x72 && b[s + 2] === 0x75 && b[s + 3] === 0x65; // true
  // false
  if (c === 0x66) return len === 5 && b[s + 1] === 0x61 && b[s + 2] === 0x6c && b[s + 3] === 0x73 && b[s + 4] === 0x65;
  if (c === 0x6e) return len === 4 && b[s + 1] === 0x75 && b[s + 2] === 0x6c && b[s + 3] === 0x6c; // null
  let i = s;
  if (b[i] === 0x2d) i++;
  if (i >= e || !isDigit(b[i])) return false;
  if (b[i] === 0x30) i++;
  else while (i < e && isDigit(b[i])) i++;
  if (i < e && b[i] === 0x2e) {
    i++;
    if (i >= e || !isDigit(b[i])) return false;
    while (i < e && isDigit(b[i])) i++;
  }
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= e || !isDigit(b[i])) return false;
    while (i < e && isDigit(b[i])) i++;
  }
  return i === e;
}

/**
 * Locates the members of the object that starts at `start` (after optional whitespace) and must end, up to
 * trailing whitespace, at `end`. Nothing is decoded. Member values that are objects or arrays are checked
 * loosely (strings closed, brackets paired, no byte JSON forbids between strings); scalars exactly.
 * Raw control characters inside a skipped string are not looked for. Returns false when the bytes are not
 * such an object, so the caller can take a path that parses them and names the problem.
 */
export function scanObject(b: Buffer, out: Members, start = 0, end = b.length): boolean {
  out.count = 0;
  out.longCount = 0;
  let i = skipSpace(b, start, end);
  if (b[i] !== OPEN_OBJECT) return false;
  i = skipSpace(b, i + 1, end);
  if (b[i] === CLOSE_OBJECT) return skipSpace(b, i + 1, end) === end;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return false;
    const ke = stringEnd(b, i);
    if (ke < 0 || ke > end) return false;
    const ks = i + 1;
    i = skipSpace(b, ke, end);
    if (b[i] !== 0x3a) return false;
    i = skipSpace(b, i + 1, end);
    if (i >= end) return false;
    const vs = i;
    const c = b[i];
    const longFrom = out.longCount;
    let ve: number;
    if (c === QUOTE) ve = stringEnd(b, i);
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) ve = containerEnd(b, i, out);
    else {
      ve = i;
      while (ve < end && OUTSIDE[b[ve]] === 2) ve++;
      if (!validScalar(b, vs, ve)) return false;
    }
    if (ve < 0 || ve > end) return false;
    out.add(ks, ke - 1, vs, ve, longFrom);
    i = skipSpace(b, ve, end);
    if (b[i] === 0x2c) {
      i = skipSpace(b, i + 1, end);
      continue;
    }
    if (b[i] === CLOSE_OBJECT && i < end) return skipSpace(b, i + 1, end) === end;
    return false;
  }
}

/** Finds member keys among a fixed set of names without decoding them. */
export class KeyTable {
  private readonly byLength: Array<Array<{ bytes: Buffer; id: number }> | undefined> = [];

  constructor(names: readonly string[]) {
    names.forEach((name, id) => {
      const bytes = Buffer.from(name, 'utf8');
      (this.byLength[bytes.length] ??= []).push({ bytes, id });
    });
  }

  /**
   * The id of the name b[s, e) spells, -1 for another name, -2 for a key with escapes (it cannot be matched by
   * bytes).
   */
  lookup(b: Buffer, s: number, e: number): number {
    const list = this.byLength[e - s];
    if (list) {
      next: for (const { bytes, id } of list) {
        for (let k = 0; k < bytes.length; k++) if (b[s + k] !== bytes[k]) continue next;
        return id;
      }
    }
    for (let k = s; k < e; k++) if (b[k] === BACKSLASH) return -2;
    return -1;
  }
}

/** The value b[s, e) (as located by scanObject) as JavaScript. Throws when a string holds what JSON forbids. */
export function decodeValue(b: Buffer, s: number, e: number): unknown {
  if (b[s] === QUOTE && e - s <= 256) {
    let plain = true;
    for (let k = s + 1; k < e - 1; k++) {
      const c = b[k];
      if (c < 0x20 || c === BACKSLASH) {
        plain = false;
        break;
      }
    }
    if (plain) return b.toString('utf8', s + 1, e - 1);
  } else {
    const c = b[s];
    if (c === 0x74) return true;
    if (c === 0x66) return false;
    if (c === 0x6e) return null;
  }
  return JSON.parse(b.toString('utf8', s, e));
}

// ---------------------------------------------------------------- decoding with long strings cut short

/** Stands after the kept part of a string decodeBounded cut short: U+FFFF, written as JSON (with the closing quote). */
const CUT_MARK_JSON = '\\uffff"';

/**
 * How many characters of a string value its reader can use: 0 means all of it (never cut), else the reader only
 * looks at that many leading characters (it cuts the string to fewer, checks a prefix, or whether it is blank).
 */
export interface CutPolicy {
  /** Characters needed of a string value under this key (keys with escapes count as `keys.lookup` -2). */
  needFor(b: Buffer, keyStart: number, keyEnd: number): number;
  /** Characters needed of a string that is an array element. */
  readonly elementNeed: number;
  /** The same, for a key name met while checking the decoded value. */
  needOf(key: string | undefined): number;
}

/**
 * Decodes member `m` of `members` like decodeValue, except that a long string (noted by scanObject) whose reader
 * needs only its first N characters (see CutPolicy) keeps only about that much, followed by U+FFFF: decoding
 * and garbage scale with what is kept, not with what was written. A string is cut only when it visibly starts
 * with a non-blank character, and the result is checked: if any cut string came out shorter than N characters
 * (escapes, wide characters), the value is decoded whole instead. Throws where decodeValue would.
 */
export function decodeBounded(b: Buffer, members: Members, m: number, policy: CutPolicy): unknown {
  const s = members.valueStart(m);
  const e = members.valueEnd(m);
  const from = members.longFrom(m);
  const to = members.longTo(m);
  if (from === to) return decodeValue(b, s, e);
  const pieces: string[] = [];
  let copied = s;
  for (let k = from; k < to; k++) {
    const start = members.long[2 * k];
    const end = members.long[2 * k + 1];
    const need = needOfString(b, s, start, end, policy);
    if (need === 0) continue;
    const keep = Math.ceil(need * bytesPerChar) + 16;
    if (end - start - 2 < keep + 1024 || !startsNonBlank(b, start + 1, end - 1)) continue;
    const cutAt = safeCut(b, start + 1, start + 1 + keep);
    pieces.push(b.toString('utf8', copied, cutAt), CUT_MARK_JSON);
    copied = end;
  }
  if (pieces.length === 0) return decodeValue(b, s, e);
  pieces.push(b.toString('utf8', copied, e));
  const value: unknown = JSON.parse(pieces.join(''));
  if (cutsLongEnough(value, undefined, policy)) return value;
  // Text with many escapes or wide characters: keep more bytes from now on.
  bytesPerChar = Math.min(6, bytesPerChar * 2);
  return decodeValue(b, s, e);
}

/** Bytes kept per character needed; grows when text turns out denser than plain ASCII. */
let bytesPerChar = 1.25;

/** What the reader of the string at b[start, end) needs: by the key before it, or as an array element. */
function needOfString(b: Buffer, valueStart: number, start: number, end: number, policy: CutPolicy): number {
  // A key is followed by a colon: never cut.
  let k = end;
  while (OUTSIDE[b[k]] === 1) k++;
  if (b[k] === 0x3a) return 0;
  let i = start - 1;
  while (i > valueStart && OUTSIDE[b[i]] === 1) i--;
  if (b[i] !== 0x3a) return policy.elementNeed;
  i--;
  while (i > valueStart && OUTSIDE[b[i]] === 1) i--;
  if (b[i] !== QUOTE) return 0;
  const keyEnd = i;
  // Keys the policy knows are short and plain; a key with a quote inside is treated as unknown.
  let keyStart = keyEnd - 1;
  const limit = Math.max(valueStart, keyEnd - 64);
  while (keyStart > limit && b[keyStart] !== QUOTE) keyStart--;
  if (b[keyStart] !== QUOTE || b[keyStart - 1] === BACKSLASH) return 0;
  return policy.needFor(b, keyStart + 1, keyEnd);
}

/**
 * True when the string content at b[i, end) starts, after plain spaces and \n, \t, \r escapes, with a visible
 * ASCII character.
 */
function startsNonBlank(b: Buffer, i: number, end: number): boolean {
  const limit = Math.min(end, i + 256);
  while (i < limit) {
    const c = b[i];
    if (c === 0x20) i++;
    else if (c === BACKSLASH && (b[i + 1] === 0x6e || b[i + 1] === 0x74 || b[i + 1] === 0x72)) i += 2;
    else return c > 0x20 && c < 0x7f && c !== BACKSLASH;
  }
  return false;
}

/**
 * The byte offset at or before `at` where a JSON string's content can be cut: not inside a UTF-8 sequence or an
 * escape.
 */
function safeCut(b: Buffer, contentStart: number, at: number): number {
  while (at > contentStart && (b[at] & 0xc0) === 0x80) at--;
  // Inside \uXXXX: cut before the backslash (unless that backslash is itself escaped).
  for (let k = 2; k <= 5; k++) {
    const bs = at - k;
    if (bs >= contentStart && b[bs] === BACKSLASH && b[bs + 1] === 0x75 && !backslashEscaped(b, bs)) return bs;
  }
  // Right after the backslash of an escape.
  if (at - 1 >= contentStart && b[at - 1] === BACKSLASH && !backslashEscaped(b, at - 1)) return at - 1;
  return at;
}

/** Every string that ends with U+FFFF kept at least as many characters as its reader needs. */
function cutsLongEnough(v: unknown, key: string | undefined, policy: CutPolicy): boolean {
  if (typeof v === 'string') {
    if (v.length === 0 || v.charCodeAt(v.length - 1) !== 0xffff) return true;
    const need = key === undefined ? policy.elementNeed : policy.needOf(key);
    return need > 0 && v.length - 1 >= need;
  }
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (!cutsLongEnough(x, undefined, policy)) return false;
    return true;
  }
  for (const [k, x] of Object.entries(v)) if (!cutsLongEnough(x, k, policy)) return false;
  return true;
}

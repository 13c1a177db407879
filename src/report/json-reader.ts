// A small streaming JSON reader for large documents whose outer levels are walked by hand and whose items are
// parsed one at a time: `report --from` reads a saved scan of hundreds of megabytes this way, without the whole
// text in one string. Only the outer structure (braces, keys, commas) is read here; each value is found by its
// extent (brackets and strings) and handed to JSON.parse, so values mean exactly what JSON.parse makes of them.
import { createReadStream } from 'node:fs';

/** Where the text stops being JSON: a character offset into the file, and why. */
export class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    /** The text ends before the JSON does: a file cut off (e.g. a write interrupted). */
    readonly truncated: boolean,
  ) {
    super(reason);
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);
/** Where a number or literal ends. */
const SCALAR_END = /[\s,{}[\]":]/g;
/** Text already read is dropped once this much of it lies behind the reading position. */
const COMPACT_AT = 1 << 20;

export class JsonReader {
  private buf = '';
  /** Reading position in buf. */
  private pos = 0;
  /** Offset in the file of buf[0], in characters. */
  private base = 0;
  private eof = false;
  /** Offset of the first character that is not white space, once read. */
  start: number | undefined;
  private readonly chunks: AsyncIterator<string>;

  /** `chunkBytes`: how much of the file is read at a time (small in tests, to put chunk ends everywhere). */
  constructor(file: string, chunkBytes = 1 << 20) {
    this.chunks = createReadStream(file, { encoding: 'utf8', highWaterMark: chunkBytes })[Symbol.asyncIterator]();
  }

  /** Offset in the file (characters) of the next character to read. */
  get offset(): number {
    return this.base + this.pos;
  }

  private async more(): Promise<boolean> {
    if (this.eof) return false;
    const next = await this.chunks.next();
    if (next.done) {
      this.eof = true;
      return false;
    }
    if (this.pos >= COMPACT_AT) {
      this.base += this.pos;
      this.buf = this.buf.slice(this.pos);
      this.pos = 0;
    }
    this.buf += next.value as string;
    return true;
  }

  /** The next character that is not white space (without consuming it); undefined at the end of the file. */
  async peek(): Promise<string | undefined> {
    for (;;) {
      while (this.pos < this.buf.length && WS.has(this.buf[this.pos])) this.pos++;
      if (this.pos < this.buf.length) {
        this.start ??= this.offset;
        return this.buf[this.pos];
      }
      if (!(await this.more())) return undefined;
    }
  }

  /** Consumes `ch` (after white space), else throws where the text differs. */
  async expect(ch: string, what: string): Promise<void> {
    const c = await this.peek();
    if (c === ch) {
      this.pos++;
      return;
    }
    throw c === undefined
      ? new JsonSyntaxError(this.offset, `the file ends where ${what} should be`, true)
      : new JsonSyntaxError(this.offset, `expected ${what}, found ${JSON.stringify(c)}`, false);
  }

  /** The next value, whatever it is, as JSON.parse reads it. */
  async value(): Promise<unknown> {
    const end = await this.extent();
    const start = this.pos; // extent() may have dropped text read before: pos is still where the value starts
    const text = this.buf.slice(start, end);
    this.pos = end;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw this.parseError(e as Error, start, text.length, this.eof && end === this.buf.length);
    }
  }

  /** Steps over the next value without building it (its brackets and strings are followed, not checked). */
  async skip(): Promise<void> {
    this.pos = await this.extent();
  }

  /** A key: a string followed by a colon. */
  async key(): Promise<string> {
    const c = await this.peek();
    if (c !== '"')
      throw new JsonSyntaxError(
        this.offset,
        c === undefined ? 'the file ends where a key should be' : `expected a key, found ${JSON.stringify(c)}`,
        c === undefined,
      );
    const k = (await this.value()) as string;
    await this.expect(':', "':'");
    return k;
  }

  /** After the last value: only white space may follow. */
  async end(): Promise<void> {
    const c = await this.peek();
    if (c !== undefined) throw new JsonSyntaxError(this.offset, 'more text follows the JSON document', false);
  }

  /**
   * Where the value starting at pos ends (an index into buf, exclusive), reading more of the file as needed.
   * Nested brackets are counted, not matched: JSON.parse of the extent reports any mismatch. Positions are kept
   * relative to pos, since reading more may drop the text before it.
   */
  private async extent(): Promise<number> {
    if ((await this.peek()) === undefined)
      throw new JsonSyntaxError(this.offset, 'the file ends where a value should be', true);
    const first = this.buf[this.pos];
    let rel = 0;
    let depth = 0;
    let inString = false;
    if (first === '"') {
      inString = true;
      rel = 1;
    } else if (first !== '{' && first !== '[') {
      // A number or a literal: up to the next delimiter.
      for (;;) {
        SCALAR_END.lastIndex = this.pos + rel;
        const m = SCALAR_END.exec(this.buf);
        if (m) return m.index;
        rel = this.buf.length - this.pos;
        if (!(await this.more())) return this.buf.length;
      }
    }
    // A plain loop over character codes, and indexOf inside strings: several times faster than a regular
    // expression per token on pretty-printed JSON.
    for (;;) {
      const buf = this.buf;
      let i = this.pos + rel;
      if (inString) {
        const q = buf.indexOf('"', i);
        if (q === -1) {
          rel = buf.length - this.pos;
          if (!(await this.more())) throw this.cutOff();
          continue;
        }
        // Escaped when an odd number of backslashes stands before it.
        let b = q - 1;
        while (buf.charCodeAt(b) === 92) b--;
        rel = q + 1 - this.pos;
        if ((q - 1 - b) % 2 === 1) continue;
        inString = false;
        if (depth === 0) return q + 1;
        continue;
      }
      const n = buf.length;
      for (; i < n; i++) {
        const c = buf.charCodeAt(i);
        if (c === 34) {
          inString = true;
          break;
        }
        if (c === 123 || c === 91) depth++;
        else if ((c === 125 || c === 93) && --depth === 0) return i + 1;
      }
      if (i < n) {
        rel = i + 1 - this.pos;
        continue;
      }
      rel = n - this.pos;
      if (!(await this.more())) throw this.cutOff();
    }
  }

  /** The file ended inside the value at pos: where JSON.parse says the text goes wrong, else the end. */
  private cutOff(): JsonSyntaxError {
    const text = this.buf.slice(this.pos);
    try {
      JSON.parse(text);
    } catch (e) {
      return this.parseError(e as Error, this.pos, text.length, true);
    }
    return new JsonSyntaxError(this.base + this.buf.length, 'the file ends inside a value', true);
  }

  /** Where the value at start breaks; `atEof`: the file ends inside it, so an error at its end is a cut-off. */
  private parseError(e: Error, start: number, length: number, atEof = false): JsonSyntaxError {
    // V8 names no position for some errors ("Unexpected token 'x'"): the text is checked again, here, to find it.
    const at = firstSyntaxError(this.buf, start, start + length) ?? start + length;
    if (at >= start + length && atEof)
      return new JsonSyntaxError(this.base + start + length, 'the file ends inside a value', true);
    const reason = e.message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '');
    return new JsonSyntaxError(this.base + at, reason, false);
  }
}

/**
 * Where JSON text stops being JSON: the index of the first character that cannot be there, or `end` when the
 * text ends too soon; undefined when it is valid. Slow and simple: it runs only once JSON.parse has failed.
 */
export function firstSyntaxError(text: string, from: number, end: number): number | undefined {
  let i = from;
  class Stop {
    constructor(readonly at: number) {}
  }
  const ws = () => {
    while (i < end && WS.has(text[i])) i++;
  };
  const lit = (word: string) => {
    for (const ch of word) {
      if (i >= end || text[i] !== ch) throw new Stop(i);
      i++;
    }
  };
  const str = () => {
    i++;
    for (;;) {
      if (i >= end) throw new Stop(end);
      const c = text.charCodeAt(i);
      if (c === 34) return void i++;
      if (c < 32) throw new Stop(i);
      if (c === 92) {
        const n = text[i + 1];
        if (n === undefined || i + 1 >= end) throw new Stop(end);
        if (n === 'u') {
          for (let k = 2; k < 6; k++) {
            if (i + k >= end) throw new Stop(end);
            if (!/[0-9a-fA-F]/.test(text[i + k])) throw new Stop(i + k);
          }
          i += 6;
        } else if ('"\\/bfnrt'.includes(n)) i += 2;
        else throw new Stop(i + 1);
      } else i++;
    }
  };
  const num = () => {
    const m = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r || r[0] === '' || r[0] === '-') throw new Stop(i + (r?.[0].length ?? 0) >= end ? end : i);
    i += r[0].length;
    // A number cut by the end of the text (e.g. "1." or "1e") is cut off, not wrong.
    if (i < end && /[.eE]/.test(text[i])) throw new Stop(i + 1 >= end ? end : i + 1);
  };
  const value = (): void => {
    ws();
    if (i >= end) throw new Stop(end);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (i >= end) throw new Stop(end);
        if (text[i] !== '"') throw new Stop(i);
        str();
        ws();
        if (i >= end) throw new Stop(end);
        if (text[i] !== ':') throw new Stop(i);
        i++;
        value();
        ws();
        if (i >= end) throw new Stop(end);
        if (text[i] === '}') return void i++;
        if (text[i] !== ',') throw new Stop(i);
        i++;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (i >= end) throw new Stop(end);
        if (text[i] === ']') return void i++;
        if (text[i] !== ',') throw new Stop(i);
        i++;
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    throw new Stop(i);
  };
  try {
    value();
    ws();
    return i < end ? i : undefined;
  } catch (e) {
    if (e instanceof Stop) return Math.min(e.at, end);
    throw e;
  }
}

/** Line and column (1-based) of a character offset, read again from the file: only needed to report an error. */
export async function lineAndColumn(file: string, offset: number): Promise<{ line: number; column: number }> {
  let line = 1;
  let lineStart = 0;
  let seen = 0;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = chunk as string;
    const stop = Math.min(text.length, offset - seen);
    for (let i = text.indexOf('\n'); i !== -1 && i < stop; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = seen + i + 1;
    }
    seen += text.length;
    if (seen >= offset) break;
  }
  return { line, column: offset - lineStart + 1 };
}

// Which of many names (KV key prefixes, spec names) a session's text mentions, in one pass over the text.
//
// Testing every name against every event text costs names × texts: with thousands of runs and a
// large transcript folder that was most of a scan. Names are made of NATS key characters, so a mention is
// a stretch of a "word" of those characters that starts and ends on a boundary: the word's ends, a `.`,
// `_`, `/` or `=` (as in `peer.spec.x.cycle.1`, `specs/x/spec.md`, `key_prefix=peer.spec.x`), or, at the
// start only, the `-` after a folder's date (`2025-08-05-x`). A `-` anywhere else continues a kebab-case
// name, so `foo` is not mentioned by `foo-v2` or `my-foo`, nor `foo-1` by `foo-12`. The pass walks each
// word once, and only where a segment starts the first segment of some name does it look further.
import type { LogEvent, LogSession } from './types.js';

const WORD = /[A-Za-z0-9._/=-]/;
const IS_WORD = new Uint8Array(128);
const IS_SEP = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  IS_WORD[c] = WORD.test(ch) ? 1 : 0;
  IS_SEP[c] = '._/=-'.includes(ch) ? 1 : 0;
}
const isWord = (c: number) => c < 128 && IS_WORD[c] === 1;
const isSep = (c: number) => c < 128 && IS_SEP[c] === 1;
const HYPHEN = 0x2d;
/** A boundary that is not a hyphen: `.`, `_`, `/`, `=`. */
const isHardSep = (c: number) => c !== HYPHEN && isSep(c);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Does `YYYY-MM-DD-` end just before position s (s - 1 is the last hyphen)? */
function afterDate(text: string, s: number, wordStart: number): boolean {
  const d = s - 11;
  if (d < wordStart) return false;
  if (d > wordStart && !isHardSep(text.charCodeAt(d - 1))) return false;
  for (let i = 0; i < 10; i++) {
    const c = text.charCodeAt(d + i);
    if (i === 4 || i === 7 ? c !== HYPHEN : !isDigit(c)) return false;
  }
  return text.charCodeAt(s - 1) === HYPHEN;
}

export class MentionIndex {
  private readonly names = new Set<string>();
  /** The first segment of every name, with the lengths (in characters) of the names that start with it. */
  private readonly heads = new Map<string, number[]>();
  /** Names with characters outside the word set: tested the slow way. */
  private readonly odd: string[] = [];
  readonly size: number;

  constructor(needles: Iterable<string>) {
    for (const n of needles) {
      if (n === '' || this.names.has(n)) continue;
      this.names.add(n);
      if (
        ![...n].every((ch) => isWord(ch.charCodeAt(0))) ||
        isSep(n.charCodeAt(0)) ||
        isSep(n.charCodeAt(n.length - 1))
      ) {
        this.odd.push(n);
        continue;
      }
      let end = 0;
      while (end < n.length && !isSep(n.charCodeAt(end))) end++;
      const head = n.slice(0, end);
      const lens = this.heads.get(head) ?? [];
      if (!lens.includes(n.length)) lens.push(n.length);
      this.heads.set(head, lens);
    }
    this.size = this.names.size;
  }

  /** Adds to `found` every name that `text` mentions. */
  scan(text: string | undefined, found: Set<string>): void {
    if (!text) return;
    for (const n of this.odd) if (!found.has(n) && text.includes(n)) found.add(n);
    if (this.heads.size === 0) return;
    const len = text.length;
    let i = 0;
    while (i < len) {
      // Skip to the start of a word.
      while (i < len && !isWord(text.charCodeAt(i))) i++;
      const wordStart = i;
      while (i < len && isWord(text.charCodeAt(i))) i++;
      const wordEnd = i;
      // Each segment start in the word: the word's start, every position after `.` `_` `/` `=`, and the
      // position after a date prefix.
      for (let s = wordStart; s < wordEnd; s++) {
        if (s !== wordStart) {
          const prev = text.charCodeAt(s - 1);
          if (!isSep(prev)) continue;
          if (prev === HYPHEN && !afterDate(text, s, wordStart)) continue;
        }
        if (isSep(text.charCodeAt(s))) continue;
        let e = s;
        while (e < wordEnd && !isSep(text.charCodeAt(e))) e++;
        const lens = this.heads.get(text.slice(s, e));
        if (!lens) continue;
        for (const l of lens) {
          const stop = s + l;
          // A mention ends at the word's end or before a separator other than a hyphen.
          if (stop > wordEnd || (stop < wordEnd && !isHardSep(text.charCodeAt(stop)))) continue;
          const cand = text.slice(s, stop);
          if (this.names.has(cand)) found.add(cand);
        }
      }
    }
  }

  /** Every name mentioned anywhere in a session's commands, file paths, prompts, texts and results. */
  sessionMentions(session: LogSession): Set<string> {
    const found = new Set<string>();
    if (this.size === 0) return found;
    for (const e of session.events) {
      eventTexts(e, (t) => this.scan(t, found));
      if (found.size === this.size) break;
    }
    return found;
  }
}

/** The texts of an event that can mention a run. */
export function eventTexts(e: LogEvent, visit: (t: string | undefined) => void): void {
  switch (e.kind) {
    case 'tool':
      visit(e.command);
      visit(e.filePath);
      visit(e.result?.text);
      break;
    case 'spawn':
      visit(e.prompt);
      visit(e.description);
      visit(e.result?.text);
      break;
    case 'text':
      visit(e.text);
      break;
    case 'result':
      visit(e.text);
      break;
  }
}

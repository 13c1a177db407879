// Which of many names (KV key prefixes, spec names) a session's text mentions, in one pass over the text.
//
// Testing every name against every event text costs names × texts: with thousands of runs and a
// large transcript folder that was most of a scan. Names are made of NATS key characters, so a mention is
// a stretch of a "word" of those characters that starts and ends on a segment boundary (the word's ends or a
// `.`, `-`, `_`, `/`, `=` separator). The pass walks each word once, and only where a segment starts
// the first segment of some name does it look further. The boundary rule also keeps `foo-1` from matching
// inside `foo-12`, which a plain substring test did not.
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
      if (![...n].every((ch) => isWord(ch.charCodeAt(0))) || isSep(n.charCodeAt(0)) || isSep(n.charCodeAt(n.length - 1))) {
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
      // Each segment start in the word: the word's start and every position after a separator.
      for (let s = wordStart; s < wordEnd; s++) {
        if (s !== wordStart && !isSep(text.charCodeAt(s - 1))) continue;
        if (isSep(text.charCodeAt(s))) continue;
        let e = s;
        while (e < wordEnd && !isSep(text.charCodeAt(e))) e++;
        const lens = this.heads.get(text.slice(s, e));
        if (!lens) continue;
        for (const l of lens) {
          const stop = s + l;
          // A mention ends at the word's end or before a separator.
          if (stop > wordEnd || (stop < wordEnd && !isSep(text.charCodeAt(stop)))) continue;
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

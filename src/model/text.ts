// Text from logs, files and KV values is shown to people: control characters are made visible, never executed,
// and text placed in Markdown cannot change the structure of the document around it.

/**
 * Characters a terminal or viewer acts on or hides, beyond C0: DEL, C1, line/paragraph separators, bidi and zero-width
 * controls.
 */
const HIDDEN = String.raw`\u007f-\u009f\u2028\u2029\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff`;
const CONTROL = new RegExp(`[\\u0000-\\u001f${HIDDEN}]`, 'g');
/** What JSON.stringify leaves raw of them (it escapes C0 itself). */
const JSON_RAW = new RegExp(`[${HIDDEN}]`, 'g');

/**
 * Escapes C0/C1 control characters (ESC included), DEL, the line and paragraph separators, and the invisible
 * bidirectional and zero-width formatting characters that can make text display differently from what it is;
 * keeps tabs as \t and newlines as \n.
 */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (ch) => {
    switch (ch) {
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      case '\r':
        return '\\r';
      default: {
        const c = ch.charCodeAt(0);
        return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/**
 * Multi-line text for a terminal (diffs, notices): every line escaped as escapeControl does, with the line
 * breaks and tabs between them kept as they are; a carriage return is escaped, so no line can overwrite another.
 */
export function escapeLines(s: string): string {
  return s
    .split('\n')
    .map((line) => line.split('\t').map(escapeControl).join('\t'))
    .join('\n');
}

/** One-line, escaped, bounded excerpt. */
export function excerptOf(s: string, max = 160): string {
  const e = escapeControl(s);
  return e.length > max ? `${e.slice(0, max - 1)}…` : e;
}

// ---------------------------------------------------------------- Markdown

/** The longest run of `ch` in `s`. */
function longestRun(s: string, ch: string): number {
  let best = 0;
  let cur = 0;
  for (const c of s) {
    cur = c === ch ? cur + 1 : 0;
    if (cur > best) best = cur;
  }
  return best;
}

/**
 * Inline text for Markdown: control characters escaped (so line breaks become \n and the text stays in its
 * paragraph, list item or table cell), and every character that inline Markdown, HTML, GitHub math or mentions
 * could read as syntax backslash-escaped; with `atLineStart`, block syntax at the start is escaped too.
 */
export function mdInline(s: string, atLineStart = false): string {
  const t = escapeControl(s).replace(/[\\`*_[\]<>|~&$@]/g, (c) => `\\${c}`);
  // Block syntax (headings, list items, quotes, setext underlines) only counts at the start of a line.
  return atLineStart
    ? t.replace(
        /^(\s*)([#+=-]|\d+(?=[.)]))/,
        (_all, sp: string, m: string) => `${sp}${/\d/.test(m) ? `${m}\\` : `\\${m}`}`,
      )
    : t;
}

/**
 * A code span that shows `s` literally: a backtick fence longer than any backtick run inside, padded when the
 * text starts or ends with a backtick. In a table cell `|` is escaped (GFM removes the backslash there).
 */
export function mdCode(s: string, inTable = false): string {
  const t = escapeControl(s);
  if (t === '') return '` `';
  const fence = '`'.repeat(longestRun(t, '`') + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || (t.startsWith(' ') && t.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${inTable ? t.replace(/\|/g, '\\|') : t}${pad}${fence}`;
}

/**
 * A fenced code block holding `lines` literally: the fence is longer than any backtick run in the text, so no
 * line inside can close it early; every line is escaped.
 */
export function mdFence(lines: string[] | string, info = 'text'): string {
  const body = (Array.isArray(lines) ? lines : lines.split('\n')).map((l) => escapeControl(l));
  const fence = '`'.repeat(Math.max(3, longestRun(body.join('\n'), '`') + 1));
  return `${fence}${info}\n${body.join('\n')}\n${fence}`;
}

// ---------------------------------------------------------------- JSON

/**
 * JSON text that is safe to print to a terminal: the same value as JSON.stringify, with the characters it leaves
 * raw (DEL, C1 controls, line/paragraph separators, bidi controls) written as \u escapes. They can only occur
 * inside strings, where the escape means the same character.
 */
export function safeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_RAW,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

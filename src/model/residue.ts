// Heredoc residue: when the shell tool appends `< /dev/null` to a command, a heredoc's terminator line becomes
// `<WORD> < /dev/null`, no longer matches, and lands in what the heredoc wrote (a file, or a string in a state value).
import type { SpecFile } from './types.js';

/** The delimiter Agent OS agents use: its residue needs no other evidence. */
export const DEFAULT_DELIMITER = 'EOF';

/** `<WORD> < /dev/null` at the start of a line; text glued after it is what followed the heredoc. */
const RESIDUE_LINE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*<\s*\/dev\/null/;
/** A heredoc opener: `<<WORD`, `<<-WORD`, `<< 'WORD'`, `<<"WORD"`. */
const OPENER = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/g;
const FENCE = /^\s*(`{3,}|~{3,})/;

/** The delimiter words the heredocs in a text open. */
export function heredocWords(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(OPENER)) out.add(m[2]);
  return [...out];
}

/**
 * The residue at the start of a line, when its word is a delimiter that was opened (`EOF` always counts), as the
 * residue and the text glued after it. The word is compared exactly: `eof < /dev/null` is residue only where a
 * heredoc opened `eof`.
 */
export function residueAt(line: string, words: ReadonlySet<string>): { residue: string; rest: string } | undefined {
  const m = RESIDUE_LINE.exec(line);
  if (!m || (m[1] !== DEFAULT_DELIMITER && !words.has(m[1]))) return undefined;
  return { residue: m[0], rest: line.slice(m[0].length) };
}

/**
 * Whether a line (or its start, up to and including `/dev/null`) has the residue's shape, whatever its word: what a
 * byte search of a large tree keeps for findResidue to judge. Never false where findResidue could report the line.
 */
export function residueShaped(line: string): boolean {
  return RESIDUE_LINE.test(line);
}

export interface Residue {
  line: number;
  text: string;
  /** The delimiter word. */
  word: string;
  glued: boolean;
  lastLine: boolean;
}

export function isShellScript(file: SpecFile): boolean {
  return /\.(sh|bash|zsh|ksh)$/i.test(file.name) || /^#!.*\b(ba|z|k|da)?sh\b/.test(file.lines[0] ?? '');
}

/**
 * Residue lines in a Markdown or text file. `words` are the delimiters the call that wrote the file opened; the
 * file's own heredocs count too. Inside a fenced example that shows a heredoc the line is quoted shell, and a shell
 * script's terminators are its own.
 */
export function findResidue(file: SpecFile, words: Iterable<string> = []): Residue[] {
  if (isShellScript(file)) return [];
  const opened = new Set(words);
  if (file.text.includes('<<')) for (const w of heredocWords(file.text)) opened.add(w);
  const out: Residue[] = [];
  let fence: { marker: string; heredoc: boolean } | undefined;
  file.lines.forEach((line, i) => {
    const f = FENCE.exec(line);
    if (f) {
      if (!fence) fence = { marker: f[1], heredoc: false };
      else if (f[1][0] === fence.marker[0] && f[1].length >= fence.marker.length && line.trim() === f[1])
        fence = undefined;
      return;
    }
    if (fence && line.includes('<<') && heredocWords(line).length > 0) fence.heredoc = true;
    if (fence?.heredoc) return;
    const r = residueAt(line, opened);
    if (!r) return;
    out.push({
      line: i + 1,
      text: line,
      word: RESIDUE_LINE.exec(line)![1],
      glued: r.rest.trim() !== '',
      lastLine: i === file.lines.length - 1,
    });
  });
  return out;
}

/** A file's lines with residue taken out (glued text kept), for rules that judge the content. */
export function withoutResidue(file: SpecFile): { lines: string[]; residueLines: Set<number> } {
  const found = findResidue(file);
  const residueLines = new Set(found.map((r) => r.line - 1));
  const lines = file.lines.map((l, i) => (residueLines.has(i) ? l.replace(RESIDUE_LINE, '') : l));
  return { lines, residueLines };
}

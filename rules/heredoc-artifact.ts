import { defineRule } from '../src/engine/rule.js';
import { logLocation, cut } from '../src/model/log-facts.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogSession, SpecFile, ToolCall } from '../src/model/types.js';
import { excerptOf } from '../src/report/safe-text.js';

/**
 * The residue a heredoc leaves when the shell tool appends `< /dev/null` to a command: the terminator
 * line becomes `EOF < /dev/null`, no longer matches, and lands in the file. It starts a line; the
 * text that followed the heredoc may be glued straight onto it.
 */
const RESIDUE = /^\s*EOF\s*<\s*\/dev\/null/;
const HEREDOC_OPEN = /<<-?\s*['"]?EOF\b/;
const FENCE = /^\s*(`{3,}|~{3,})/;

export interface Residue {
  line: number;
  text: string;
  glued: boolean;
  lastLine: boolean;
}

export function findResidue(file: SpecFile): Residue[] {
  if (isShellScript(file)) return [];
  const out: Residue[] = [];
  let fence: { marker: string; heredoc: boolean } | undefined;
  file.lines.forEach((line, i) => {
    const f = FENCE.exec(line);
    if (f) {
      if (!fence) fence = { marker: f[1], heredoc: false };
      else if (f[1][0] === fence.marker[0] && f[1].length >= fence.marker.length && line.trim() === f[1]) fence = undefined;
      return;
    }
    if (fence && HEREDOC_OPEN.test(line)) fence.heredoc = true;
    // Inside a fenced example that shows a heredoc, the line is quoted shell, not residue.
    if (fence?.heredoc) return;
    if (!RESIDUE.test(line)) return;
    const rest = line.replace(RESIDUE, '');
    out.push({ line: i + 1, text: line, glued: rest.trim() !== '', lastLine: i === file.lines.length - 1 });
  });
  return out;
}

function isShellScript(file: SpecFile): boolean {
  return /\.(sh|bash|zsh|ksh)$/i.test(file.name) || /^#!.*\b(ba|z|k|da)?sh\b/.test(file.lines[0] ?? '');
}

export default defineRule({
  meta: {
    id: 'heredoc-artifact',
    severity: 'error',
    summary: 'A spec or product file contains the shell residue `EOF < /dev/null` left by a broken heredoc write.',
    sources: ['specs', 'logs'],
    fixable: true,
  },
  check({ model, report }) {
    const writers = heredocWriters(model.sessions);
    for (const run of model.runs) {
      for (const folder of run.folders) {
        for (const file of folder.files) check(file, runSubject(run));
      }
    }
    for (const file of model.specs?.productFiles ?? []) check(file, { folder: '.agent-os/product' });

    function check(file: SpecFile, subject: ReturnType<typeof runSubject>) {
      const found = findResidue(file);
      found.forEach((r, n) => {
        const where = r.lastLine ? (file.endsWithNewline ? 'as the last line' : 'as the last line, with no newline after it') : r.glued ? 'glued to the text that follows it' : 'in the middle of the file';
        const evidence: Evidence[] = [
          { location: { kind: 'file', path: file.path, line: r.line }, excerpt: excerptOf(r.text), note: `residue ${where}` },
        ];
        const writer = writers.get(file.path);
        if (writer) evidence.push({ location: logLocation(writer.ref), excerpt: cut(writer.command!.split('\n')[0], 160), note: 'written by a Bash heredoc; the terminator line never matched' });
        report({
          message: `${file.path}:${r.line} contains the heredoc residue "EOF < /dev/null" ${where}${found.length > 1 ? ` (occurrence ${n + 1} of ${found.length})` : ''}.`,
          subject: { ...subject, folder: subject.folder },
          evidence,
          target: `${file.path}#${n + 1}`,
          // The glued form keeps the text that followed the residue.
          fix: [{ kind: 'file-lines', path: file.path, edits: [{ line: r.line, keep: r.text.replace(RESIDUE, '') }], why: `remove the heredoc residue at line ${r.line}` }],
        });
      });
    }
  },
});

/**
 * For every path a Bash heredoc wrote (and every tail of it after a `/`, so a project-relative path finds an
 * absolute target), the last such call in any session. Built once: residue findings look it up.
 */
function heredocWriters(sessions: LogSession[]): Map<string, ToolCall> {
  const out = new Map<string, ToolCall>();
  for (const s of sessions) {
    for (const e of s.events) {
      if (e.kind !== 'tool' || !e.command || !HEREDOC_OPEN.test(e.command)) continue;
      const head = e.command.split('\n')[0];
      const target = /(?:>>?|tee\s+(?:-a\s+)?)\s*['"]?([^\s'"<>|;]+)/.exec(head)?.[1];
      if (!target) continue;
      out.set(target, e);
      for (let i = target.indexOf('/'); i >= 0; i = target.indexOf('/', i + 1)) out.set(target.slice(i + 1), e);
    }
  }
  return out;
}

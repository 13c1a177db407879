import { defineRule } from '../src/engine/rule.js';
import type { KeyRecord, Model } from '../src/model/build.js';
import { logLocation, cut } from '../src/model/log-facts.js';
import { runByPrefix, specFile } from '../src/model/lookup.js';
import { DEFAULT_DELIMITER, findResidue, heredocWords, residueAt } from '../src/model/residue.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogSession, SpecFile, Subject, ToolCall } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

export { findResidue, type Residue } from '../src/model/residue.js';

export default defineRule({
  meta: {
    id: 'heredoc-artifact',
    severity: 'error',
    summary:
      'Shell residue `<WORD> < /dev/null` left by a broken heredoc write, in a spec or product file, a string of a ' +
      'KV state value, or a repository file (`--files`).',
    sources: ['specs', 'kv', 'logs', 'files'],
    fixable: true,
    title: 'Heredoc residue left in files',
  },
  check({ model, report }) {
    const writers = heredocWriters(model.sessions);
    for (const run of model.runs) {
      for (const folder of run.folders) {
        for (const file of folder.files) check(file, runSubject(run));
      }
    }
    for (const file of model.specs?.productFiles ?? []) check(file, { folder: '.agent-os/product' });
    // Repository files (--files): a spec or product file the specs source read is judged above, once.
    for (const file of model.files?.candidates ?? []) {
      if (specFile(model, file.path) !== file) continue;
      const dir = file.path.lastIndexOf('/');
      check(file, { folder: dir < 0 ? '.' : file.path.slice(0, dir) }, true);
    }

    function check(file: SpecFile, subject: Subject, repoFile = false) {
      const writer = writers.get(file.path);
      const found = findResidue(file, writer ? heredocWords(writer.command!.split('\n')[0]) : []);
      found.forEach((r, n) => {
        const where = r.lastLine
          ? file.endsWithNewline
            ? 'as the last line'
            : 'as the last line, with no newline after it'
          : r.glued
            ? 'glued to the text that follows it'
            : 'in the middle of the file';
        const evidence: Evidence[] = [
          {
            location: { kind: 'file', path: file.path, line: r.line, ...(repoFile ? { source: 'files' } : {}) },
            excerpt: excerptOf(r.text),
            note: `residue ${where}`,
          },
        ];
        if (writer)
          evidence.push({
            location: logLocation(writer.ref),
            excerpt: cut(writer.command!.split('\n')[0], 160),
            note: 'written by a Bash heredoc; the terminator line never matched',
          });
        const residue = residueAt(r.text, new Set([r.word]))!;
        report({
          message:
            `${file.path}:${r.line} contains the heredoc residue "${r.word} < /dev/null" ${where}` +
            `${found.length > 1 ? ` (occurrence ${n + 1} of ${found.length})` : ''}.`,
          subject,
          evidence,
          target: `${file.path}#${n + 1}`,
          // The glued form keeps the text that followed the residue.
          fix: [
            {
              kind: 'file-lines',
              path: file.path,
              edits: [{ line: r.line, keep: residue.rest }],
              why: `remove the heredoc residue at line ${r.line}`,
            },
          ],
        });
      });
    }

    checkState(model, report);
  },
});

type Report = Parameters<Parameters<typeof defineRule>[0]['check']>[0]['report'];

const DEV_NULL = Buffer.from('/dev/null');

/**
 * Residue inside the string fields of KV state values (the express agent appends it to JSON strings). Every
 * revision is searched, but only values whose bytes hold "/dev/null" are parsed and walked: a bucket can hold
 * 100,000 keys. Each key and pointer is reported once, at the first revision it appears in.
 */
function checkState(model: Model, report: Report): void {
  if (model.keys.length === 0) return;
  let words: Set<string> | undefined;
  for (const rec of model.keys) {
    // Keys outside peer. belong to other tools: never a finding.
    if (!rec.info.key.startsWith('peer.')) continue;
    const seen = new Set<string>();
    rec.revisions.forEach((rev, i) => {
      if (
        rev.value.length === 0 ||
        Buffer.from(rev.value.buffer, rev.value.byteOffset, rev.value.byteLength).indexOf(DEV_NULL) < 0
      )
        return;
      const decoded = rec.history[i]?.decoded;
      if (!decoded?.ok) return;
      // Delimiters opened anywhere in the transcripts: the call that wrote a value is rarely known exactly.
      words ??= transcriptWords(model.sessions);
      walkStrings(decoded.json, '', (pointer, value) => {
        if (seen.has(pointer) || !value.includes('/dev/null')) return;
        const lines = value.split('\n');
        const at = lines.findIndex((l) => residueAt(l, words!));
        if (at < 0) return;
        seen.add(pointer);
        const line = lines[at];
        const word = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(line)![1];
        const where =
          at === lines.length - 1 || lines.slice(at + 1).every((l) => l.trim() === '')
            ? 'at the end of the string'
            : 'in the middle of the string';
        const latest = i === rec.revisions.length - 1 ? ', the latest' : ` of ${rec.latest.revision}`;
        report({
          message:
            `${rev.key}${pointer} holds the heredoc residue "${word} < /dev/null" ${where} ` +
            `(revision ${rev.revision}${latest}).`,
          subject: stateSubject(model, rec),
          evidence: [
            {
              location: { kind: 'kv', bucket: model.bucket, key: rev.key, revision: rev.revision, pointer },
              excerpt: excerptOf(tailOf(value, line)),
              note: `residue ${where}; first seen at revision ${rev.revision}`,
            },
          ],
          target: `${rev.key}#${pointer}`,
        });
      });
    });
  }
}

function stateSubject(model: Model, rec: KeyRecord): Subject {
  const run = rec.info.prefix ? runByPrefix(model, rec.info.prefix) : undefined;
  return run ? runSubject(run, rec.info.cycle) : { keyPrefix: rec.info.prefix };
}

/** The residue line with a little of what came before it. */
function tailOf(value: string, line: string): string {
  const i = value.indexOf(line);
  const from = Math.max(0, i - 60);
  return cut(`${from > 0 ? '…' : ''}${value.slice(from, i + line.length)}`, 160);
}

/** Calls every string in a JSON value with its JSON pointer. */
function walkStrings(value: unknown, pointer: string, visit: (pointer: string, value: string) => void): void {
  if (typeof value === 'string') visit(pointer, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${pointer}/${i}`, visit));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      walkStrings(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, visit);
  }
}

function transcriptWords(sessions: LogSession[]): Set<string> {
  const out = new Set<string>([DEFAULT_DELIMITER]);
  for (const s of sessions) {
    for (const e of s.events)
      if (e.kind === 'tool' && e.command && e.command.includes('<<'))
        for (const w of heredocWords(e.command)) out.add(w);
  }
  return out;
}

/**
 * For every path a Bash heredoc wrote (and every tail of it after a `/`, so a project-relative path finds an
 * absolute target), the last such call in any session. Built once: residue findings look it up.
 */
function heredocWriters(sessions: LogSession[]): Map<string, ToolCall> {
  const out = new Map<string, ToolCall>();
  for (const s of sessions) {
    for (const e of s.events) {
      if (e.kind !== 'tool' || !e.command || heredocWords(e.command.split('\n')[0]).length === 0) continue;
      const head = e.command.split('\n')[0];
      const target = /(?:>>?|tee\s+(?:-a\s+)?)\s*['"]?([^\s'"<>|;]+)/.exec(head)?.[1];
      if (!target) continue;
      out.set(target, e);
      for (let i = target.indexOf('/'); i >= 0; i = target.indexOf('/', i + 1)) out.set(target.slice(i + 1), e);
    }
  }
  return out;
}

import { defineRule } from '../src/engine/rule.js';
import { isPeerRun } from '../src/model/peer-sessions.js';
import { withoutResidue } from '../src/model/residue.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, Severity, SpecFile, Subject } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

const FENCE = /^\s*(`{3,}|~{3,})/;
const HEADING = /^\s{0,3}#{1,6}(\s|$)/;
const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s+/;
const TABLE_ROW = /^\s*\|/;
const QUOTE = /^\s*>/;
const RULE_LINE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const HTML = /^\s*</;
/** `**Purpose:** …` / `**Errors**: …`: a field, not a sentence. */
const FIELD = /^\s*\*\*[^*]+?(:\*\*|\*\*:)/;
/** A line that is only a link, a reference or a URL. */
const LINK_ONLY = /^\s*(!?\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\[[^\]]*\]|<https?:\/\/[^>]+>|https?:\/\/\S+|@\S+)\s*$/;

const TERMINAL = /[.!?…。]$/;
const CLOSING = /[)\]}"'’”`*_>]$/;
const DANGLING = /[,;\-–—([{/&+=]$/;
/** Words a sentence cannot end on. */
// prettier-ignore
export const CONNECTORS = new Set([
  'a', 'an', 'the', 'and', 'or', 'nor', 'but', 'to', 'of', 'with', 'for', 'from', 'by', 'into', 'onto', 'than',
  'that', 'which', 'whose', 'because', 'whether', 'if', 'while', 'as', 'is', 'are', 'was', 'were', 'be', 'its',
  'their', 'our', 'your', 'these', 'those', 'via', 'per', 'including', 'such',
]);
/** List items end without a period; only these endings mark one as cut. */
// prettier-ignore
const LIST_CONNECTORS = new Set([
  'a', 'an', 'the', 'and', 'or', 'nor', 'but', 'to', 'of', 'with', 'for', 'from', 'by', 'than', 'that', 'which',
]);

const RANK: Record<Severity, number> = { error: 2, warning: 1, info: 0 };

const SPEC_SECTIONS = ['Overview', 'User Stories', 'Spec Scope', 'Out of Scope', 'Expected Deliverable'];

const DELIVERABLE: Record<string, string> = {
  'spec.md': 'The spec',
  'spec-lite.md': 'The spec summary',
  'tasks.md': 'The task list',
  'sub-specs/technical-spec.md': 'The technical spec',
  'sub-specs/tests.md': 'The tests spec',
  'sub-specs/api-spec.md': 'The API spec',
  'sub-specs/database-schema.md': 'The database schema',
};

interface Sign {
  severity: Severity;
  what: string;
  evidence: Evidence;
}

export interface Truncation {
  signs: Sign[];
  severity: Severity;
}

/**
 * The signs that a Markdown deliverable was cut short. `fromPeer` is false for a folder no PEER run produced: its
 * spec.md may follow another template, so sections create-spec writes are only noted when absent.
 */
export function truncationSigns(file: SpecFile, kind: 'spec' | 'product', fromPeer = true): Truncation | undefined {
  if (!/\.(md|markdown)$/i.test(file.name)) return undefined;
  const at = (line?: number): Evidence['location'] =>
    line ? { kind: 'file', path: file.path, line } : { kind: 'file', path: file.path };
  // Heredoc residue (see heredoc-artifact) is not content; text glued after it is.
  const { lines: text, residueLines } = withoutResidue(file);
  const signs: Sign[] = [];

  if (text.every((l) => l.trim() === '')) {
    const residue = residueLines.size > 0;
    const excerpt =
      file.bytes === 0 ? '0 bytes' : residue ? 'only heredoc residue' : `${file.bytes} bytes of whitespace`;
    signs.push({
      severity: 'error',
      what: residue ? 'it holds nothing but heredoc residue' : 'it is empty',
      evidence: { location: at(), excerpt, note: 'no content at all' },
    });
    return { signs, severity: 'error' };
  }

  // Code blocks and front matter: their lines are not prose.
  const code = new Array<boolean>(text.length).fill(false);
  let fence: { marker: string; line: number } | undefined;
  let frontEnd = -1;
  if (text[0]?.trim() === '---') {
    const end = text.findIndex((l, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(l));
    if (end > 0) frontEnd = end;
  }
  text.forEach((line, i) => {
    if (i <= frontEnd) {
      code[i] = true;
      return;
    }
    const f = FENCE.exec(line);
    if (f) {
      code[i] = true;
      if (!fence) fence = { marker: f[1], line: i + 1 };
      else if (f[1][0] === fence.marker[0] && f[1].length >= fence.marker.length && line.trim() === f[1])
        fence = undefined;
      return;
    }
    if (fence) code[i] = true;
  });

  let last = text.length - 1;
  while (last >= 0 && text[last].trim() === '') last--;
  const after = [...residueLines].some((i) => i > last) ? ', before the heredoc residue' : '';
  const lastText = text[last];
  const lastEv = (note: string): Evidence => ({ location: at(last + 1), excerpt: tail(lastText.trim()), note });

  if (fence) {
    signs.push({
      severity: 'error',
      what: `a code block opened at line ${fence.line} is never closed`,
      evidence: {
        location: at(fence.line),
        excerpt: excerptOf(file.lines[fence.line - 1].trim()),
        note: `code block opened here runs to the end of the file (last line ${last + 1})`,
      },
    });
  } else if (!code[last]) {
    const ending = lineEnding(lastText, text[last - 1]);
    if (ending)
      signs.push({
        severity: ending.severity,
        what: `line ${last + 1} ${ending.what}${after}`,
        evidence: lastEv(`last content line ${ending.what}`),
      });
  }

  if (kind === 'spec' && file.name === 'spec.md') sectionSigns();

  function sectionSigns(): void {
    const headings = text
      .map((l, i) => ({ l, i }))
      .filter(({ l, i }) => !code[i] && HEADING.test(l))
      .map(({ l, i }) => ({ norm: normHeading(l), line: i + 1, text: l.trim() }));
    const found = SPEC_SECTIONS.map((s) =>
      headings.find((h) => h.norm === normHeading(s) || h.norm.startsWith(`${normHeading(s)} `)),
    );
    const lastFound = found.reduce((acc, h, i) => (h ? i : acc), -1);
    // A spec.md with none of create-spec's sections, in a folder no PEER run produced, follows another template.
    if (!fromPeer && lastFound < 0) return;
    const trailing = SPEC_SECTIONS.filter((_, i) => !found[i] && i > lastFound);
    const inner = SPEC_SECTIONS.filter((_, i) => !found[i] && i < lastFound);
    const anchor = lastFound >= 0 ? found[lastFound]! : undefined;
    // Missing template sections are not a cut by themselves: a spec with other headings is still whole. They count
    // as a sign (warning) for a PEER-written spec, and as a note (info) for a folder no PEER run produced.
    const sectionSeverity: Severity = fromPeer ? 'warning' : 'info';
    if (trailing.length > 0) {
      const where = anchor ? `it stops after "${anchor.text}"` : 'it has none of them';
      signs.push({
        severity: sectionSeverity,
        what:
          `it has no ${trailing.map((s) => `"## ${s}"`).join(', ')} ` +
          `section${trailing.length > 1 ? 's' : ''} (${where})`,
        evidence: {
          location: at(anchor?.line ?? last + 1),
          excerpt: excerptOf(anchor?.text ?? lastText.trim()),
          note: `required sections missing after this point: ${trailing.join(', ')}`,
        },
      });
    }
    if (inner.length > 0) {
      signs.push({
        severity: sectionSeverity,
        what: `it has no ${inner.map((s) => `"## ${s}"`).join(', ')} section${inner.length > 1 ? 's' : ''}`,
        evidence: {
          location: at(),
          excerpt: `sections: ${headings
            .filter((h) => /^\s*##\s/.test(h.text))
            .map((h) => h.text.replace(/^#+\s*/, ''))
            .join(', ')}`,
          note: `required sections missing: ${inner.join(', ')}`,
        },
      });
    }
  }

  if (kind === 'spec' && file.name === 'spec-lite.md') {
    const sentence = text.some(
      (l, i) =>
        !code[i] &&
        !HEADING.test(l) &&
        !QUOTE.test(l) &&
        !HTML.test(l) &&
        /[A-Za-z]/.test(l) &&
        l.trim().split(/\s+/).length >= 3,
    );
    if (!sentence) {
      signs.push({
        severity: 'error',
        what: 'it has no summary sentence',
        evidence: {
          location: at(last + 1),
          excerpt: excerptOf(lastText.trim()),
          note: 'spec-lite.md holds 1-3 sentences; there is none',
        },
      });
    }
  }

  if (signs.length === 0) return undefined;
  signs.sort((a, b) => RANK[b.severity] - RANK[a.severity]);
  return { signs, severity: signs[0].severity };
}

/** How the last content line ends, when that ending means the text stops early. */
function lineEnding(raw: string, prev: string | undefined): { severity: Severity; what: string } | undefined {
  const line = raw.trimEnd();
  if (HEADING.test(line)) return { severity: 'warning', what: 'is a heading with nothing under it' };
  if (TABLE_ROW.test(line)) {
    if (!line.endsWith('|') && prev !== undefined && TABLE_ROW.test(prev) && prev.trimEnd().endsWith('|'))
      return { severity: 'warning', what: 'is a table row cut off before its last cell' };
    return undefined;
  }
  if (LIST_ITEM.test(line)) {
    if (line.endsWith(',')) return { severity: 'warning', what: 'is a list item that ends with a comma' };
    const w = lastWord(line);
    if (w && LIST_CONNECTORS.has(w.toLowerCase()))
      return { severity: 'warning', what: `is a list item that ends with "${w}"` };
    return undefined;
  }
  if (
    QUOTE.test(line) ||
    RULE_LINE.test(line) ||
    HTML.test(line) ||
    FIELD.test(line) ||
    LINK_ONLY.test(line) ||
    /^\s/.test(raw)
  )
    return undefined;

  // A prose line.
  if ((line.match(/`/g) ?? []).length % 2 === 1)
    return { severity: 'error', what: 'stops inside inline code (an unmatched backtick)' };
  if (TERMINAL.test(line) || CLOSING.test(line)) return undefined;
  const token = line.split(/\s+/).pop() ?? '';
  if (/[/@]|^https?:|\.(md|ts|js|go|py|json|ya?ml)$/i.test(token)) return undefined; // ends on a path or a link
  if (DANGLING.test(line)) return { severity: 'error', what: `stops mid-sentence on "${line.slice(-1)}"` };
  if (line.endsWith(':'))
    return { severity: 'warning', what: 'ends with a colon, and what it introduces never follows' };
  const w = lastWord(line);
  if (w && CONNECTORS.has(w.toLowerCase())) return { severity: 'error', what: `stops mid-sentence after "${w}"` };
  // Lines written as an unmarked list (`✅ Item`, `**Name** - what`) end without punctuation one after another: when the
  // line before ends the same way, that is the file's style, not a cut.
  const before = prev?.trimEnd() ?? '';
  if (/[A-Za-z0-9]$/.test(line) && !(/[A-Za-z0-9]$/.test(before) && !HEADING.test(before)))
    return { severity: 'warning', what: 'ends without closing punctuation' };
  return undefined;
}

/** The end of a line is what matters here: long lines keep their tail. */
function tail(line: string, max = 160): string {
  const e = excerptOf(line, Number.MAX_SAFE_INTEGER);
  return e.length > max ? `…${e.slice(e.length - max + 1)}` : e;
}

function lastWord(line: string): string | undefined {
  return /([A-Za-z][A-Za-z'’]*)$/.exec(line)?.[1];
}

function normHeading(s: string): string {
  return s
    .replace(/^\s*#+\s*/, '')
    .toLowerCase()
    .replace(/[^a-z ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/ies$/, 'y')
    .replace(/s$/, '');
}

export default defineRule({
  meta: {
    id: 'truncated-file',
    severity: 'error',
    summary:
      'A spec or product file was cut short: empty, stops mid-sentence or inside a code block (a PEER-written ' +
      'spec.md without its closing sections may be).',
    sources: ['specs'],
    fixable: false,
    title: 'A file was cut short',
    causedBy: [{ rule: 'heredoc-artifact', when: 'same-file' }],
  },
  check({ model, report }) {
    for (const run of model.runs) {
      const fromPeer = isPeerRun(run);
      for (const folder of run.folders) for (const file of folder.files) check(file, 'spec', runSubject(run), fromPeer);
    }
    for (const file of model.specs?.productFiles ?? []) check(file, 'product', { folder: '.agent-os/product' }, true);

    function check(file: SpecFile, kind: 'spec' | 'product', subject: Subject, fromPeer: boolean) {
      const t = truncationSigns(file, kind, fromPeer);
      if (!t) return;
      const label = kind === 'product' ? 'The product file' : (DELIVERABLE[file.name] ?? 'The spec file');
      const whats = t.signs.map((s) => s.what);
      const verdict =
        t.severity === 'error'
          ? 'is cut short'
          : t.severity === 'warning'
            ? 'may be cut short'
            : 'lacks sections create-spec writes';
      const otherTemplate =
        t.severity === 'info' ? '; no PEER run produced this folder, so it may follow another template' : '';
      report({
        message: `${label} ${file.path} ${verdict}: ${whats.join('; ')}${otherTemplate}.`,
        subject,
        evidence: t.signs.map((s) => s.evidence),
        target: file.path,
        severity: t.severity,
      });
    }
  },
});

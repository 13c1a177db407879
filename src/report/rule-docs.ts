// Rule metadata and documentation for reports: SARIF rule descriptors and Markdown recommendations come from
// the rules' own doc pages (rules/<id>.md), so the advice a report gives is the advice the docs give.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRules, ruleDocPath } from '../engine/registry.js';
import type { CauseLink } from '../engine/rule.js';
import type { Severity } from '../model/types.js';

export interface RuleDoc {
  id: string;
  severity: Severity;
  summary: string;
  sources: string[];
  fixable: boolean;
  /** The title of a cause group rooted at this rule (meta.title). */
  title: string;
  /** The rules that can explain this one's findings, in priority order (meta.causedBy). */
  causedBy?: CauseLink[];
  /** rules/<id>.md, relative to the package root. */
  docPath: string;
  /** The whole page (empty when it could not be read). */
  markdown: string;
  /** "## <title>" sections by title: "What it catches", "Why it matters", "What to do", "Example". */
  sections: Record<string, string>;
}

let cache: Promise<Map<string, RuleDoc>> | undefined;

export function loadRuleDocs(): Promise<Map<string, RuleDoc>> {
  cache ??= (async () => {
    const rules = await loadRules();
    const dir = await docsDir(rules[0]?.meta.id);
    const out = new Map<string, RuleDoc>();
    for (const r of rules) {
      const markdown = dir ? await fs.readFile(path.join(dir, `${r.meta.id}.md`), 'utf8').catch(() => '') : '';
      out.set(r.meta.id, {
        id: r.meta.id,
        severity: r.meta.severity,
        summary: r.meta.summary,
        sources: r.meta.sources,
        fixable: r.meta.fixable,
        title: r.meta.title,
        ...(r.meta.causedBy ? { causedBy: r.meta.causedBy } : {}),
        docPath: ruleDocPath(r.meta.id),
        markdown,
        sections: splitSections(markdown),
      });
    }
    return out;
  })();
  return cache;
}

/** The rules/ folder holding the doc pages: beside the sources, or at the package root above dist/. */
async function docsDir(probeId: string | undefined): Promise<string | undefined> {
  if (!probeId) return undefined;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'rules');
    if (
      await fs.stat(path.join(candidate, `${probeId}.md`)).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Splits a doc page on its "## " headings (at the start of a line, outside code fences). */
export function splitSections(markdown: string): Record<string, string> {
  const out: Record<string, string> = {};
  let title: string | undefined;
  let buf: string[] = [];
  let fence: string | undefined;
  const flush = () => {
    if (title !== undefined) out[title] = buf.join('\n').trim();
  };
  for (const line of markdown.split('\n')) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (!fence) fence = f[1];
      else if (f[1][0] === fence[0] && f[1].length >= fence.length) fence = undefined;
    }
    const h = !fence && /^## (.+?)\s*$/.exec(line);
    if (h) {
      flush();
      title = h[1];
      buf = [];
    } else buf.push(line);
  }
  flush();
  return out;
}

/**
 * Markdown to plain text for places that show text only (SARIF `text` fields):
 * links, emphasis and code marks removed.
 */
export function plainText(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\s)[*_]([^*_\n]+)[*_](?=\s|[.,;:]|$)/g, '$1$2')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

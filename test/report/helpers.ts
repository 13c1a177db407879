// Shared checks for report tests: Markdown rendered the way a reader sees it, and the Mermaid gantt grammar.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: true, linkify: true });

export function renderHtml(markdown: string): string {
  return md.render(markdown);
}

/** The text a reader sees: HTML tags dropped, entities decoded, whitespace folded. */
export function visibleText(markdown: string): string {
  return renderHtml(markdown)
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** Markdown-it tokens of the document (block level). */
export function tokens(markdown: string) {
  return md.parse(markdown, {});
}

export function headings(markdown: string, level: number): string[] {
  const t = tokens(markdown);
  const out: string[] = [];
  t.forEach((tok, i) => {
    if (tok.type === 'heading_open' && tok.tag === `h${level}`) out.push(t[i + 1].content);
  });
  return out;
}

export function fences(markdown: string): { info: string; content: string }[] {
  return tokens(markdown)
    .filter((t) => t.type === 'fence')
    .map((t) => ({ info: t.info.trim(), content: t.content }));
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
const TAGS = new Set(['done', 'active', 'crit', 'milestone']);

/**
 * Checks a Mermaid gantt block against the grammar the report relies on; returns the problems (none: valid).
 * Lines: `gantt`, then `title`, `dateFormat`, `axisFormat`, `todayMarker`, `section <name>` and task lines
 * `<name> :[tags, ]<id>, <start>, <end>` where start is an ISO time (dateFormat YYYY-MM-DDTHH:mm:ss) or
 * `after <id>…` naming earlier tasks, end is an ISO time not before the start; ids unique; names free of the
 * characters the grammar reads (`:` `#` `;`) and of anything outside printable ASCII.
 */
export function ganttProblems(src: string): string[] {
  const problems: string[] = [];
  const lines = src.split('\n');
  if (lines[0] !== 'gantt') problems.push(`first line is ${JSON.stringify(lines[0])}, not "gantt"`);
  const ids = new Map<string, number>();
  let dateFormat: string | undefined;
  let sections = 0;
  let tasks = 0;
  lines.slice(1).forEach((raw, i) => {
    const n = i + 2;
    const line = raw.trim();
    if (line === '' || line.startsWith('%%')) return;
    if (!/^[\x20-\x7e]+$/.test(raw))
      return problems.push(`line ${n}: a character outside printable ASCII: ${JSON.stringify(raw)}`);
    let m: RegExpExecArray | null;
    if ((m = /^title (.+)$/.exec(line))) {
      if (/[:#;]/.test(m[1])) problems.push(`line ${n}: title holds : # or ;`);
      return;
    }
    if ((m = /^dateFormat (.+)$/.exec(line))) {
      dateFormat = m[1];
      if (dateFormat !== 'YYYY-MM-DDTHH:mm:ss')
        problems.push(`line ${n}: dateFormat ${dateFormat} is not the ISO format the times use`);
      return;
    }
    if (/^axisFormat %[A-Za-z](?:[:%A-Za-z ]*)$/.test(line)) return;
    if (/^todayMarker (on|off)$/.test(line)) return;
    if ((m = /^section (.+)$/.exec(line))) {
      sections++;
      if (/[:#;]/.test(m[1])) problems.push(`line ${n}: section name holds : # or ;`);
      return;
    }
    m = /^([^:#;]+?) :(.+)$/.exec(line);
    if (!m) return problems.push(`line ${n}: not a gantt statement: ${JSON.stringify(line)}`);
    tasks++;
    if (sections === 0) problems.push(`line ${n}: task before any section`);
    const name = m[1];
    if (/^(section|title|dateFormat|axisFormat|todayMarker|excludes|includes|click)(\s|$)/i.test(name))
      problems.push(`line ${n}: task name starts with a keyword`);
    const parts = m[2].split(',').map((p) => p.trim());
    while (parts.length > 0 && TAGS.has(parts[0])) parts.shift();
    if (parts.length !== 3)
      return problems.push(`line ${n}: expected "id, start, end" after the tags, got ${JSON.stringify(m[2])}`);
    const [id, start, end] = parts;
    if (!/^[A-Za-z][\w-]*$/.test(id)) problems.push(`line ${n}: bad id ${JSON.stringify(id)}`);
    if (ids.has(id)) problems.push(`line ${n}: id ${id} already used at line ${ids.get(id)}`);
    let startMs: number | undefined;
    if (ISO.test(start)) {
      startMs = Date.parse(`${start}Z`);
      if (!Number.isFinite(startMs)) problems.push(`line ${n}: start ${start} is not a valid time`);
    } else if ((m = /^after ((?:[A-Za-z][\w-]*\s*)+)$/.exec(start))) {
      for (const ref of m[1].trim().split(/\s+/))
        if (!ids.has(ref)) problems.push(`line ${n}: "after ${ref}" names no earlier task`);
    } else problems.push(`line ${n}: start ${JSON.stringify(start)} is neither an ISO time nor "after <id>"`);
    if (!ISO.test(end) || !Number.isFinite(Date.parse(`${end}Z`)))
      problems.push(`line ${n}: end ${JSON.stringify(end)} is not an ISO time`);
    else if (startMs !== undefined && Date.parse(`${end}Z`) < startMs)
      problems.push(`line ${n}: ends before it starts`);
    ids.set(id, n);
  });
  if (!dateFormat) problems.push('no dateFormat line');
  if (sections === 0) problems.push('no section');
  if (tasks === 0) problems.push('no task');
  return problems;
}

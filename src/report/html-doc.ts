// peer-audit's own rule documentation (the "What to do" of rules/<id>.md) as HTML: the little Markdown those
// pages use (paragraphs, "- " lists, `code`, **bold**, links to other rule pages), every character escaped
// first. Links become text naming the page: the report is read anywhere, where relative links lead nowhere.
import { esc } from './html-escape.js';

/** Inline Markdown: code spans, bold, links (as their label and target in words). */
export function inlineDoc(md: string): string {
  const out: string[] = [];
  // A code span: a run of backticks, its text, the same run again.
  const re = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    out.push(esc(md.slice(last, m.index)));
    if (m[1] !== undefined) out.push(`<code>${esc(m[2].trim() === '' ? m[2] : m[2].replace(/^ (.*) $/, '$1'))}</code>`);
    else if (m[3] !== undefined) out.push(`<strong>${inlineDoc(m[3])}</strong>`);
    else {
      const target = /^[a-z0-9-]+\.md$/.test(m[5]) ? `rules/${m[5]}` : m[5];
      out.push(`${inlineDoc(m[4])} (<code>${esc(target)}</code>)`);
    }
    last = m.index + m[0].length;
  }
  out.push(esc(md.slice(last)));
  return out.join('');
}

/** A section of a rule doc page as HTML: paragraphs and bullet lists. */
export function docHtml(md: string): string {
  const blocks: string[] = [];
  let para: string[] = [];
  let items: string[][] = [];
  const endPara = () => {
    if (para.length) blocks.push(`<p>${inlineDoc(para.join(' '))}</p>`);
    para = [];
  };
  const endList = () => {
    if (items.length) blocks.push(`<ul>${items.map((i) => `<li>${inlineDoc(i.join(' '))}</li>`).join('')}</ul>`);
    items = [];
  };
  for (const raw of md.split('\n')) {
    const line = raw.trimEnd();
    const item = /^\s*[-*] (.*)$/.exec(line);
    if (line.trim() === '') {
      endPara();
      endList();
    } else if (item) {
      endPara();
      items.push([item[1]]);
    } else if (items.length && /^\s/.test(line)) items[items.length - 1].push(line.trim());
    else {
      endList();
      para.push(line.trim());
    }
  }
  endPara();
  endList();
  return blocks.join('\n');
}

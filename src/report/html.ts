// The incident report as one HTML file that opens anywhere: no network, no external script, style or font. The
// same report as the Markdown one, from the same parts (the frame and summary of markdown.ts, the causes, the
// timeline's bars and rows, the rule docs), with the timeline drawn as inline SVG, each finding's evidence
// folded in a <details>, the cost of a run when the scan has it, and a search box over the findings.
// Every string from the scan is escaped (html-escape.ts); a Content-Security-Policy lets only the page's own
// style sheet and script run (html-page.ts).
import type { Journal } from '../model/journal-format.js';
import { redactText } from '../model/redact.js';
import type { CauseGroup } from './causes.js';
import { docHtml, inlineDoc } from './html-doc.js';
import { costTable } from './html-cost.js';
import { esc, escLines, num } from './html-escape.js';
import { CSP, SCRIPT, STYLE } from './html-page.js';
import { formatLocation } from './location.js';
import {
  baselineNote,
  changePatch,
  changeRevisions,
  changeTarget,
  contextLines,
  flush,
  jsonContextLead,
  KIND,
  kvKeysOf,
  MAX_DIFF_LINES,
  MAX_TABLE_ROWS,
  reportFrame,
  sessionsOf,
  sourceRow,
  summaryParts,
  type Markup,
  type MarkdownOptions,
} from './markdown.js';
import type { ReportedEvidence, ReportedFinding, RunRecord, ScanResult } from './result.js';
import type { RuleDoc } from './rule-docs.js';
import { describeSource } from './stylish.js';
import { svgTimeline } from './svg-timeline.js';
import { ganttBars, humanTime, timelineRows } from './timeline.js';

/** The same options as the Markdown report's. */
export type HtmlOptions = MarkdownOptions;

const HTML: Markup = {
  text: esc,
  code: (s) => `<code>${esc(s)}</code>`,
  strong: (s) => `<strong>${s}</strong>`,
  num,
};
const code = HTML.code;
const plural = (n: number, word: string, many = `${word}s`) => `${num(n)} ${n === 1 ? word : many}`;

export function formatHtml(result: ScanResult, opts: HtmlOptions): string {
  return [...htmlChunks(result, opts)].join('');
}

/** The page in pieces, a section at a time (a large scan's report is written as it is made, like the Markdown). */
export function* htmlChunks(result: ScanResult, opts: HtmlOptions): Generator<string> {
  const frame = reportFrame(result, opts.rules);
  const { groups, run, others, cycleNo } = frame;
  const items = result.runs?.items ?? [];
  const subject = run ? (run.spec ?? run.keyPrefix ?? run.id) : undefined;
  const title =
    result.findings.length === 0
      ? `PEER audit: no problems found${subject ? ` in ${subject}` : ''}`
      : `Incident report: ${subject ?? 'PEER runs'}${cycleNo !== undefined ? `, cycle ${cycleNo}` : ''}`;
  const timelineRuns = run ? [run, ...others] : [];
  const drawn = timelineRuns.filter((r) => r.cycles.length > 0 || r.sessions.some((s) => s.events.length > 0));
  const costed = drawn.filter((r) => costOf(r) !== undefined);

  yield (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">\n` +
    '<meta name="referrer" content="no-referrer">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<meta name="generator" content="peer-audit ${esc(result.tool.version)}">\n` +
    '<link rel="icon" href="data:,">\n' +
    `<title>${esc(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n`
  );

  // ------------------------------------------------------------ header
  const out: string[] = [];
  const { errors, warnings, infos } = result.summary;
  const total = errors + warnings + infos;
  out.push(`<header>\n<h1>${esc(title)}</h1>`);
  out.push(
    `<p class="meta">peer-audit ${esc(result.tool.version)} · scanned ${esc(humanTime(result.generatedAt))} UTC · ` +
      `project ${code(result.projectRoot)} · bucket ${code(result.bucket)}` +
      `${opts.from ? ` · rendered from the saved scan ${code(opts.from)}` : ''}</p>`,
  );
  out.push(
    `<div class="counts"><span class="count">${plural(total, 'problem')}</span>` +
      `<span class="count error">${plural(errors, 'error')}</span>` +
      `<span class="count warning">${plural(warnings, 'warning')}</span>` +
      `<span class="count info">${num(infos)} info</span></div>`,
  );
  if (result.baseline) {
    const { file, said } = baselineNote(result.baseline, result.projectRoot);
    out.push(`<p class="meta">Baseline ${code(file)}: ${esc(said)}</p>`);
  }
  if (!result.complete) {
    out.push(
      '<div class="alert" role="alert"><strong>⚠ Incomplete evidence.</strong> Some of the evidence could not be ' +
        'read, so this report is not the whole story:<ul>' +
        result.incompleteReasons.map((r) => `<li>${esc(r)}</li>`).join('') +
        '</ul></div>',
    );
  }
  out.push('</header>');
  out.push(
    '<nav class="toc" aria-label="Contents"><ol><li><a href="#summary">Summary</a></li>' +
      '<li><a href="#timeline">Timeline</a></li>' +
      (costed.length ? '<li><a href="#cost">Cost</a></li>' : '') +
      `<li><a href="#findings">Findings by root cause</a> (${plural(groups.length, 'cause')})</li>` +
      '<li><a href="#recommendations">Recommendations</a></li><li><a href="#repairs">Repairs applied</a></li>' +
      '<li><a href="#sources">Appendix: sources</a></li></ol></nav>',
  );
  out.push('<main>');

  // ------------------------------------------------------------ summary
  out.push('<section id="summary">\n<h2>Summary</h2>');
  const { points, paras } = summaryParts(frame, HTML);
  if (points.length) out.push(`<ul class="points">${points.map((p) => `<li>${p}</li>`).join('\n')}</ul>`);
  for (const p of paras) out.push(`<p>${p}</p>`);
  out.push('</section>');
  yield flush(out);

  // ------------------------------------------------------------ timeline
  out.push('<section id="timeline">\n<h2>Timeline</h2>');
  if (!result.runs)
    out.push(
      '<p>This scan carries no run context (it was saved by an older peer-audit); ' +
        'scan again with this version for a timeline.</p>',
    );
  else if (drawn.length === 0)
    out.push('<p>No KV state or transcript events with times were read for the runs with findings.</p>');
  for (const [i, r] of drawn.entries()) {
    out.push(...timelineSection(r, i, drawn.length > 1));
    yield flush(out);
  }
  out.push('</section>');

  // ------------------------------------------------------------ cost
  if (costed.length) {
    out.push('<section id="cost">\n<h2>Cost</h2>');
    out.push(
      '<p>Tokens, wall time and tool calls per PEER phase and for the whole run, counted from the transcripts.</p>',
    );
    for (const r of costed) {
      if (costed.length > 1) out.push(`<h3>${esc(runName(r))}</h3>`);
      out.push(costTable(costOf(r))!);
    }
    out.push('</section>');
  }

  // ------------------------------------------------------------ findings
  out.push('<section id="findings">\n<h2>Findings by root cause</h2>');
  if (groups.length === 0)
    out.push(
      result.complete
        ? '<p>No problems were found in the evidence read.</p>'
        : '<p>No problems were found in the part of the evidence that could be read: ' +
            'this is <strong>not</strong> a clean result.</p>',
    );
  else {
    out.push(
      `<p>${plural(groups.length, 'root cause')} explain the ${plural(result.findings.length, 'finding')}: ` +
        'the findings under “Follows from it” are consequences of the one above them.</p>',
    );
    out.push(
      '<ol>' +
        groups
          .map((g, i) => {
            const n = g.roots.length + g.follows.length;
            return (
              `<li><a href="#cause-${i + 1}">${esc(g.title)}</a> — ` + `${sev(g.severity)} ${plural(n, 'finding')}</li>`
            );
          })
          .join('') +
        '</ol>',
    );
    out.push(
      '<div class="search" id="search" role="search" hidden>' +
        '<input type="search" id="search-input" placeholder="Filter findings: rule, file, key, words…" ' +
        'aria-label="Filter findings" autocomplete="off" spellcheck="false">' +
        `<output id="search-count" for="search-input">${plural(result.findings.length, 'finding')}</output>` +
        '<button type="button" id="expand-evidence">Expand all evidence</button></div>',
    );
  }
  yield flush(out);
  for (const [i, g] of groups.entries()) {
    out.push(...groupSection(g, i + 1, opts.rules));
    yield flush(out);
  }
  out.push('</section>');

  // ------------------------------------------------------------ recommendations
  out.push('<section id="recommendations">\n<h2>Recommendations</h2>');
  const ruleOrder = [...new Set(groups.flatMap((g) => [...g.roots, ...g.follows].map((f) => f.ruleId)))];
  if (ruleOrder.length === 0) out.push('<p>Nothing to do.</p>');
  const perRule = new Map<string, number>();
  for (const f of result.findings) perRule.set(f.ruleId, (perRule.get(f.ruleId) ?? 0) + 1);
  for (const id of ruleOrder) {
    const doc = opts.rules.get(id);
    out.push(`<h3>${esc(id)}</h3>`);
    out.push(
      `<p>${plural(perRule.get(id) ?? 0, 'finding')} · ${inlineDoc(doc?.summary ?? '')} · ` +
        `rule doc ${code(doc?.docPath ?? `rules/${id}.md`)}</p>`,
    );
    const todo = doc?.sections['What to do'];
    out.push(todo ? docHtml(todo) : '<p>This version of peer-audit has no documentation for this rule.</p>');
  }
  out.push('</section>');

  // ------------------------------------------------------------ repairs
  out.push('<section id="repairs">\n<h2>Repairs applied</h2>');
  out.push(...repairsSection(opts.journals ?? []));
  out.push('</section>');

  // ------------------------------------------------------------ appendix
  out.push('<section id="sources">\n<h2>Appendix: sources</h2>');
  out.push(...sourcesSection(result, items));
  out.push('</section>\n</main>');
  out.push(
    `<footer>Written by peer-audit ${esc(result.tool.version)}. This file is self-contained: it loads nothing ` +
      'from the network, and its Content-Security-Policy lets no script run but its own search box.</footer>',
  );
  out.push(`<script>${SCRIPT}</script>\n</body>\n</html>`);
  yield flush(out);
}

function runName(run: RunRecord): string {
  return run.keyPrefix ?? run.folders[0]?.path ?? run.id;
}

/** The run's cost, when the scan has one (`runs.items[].cost`, written by versions that count it). */
function costOf(run: RunRecord): unknown {
  return (run as RunRecord & { cost?: unknown }).cost;
}

// ---------------------------------------------------------------- timeline

function timelineSection(run: RunRecord, index: number, many: boolean): string[] {
  const out: string[] = [];
  const name = runName(run);
  out.push(`<h3>${esc(name)}</h3>`);
  const svg = svgTimeline(ganttBars(run), `Timeline of ${run.spec ?? name} (UTC)`, `timeline-${index + 1}`);
  if (svg) {
    out.push(`<div class="chart">${svg}</div>`);
    out.push(
      '<div class="legend"><span><span class="swatch done"></span>completed</span>' +
        '<span><span class="swatch active"></span>running</span>' +
        '<span><span class="swatch crit"></span>failed, missing or claimed falsely</span>' +
        '<span><span class="swatch plain"></span>subagent at work</span>' +
        '<span><span class="swatch milestone"></span>a moment (diamond)</span>' +
        '<span>Hover a bar for its times.</span></div>',
    );
  }
  for (const c of run.cycles) {
    out.push(
      `<p>Cycle ${c.number}${c.instruction ? ` (${esc(c.instruction)})` : ''}, ${code(`${c.key}@${c.revision}`)}, ` +
        `status ${code(c.status ?? '—')}${c.progress !== undefined ? `, progress ${num(c.progress)}%` : ''}:</p>`,
    );
    out.push(
      '<table><thead><tr><th>Phase</th><th>Status</th><th>Started</th><th>Completed</th><th>First recorded</th>' +
        '<th>Recorded complete</th></tr></thead><tbody>',
    );
    for (const p of c.phases) {
      const rev = (r: { revision: number; created: string } | undefined) =>
        r ? `revision ${num(r.revision)}, ${esc(humanTime(r.created))}` : '—';
      out.push(
        `<tr><td>${esc(p.name)}</td>` +
          `<td>${p.status === 'absent' ? '<span class="absent">absent</span>' : esc(p.raw ?? p.status)}` +
          `</td><td class="when">${esc(humanTime(p.startedAt))}</td><td class="when">${esc(humanTime(p.completedAt))}` +
          `</td><td>${rev(p.firstRevision)}</td><td>${rev(p.completedRevision)}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  }
  const rows = timelineRows(run);
  if (rows.length) {
    out.push(
      `<details class="events"><summary>${many ? 'Events' : 'Every event'}, in time order ` +
        `(UTC): ${plural(rows.length, 'event')}</summary>`,
    );
    out.push('<table><thead><tr><th>Time (UTC)</th><th>Source</th><th>What happened</th><th>Where</th></tr></thead>');
    out.push('<tbody>');
    for (const r of rows.slice(0, MAX_TABLE_ROWS))
      out.push(
        `<tr><td class="when">${esc(humanTime(r.at))}</td><td class="when">${esc(r.source)}</td>` +
          `<td>${esc(r.what)}</td><td>${code(r.where)}</td></tr>`,
      );
    if (rows.length > MAX_TABLE_ROWS)
      out.push(
        `<tr><td>…</td><td></td><td>${num(rows.length - MAX_TABLE_ROWS)} more events left out</td><td></td></tr>`,
      );
    out.push('</tbody></table></details>');
  }
  return out;
}

// ---------------------------------------------------------------- findings

function groupSection(g: CauseGroup, n: number, rules: Map<string, RuleDoc>): string[] {
  // A root is the group's title; a finding that follows from it is headed by its own rule's title.
  const titled = (f: ReportedFinding) => findingBlock(f, `→ ${rules.get(f.ruleId)?.title ?? f.ruleId}`);
  const out: string[] = [];
  out.push(`<section class="cause ${esc(g.severity)}" id="cause-${n}">`);
  out.push(`<h3>${n}. ${esc(g.title)}</h3>`);
  if (g.roots.length > 1) out.push(`<p>The same failure in ${num(g.roots.length)} places:</p>`);
  for (const f of g.roots) out.push(...findingBlock(f));
  if (g.follows.length) {
    out.push('<div class="follows">');
    out.push(
      `<p class="follows-head">Follows from it (${num(g.follows.length)}): ` +
        `${g.follows.map((f) => code(f.ruleId)).join(', ')}</p>`,
    );
    for (const f of g.follows) out.push(...titled(f));
    out.push('</div>');
  }
  out.push('</section>');
  return out;
}

/** A severity as a label (the class names its colour). */
function sev(s: string): string {
  return `<span class="sev ${esc(s)}">${esc(s)}</span>`;
}

function findingBlock(f: ReportedFinding, title?: string): string[] {
  const s = f.subject;
  const where = [
    s.keyPrefix && code(s.keyPrefix),
    s.cycle !== undefined && `cycle ${num(s.cycle)}`,
    !s.keyPrefix && s.folder && code(s.folder),
    !s.keyPrefix && !s.folder && s.session && `session ${code(s.session)}`,
  ].filter(Boolean);
  return [
    `<article class="finding">${title ? `<h4>${esc(title)}</h4>` : ''}`,
    `<div class="finding-head">${sev(f.severity)} ` +
      `<code class="rule">${esc(f.ruleId)}</code>${where.map((w) => ` · ${w}`).join('')} · ` +
      `fingerprint ${code(f.fingerprint)}</div>`,
    `<p class="message">${esc(f.message)}</p>`,
    ...f.evidence.map((e, i) => evidenceBlock(e, i + 1)),
    '</article>',
  ];
}

function evidenceBlock(e: ReportedEvidence, i: number): string {
  const l = e.location;
  const when = l.kind === 'log' && l.timestamp ? ` · ${esc(humanTime(l.timestamp))} UTC` : '';
  const out: string[] = [];
  out.push(
    `<details class="evidence"><summary>Evidence ${i} · <span class="kind">${KIND[l.kind]}</span> ` +
      `${code(formatLocation(l))}${when}${e.note ? ` <span class="note">— ${esc(e.note)}</span>` : ''}` +
      `${e.redacted ? ' · <span class="masked">secret masked</span>' : ''}</summary>`,
  );
  const ctx = e.context;
  if (ctx?.lines) {
    const body = contextLines(e).map((x) => (x.hit ? `<span class="hl">${esc(x.text)}</span>` : esc(x.text)));
    out.push(`<pre>${body.join('\n')}</pre>`);
  } else if (e.excerpt) out.push(`<pre>${escLines(e.excerpt)}</pre>`);
  if (ctx?.json) {
    out.push(`<p>${jsonContextLead(e, HTML)}:</p>`);
    out.push(`<pre>${escLines(ctx.json.text)}</pre>`);
  }
  out.push('</details>');
  return out.join('\n');
}

// ---------------------------------------------------------------- repairs

function repairsSection(journals: { file: string; journal: Journal }[]): string[] {
  if (journals.length === 0)
    return [`<p>No repair journals were given (${code('--journal FILE')}), so no repairs are shown.</p>`];
  const out: string[] = [];
  const clean = (s: string) => redactText(s).text;
  for (const { file, journal: j } of journals) {
    out.push(`<h3>${esc(j.command)} ${code(j.id)}</h3>`);
    out.push(
      `<p>Journal ${code(file)} · ${esc(humanTime(j.createdAt))} UTC · by ${esc(clean(j.actor))} · ` +
        `reason “${esc(clean(j.reason))}” · bucket ${code(j.bucket)}${j.server ? ` on ${code(clean(j.server))}` : ''}` +
        '</p>',
    );
    const applied = j.changes.filter((c) => c.status === 'applied').length;
    out.push(`<p>${plural(j.changes.length, 'change')}, ${num(applied)} applied.</p>`);
    out.push(
      '<table><thead><tr><th>#</th><th>Target</th><th>Status</th><th>Revision</th><th>Rules</th><th>Why</th></tr>' +
        '</thead><tbody>',
    );
    j.changes.forEach((c, i) => {
      const target = changeTarget(c);
      const rev = changeRevisions(c);
      out.push(
        `<tr><td>${i + 1}</td><td>${code(target)}</td>` +
          `<td>${esc(c.status)}${c.error ? `: ${esc(clean(c.error))}` : ''}` +
          `</td><td>${esc(rev)}</td><td>${esc(c.rules.join(', '))}</td><td>${esc(clean(c.why.join('; ')))}</td></tr>`,
      );
    });
    out.push('</tbody></table>');
    j.changes.forEach((c, i) => {
      const target = changeTarget(c);
      const patch = changePatch(c);
      const cut = patch.length > MAX_DIFF_LINES;
      out.push(
        `<details class="evidence"><summary>Change ${i + 1}, ${code(target)}` +
          `${c.kind === 'kv' && c.before_b64 === null ? ' (new key)' : ''}: before → after` +
          `${cut ? ` (first ${MAX_DIFF_LINES} lines)` : ''}</summary>` +
          `<pre>${escLines(cut ? patch.slice(0, MAX_DIFF_LINES) : patch)}</pre></details>`,
      );
    });
  }
  return out;
}

// ---------------------------------------------------------------- sources

function sourcesSection(result: ScanResult, items: RunRecord[]): string[] {
  const out: string[] = [];
  out.push('<p>What was read:</p>');
  out.push(
    '<table><thead><tr><th>Source</th><th>Ref</th><th>Status</th><th>What was read</th><th>Parts left out</th>' +
      '</tr></thead><tbody>',
  );
  for (const s of result.sources) {
    const { stats, status } = sourceRow(s, HTML);
    out.push(
      `<tr><td>${esc(s.kind)}</td><td>${code(s.ref)}</td><td>${status}</td><td>${esc(stats || '—')}</td>` +
        `<td class="num">${num(s.problems.length)}</td></tr>`,
    );
  }
  if (result.sources.length === 0) out.push('<tr><td>—</td><td></td><td></td><td>nothing was read</td><td></td></tr>');
  out.push('</tbody></table>');
  if (!result.complete) {
    out.push('<p>What could not be read:</p>');
    out.push(`<ul>${result.incompleteReasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`);
  }
  const problems = result.sources.flatMap((s) => s.problems.map((p) => ({ s, p })));
  if (problems.length) {
    out.push('<p>Skipped as unreadable (corrupt lines and files): what they held is not in this report.</p><ul>');
    for (const { s, p } of problems.slice(0, 100))
      out.push(
        `<li>${esc(s.kind)} ${code(`${p.where}${p.line !== undefined ? `:${p.line}` : ''}`)} — ${esc(p.reason)}</li>`,
      );
    if (problems.length > 100) out.push(`<li>… and ${num(problems.length - 100)} more</li>`);
    out.push('</ul>');
  }
  const sessions = sessionsOf(items);
  if (sessions.length) {
    out.push('<p>Transcripts:</p><ul>');
    for (const s of sessions)
      out.push(
        `<li>session ${code(s.id)}: ${code(s.mainFile)}` +
          `${s.files > 1 ? ` and ${plural(s.files - 1, 'subagent file')}` : ''}, ` +
          `${esc(humanTime(s.firstTimestamp))} to ${esc(humanTime(s.lastTimestamp))} UTC` +
          `${s.version ? `, Claude Code ${esc(s.version)}` : ''}` +
          `${s.corruptLines ? `, ${plural(s.corruptLines, 'corrupt line')}` : ''}` +
          `${s.truncatedTail ? ', cut off at the end' : ''}` +
          `${s.eventsOmitted ? `, ${num(s.eventsOmitted)} key events left out of this report` : ''}</li>`,
      );
    out.push('</ul>');
  }
  const keys = kvKeysOf(items);
  if (keys.length) {
    out.push('<p>KV keys:</p><ul>');
    for (const k of keys)
      out.push(`<li>${code(k.key)}: ${plural(k.revs, 'revision')} retained, latest ${num(k.last)}</li>`);
    out.push('</ul>');
  }
  out.push(`<p>In one line: ${esc(result.sources.map(describeSource).join(' · ') || 'nothing was read')}.</p>`);
  if (result.summary.redacted)
    out.push(
      `<p>${plural(result.summary.redacted, 'secret was', 'secrets were')} masked (${code('[REDACTED:…]')}) ` +
        'before this report was written.</p>',
    );
  return out;
}

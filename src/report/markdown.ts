// The incident report a person reads: what was asked, what was claimed, what really happened, when, why,
// what to do, what was repaired, and what the audit could and could not read. Rendered from the scan result
// alone (plus rule docs and repair journals), so a saved JSON scan renders the same report later.
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { PHASE_AGENT } from '../model/state.js';
import type { Journal } from '../model/journal-format.js';
import { groupByCause, type CauseGroup, type CauseMeta } from './causes.js';
import { formatLocation } from './location.js';
import { redactText } from '../model/redact.js';
import type {
  BaselineSection,
  CycleRecord,
  ReportedEvidence,
  ReportedFinding,
  RunRecord,
  ScanResult,
} from './result.js';
import type { RuleDoc } from './rule-docs.js';
import { excerptOf, mdCode, mdFence, mdInline } from '../model/text.js';
import { describeSource, describeStats } from './stylish.js';
import { ganttBars, humanTime, mermaidGantt, timelineRows } from './timeline.js';
import { duration, money, totalTokens, wholeCount } from './cost-format.js';
import type { CostLine, RunCost } from '../model/run-cost.js';

export interface MarkdownOptions {
  rules: Map<string, RuleDoc>;
  /** Repair journals to show as "repairs applied". */
  journals?: { file: string; journal: Journal }[];
  /** The saved scan the report was rendered from, if any. */
  from?: string;
}

export const KIND = { kv: 'KV', file: 'file', log: 'log', bucket: 'bucket' } as const;
export const MAX_TABLE_ROWS = 400;
export const MAX_DIFF_LINES = 200;

export function formatMarkdown(result: ScanResult, opts: MarkdownOptions): string {
  return [...markdownChunks(result, opts)].join('');
}

/**
 * The report in pieces, a timeline or a root cause at a time: the report of a large scan is over a hundred
 * megabytes, so it is written as it is made instead of being one string (and its copies) first.
 */
export function* markdownChunks(result: ScanResult, opts: MarkdownOptions): Generator<string> {
  yield* tidied(linesOf(result, opts));
}

/** Lines so far, as one piece; the list is emptied. */
export function flush(out: string[]): string {
  const text = out.length ? `${out.join('\n')}\n` : '';
  out.length = 0;
  return text;
}

/**
 * Runs of blank lines made one, and white space at the end trimmed to one newline, across the pieces: what
 * `.replace(/\n{3,}/g, '\n\n').trimEnd() + '\n'` does to the whole text.
 */
function* tidied(pieces: Iterable<string>): Generator<string> {
  let held = '';
  for (const piece of pieces) {
    const text = `${held}${piece}`.replace(/\n{3,}/g, '\n\n');
    let keep = text.length;
    while (keep > 0 && /\s/.test(text[keep - 1])) keep--;
    if (keep > 0) yield text.slice(0, keep);
    held = text.slice(keep);
  }
  yield '\n';
}

/** What a report is about: the run and cycle most findings concern, the other runs with findings, the causes. */
export interface ReportFrame {
  result: ScanResult;
  groups: CauseGroup[];
  /** The run the report is about (the one with the weightiest findings). */
  run: RunRecord | undefined;
  /** The other runs with findings. */
  others: RunRecord[];
  cycle: CycleRecord | undefined;
  cycleNo: number | undefined;
}

export function reportFrame(result: ScanResult, rules: Map<string, CauseMeta>): ReportFrame {
  const items = result.runs?.items ?? [];
  const primary = primaryRun(result, items);
  const cycleNo = primary ? primaryCycle(result, primary.run) : undefined;
  const cycle = primary?.run.cycles.find((c) => c.number === cycleNo);
  const groups = groupByCause(result.findings, rules);
  // The other runs with findings (primaryRun finds a run whenever there is one).
  const others = primary ? items.filter((r) => r !== primary.run && findingsOf(result, r).length > 0) : [];
  return { result, groups, run: primary?.run, others, cycle, cycleNo };
}

function* linesOf(result: ScanResult, opts: MarkdownOptions): Generator<string> {
  const items = result.runs?.items ?? [];
  const frame = reportFrame(result, opts.rules);
  const { groups, run, others, cycleNo } = frame;
  const out: string[] = [];

  // ------------------------------------------------------------ title and warning
  const subject = run ? (run.spec ?? run.keyPrefix ?? run.id) : undefined;
  out.push(
    `# ${
      result.findings.length === 0
        ? `PEER audit: no problems found${subject ? ` in ${mdInline(subject)}` : ''}`
        : `Incident report: ${mdInline(subject ?? 'PEER runs')}${cycleNo !== undefined ? `, cycle ${cycleNo}` : ''}`
    }`,
  );
  out.push('');
  if (!result.complete) {
    out.push(
      '> **⚠ Incomplete evidence.** Some of the evidence could not be read, so this report is not the whole story:',
    );
    out.push('>');
    for (const r of result.incompleteReasons) out.push(`> - ${mdInline(r)}`);
    out.push('');
  }
  const { errors, warnings, infos } = result.summary;
  const total = errors + warnings + infos;
  out.push(
    `peer-audit ${mdInline(result.tool.version)} · scanned ${mdInline(humanTime(result.generatedAt))} UTC · ` +
      `project ${mdCode(result.projectRoot)} · bucket ${mdCode(result.bucket)} · ` +
      `${total} problem${total === 1 ? '' : 's'} ` +
      `(${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${infos} info)` +
      (opts.from ? ` · rendered from the saved scan ${mdCode(opts.from)}` : ''),
  );
  out.push('');
  if (result.baseline) out.push(baselineLine(result.baseline, result.projectRoot), '');

  // ------------------------------------------------------------ summary
  out.push('## Summary', '');
  out.push(...summary(frame).map((p) => `${p}\n`));

  // ------------------------------------------------------------ timeline
  out.push('## Timeline', '');
  const timelineRuns = run ? [run, ...others] : [];
  const drawn = timelineRuns.filter((r) => r.cycles.length > 0 || r.sessions.some((s) => s.events.length > 0));
  if (!result.runs) {
    out.push(
      'This scan carries no run context (it was saved by an older peer-audit); ' +
        'scan again with this version for a timeline.',
      '',
    );
  } else if (drawn.length === 0) {
    out.push('No KV state or transcript events with times were read for the runs with findings.', '');
  }
  for (const run of drawn) {
    out.push(...timelineSection(run, drawn.length > 1));
    yield flush(out);
  }

  // ------------------------------------------------------------ cost
  const costed = timelineRuns.filter((r) => r.cost);
  if (costed.length) {
    out.push('## Cost', '');
    for (const run of costed) out.push(...costSection(run, costed.length > 1));
    yield flush(out);
  }

  // ------------------------------------------------------------ findings
  out.push('## Findings by root cause', '');
  if (groups.length === 0)
    out.push(
      result.complete
        ? 'No problems were found in the evidence read.'
        : 'No problems were found in the part of the evidence that could be read: this is **not** a clean result.',
      '',
    );
  else {
    out.push(
      `${groups.length} root cause${groups.length === 1 ? '' : 's'} ` +
        `explain the ${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}: ` +
        `the findings under "Follows from it" are consequences of the one above them.`,
      '',
    );
    for (const [i, g] of groups.entries()) {
      const n = g.roots.length + g.follows.length;
      out.push(
        `${i + 1}. [${mdInline(g.title)}](#${anchorSlug(`${i + 1}. ${g.title}`)}) ` +
          `— ${g.severity}, ${n} finding${n === 1 ? '' : 's'}`,
      );
    }
    out.push('');
  }
  for (const [i, g] of groups.entries()) {
    out.push(...groupSection(g, i + 1));
    yield flush(out);
  }

  // ------------------------------------------------------------ recommendations
  out.push('## Recommendations', '');
  const ruleOrder = [...new Set(groups.flatMap((g) => [...g.roots, ...g.follows].map((f) => f.ruleId)))];
  if (ruleOrder.length === 0) out.push('Nothing to do.', '');
  const perRule = new Map<string, number>();
  for (const f of result.findings) perRule.set(f.ruleId, (perRule.get(f.ruleId) ?? 0) + 1);
  for (const id of ruleOrder) {
    const doc = opts.rules.get(id);
    const n = perRule.get(id) ?? 0;
    out.push(`### ${mdInline(id)}`, '');
    out.push(
      `${n} finding${n === 1 ? '' : 's'} · ${mdInline(doc?.summary ?? '')} · ` +
        `rule doc ${mdCode(doc?.docPath ?? `rules/${id}.md`)}`,
      '',
    );
    const todo = doc?.sections['What to do'];
    // The advice comes from peer-audit's own rule documentation, which is Markdown written for this.
    out.push(todo ? docLinks(todo) : 'This version of peer-audit has no documentation for this rule.', '');
  }

  // ------------------------------------------------------------ repairs
  out.push('## Repairs applied', '');
  out.push(...repairsSection(opts.journals ?? []));

  // ------------------------------------------------------------ appendix
  out.push('## Appendix: sources', '');
  out.push(...sourcesSection(result, items));
  yield flush(out);
}

// ---------------------------------------------------------------- which run, which cycle

/** The findings about a run, in report order. Worked out for every run at once: a large scan has thousands of each. */
export function findingsOf(result: ScanResult, run: RunRecord): ReportedFinding[] {
  let index = findingIndex.get(result);
  if (!index) findingIndex.set(result, (index = indexFindings(result)));
  return index.get(run) ?? [];
}

const findingIndex = new WeakMap<ScanResult, Map<RunRecord, ReportedFinding[]>>();

/** What `belongs` decides for every finding and run, from maps of the runs by key prefix, folder, spec and session. */
function indexFindings(result: ScanResult): Map<RunRecord, ReportedFinding[]> {
  const by = <K>(pairs: Array<[K, RunRecord]>) => {
    const m = new Map<K, RunRecord[]>();
    for (const [k, r] of pairs) {
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const items = result.runs?.items ?? [];
  const byPrefix = by(
    items.flatMap((r) => (r.keyPrefix !== undefined ? [[r.keyPrefix, r] as [string, RunRecord]] : [])),
  );
  const byFolder = by(
    items.flatMap((r) => [...new Set(r.folders.map((x) => x.path))].map((p) => [p, r] as [string, RunRecord])),
  );
  const bySpec = by(items.flatMap((r) => (r.spec !== undefined ? [[r.spec, r] as [string, RunRecord]] : [])));
  const bySession = by(
    items.flatMap((r) => [...new Set(r.sessions.map((x) => x.id))].map((id) => [id, r] as [string, RunRecord])),
  );
  const out = new Map<RunRecord, ReportedFinding[]>();
  for (const f of result.findings) {
    const s = f.subject;
    const runs = new Set<RunRecord>();
    if (s.keyPrefix !== undefined) for (const r of byPrefix.get(s.keyPrefix) ?? []) runs.add(r);
    else {
      if (s.folder !== undefined) for (const r of byFolder.get(s.folder) ?? []) runs.add(r);
      if (s.spec !== undefined) for (const r of bySpec.get(s.spec) ?? []) runs.add(r);
      if (s.session !== undefined) for (const r of bySession.get(s.session) ?? []) runs.add(r);
    }
    for (const r of runs) {
      const list = out.get(r);
      if (list) list.push(f);
      else out.set(r, [f]);
    }
  }
  return out;
}

/** Is the finding about the run: the definition findingsOf works out with maps. */
export function belongs(f: ReportedFinding, run: RunRecord): boolean {
  const s = f.subject;
  if (s.keyPrefix !== undefined) return run.keyPrefix === s.keyPrefix;
  if (s.folder !== undefined && run.folders.some((x) => x.path === s.folder)) return true;
  if (s.spec !== undefined && run.spec === s.spec) return true;
  return s.session !== undefined && run.sessions.some((x) => x.id === s.session);
}

function primaryRun(result: ScanResult, items: RunRecord[]): { run: RunRecord } | undefined {
  let best: { run: RunRecord; score: number } | undefined;
  for (const run of items) {
    const fs = findingsOf(result, run);
    const score =
      fs.reduce((n, f) => n + (f.severity === 'error' ? 100 : f.severity === 'warning' ? 10 : 1), 0) +
      (run.keyPrefix ? 5 : 0) +
      (run.cycles.length > 0 ? 1 : 0);
    if (fs.length > 0 && (!best || score > best.score)) best = { run, score };
  }
  if (best) return { run: best.run };
  const withState = items.find((r) => r.cycles.length > 0) ?? items[0];
  return withState ? { run: withState } : undefined;
}

/** The cycle the findings are most about (it may have no readable state), else the current or last cycle. */
function primaryCycle(result: ScanResult, run: RunRecord): number | undefined {
  const counts = new Map<number, number>();
  for (const f of findingsOf(result, run))
    if (f.subject.cycle !== undefined)
      counts.set(f.subject.cycle, (counts.get(f.subject.cycle) ?? 0) + (f.severity === 'error' ? 10 : 1));
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  return top ?? run.meta?.currentCycle ?? run.cycles.at(-1)?.number;
}

// ---------------------------------------------------------------- summary

/** How the summary marks up its text: Markdown here, HTML in the HTML report. */
export interface Markup {
  /** Text from the evidence, escaped for the format. */
  text(s: string): string;
  /** A literal (a path, a key, a value) shown as code, escaped. */
  code(s: string): string;
  /** Emphasis around text already marked up. */
  strong(marked: string): string;
  /** A count or number. */
  num(n: number): string;
}

const MARKDOWN: Markup = {
  text: (s) => mdInline(s),
  code: (s) => mdCode(s),
  strong: (s) => `**${s}**`,
  num: (n) => String(n),
};

/** The summary's paragraphs, as Markdown. */
function summary(frame: ReportFrame): string[] {
  const { points, paras } = summaryParts(frame, MARKDOWN);
  return [...(points.length ? [points.map((x) => `- ${x}`).join('\n')] : []), ...paras];
}

/**
 * The summary: its key points (asked for, claimed, what really happened, what is missing), then paragraphs on
 * the spec folder, failed calls, other runs and the counts, each marked up by `m`.
 */
export function summaryParts(
  { result, groups, run, others, cycle, cycleNo }: ReportFrame,
  m: Markup,
): { points: string[]; paras: string[] } {
  const paras: string[] = [];
  const sentences: string[] = [];
  if (run?.request)
    sentences.push(
      `${m.strong('Asked for:')} “${m.text(run.request.text)}” (${m.code(formatLocation(run.request.location))}` +
        `${run.request.location.timestamp ? `, ${m.text(humanTime(run.request.location.timestamp))} UTC` : ''}).`,
    );
  else if (run)
    sentences.push(
      `${m.strong('Asked for:')} no transcript of the request was read, so what the user asked for is not known.`,
    );

  if (run && cycle) {
    const what = cycle.instruction ? `${m.text(cycle.instruction)} cycle ${cycle.number}` : `cycle ${cycle.number}`;
    const claimsKv = [...new Set(cycle.claims.map((c) => c.excerpt))];
    const metaClaim =
      cycle.metaEntry?.status && /^(complete|completed|done)$/i.test(cycle.metaEntry.status)
        ? `the meta marks it “${m.text(cycle.metaEntry.status)}”`
        : undefined;
    const ofCycle = run.sessions.filter((s) => !s.cycles || s.cycles.includes(cycle.number));
    const logClaims = ofCycle.flatMap((s) => s.events.filter((e) => e.kind === 'claim'));
    const parts: string[] = [];
    if (claimsKv.length)
      parts.push(
        `the cycle state says ${claimsKv
          .slice(0, 3)
          .map((c) => m.code(c))
          .join(', ')}${claimsKv.length > 3 ? ` and ${claimsKv.length - 3} more` : ''}`,
      );
    if (metaClaim) parts.push(metaClaim);
    if (logClaims.length)
      parts.push(
        `the transcript says ${logClaims
          .slice(0, 2)
          .map((e) => `“${m.text(e.text)}” (${m.code(formatLocation(e.location))})`)
          .join(' and ')}`,
      );
    sentences.push(
      parts.length
        ? `${m.strong('Claimed:')} ${what} finished — ${parts.join('; ')}.`
        : `${m.strong('Claimed:')} nothing in the state or the transcript claims that ${what} finished.`,
    );

    const spawned = new Set(
      ofCycle.flatMap((s) => s.events.filter((e) => e.kind === 'spawn' && e.phase).map((e) => e.phase!)),
    );
    const phaseText = cycle.phases.map((p) => {
      if (p.status === 'completed')
        return `${p.name} completed${p.completedAt ? ` at ${humanTime(p.completedAt).slice(11)}` : ''}`;
      if (p.status === 'absent') {
        const laterRan = cycle.phases
          .slice(cycle.phases.indexOf(p) + 1)
          .some((q) => q.status !== 'absent' && q.status !== 'pending');
        const noSpawn = ofCycle.length > 0 && !spawned.has(p.name) ? `, and no ${PHASE_AGENT[p.name]} was spawned` : '';
        return (
          `${m.strong(`${p.name} never ran`)} (no entry in any of the ${cycle.revisions.length} revisions${noSpawn})` +
          `${laterRan ? ', yet the phases after it ran' : ''}`
        );
      }
      const laterRan = cycle.phases
        .slice(cycle.phases.indexOf(p) + 1)
        .some((q) => q.status === 'completed' || q.status === 'running');
      if (p.status === 'pending' && laterRan)
        return (
          `${m.strong(`${p.name} never ran`)}: it is still ${m.code(p.raw ?? p.status)}, ` +
          'yet the phases after it ran'
        );
      return `${p.name} is ${m.text(p.raw ?? p.status)}`;
    });
    const signals = [...new Set(cycle.signals.map((s) => s.what))];
    sentences.push(
      `${m.strong('What really happened:')} ${phaseText.join('; ')}.` +
        (signals.length
          ? ` The state itself contradicts the claim: ${signals
              .slice(0, 4)
              .map((s) => m.text(s))
              .join('; ')}.`
          : ''),
    );
  }

  if (run && !cycle && cycleNo !== undefined) {
    const key = run.keyPrefix ? `${run.keyPrefix}.cycle.${cycleNo}` : `cycle ${cycleNo}`;
    sentences.push(
      `${m.strong('What really happened:')} the state of cycle ${cycleNo} (${m.code(key)}) ` +
        'could not be read as a cycle; ' +
        `the findings below say what the transcripts and the other keys show.`,
    );
  }
  const missing = missingParts(result, run, m);
  if (missing.length) sentences.push(`${m.strong('Missing or damaged:')} ${missing.join('; ')}.`);

  if (run) for (const f of run.folders) paras.push(folderSentence(f, run, m));

  const failed = run ? run.sessions.flatMap((s) => s.events.filter((e) => e.kind === 'failed-call')) : [];
  if (failed.length) {
    const shown = failed
      .slice(0, 4)
      .map(
        (e) =>
          `${m.code(formatLocation(e.location))} “${m.text(e.text)}”` +
          `${e.retriedAt ? ` (succeeded on retry at ${m.code(formatLocation(e.retriedAt))})` : ' (never retried)'}`,
      );
    paras.push(
      `${m.strong('Failed calls in the transcript:')} ${failed.length}: ${shown.join('; ')}` +
        `${failed.length > 4 ? `; and ${failed.length - 4} more (see the timeline)` : ''}.`,
    );
  }

  if (others.length) {
    paras.push(
      `${m.strong('Also affected:')} ${others
        .map((r) => {
          const fs = findingsOf(result, r);
          return (
            `${m.code(r.keyPrefix ?? r.folders[0]?.path ?? r.id)} ` +
            `(${[...new Set(fs.map((f) => m.text(f.ruleId)))].join(', ')})`
          );
        })
        .join('; ')}.`,
    );
  }
  const { errors, warnings, infos, redacted } = result.summary;
  paras.push(
    `peer-audit found ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} ` +
      `and ${infos} info finding${infos === 1 ? '' : 's'}, ` +
      `explained by ${groups.length} root cause${groups.length === 1 ? '' : 's'} (below).` +
      (redacted ? ` ${redacted} secret${redacted === 1 ? ' was' : 's were'} masked in the quoted evidence.` : ''),
  );
  return { points: sentences, paras };
}

/** What the run lacks, in a few words per finding kind. */
function missingParts(result: ScanResult, run: RunRecord | undefined, m: Markup): string[] {
  const out: string[] = [];
  const fs = run ? findingsOf(result, run) : result.findings;
  const by = (id: string) => fs.filter((f) => f.ruleId === id);
  for (const f of by('missing-execute-phase')) out.push(`the execute phase of cycle ${f.subject.cycle ?? '?'}`);
  for (const f of by('missing-tasks-md'))
    out.push(`${m.code('tasks.md')} in ${m.code(f.subject.folder ?? folderOfEvidence(f) ?? '?')}`);
  for (const f of by('missing-spec-file')) out.push(m.text(lowerFirst(f.message.replace(/\.\s*$/, ''))));
  const residue = by('heredoc-artifact')
    .map((f) => f.evidence.find((e) => e.location.kind === 'file')?.location)
    .filter((l) => l?.kind === 'file');
  if (residue.length)
    out.push(
      `heredoc residue ${m.code('EOF < /dev/null')} at ${residue.map((l) => m.code(formatLocation(l!))).join(' and ')}`,
    );
  for (const f of by('truncated-file')) out.push(m.text(lowerFirst(f.message.replace(/\.\s*$/, ''))));
  return out;
}

/** "The technical spec …" → "the technical spec …" (a clause inside a sentence); paths and names stay as they are. */
function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

function folderOfEvidence(f: ReportedFinding): string | undefined {
  const l = f.evidence.find((e) => e.location.kind === 'file')?.location;
  return l?.kind === 'file' ? l.path : undefined;
}

function folderSentence(f: RunRecord['folders'][number], run: RunRecord, m: Markup): string {
  const files = f.files.map(
    (x) =>
      `${m.code(x.path.slice(f.path.length + 1))} ` +
      `(${x.lines} line${x.lines === 1 ? '' : 's'}${x.endsWithNewline ? '' : ', no final newline'})`,
  );
  const tasks = f.tasks
    ? `${m.code('tasks.md')} has ${f.tasks.checked} of ${f.tasks.total} boxes checked`
    : `there is ${m.strong(`no ${m.code('tasks.md')}`)}`;
  return (
    `${m.strong('Spec folder')} ${m.code(f.path)}${run.spec ? ` (spec ${m.code(run.spec)})` : ''}: ` +
    `${files.join(', ') || 'no files'}; ${tasks}.`
  );
}

// ---------------------------------------------------------------- timeline

function timelineSection(run: RunRecord, many: boolean): string[] {
  const out: string[] = [];
  const name = run.keyPrefix ?? run.folders[0]?.path ?? run.id;
  out.push(`### ${mdInline(name)}`, '');
  const gantt = mermaidGantt(`${run.spec ?? name} (UTC)`, ganttBars(run));
  if (gantt) out.push(mdFence(gantt, 'mermaid'), '');
  for (const c of run.cycles) {
    out.push(
      `Cycle ${c.number}${c.instruction ? ` (${mdInline(c.instruction)})` : ''}, ` +
        `${mdCode(`${c.key}@${c.revision}`)}, status ${mdCode(c.status ?? '—')}` +
        `${c.progress !== undefined ? `, progress ${c.progress}%` : ''}:`,
      '',
    );
    out.push(
      '| Phase | Status | Started | Completed | First recorded | Recorded complete |',
      '|---|---|---|---|---|---|',
    );
    for (const p of c.phases) {
      const firstRecorded = p.firstRevision
        ? `revision ${p.firstRevision.revision}, ${mdInline(humanTime(p.firstRevision.created))}`
        : '—';
      const recordedComplete = p.completedRevision
        ? `revision ${p.completedRevision.revision}, ${mdInline(humanTime(p.completedRevision.created))}`
        : '—';
      out.push(
        `| ${p.name} | ${p.status === 'absent' ? '**absent**' : mdInline(p.raw ?? p.status)} | ` +
          `${mdInline(humanTime(p.startedAt))} | ${mdInline(humanTime(p.completedAt))} | ` +
          `${firstRecorded} | ${recordedComplete} |`,
      );
    }
    out.push('');
  }
  const rows = timelineRows(run);
  if (rows.length) {
    out.push(`${many ? 'Events' : 'Every event'}, in time order (UTC):`, '');
    out.push('| Time (UTC) | Source | What happened | Where |', '|---|---|---|---|');
    for (const r of rows.slice(0, MAX_TABLE_ROWS))
      out.push(`| ${mdInline(humanTime(r.at))} | ${r.source} | ${mdInline(r.what)} | ${mdCode(r.where, true)} |`);
    if (rows.length > MAX_TABLE_ROWS) out.push(`| … | | ${rows.length - MAX_TABLE_ROWS} more events left out | |`);
    out.push('');
  }
  return out;
}

// ---------------------------------------------------------------- cost

function costSection(run: RunRecord, many: boolean): string[] {
  const cost = run.cost!;
  const out: string[] = [];
  if (many) out.push(`### ${mdInline(run.keyPrefix ?? run.folders[0]?.path ?? run.id)}`, '');
  const cur = cost.currency;
  out.push(
    (cost.responses === 0
      ? 'The transcripts record no token counts (no `message.usage`): only time and tool calls are known. '
      : `From the transcripts, each API response counted once: ${cost.responses} response` +
        `${cost.responses === 1 ? '' : 's'}. `) +
      "A phase's wall time is while its subagents ran, the coordinator's while no PEER subagent ran.",
    '',
  );
  const head = ['Phase', 'Agents', 'Input', 'Output', 'Cache read', 'Cache write', 'Tokens', 'Wall time', 'Tool calls'];
  if (cur) head.push(`Money (${mdInline(cur)})`);
  out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  const row = (name: string, agents: string, l: CostLine): string => {
    const t = l.tokens;
    const cells = [
      name,
      agents,
      wholeCount(t.input),
      wholeCount(t.output),
      wholeCount(t.cacheRead),
      wholeCount(t.cacheWrite),
      wholeCount(totalTokens(t)),
      duration(l.wallMs),
      String(l.toolCalls),
    ];
    if (cur) cells.push(l.money === undefined ? '—' : (money(l, cur)?.replace(` ${cur}`, '') ?? '—'));
    return `| ${cells.join(' | ')} |`;
  };
  const agentName = (x: RunCost['subagents'][number]) =>
    `${mdInline(x.agentType || '(no type)')}, ${mdCode(formatLocation(x.location), true)}`;
  for (const p of cost.phases) {
    const of = cost.subagents.filter((x) => (x.phase ?? 'coordinator') === p.phase);
    // One subagent: named on its phase's line; several: a line each under it.
    out.push(row(`**${p.phase}**${of.length === 1 ? `: ${agentName(of[0])}` : ''}`, String(p.agents), p));
    if (of.length > 1) for (const x of of) out.push(row(`↳ ${agentName(x)}`, '', x));
  }
  out.push(row('**Total**', String(cost.subagents.length), cost));
  out.push('');
  if (cost.waste) {
    const w = cost.waste;
    const m = money(w, cur);
    out.push(
      `**Waste:** ${wholeCount(totalTokens(w.tokens))} tokens, ${duration(w.wallMs)}, ` +
        `${w.toolCalls} tool call${w.toolCalls === 1 ? '' : 's'}${m ? `, ${mdInline(m)}` : ''}: ` +
        `${w.why.map((x) => mdInline(x)).join('; ')}.`,
      '',
    );
  }
  if (cost.unpriced?.length)
    out.push(
      `No price is configured for ${cost.unpriced.map((m) => mdCode(m)).join(', ')}: ` +
        'the lines that used it have no money (see `prices` in the config).',
      '',
    );
  return out;
}

// ---------------------------------------------------------------- findings

function groupSection(g: CauseGroup, n: number): string[] {
  const out: string[] = [];
  out.push(`### ${n}. ${mdInline(g.title)}`, '');
  if (g.roots.length === 1) out.push(...findingBlock(g.roots[0]));
  else {
    out.push(`The same failure in ${g.roots.length} places:`, '');
    g.roots.forEach((f, k) =>
      out.push(`#### ${n}.${k + 1} ${mdInline(f.ruleId)} (${f.severity})`, '', ...findingBlock(f)),
    );
  }
  if (g.follows.length) {
    out.push(`**Follows from it** (${g.follows.length}): ${g.follows.map((f) => mdCode(f.ruleId)).join(', ')}.`, '');
    for (const f of g.follows) {
      out.push(`#### ${n}. → ${mdInline(f.ruleId)} (${f.severity})`, '');
      out.push(...findingBlock(f));
    }
  }
  return out;
}

function findingBlock(f: ReportedFinding): string[] {
  const out: string[] = [];
  const s = f.subject;
  const where = [
    s.keyPrefix && mdCode(s.keyPrefix),
    s.cycle !== undefined && `cycle ${s.cycle}`,
    !s.keyPrefix && s.folder && mdCode(s.folder),
    !s.keyPrefix && !s.folder && s.session && `session ${mdCode(s.session)}`,
  ]
    .filter(Boolean)
    .join(' · ');
  out.push(
    `${mdCode(f.ruleId)} · **${f.severity}**${where ? ` · ${where}` : ''} · fingerprint ${mdCode(f.fingerprint)}`,
    '',
  );
  out.push(mdInline(f.message, true), '');
  f.evidence.forEach((e, i) => out.push(...evidenceBlock(e, i + 1)));
  return out;
}

function evidenceBlock(e: ReportedEvidence, i: number): string[] {
  const out: string[] = [];
  const l = e.location;
  const when = l.kind === 'log' && l.timestamp ? ` · ${mdInline(humanTime(l.timestamp))} UTC` : '';
  out.push(
    `**Evidence ${i}** · ${KIND[l.kind]} ${mdCode(formatLocation(l))}${when}` +
      `${e.note ? ` — ${mdInline(e.note)}` : ''}${e.redacted ? ' · *secret masked*' : ''}`,
    '',
  );
  const ctx = e.context;
  if (ctx?.lines) {
    out.push(mdFence(contextLines(e).map((x) => x.text)), '');
  } else if (e.excerpt) {
    out.push(mdFence(e.excerpt), '');
  }
  if (ctx?.json) {
    out.push(`${jsonContextLead(e, MARKDOWN)}:`, '');
    out.push(mdFence(ctx.json.text, ctx.json.truncated ? 'text' : 'json'), '');
  }
  return out;
}

/** The file lines around an evidence location, numbered, the cited ones marked with `>` (`hit`). */
export function contextLines(e: ReportedEvidence): Array<{ text: string; hit: boolean }> {
  const l = e.location;
  const lines = e.context?.lines;
  if (!lines) return [];
  const target = l.kind === 'file' ? (l.line ?? -1) : -1;
  const end = l.kind === 'file' ? (l.endLine ?? target) : target;
  const width = String(lines.start + lines.text.length - 1).length;
  return lines.text.map((t, k) => {
    const no = lines.start + k;
    const hit = no >= target && no <= end;
    return { text: `${hit ? '>' : ' '} ${String(no).padStart(width)} | ${t}`, hit };
  });
}

/** What the JSON shown beside an evidence location is: the value cited, or its parent when nothing is there. */
export function jsonContextLead(e: ReportedEvidence, m: Markup): string {
  const l = e.location;
  const json = e.context?.json;
  if (!json) return '';
  const same = l.kind === 'kv' && (l.pointer ?? '') === json.pointer;
  const cited = l.kind === 'kv' ? (l.pointer ?? '') : '';
  const whichValue = same
    ? 'The value'
    : `Nothing is at ${m.code(cited)}; the value at ${m.code(json.pointer || '/')} instead`;
  const revision = l.kind === 'kv' ? `, at revision ${m.num(l.revision)}` : '';
  return `${whichValue}${revision}${json.truncated ? ' (cut short)' : ''}`;
}

/**
 * Rule docs link to each other relatively (`[x](x.md)`);
 * in a report placed anywhere those links break, so name the doc.
 */
function docLinks(markdown: string): string {
  return markdown.replace(
    /\[([^\]]+)\]\(([a-z0-9-]+\.md)\)/g,
    (_all, label: string, file: string) => `${label} (\`rules/${file}\`)`,
  );
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorSlug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

// ---------------------------------------------------------------- repairs

function repairsSection(journals: { file: string; journal: Journal }[]): string[] {
  if (journals.length === 0) return ['No repair journals were given (`--journal FILE`), so no repairs are shown.', ''];
  const out: string[] = [];
  for (const { file, journal: j } of journals) {
    const clean = (s: string) => redactText(s).text;
    out.push(`### ${mdInline(j.command)} ${mdCode(j.id)}`, '');
    out.push(
      `Journal ${mdCode(file)} · ${mdInline(humanTime(j.createdAt))} UTC · by ${mdInline(clean(j.actor))} · ` +
        `reason “${mdInline(clean(j.reason))}” · ` +
        `bucket ${mdCode(j.bucket)}${j.server ? ` on ${mdCode(clean(j.server))}` : ''}`,
      '',
    );
    const applied = j.changes.filter((c) => c.status === 'applied').length;
    out.push(`${j.changes.length} change${j.changes.length === 1 ? '' : 's'}, ${applied} applied.`, '');
    out.push('| # | Target | Status | Revision | Rules | Why |', '|---|---|---|---|---|---|');
    j.changes.forEach((c, i) => {
      const target = changeTarget(c);
      const rev = changeRevisions(c);
      out.push(
        `| ${i + 1} | ${mdCode(target, true)} | ${c.status}${c.error ? `: ${mdInline(clean(c.error))}` : ''} | ` +
          `${mdInline(rev)} | ${mdInline(c.rules.join(', '))} | ${mdInline(clean(c.why.join('; ')))} |`,
      );
    });
    out.push('');
    j.changes.forEach((c, i) => {
      const target = changeTarget(c);
      const patch = changePatch(c);
      const cut = patch.length > MAX_DIFF_LINES;
      out.push(
        `Change ${i + 1}, ${mdCode(target)}${c.kind === 'kv' && c.before_b64 === null ? ' (new key)' : ''}: ` +
          `before → after${cut ? ` (first ${MAX_DIFF_LINES} lines)` : ''}:`,
        '',
      );
      out.push(mdFence(cut ? patch.slice(0, MAX_DIFF_LINES) : patch, 'diff'), '');
    });
  }
  return out;
}

/** What a journalled change wrote to: its key or file. */
export function changeTarget(c: Journal['changes'][number]): string {
  return c.kind === 'kv' ? c.key : c.path;
}

/** A KV change's revisions: seen → written (and restored); "file" for a file. */
export function changeRevisions(c: Journal['changes'][number]): string {
  if (c.kind !== 'kv') return 'file';
  const restored = c.revisionRestored ? ` (restored as ${c.revisionRestored})` : '';
  return `${c.revisionSeen} → ${c.revisionWritten ?? '—'}${restored}`;
}

/** A journalled change as the lines of a unified diff, before → after, secrets masked. */
export function changePatch(c: Journal['changes'][number]): string[] {
  const target = changeTarget(c);
  const before = c.before_b64 === null ? '' : readable(c.before_b64);
  const after = readable(c.after_b64);
  return createTwoFilesPatch(`${target} (before)`, `${target} (after)`, before, after, undefined, undefined, {
    context: 3,
  })
    .split('\n')
    .slice(2)
    .map((x) => redactText(x).text);
}

/** Journal bytes as text to diff: pretty JSON when it parses, else the text, else a note. */
function readable(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `(${bytes.length} bytes, not UTF-8)\n`;
  }
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch {
    return text.endsWith('\n') ? text : `${text}\n`;
  }
}

// ---------------------------------------------------------------- sources

function sourcesSection(result: ScanResult, items: RunRecord[]): string[] {
  const out: string[] = [];
  out.push('What was read:', '');
  out.push('| Source | Ref | Status | What was read | Parts left out |', '|---|---|---|---|---|');
  for (const s of result.sources) {
    const { stats, status } = sourceRow(s, MARKDOWN);
    out.push(`| ${s.kind} | ${mdCode(s.ref, true)} | ${status} | ${mdInline(stats || '—')} | ${s.problems.length} |`);
  }
  if (result.sources.length === 0) out.push('| — | | | nothing was read | |');
  out.push('');
  if (!result.complete) {
    out.push('What could not be read:', '');
    for (const r of result.incompleteReasons) out.push(`- ${mdInline(r)}`);
    out.push('');
  }
  const problems = result.sources.flatMap((s) => s.problems.map((p) => ({ s, p })));
  if (problems.length) {
    out.push('Skipped as unreadable (corrupt lines and files): what they held is not in this report.', '');
    for (const { s, p } of problems.slice(0, 100))
      out.push(
        `- ${s.kind} ${mdCode(`${p.where}${p.line !== undefined ? `:${p.line}` : ''}`)} — ${mdInline(p.reason)}`,
      );
    if (problems.length > 100) out.push(`- … and ${problems.length - 100} more`);
    out.push('');
  }
  const uniq = sessionsOf(items);
  if (uniq.length) {
    out.push('Transcripts:', '');
    for (const s of uniq) {
      out.push(
        `- session ${mdCode(s.id)}: ${mdCode(s.mainFile)}` +
          `${s.files > 1 ? ` and ${s.files - 1} subagent file${s.files === 2 ? '' : 's'}` : ''}, ` +
          `${mdInline(humanTime(s.firstTimestamp))} to ${mdInline(humanTime(s.lastTimestamp))} UTC` +
          `${s.version ? `, Claude Code ${mdInline(s.version)}` : ''}` +
          `${s.corruptLines ? `, ${s.corruptLines} corrupt line${s.corruptLines === 1 ? '' : 's'}` : ''}` +
          `${s.truncatedTail ? ', cut off at the end' : ''}` +
          `${s.eventsOmitted ? `, ${s.eventsOmitted} key events left out of this report` : ''}`,
      );
    }
    out.push('');
  }
  const keys = kvKeysOf(items);
  if (keys.length) {
    out.push('KV keys:', '');
    for (const k of keys)
      out.push(`- ${mdCode(k.key)}: ${k.revs} revision${k.revs === 1 ? '' : 's'} retained, latest ${k.last}`);
    out.push('');
  }
  out.push(`In one line: ${mdInline(result.sources.map(describeSource).join(' · ') || 'nothing was read')}.`, '');
  if (result.summary.redacted)
    out.push(
      `${result.summary.redacted} secret${result.summary.redacted === 1 ? ' was' : 's were'} ` +
        `masked (${mdCode('[REDACTED:…]')}) before this report was written.`,
      '',
    );
  return out.map((l) => (l.length > 20000 ? excerptOf(l, 20000) : l));
}

/** A source's row in the appendix: what was read, and whether it was. */
export function sourceRow(s: ScanResult['sources'][number], m: Markup): { stats: string; status: string } {
  const stats = s.absent ? `${s.absent} (looked in ${s.ref})` : describeStats(s);
  const status = s.absent
    ? 'nothing to read'
    : s.ok
      ? 'read'
      : `${m.strong('failed')}${s.error ? `: ${m.text(s.error)}` : ''}`;
  return { stats, status };
}

/** The transcripts of the runs, each once. */
export function sessionsOf(items: RunRecord[]): RunRecord['sessions'] {
  const seen = new Set<string>();
  return items.flatMap((r) => r.sessions).filter((s) => !seen.has(s.id) && seen.add(s.id));
}

/** The runs' KV keys (meta and cycles): retained revisions and the latest. */
export function kvKeysOf(items: RunRecord[]): Array<{ key: string; revs: number; last: number }> {
  return items.flatMap((r) => [
    ...(r.meta ? [{ key: r.meta.key, revs: r.meta.revisions.length, last: r.meta.revision }] : []),
    ...r.cycles.map((c) => ({ key: c.key, revs: c.revisions.length, last: c.revision })),
  ]);
}

/** What the baseline left out: accepted findings are not in this report, stale entries no longer match. */
export function baselineNote(b: BaselineSection, root: string): { file: string; said: string } {
  const rel = path.relative(root, b.file);
  const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : b.file;
  const stale = b.stale.length;
  return {
    file,
    said:
      `${b.matched} accepted finding${b.matched === 1 ? '' : 's'} not shown` +
      (stale ? `; ${stale} stale entr${stale === 1 ? 'y' : 'ies'} (no longer matching any finding)` : '') +
      '.',
  };
}

function baselineLine(b: BaselineSection, root: string): string {
  const { file, said } = baselineNote(b, root);
  return `Baseline ${mdCode(file)}: ${said}`;
}

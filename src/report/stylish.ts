import type { ChalkInstance } from 'chalk';
import type { Finding, Severity, SourceReport } from '../model/types.js';
import { formatLocation } from './location.js';
import type { ScanResult } from './result.js';
import { escapeControl } from '../model/text.js';
import { costSummary } from './cost-format.js';

export interface StylishOptions {
  chalk: ChalkInstance;
  /** Show only errors (the exit code still counts everything). */
  quiet?: boolean;
  /** What a baseline hid, said last; a clean result then reads "no new problems". */
  baselineLine?: string;
  /** What to run next (scan only), printed last; none for a clean scan. */
  nextSteps?: Array<{ command: string; why: string }>;
}

const KIND_LABEL = { kv: 'kv ', file: 'file', log: 'log ', bucket: 'kv ' } as const;

export function formatStylish(result: ScanResult, opts: StylishOptions): string {
  const c = opts.chalk;
  const out: string[] = [];
  const shown = opts.quiet ? result.findings.filter((f) => f.severity === 'error') : result.findings;

  if (!result.complete) {
    out.push(
      c.bold.yellow('⚠ INCOMPLETE SCAN: some evidence could not be read; the findings below are not the whole story.'),
    );
    for (const r of result.incompleteReasons) out.push(c.yellow(`  - ${escapeControl(r)}`));
    out.push('');
  }

  for (const [title, group] of groupByRun(shown)) {
    out.push(c.underline(escapeControl(title)));
    for (const f of group) {
      out.push(`  ${sev(c, f.severity)}  ${c.bold(escapeControl(f.ruleId))}  ${escapeControl(f.message)}`);
      for (const e of f.evidence) {
        const loc = `${KIND_LABEL[e.location.kind]} ${escapeControl(formatLocation(e.location))}`;
        const note = e.note ? c.dim(` — ${escapeControl(e.note)}`) : '';
        out.push(`      ${c.cyan(loc)}${note}`);
        if (e.excerpt) out.push(`        ${c.gray(escapeControl(e.excerpt))}`);
      }
      out.push('');
    }
  }

  const { errors, warnings, infos } = result.summary;
  const total = errors + warnings + infos;
  if (total > 0) {
    const line =
      `✖ ${total} problem${total === 1 ? '' : 's'} ` +
      `(${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${infos} info)`;
    out.push(errors > 0 ? c.red.bold(line) : c.yellow.bold(line));
  } else if (result.complete) {
    out.push(c.green.bold(`✔ No ${opts.baselineLine ? 'new ' : ''}problems found in the evidence read.`));
  } else {
    out.push(
      c.yellow.bold('No problems found in the part of the evidence that could be read: this is NOT a clean result.'),
    );
  }
  out.push(...costLines(result).map((l) => c.dim(l)));
  out.push(c.dim(`Sources: ${result.sources.map(describeSource).join(' · ') || 'none'}`));
  if (result.summary.redacted)
    out.push(
      c.dim(
        `${result.summary.redacted} secret${result.summary.redacted === 1 ? '' : 's'} masked in the evidence shown.`,
      ),
    );
  if (opts.baselineLine) out.push(c.dim(opts.baselineLine));
  if (opts.nextSteps && opts.nextSteps.length > 0) {
    out.push('', c.bold('Next:'));
    for (const s of opts.nextSteps) out.push(`  ${escapeControl(s.command)}${c.dim(`   # ${escapeControl(s.why)}`)}`);
  }
  return `${out.join('\n')}\n`;
}

const COST_LINES_MAX = 5;

/** One line per run with transcripts: what it cost (the Markdown and JSON reports have the detail). */
function costLines(result: ScanResult): string[] {
  const costed = (result.runs?.items ?? []).filter((r) => r.cost);
  const lines = costed
    .slice(0, COST_LINES_MAX)
    .map((r) => `Cost${costed.length > 1 ? ` of ${escapeControl(r.keyPrefix ?? r.id)}` : ''}: ${costSummary(r.cost!)}`);
  const more = costed.length - COST_LINES_MAX;
  if (more > 0) lines.push(`… and ${more} more run${more === 1 ? '' : 's'} with a cost (see --format markdown)`);
  return lines;
}

function sev(c: ChalkInstance, s: Severity): string {
  if (s === 'error') return c.red('error  ');
  if (s === 'warning') return c.yellow('warning');
  return c.blue('info   ');
}

/**
 * Findings by run, the runs with state first, then folders, then sessions:
 * a run's own findings come before side findings.
 */
function groupByRun(findings: Finding[]): Map<string, Finding[]> {
  const rank = (f: Finding) => (f.subject.keyPrefix ? 0 : f.subject.folder ? 1 : f.subject.session ? 2 : 3);
  const groups = new Map<string, Finding[]>();
  for (const f of [...findings].sort((a, b) => rank(a) - rank(b))) {
    const s = f.subject;
    const base =
      s.keyPrefix ??
      (s.folder ? `folder ${s.folder}` : s.session ? `session ${s.session}` : s.spec ? `spec ${s.spec}` : 'other');
    const title =
      `${base}${s.cycle !== undefined ? ` · cycle ${s.cycle}` : ''}` +
      `${s.spec && s.keyPrefix ? ` · spec ${s.spec}` : ''}`;
    groups.set(title, [...(groups.get(title) ?? []), f]);
  }
  return groups;
}

export function describeSource(r: SourceReport): string {
  // Nothing there to read (no transcripts for the project): said as such, with where the scan looked.
  if (r.absent) return escapeControl(`${r.kind}: ${r.absent} (looked in ${r.ref})`);
  const stats = describeStats(r);
  const state = r.ok ? 'ok' : `FAILED${r.error ? `: ${r.error}` : ''}`;
  // "Problems" are findings; a part of a source that could not be read is named with its file and line.
  const parts = describeUnreadable(r);
  const inside = [stats, parts].filter((x) => x !== '').join('; ');
  return escapeControl(`${r.kind} ${r.ref} ${state}${inside ? ` (${inside})` : ''}`);
}

const PARTS_NAMED = 3;

/** "1 part left out: logs/a.jsonl:188, cut-off last line", or '' when every part was read. */
export function describeUnreadable(r: SourceReport): string {
  const n = r.problems.length;
  if (n === 0) return '';
  const named = r.problems
    .slice(0, PARTS_NAMED)
    .map((p) => `${p.where}${p.line !== undefined ? `:${p.line}` : ''}, ${p.reason}`);
  return (
    `${n} part${n === 1 ? '' : 's'} left out: ${named.join('; ')}` +
    `${n > PARTS_NAMED ? `; and ${n - PARTS_NAMED} more` : ''}`
  );
}

/** Stats keys in words, singular and plural. The keys are the JSON contract; only their rendering is here. */
const STAT_WORDS: Record<string, [string, string]> = {
  keys: ['key', 'keys'],
  revisions: ['revision', 'revisions'],
  bytes: ['byte', 'bytes'],
  folders: ['folder', 'folders'],
  files: ['file', 'files'],
  lines: ['line', 'lines'],
  records: ['record', 'records'],
  corruptLines: ['corrupt line', 'corrupt lines'],
  sessions: ['session', 'sessions'],
  ignoredFiles: ['file skipped', 'files skipped'],
  duplicateRecords: ['duplicate record', 'duplicate records'],
  runs: ['run', 'runs'],
  'runs, all audited (--all-runs)': ['run, all audited (--all-runs)', 'runs, all audited (--all-runs)'],
  'runs, all audited (no spec folders or transcripts to scope by)': [
    'run, all audited (no spec folders or transcripts to scope by)',
    'runs, all audited (no spec folders or transcripts to scope by)',
  ],
  'runs not in this project': ['run not in this project', 'runs not in this project'],
  'keys of other tools': ['key of another tool', 'keys of other tools'],
  'PEER keys of no run': ['PEER key of no run', 'PEER keys of no run'],
  'unknown PEER keys': ['unknown PEER key', 'unknown PEER keys'],
  'unknown PEER keys (allowed)': ['unknown PEER key (allowed)', 'unknown PEER keys (allowed)'],
  'binary files skipped': ['binary file skipped', 'binary files skipped'],
  'links not followed': ['link not followed', 'links not followed'],
  'not regular files, not read': ['special file not read', 'special files not read'],
};

function statWords(k: string, v: number): string {
  if (k === 'peerRuns') return `${v} of them ${v === 1 ? 'a PEER run' : 'PEER runs'}`;
  // The spec root does not exist (the scan read nothing there).
  if (k === 'missing') return v === 1 ? 'the folder does not exist' : `${v} folders do not exist`;
  const w = STAT_WORDS[k];
  if (w) return `${v} ${v === 1 ? w[0] : w[1]}`;
  // A key without words of its own: camelCase split into words.
  return `${v} ${k.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`)}`;
}

/** A source's counts in words: "34 files, …, 25 sessions, 3 of them PEER runs". */
export function describeStats(r: SourceReport): string {
  // Zero counts of damage say nothing; zero counts of what was read do.
  const entries = Object.entries(r.stats);
  // How many of the sessions are PEER runs is said right after the sessions.
  const peer = entries.findIndex(([k]) => k === 'peerRuns');
  const sessions = entries.findIndex(([k]) => k === 'sessions');
  if (peer >= 0 && sessions >= 0) entries.splice(sessions + (peer > sessions ? 1 : 0), 0, ...entries.splice(peer, 1));
  return entries
    .filter(([k, v], i) => i === 0 || v !== 0 || !/corrupt|ignored|duplicate|missing/i.test(k))
    .filter(([k]) => !(k === 'peerRuns' && !r.stats.sessions))
    .map(([k, v]) => statWords(k, v))
    .join(', ');
}

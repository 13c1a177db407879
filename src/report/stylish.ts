import type { ChalkInstance } from 'chalk';
import type { Finding, Severity, SourceReport } from '../model/types.js';
import { formatLocation } from './location.js';
import type { ScanResult } from './result.js';
import { escapeControl } from './safe-text.js';

export interface StylishOptions {
  chalk: ChalkInstance;
  /** Show only errors (the exit code still counts everything). */
  quiet?: boolean;
  /** What a baseline hid, said last; a clean result then reads "no new problems". */
  baselineLine?: string;
}

const KIND_LABEL = { kv: 'kv ', file: 'file', log: 'log ', bucket: 'kv ' } as const;

export function formatStylish(result: ScanResult, opts: StylishOptions): string {
  const c = opts.chalk;
  const out: string[] = [];
  const shown = opts.quiet ? result.findings.filter((f) => f.severity === 'error') : result.findings;

  if (!result.complete) {
    out.push(c.bold.yellow('⚠ INCOMPLETE SCAN: some evidence could not be read; the findings below are not the whole story.'));
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
    const line = `✖ ${total} problem${total === 1 ? '' : 's'} (${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${infos} info)`;
    out.push(errors > 0 ? c.red.bold(line) : c.yellow.bold(line));
  } else if (result.complete) {
    out.push(c.green.bold(`✔ No ${opts.baselineLine ? 'new ' : ''}problems found in the evidence read.`));
  } else {
    out.push(c.yellow.bold('No problems found in the part of the evidence that could be read: this is NOT a clean result.'));
  }
  out.push(c.dim(`Sources: ${result.sources.map(describeSource).join(' · ') || 'none'}`));
  if (result.summary.redacted) out.push(c.dim(`${result.summary.redacted} secret${result.summary.redacted === 1 ? '' : 's'} masked in the evidence shown.`));
  if (opts.baselineLine) out.push(c.dim(opts.baselineLine));
  return `${out.join('\n')}\n`;
}

function sev(c: ChalkInstance, s: Severity): string {
  if (s === 'error') return c.red('error  ');
  if (s === 'warning') return c.yellow('warning');
  return c.blue('info   ');
}

function groupByRun(findings: Finding[]): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const s = f.subject;
    const base = s.keyPrefix ?? (s.folder ? `folder ${s.folder}` : s.session ? `session ${s.session}` : s.spec ? `spec ${s.spec}` : 'other');
    const title = `${base}${s.cycle !== undefined ? ` · cycle ${s.cycle}` : ''}${s.spec && s.keyPrefix ? ` · spec ${s.spec}` : ''}`;
    groups.set(title, [...(groups.get(title) ?? []), f]);
  }
  return groups;
}

export function describeSource(r: SourceReport): string {
  // Nothing there to read (no transcripts for the project): said as such, with where the scan looked.
  if (r.absent) return escapeControl(`${r.kind}: ${r.absent} (looked in ${r.ref})`);
  const stats = describeStats(r);
  const state = r.ok ? 'ok' : `FAILED${r.error ? `: ${r.error}` : ''}`;
  const problems = r.problems.length ? `, ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}` : '';
  return escapeControl(`${r.kind} ${r.ref} ${state} (${stats}${problems})`);
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
    .map(([k, v]) => (k === 'peerRuns' ? `${v} of them PEER run${v === 1 ? '' : 's'}` : `${v} ${k}`))
    .join(', ');
}

// What to run after a scan, worked out from its findings: the repair dry run for the specs with fixable
// findings, reopen where a cycle is missing a phase (live KV only: reopen writes), and the incident report.
import type { Finding } from '../model/types.js';

/** The evidence flags the scan was given, so the suggested command lines read the same evidence. */
export interface EvidenceFlags {
  project?: string;
  specs?: string;
  logs?: string[];
  useLogs?: boolean;
  /** `--files` globs. */
  files?: string[];
  kvSnapshot?: string;
  useKv?: boolean;
  /** The server as shown to people (no credentials). */
  server?: string;
  bucket?: string;
  defaultBucket?: string;
}

/** Rules whose finding means a cycle is missing or failed a phase: reopen can resume it. */
const RESUMABLE = new Set(['false-success', 'missing-execute-phase', 'recorded-failure']);
const SHOWN_SPECS = 3;

/** A word as a POSIX shell reads it back. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function flagWords(f: EvidenceFlags, live: boolean): string[] {
  const w: string[] = [];
  if (f.project && f.project !== '.') w.push('--project', f.project);
  if (f.specs) w.push('--specs', f.specs);
  if (f.useLogs === false) w.push('--no-logs');
  else for (const l of f.logs ?? []) w.push('--logs', l);
  for (const g of f.files ?? []) w.push('--files', g);
  if (!live) {
    if (f.kvSnapshot) w.push('--kv-snapshot', f.kvSnapshot);
    else if (f.useKv === false) w.push('--no-kv');
  }
  if (live || (!f.kvSnapshot && f.useKv !== false)) {
    if (f.server) w.push('--server', f.server);
    if (f.bucket && f.bucket !== f.defaultBucket) w.push('--bucket', f.bucket);
  }
  return w;
}

const line = (words: string[]) => `peer-audit ${words.map(shellWord).join(' ')}`;

/** "What to do next" lines (command, then why), or none for a clean scan. */
export function nextSteps(findings: readonly Finding[], f: EvidenceFlags): Array<{ command: string; why: string }> {
  if (findings.length === 0) return [];
  const steps: Array<{ command: string; why: string }> = [];
  const fixable = new Map<string, number>();
  const resumable = new Set<string>();
  // Fixable findings of no spec (repository files): repaired by rule.
  const noSpecRules = new Set<string>();
  for (const x of findings) {
    const spec = x.subject.spec;
    if (!spec && x.fix?.length) noSpecRules.add(x.ruleId);
    if (!spec) continue;
    if (x.fix && x.fix.length > 0) fixable.set(spec, (fixable.get(spec) ?? 0) + 1);
    if (RESUMABLE.has(x.ruleId) && x.subject.keyPrefix) resumable.add(spec);
  }
  const flags = flagWords(f, false);
  // --apply writes to the live bucket: from a snapshot, the snapshot has to be loaded into one first.
  const applyHint = f.kvSnapshot
    ? 'to write them, load the snapshot with snapshot --restore and repair live'
    : '--apply --reason "…" writes them';
  for (const [spec, n] of [...fixable].slice(0, SHOWN_SPECS)) {
    steps.push({
      command: line(['repair', '--spec', spec, ...flags]),
      why: `see the changes that fix ${n} finding${n === 1 ? '' : 's'} (a dry run; ${applyHint})`,
    });
  }
  if (fixable.size > SHOWN_SPECS)
    steps.push({ command: line(['repair', ...flags]), why: `all ${fixable.size} specs with fixable findings` });
  for (const rule of [...noSpecRules].sort())
    steps.push({
      command: line(['repair', '--rule', rule, ...flags]),
      why: `see the changes that fix the ${rule} findings outside spec folders (a dry run; ${applyHint})`,
    });
  // reopen writes to the live bucket: offered only when the scan read it.
  if (!f.kvSnapshot && f.useKv !== false) {
    for (const spec of [...resumable].slice(0, SHOWN_SPECS)) {
      steps.push({
        command: line([
          'reopen',
          spec,
          ...flagWords(
            { project: f.project, server: f.server, bucket: f.bucket, defaultBucket: f.defaultBucket },
            true,
          ),
          '--reason',
          '…',
        ]),
        why: 'or keep the broken cycle and resume in a new one (dry run without --apply)',
      });
    }
  }
  steps.push({ command: line(['report', ...flags, '-o', 'incident.md']), why: 'write the incident report' });
  return steps;
}

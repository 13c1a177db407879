// peer-audit-baseline.json: findings a team has looked at and accepted, by fingerprint, each with a reason.
// A scan then reports only what is new; entries that no longer match anything are listed as stale.
import { isUtf8 } from 'node:buffer';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { Finding, SourceReport } from '../model/types.js';
import type { Rule } from '../engine/rule.js';
import { ConfigError } from '../errors.js';

export const BASELINE_FILE = 'peer-audit-baseline.json';
export const BASELINE_FORMAT = 'peer-audit-baseline/1';
export const JUSTIFICATION_PLACEHOLDER = 'TODO: say why this finding is accepted';

const entrySchema = z.looseObject({
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, { error: 'expected 16 hex digits (a fingerprint from the scan)' }),
  ruleId: z.string().min(1),
  subject: z.string().optional(),
  message: z.string().optional(),
  /** Evidence sources the finding rested on (kv, specs, logs): a scan that did not read them cannot judge it. */
  sources: z.array(z.enum(['kv', 'specs', 'logs', 'files'])).optional(),
  justification: z.string(),
});

const baselineSchema = z.looseObject({
  format: z.literal(BASELINE_FORMAT),
  entries: z.array(entrySchema),
});

export type BaselineEntry = z.infer<typeof entrySchema>;
export interface Baseline {
  format: typeof BASELINE_FORMAT;
  entries: BaselineEntry[];
}

/** Reads a baseline. A file that does not exist gives undefined; an invalid one throws ConfigError (exit 2). */
export async function readBaseline(file: string, shown = file): Promise<Baseline | undefined> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(
      `${shown}: cannot read the baseline (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (!isUtf8(buf)) throw new ConfigError(`${shown}: not valid UTF-8`);
  const text = buf.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ConfigError(`${shown}: not valid JSON: ${(e as Error).message.replace(/[\u0000-\u001f]+/g, ' ')}`);
  }
  const parsed = baselineSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues
        .map((i) => {
          const where = i.path.map(String).join('.');
          const what = i.code === 'invalid_value' && where === 'format' ? `expected "${BASELINE_FORMAT}"` : i.message;
          return `${shown}: ${where ? `${where}: ` : ''}${what}`;
        })
        .join('\n'),
    );
  }
  const seen = new Set<string>();
  for (const [i, e] of parsed.data.entries.entries()) {
    if (seen.has(e.fingerprint))
      throw new ConfigError(`${shown}: entries.${i}: fingerprint ${e.fingerprint} appears twice`);
    seen.add(e.fingerprint);
  }
  return { format: BASELINE_FORMAT, entries: parsed.data.entries };
}

export function formatBaseline(b: Baseline): string {
  return `${JSON.stringify({ format: b.format, entries: b.entries }, null, 2)}\n`;
}

/** What the finding is about, for people reading the baseline: run, folder or session, and cycle. */
export function subjectLine(f: Finding): string {
  const s = f.subject;
  const base = s.keyPrefix ?? s.folder ?? (s.session ? `session ${s.session}` : s.spec ? `spec ${s.spec}` : 'bucket');
  return `${base}${s.cycle !== undefined ? ` · cycle ${s.cycle}` : ''}`;
}

/** The first sentence of a message, at most 140 characters. */
export function shortMessage(m: string): string {
  const flat = m.replace(/\s+/g, ' ').trim();
  const stop = flat.search(/\.(\s|$)/);
  const first = stop > 20 ? flat.slice(0, stop + 1) : flat;
  return first.length > 140 ? `${first.slice(0, 139)}…` : first;
}

type EvidenceSource = 'kv' | 'specs' | 'logs' | 'files';
const SOURCE_OF_LOCATION: Record<string, EvidenceSource> = { kv: 'kv', bucket: 'kv', file: 'specs', log: 'logs' };

/** The evidence sources a finding rests on. */
export function findingSources(f: Finding): EvidenceSource[] {
  const out = new Set<EvidenceSource>();
  for (const e of f.evidence) {
    const l = e.location;
    const s = l.kind === 'file' && l.source === 'files' ? 'files' : SOURCE_OF_LOCATION[l.kind];
    if (s) out.add(s);
  }
  return (['kv', 'specs', 'logs', 'files'] as const).filter((s) => out.has(s));
}

/**
 * Whether this scan can say an entry no longer applies: its rule ran (not off), and every source its finding
 * rested on was read (for entries without recorded sources: at least one source the rule reads).
 */
export function judgeFor(
  rules: Rule[],
  sources: SourceReport[],
  severities: Record<string, string>,
): (e: BaselineEntry) => boolean {
  const read = new Set<string>();
  // A source with nothing to read (no transcripts found) judged nothing: its entries are neither matched nor stale.
  for (const s of sources)
    if ((s.ok && !s.absent) || s.problems.length > 0) read.add(s.kind === 'kv-snapshot' ? 'kv' : s.kind);
  const byId = new Map(rules.map((r) => [r.meta.id, r]));
  return (e) => {
    if (severities[e.ruleId] === 'off') return false;
    const rule = byId.get(e.ruleId);
    if (!rule) return true; // the rule is gone: nothing can match the entry any more
    if (e.sources && e.sources.length > 0) return e.sources.every((k) => read.has(k));
    return rule.meta.sources.some((k) => read.has(k));
  };
}

export interface BaselineUpdate {
  baseline: Baseline;
  added: number;
  kept: number;
  removed: number;
}

/**
 * The baseline after accepting every current finding: justifications of entries that still match are kept,
 * new entries get the placeholder, entries that no longer match are dropped (only for rules the scan judged).
 */
export function updateBaseline(
  findings: Finding[],
  previous: Baseline | undefined,
  judged: (e: BaselineEntry) => boolean,
): BaselineUpdate {
  const old = new Map((previous?.entries ?? []).map((e) => [e.fingerprint, e]));
  const entries: BaselineEntry[] = [];
  let added = 0;
  let kept = 0;
  const seen = new Set<string>();
  for (const f of findings) {
    if (seen.has(f.fingerprint)) continue;
    seen.add(f.fingerprint);
    const prev = old.get(f.fingerprint);
    if (prev) kept += 1;
    else added += 1;
    entries.push({
      fingerprint: f.fingerprint,
      ruleId: f.ruleId,
      subject: subjectLine(f),
      message: shortMessage(f.message),
      sources: findingSources(f),
      justification: prev?.justification ?? JUSTIFICATION_PLACEHOLDER,
    });
  }
  let removed = 0;
  for (const e of previous?.entries ?? []) {
    if (seen.has(e.fingerprint)) continue;
    if (judged(e)) removed += 1;
    else entries.push(e); // not judged by this scan: keep as it was
  }
  entries.sort(
    (a, b) =>
      a.ruleId.localeCompare(b.ruleId) ||
      (a.subject ?? '').localeCompare(b.subject ?? '') ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
  return { baseline: { format: BASELINE_FORMAT, entries }, added, kept, removed };
}

export interface BaselineOutcome<F extends Finding = Finding> {
  /** Findings not in the baseline: what the report shows and the exit code counts. */
  shown: F[];
  /** Findings the baseline accepts. */
  matched: F[];
  /** Entries whose finding is gone (rule judged by this scan, nothing with that fingerprint). */
  stale: BaselineEntry[];
  /** Entries this scan could not judge (rule off, or its sources not read). */
  unchecked: number;
}

export function applyBaseline<F extends Finding>(
  findings: F[],
  baseline: Baseline,
  judged: (e: BaselineEntry) => boolean,
): BaselineOutcome<F> {
  const byFp = new Map(baseline.entries.map((e) => [e.fingerprint, e]));
  const shown: F[] = [];
  const matched: F[] = [];
  const present = new Set<string>();
  for (const f of findings) {
    present.add(f.fingerprint);
    (byFp.has(f.fingerprint) ? matched : shown).push(f);
  }
  const stale: BaselineEntry[] = [];
  let unchecked = 0;
  for (const e of baseline.entries) {
    if (present.has(e.fingerprint)) continue;
    if (judged(e)) stale.push(e);
    else unchecked += 1;
  }
  return { shown, matched, stale, unchecked };
}

/** The `baseline` section of the JSON report (the report's BaselineSection). */
export interface BaselineReport<F extends Finding = Finding> {
  file: string;
  /** Findings the baseline accepted (not in `findings`, not in `summary`). */
  matched: number;
  suppressed: Array<{ fingerprint: string; ruleId: string; severity: string; justification: string }>;
  stale: Array<{ fingerprint: string; ruleId: string; subject?: string; message?: string }>;
  unchecked: number;
  /** The accepted findings in full. */
  accepted: F[];
}

export function baselineReport<F extends Finding>(
  file: string,
  baseline: Baseline,
  o: BaselineOutcome<F>,
): BaselineReport<F> {
  const byFp = new Map(baseline.entries.map((e) => [e.fingerprint, e]));
  return {
    file,
    matched: o.matched.length,
    suppressed: o.matched.map((f) => ({
      fingerprint: f.fingerprint,
      ruleId: f.ruleId,
      severity: f.severity,
      justification: byFp.get(f.fingerprint)?.justification ?? '',
    })),
    stale: o.stale.map((e) => ({
      fingerprint: e.fingerprint,
      ruleId: e.ruleId,
      subject: e.subject,
      message: e.message,
    })),
    unchecked: o.unchecked,
    accepted: o.matched,
  };
}

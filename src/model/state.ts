// Reads PEER state values of every generation (v1 meta + cycle, v2 unified + counter) tolerantly.
// zod checks only the fields the audit relies on; unknown fields pass through; enum drift is normalised.
import { z } from 'zod';
import type { KvLocation, KvRevision } from './types.js';
import { isRecord, str } from './values.js';

export { isRecord, str };

export type PhaseName = 'plan' | 'execute' | 'express' | 'review';
export const PHASES: PhaseName[] = ['plan', 'execute', 'express', 'review'];
export const PHASE_AGENT: Record<PhaseName, string> = {
  plan: 'peer-planner',
  execute: 'peer-executor',
  express: 'peer-express',
  review: 'peer-review',
};

/**
 * Normalised phase status. `absent`: no entry at all (v1 writes nothing until a phase runs). `cancelled`: the user
 * stopped it; an outcome, not a failure the state records.
 */
export type PhaseStatus = 'completed' | 'running' | 'pending' | 'failed' | 'cancelled' | 'absent' | 'unknown';

const STATUS_WORDS: Record<string, PhaseStatus> = {
  complete: 'completed',
  completed: 'completed',
  done: 'completed',
  success: 'completed',
  succeeded: 'completed',
  running: 'running',
  in_progress: 'running',
  inprogress: 'running',
  resuming: 'running',
  started: 'running',
  executing: 'running',
  planning: 'running',
  expressing: 'running',
  reviewing: 'running',
  pending: 'pending',
  not_started: 'pending',
  notstarted: 'pending',
  initialized: 'pending',
  waiting: 'pending',
  skipped: 'pending',
  error: 'failed',
  failed: 'failed',
  failure: 'failed',
  partial: 'failed',
  incomplete: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  aborted: 'failed',
};

export function normaliseStatus(raw: unknown): PhaseStatus {
  if (typeof raw !== 'string') return raw === undefined || raw === null ? 'absent' : 'unknown';
  const w = raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (w === '') return 'pending';
  return STATUS_WORDS[w] ?? 'unknown';
}

/** v2 metadata.status / v1 current_phase words that claim the whole cycle is finished. */
export function isCompletionWord(raw: unknown): boolean {
  return typeof raw === 'string' && /^(complete|completed|done|finished|success)$/i.test(raw.trim());
}

// ---------------------------------------------------------------- keys

/**
 * What a key holds. Run keys: `v1-meta`, `cycle` (v1/v2 cycle document), `v2-counter`, `cycle-part` (one field of
 * a multi-key draft cycle, `<prefix>.cycle.<n>.<part>`), `archive` (`<prefix>.archive.cycle.<n>`).
 * PEER keys that are no run: `run-context` (`peer.context.current_execution.*`), `commit` (`peer.commit.<time>`,
 * the git-commit flow), `criteria` (`criteria.<instruction>`, review criteria of the multi-key draft).
 * `unknown`: a `peer.*` key no layout explains. `other`: not a PEER key at all (other tools share the bucket).
 */
export type KeyKind =
  | 'v1-meta'
  | 'cycle'
  | 'v2-counter'
  | 'cycle-part'
  | 'archive'
  | 'run-context'
  | 'commit'
  | 'criteria'
  | 'unknown'
  | 'other';
export interface KeyInfo {
  key: string;
  kind: KeyKind;
  /** e.g. "peer.spec.wal-operation-handling-fix", "peer.instruction.plan-product", "peer.global". */
  prefix?: string;
  scope?: 'spec' | 'instruction' | 'global' | 'other';
  /** Spec (or instruction) name segment; "" when the segment is empty. */
  name?: string;
  cycle?: number;
  /** `cycle-part` only: what follows `cycle.<n>.`, e.g. "plan", "status", "phases.execution". */
  part?: string;
}

/** The parts of a multi-key draft cycle (`<prefix>.cycle.<n>.<part>`) that the draft writes. */
const CYCLE_PARTS =
  /^(metadata|plan|plan_summary|execution|deliverables|express|express_summary|review|review_summary|improvements|status|failed_at|completed_at|error|phases\.(planning|execution|express|review)|metadata\.[\w-]+|context\.[\w-]+)$/;

/** Kinds of key that belong to a run (a key prefix). */
export const RUN_KEY_KINDS: ReadonlySet<KeyKind> = new Set(['v1-meta', 'cycle', 'v2-counter', 'cycle-part', 'archive']);

export function classifyKey(key: string): KeyInfo {
  if (/^criteria\.[^.]+$/.test(key)) return { key, kind: 'criteria' };
  if (!key.startsWith('peer.')) return { key, kind: 'other' };
  if (/^peer\.context\.current_execution\.[^.]+$/.test(key)) return { key, kind: 'run-context' };
  if (/^peer\.commit\.\d[\d.:TZ-]*$/.test(key)) return { key, kind: 'commit' };
  let m = /^(.*)\.archive\.cycle\.(\d+)$/.exec(key);
  if (m && isRunPrefix(m[1])) return { key, kind: 'archive', cycle: Number(m[2]), ...prefixParts(m[1]) };
  m = /^(.*)\.cycle\.current$/.exec(key);
  if (m && isRunPrefix(m[1])) return { key, kind: 'v2-counter', ...prefixParts(m[1]) };
  m = /^(.*)\.cycle\.(\d+)$/.exec(key);
  if (m && isRunPrefix(m[1])) return { key, kind: 'cycle', cycle: Number(m[2]), ...prefixParts(m[1]) };
  m = /^(.*)\.meta$/.exec(key);
  if (m && isRunPrefix(m[1])) return { key, kind: 'v1-meta', ...prefixParts(m[1]) };
  // The spec name may itself contain ".cycle.<n>."; the first split that leaves a known part wins.
  for (const c of key.matchAll(/\.cycle\.(\d+)\./g)) {
    const prefix = key.slice(0, c.index);
    const part = key.slice(c.index + c[0].length);
    if (isRunPrefix(prefix) && CYCLE_PARTS.test(part))
      return { key, kind: 'cycle-part', cycle: Number(c[1]), part, ...prefixParts(prefix) };
  }
  return { key, kind: 'unknown' };
}

/** `peer.global`, `peer.spec.<name>`, `peer.instruction.<name>` (the name may be empty: malformed-key reports it). */
function isRunPrefix(prefix: string): boolean {
  return prefix === 'peer.global' || /^peer\.(spec|instruction)\./.test(prefix);
}

function prefixParts(prefix: string): Pick<KeyInfo, 'prefix' | 'scope' | 'name'> {
  if (prefix === 'peer.global') return { prefix, scope: 'global' };
  let m = /^peer\.spec\.(.*)$/.exec(prefix);
  if (m) return { prefix, scope: 'spec', name: m[1] };
  m = /^peer\.instruction\.(.*)$/.exec(prefix);
  if (m) return { prefix, scope: 'instruction', name: m[1] };
  return { prefix, scope: 'other' };
}

/** A spec name as a folder slug: `/peer --spec=2026-12-03-foo` puts the dated folder name into the key. */
export function specSlug(name: string): string {
  return name.replace(/^\d{4}-\d{2}-\d{2}-/, '');
}

// ---------------------------------------------------------------- values

export type Decoded =
  // The text of a value that parsed is not kept: a bucket's history holds many of them, and the bytes are there.
  { ok: true; json: unknown } | { ok: false; reason: string; text: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeJson(value: Uint8Array): Decoded {
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, reason: 'value is not valid UTF-8', text: Buffer.from(value).toString('latin1') };
  }
  if (text.trim() === '') return { ok: false, reason: 'value is empty', text };
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: `value is not JSON: ${(e as Error).message}`, text };
  }
}

const phaseSchema = z.looseObject({
  status: z.unknown().optional(),
  started_at: z.unknown().optional(),
  completed_at: z.unknown().optional(),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
});
export const v1MetaSchema = z.looseObject({
  spec_name: z.string().optional(),
  created_at: z.unknown().optional(),
  current_cycle: z.union([z.number(), z.string()]).optional(),
  current_phase: z.string().optional(),
  cycles: z.record(z.string(), z.looseObject({}).or(z.unknown())).optional(),
});

export interface PhaseState {
  name: PhaseName;
  status: PhaseStatus;
  raw?: string;
  startedAt?: string;
  completedAt?: string;
  output?: unknown;
  hasOutput: boolean;
  pointer: string;
  /** The JSON of the phase entry, for excerpts. */
  entry?: unknown;
  /**
   * Where the phase is kept when that is not `cycle.key` at `pointer`: the multi-key layout keeps each phase in
   * keys of its own (for an absent phase: the key that shows it is missing, and what it shows).
   */
  at?: { location: KvLocation; excerpt: string };
}

/**
 * A statement in the state that the cycle finished. `lifecycle`: it ran to its end (a status word, a completion time,
 * progress 100; v2 COMPLETED is no more than that). `success`: it says it succeeded (`success: true`).
 */
export interface Claim {
  location: KvLocation;
  excerpt: string;
  kind: 'lifecycle' | 'success';
}

/**
 * A statement in the state that the cycle did not finish. `incomplete`: work is missing (a phase the review lists as
 * missing, notes that say so, a failed execution). `quality`: the work is less than whole (completeness false,
 * completion under 100), which a cycle that records its own unsuccessful outcome says honestly.
 */
export interface Signal {
  location: KvLocation;
  excerpt: string;
  what: string;
  kind: 'incomplete' | 'quality';
}

/** A statement in the state that the cycle ended without success: `success: false`, a user cancel. */
export interface Outcome {
  location: KvLocation;
  excerpt: string;
  what: string;
}

/** A failure the state records: a phase in error, a cycle status ERROR/FAILED, the meta's `error` phase. */
export interface RecordedFailure {
  location: KvLocation;
  excerpt: string;
  /** "execute failed", "metadata.status is ERROR", … */
  what: string;
  /** The recorded error text, when there is one. */
  text?: string;
  phase?: PhaseName;
}

export interface HistoryItem {
  revision: number;
  created: string;
  operation: KvRevision['operation'];
  decoded?: Decoded;
}

export interface CycleState {
  key: string;
  prefix: string;
  spec?: string;
  number: number;
  /** `multi-key`: assembled from the draft's one-key-per-field layout; `key` is then its status (or metadata) key. */
  layout: 'v1' | 'v2' | 'multi-key';
  revision: number;
  created: string;
  json: Record<string, unknown>;
  instruction?: string;
  /** v1 status.current_phase, v2 metadata.status. */
  statusRaw?: string;
  progress?: number;
  completedAt?: string;
  startedAt?: string;
  phases: Record<PhaseName, PhaseState>;
  claims: Claim[];
  signals: Signal[];
  /**
   * Statements that the cycle ended without success (kept apart from signals: an honest record, not a contradiction).
   */
  outcomes: Outcome[];
  history: HistoryItem[];
  /** Value of every field a scan cares about in v2 metadata. */
  metadata?: Record<string, unknown>;
  /** Set when `peer-audit reopen` replaced this cycle by a newer one. */
  supersededBy?: number;
}

export interface MetaCycleEntry {
  instruction?: string;
  status?: string;
  notes?: string;
  startedAt?: string;
  completedAt?: string;
}

export interface MetaState {
  key: string;
  prefix: string;
  revision: number;
  created: string;
  json: Record<string, unknown>;
  specName?: string;
  currentCycle?: number;
  currentPhase?: string;
  cycles: Record<string, MetaCycleEntry>;
  history: HistoryItem[];
}

export interface CounterState {
  key: string;
  prefix: string;
  revision: number;
  created: string;
  raw: string;
  value?: number;
  history: HistoryItem[];
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

/** Compact one-line JSON for excerpts, cut to `max` characters. */
export function brief(v: unknown, max = 160): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function readPhase(phases: Record<string, unknown> | undefined, name: PhaseName): PhaseState {
  const pointer = `/phases/${name}`;
  const entry = phases?.[name];
  if (entry === undefined || entry === null) return { name, status: 'absent', hasOutput: false, pointer };
  const parsed = phaseSchema.safeParse(entry);
  if (!parsed.success) return { name, status: 'unknown', hasOutput: false, pointer, entry };
  const p = parsed.data;
  const output = p.output;
  const hasOutput =
    output !== undefined && output !== null && !(isRecord(output) && Object.keys(output).length === 0) && output !== '';
  return {
    name,
    status: normaliseStatus(p.status),
    raw: str(p.status),
    startedAt: str(p.started_at),
    completedAt: str(p.completed_at),
    output,
    hasOutput,
    pointer,
    entry,
  };
}

function loc(bucket: string, key: string, revision: number, pointer?: string): KvLocation {
  return pointer ? { kind: 'kv', bucket, key, revision, pointer } : { kind: 'kv', bucket, key, revision };
}

/** Builds a cycle from its latest parsable JSON. Returns a reason string when the value is of no known shape. */
export function readCycle(
  bucket: string,
  info: KeyInfo,
  rev: KvRevision,
  json: unknown,
  history: HistoryItem[],
): CycleState | string {
  if (!isRecord(json)) return 'cycle value is JSON but not an object';
  const isV2 = isRecord(json.metadata);
  const phasesRaw = isRecord(json.phases) ? json.phases : undefined;
  if (!isV2 && !phasesRaw && json.cycle_number === undefined && !isRecord(json.status)) {
    return 'cycle value has neither "metadata" (v2) nor "phases"/"cycle_number" (v1)';
  }
  const phases = Object.fromEntries(PHASES.map((p) => [p, readPhase(phasesRaw, p)])) as Record<PhaseName, PhaseState>;
  const at = (pointer?: string) => loc(bucket, info.key, rev.revision, pointer);
  const claims: Claim[] = [];
  const signals: Signal[] = [];
  const outcomes: Outcome[] = [];
  const base = {
    key: info.key,
    prefix: info.prefix ?? '',
    spec: info.scope === 'spec' ? info.name : undefined,
    number: info.cycle ?? 0,
    revision: rev.revision,
    created: rev.created,
    json,
    phases,
    claims,
    signals,
    outcomes,
    history,
  };
  const lifecycle = (pointer: string, excerpt: string) =>
    claims.push({ location: at(pointer), excerpt, kind: 'lifecycle' });

  let cycle: CycleState;
  if (isV2) {
    const md = json.metadata as Record<string, unknown>;
    const status = str(md.status);
    cycle = {
      ...base,
      layout: 'v2',
      spec: base.spec ?? str(md.spec_name),
      instruction: str(md.instruction_name) ?? str(md.instruction),
      statusRaw: status,
      completedAt: str(md.completed_at),
      startedAt: str(md.created_at),
      metadata: md,
    };
    if (isCompletionWord(status)) lifecycle('/metadata/status', `"status": ${brief(status)}`);
    if (md.completed_at) lifecycle('/metadata/completed_at', `"completed_at": ${brief(md.completed_at)}`);
    if (isCompletionWord(json.status)) lifecycle('/status', `"status": ${brief(json.status)}`);
    const summaryPtr = json.cycle_summary !== undefined ? '/cycle_summary' : '/result';
    readSummary(json.cycle_summary ?? json.result, summaryPtr, true);
  } else {
    const st = isRecord(json.status) ? json.status : undefined;
    const currentPhase = st ? str(st.current_phase) : str(json.status);
    const progress = st ? num(st.progress_percent) : undefined;
    cycle = {
      ...base,
      layout: 'v1',
      instruction: str(json.instruction),
      statusRaw: currentPhase,
      progress,
      completedAt: str(json.completed_at),
      startedAt: str(json.started_at),
    };
    if (isCompletionWord(currentPhase))
      lifecycle(st ? '/status/current_phase' : '/status', `"current_phase": ${brief(currentPhase)}`);
    if (progress !== undefined && progress >= 100)
      lifecycle('/status/progress_percent', `"progress_percent": ${progress}`);
    if (json.completed_at) lifecycle('/completed_at', `"completed_at": ${brief(json.completed_at)}`);
    // v1 express writes result.success before review runs: a claim only once review completed or a status says so.
    readSummary(json.result, '/result', claims.length > 0 || phases.review.status === 'completed');
  }

  const superseded =
    num(json.superseded_by) ?? (isRecord(json.metadata) ? num(json.metadata.superseded_by) : undefined);
  if (superseded !== undefined) cycle.supersededBy = superseded;
  collectOutputSignals(cycle, at);
  return cycle;

  /** `cycle_summary` (v2) or `result` (v1, early v2): success and completion. */
  function readSummary(summary: unknown, ptr: string, finished: boolean): void {
    if (!isRecord(summary)) return;
    const completion = num(summary.completion);
    if (summary.success === true && finished && (completion === undefined || completion >= 100)) {
      claims.push({
        location: at(`${ptr}/success`),
        excerpt: `"success": true${completion !== undefined ? `, "completion": ${completion}` : ''}`,
        kind: 'success',
      });
    }
    if (summary.success === false) {
      outcomes.push({
        location: at(`${ptr}/success`),
        excerpt: `"success": false`,
        what: `${ptr.slice(1)}.success is false`,
      });
    }
    if (completion !== undefined && completion < 100) {
      signals.push({
        location: at(`${ptr}/completion`),
        excerpt: `"completion": ${completion}`,
        what: `the summary reports ${completion}% completion`,
        kind: 'quality',
      });
    }
  }
}

const INCOMPLETE_TEXT =
  /\b(missing|incomplete|not completed|never ran|did not run|skipped|manual completion|not started|failed)\b/i;

function collectOutputSignals(cycle: CycleState, at: (p?: string) => KvLocation): void {
  const review = cycle.phases.review.output;
  if (isRecord(review)) {
    const missing = review.missing_phases;
    if (Array.isArray(missing) && missing.length > 0) {
      cycle.signals.push({
        location: at('/phases/review/output/missing_phases'),
        excerpt: `"missing_phases": ${brief(missing)}`,
        what: `the review lists missing phases: ${missing.map(String).join(', ')}`,
        kind: 'incomplete',
      });
    }
    if (typeof review.execution_status === 'string') {
      const s = normaliseStatus(review.execution_status);
      const location = at('/phases/review/output/execution_status');
      const excerpt = `"execution_status": ${brief(review.execution_status)}`;
      if (s === 'cancelled')
        cycle.outcomes.push({ location, excerpt, what: `the review says execution was ${review.execution_status}` });
      else if (s !== 'completed')
        cycle.signals.push({
          location,
          excerpt,
          what: `the review says execution is ${review.execution_status}`,
          kind: 'incomplete',
        });
    }
    if (review.completeness === false) {
      cycle.signals.push({
        location: at('/phases/review/output/completeness'),
        excerpt: '"completeness": false',
        what: 'the review says the work is not complete',
        kind: 'quality',
      });
    }
    if (typeof review.notes === 'string' && INCOMPLETE_TEXT.test(review.notes)) {
      cycle.signals.push({
        location: at('/phases/review/output/notes'),
        excerpt: `"notes": ${brief(review.notes)}`,
        what: 'the review notes say the cycle is incomplete',
        kind: 'incomplete',
      });
    }
  }
  const exec = cycle.phases.execute.output;
  if (isRecord(exec) && typeof exec.execution_status === 'string') {
    const s = normaliseStatus(exec.execution_status);
    const location = at('/phases/execute/output/execution_status');
    const excerpt = `"execution_status": ${brief(exec.execution_status)}`;
    // The executor's user-cancel path: the phase completes with "cancelled"; the cycle ends, without success.
    if (s === 'cancelled')
      cycle.outcomes.push({
        location,
        excerpt,
        what: `the executor reported ${exec.execution_status} (the user cancelled)`,
      });
    else if (s === 'failed')
      cycle.signals.push({
        location,
        excerpt,
        what: `the executor reported ${exec.execution_status}`,
        kind: 'incomplete',
      });
  }
  for (const p of PHASES) {
    const ph = cycle.phases[p];
    if (ph.status === 'cancelled')
      cycle.outcomes.push({
        location: at(`/phases/${p}/status`),
        excerpt: `"status": ${brief(ph.raw)}`,
        what: `${p} was ${ph.raw}`,
      });
  }
}

export function readMeta(
  bucket: string,
  info: KeyInfo,
  rev: KvRevision,
  json: unknown,
  history: HistoryItem[],
): MetaState | string {
  const parsed = v1MetaSchema.safeParse(json);
  if (!parsed.success || !isRecord(json)) return 'meta value is not an object with v1 meta fields';
  const m = parsed.data;
  const cycles: Record<string, MetaCycleEntry> = {};
  if (isRecord(m.cycles)) {
    for (const [n, c] of Object.entries(m.cycles)) {
      if (!isRecord(c)) continue;
      cycles[n] = {
        instruction: str(c.instruction),
        status: str(c.status),
        notes: str(c.notes),
        startedAt: str(c.started_at),
        completedAt: str(c.completed_at),
      };
    }
  }
  return {
    key: info.key,
    prefix: info.prefix ?? '',
    revision: rev.revision,
    created: rev.created,
    json,
    specName: m.spec_name,
    currentCycle: num(m.current_cycle),
    currentPhase: m.current_phase,
    cycles,
    history,
  };
}

/** Claims and signals that the v1 meta makes about one of its cycles. */
export function metaStatements(
  bucket: string,
  meta: MetaState,
  cycle: number,
): { claims: Claim[]; signals: Signal[]; outcomes: Outcome[] } {
  const claims: Claim[] = [];
  const signals: Signal[] = [];
  const outcomes: Outcome[] = [];
  const at = (p: string) => loc(bucket, meta.key, meta.revision, p);
  if (meta.currentCycle === cycle && isCompletionWord(meta.currentPhase)) {
    claims.push({
      location: at('/current_phase'),
      excerpt: `"current_phase": ${brief(meta.currentPhase)}`,
      kind: 'lifecycle',
    });
  }
  const entry = meta.cycles[String(cycle)];
  if (entry) {
    if (isCompletionWord(entry.status))
      claims.push({
        location: at(`/cycles/${cycle}/status`),
        excerpt: `"status": ${brief(entry.status)}`,
        kind: 'lifecycle',
      });
    if (entry.completedAt)
      claims.push({
        location: at(`/cycles/${cycle}/completed_at`),
        excerpt: `"completed_at": ${brief(entry.completedAt)}`,
        kind: 'lifecycle',
      });
    if (entry.notes && INCOMPLETE_TEXT.test(entry.notes)) {
      signals.push({
        location: at(`/cycles/${cycle}/notes`),
        excerpt: `"notes": ${brief(entry.notes)}`,
        what: 'the meta notes say the cycle is incomplete',
        kind: 'incomplete',
      });
    }
    const st = entry.status ? normaliseStatus(entry.status) : undefined;
    if (st === 'failed') {
      signals.push({
        location: at(`/cycles/${cycle}/status`),
        excerpt: `"status": ${brief(entry.status)}`,
        what: `the meta marks the cycle ${entry.status}`,
        kind: 'incomplete',
      });
    } else if (st === 'cancelled') {
      outcomes.push({
        location: at(`/cycles/${cycle}/status`),
        excerpt: `"status": ${brief(entry.status)}`,
        what: `the meta marks the cycle ${entry.status}`,
      });
    }
  }
  return { claims, signals, outcomes };
}

/** v2 metadata.status words (and the meta's current_phase) that record a failed cycle. */
const FAILED_CYCLE = /^(error|failed|failure)$/i;

/**
 * Failures the state itself records about a cycle, in its latest value: each phase in error (with its `error` text),
 * a v2 `metadata.status` ERROR/FAILED, an executor output with `execution_status: "error"`, the v1 meta's
 * `current_phase: "error"` or a failed `cycles.<n>.status`.
 */
export function recordedFailures(bucket: string, cycle: CycleState, meta?: MetaState): RecordedFailure[] {
  const out: RecordedFailure[] = [];
  const at = (pointer: string) => loc(bucket, cycle.key, cycle.revision, pointer);
  for (const p of PHASES) {
    const ph = cycle.phases[p];
    if (ph.status !== 'failed') continue;
    const err = isRecord(ph.entry) ? ph.entry.error : undefined;
    const e = errorText(err, `${ph.pointer}/error`);
    const when = isRecord(err) ? str(err.occurred_at) : undefined;
    out.push({
      // A multi-key phase lives in keys of its own: point at the key that records the failure.
      location: !e && ph.at ? ph.at.location : at(e?.pointer ?? `${ph.pointer}/status`),
      excerpt: e
        ? `"${e.pointer.split('/').pop()}": ${brief(e.text)}${when ? `, "occurred_at": ${brief(when)}` : ''}`
        : (ph.at?.excerpt ?? `"status": ${brief(ph.raw)}`),
      what: `${p} ${ph.raw ?? 'failed'}`,
      text: e?.text,
      phase: p,
    });
  }
  const exec = cycle.phases.execute.output;
  if (
    isRecord(exec) &&
    typeof exec.execution_status === 'string' &&
    normaliseStatus(exec.execution_status) === 'failed' &&
    cycle.phases.execute.status !== 'failed'
  ) {
    const first = Array.isArray(exec.errors) ? exec.errors.find((x) => errorText(x, '') !== undefined) : undefined;
    const e =
      first !== undefined
        ? errorText(first, `/phases/execute/output/errors/${(exec.errors as unknown[]).indexOf(first)}`)
        : undefined;
    out.push({
      location: at(e?.pointer ?? '/phases/execute/output/execution_status'),
      excerpt: e ? `"errors": [${brief(e.text)}]` : `"execution_status": ${brief(exec.execution_status)}`,
      what: `the executor reported ${exec.execution_status}`,
      text: e?.text,
      phase: 'execute',
    });
  }
  const md = cycle.metadata;
  if (md && typeof md.status === 'string' && FAILED_CYCLE.test(md.status.trim())) {
    const e = errorText(md.error, '/metadata/error');
    out.push({
      location: at('/metadata/status'),
      excerpt: `"status": ${brief(md.status)}`,
      what: `metadata.status is ${md.status}`,
      text: e?.text,
    });
  }
  if (cycle.layout === 'v1' && isRecord(cycle.json.status)) {
    const st = cycle.json.status;
    const msg = str(st.error_message);
    if (msg || FAILED_CYCLE.test(str(st.current_phase) ?? '')) {
      out.push({
        location: at(msg ? '/status/error_message' : '/status/current_phase'),
        excerpt: msg
          ? `"error_message": ${brief(msg)}${st.error_phase ? `, "error_phase": ${brief(st.error_phase)}` : ''}`
          : `"current_phase": ${brief(st.current_phase)}`,
        what: msg
          ? `the cycle status records an error${typeof st.error_phase === 'string' ? ` in ${st.error_phase}` : ''}`
          : `status.current_phase is ${st.current_phase}`,
        text: msg,
      });
    }
  }
  if (meta && cycle.layout === 'v1') {
    const mat = (p: string) => loc(bucket, meta.key, meta.revision, p);
    if (meta.currentCycle === cycle.number && FAILED_CYCLE.test(meta.currentPhase?.trim() ?? '')) {
      out.push({
        location: mat('/current_phase'),
        excerpt: `"current_phase": ${brief(meta.currentPhase)}`,
        what: `${meta.key} says current_phase ${meta.currentPhase}`,
      });
    }
    const entry = meta.cycles[String(cycle.number)];
    if (entry?.status && normaliseStatus(entry.status) === 'failed') {
      out.push({
        location: mat(`/cycles/${cycle.number}/status`),
        excerpt: `"status": ${brief(entry.status)}`,
        what: `${meta.key} marks the cycle ${entry.status}`,
      });
    }
  }
  return out;
}

/**
 * The text of a recorded error: a string, or an object's `message` (v1 and v2 agents write `{message, occurred_at}`).
 */
function errorText(err: unknown, pointer: string): { text: string; pointer: string } | undefined {
  if (typeof err === 'string' && err.trim() !== '') return { text: err, pointer };
  if (isRecord(err)) {
    for (const f of ['message', 'error', 'detail', 'details']) {
      const v = err[f];
      if (typeof v === 'string' && v.trim() !== '') return { text: v, pointer: `${pointer}/${f}` };
    }
  }
  return undefined;
}

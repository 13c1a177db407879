// The library entry point: audit a project's PEER runs, and plan or apply the repairs, without spawning the CLI.
// The commands are flags -> these functions -> output.
//
//   import { audit } from 'peer-audit';
//   const result = await audit({ project: '.', kvSnapshot: 'kv-snapshot.jsonl' });
//
// Nothing here prints: notices, read progress and phase times go to the callbacks in the options.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildModel, type Model } from './model/build.js';
import { keyCoverage, scopeRuns } from './model/scope.js';
import type { Finding, KvData, LogData, RepoFileData, Severity, SourceReport, SpecData } from './model/types.js';
import { JOURNAL_FORMAT, type Change, type Journal } from './model/journal-format.js';
import { loadRules } from './engine/registry.js';
import { runRules } from './engine/run.js';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from './engine/rule.js';
import type { KvConnectOptions } from './sources/kv.js';
import { displayServers } from './sources/servers.js';
import { readSnapshot } from './sources/snapshot.js';
import { keepKeys } from './sources/key-filter.js';
import { readSpecs } from './sources/specs.js';
import { readRepoFiles } from './sources/files.js';
import { defaultLogDirs, noTranscriptsReport, readLogs } from './sources/logs.js';
import { peerSessions } from './model/peer-sessions.js';
import { withContext } from './report/runs.js';
import { summarise, type ScanResult } from './report/result.js';
import type { Skipped } from './repair/plan.js';
import type { Outcome } from './repair/apply.js';
import { parseDuration } from './model/duration.js';
import type { Prices } from './model/run-cost.js';
import { DEFAULT_BUCKET } from './config/config.js';
import { SourceFailure, UsageError } from './errors.js';
import { VERSION } from './version.js';

export type { Model } from './model/build.js';
export type { Evidence, Finding, Location, Severity, SourceReport, Subject } from './model/types.js';
export type { Fix, JsonOp } from './model/fix.js';
export type { Prices, RunCost } from './model/run-cost.js';
export type { Change, Journal } from './model/journal-format.js';
export type { Rule, RuleMeta, RuleOptions } from './engine/rule.js';
export type { KvConnectOptions } from './sources/kv.js';
export type { Outcome as RepairOutcome } from './repair/apply.js';
export type { Skipped } from './repair/plan.js';
export type { ReportedFinding, ResultSummary, RunsSection, ScanResult, ScanScope } from './report/result.js';
export { loadRules } from './engine/registry.js';
export { exitCodeFor } from './report/result.js';
export { renderReport, REPORT_FORMATS, type ReportFormat } from './report/format.js';
export { SourceFailure, UsageError, ConfigError, CliExit } from './errors.js';
export { VERSION } from './version.js';
export { parseDuration } from './model/duration.js';

// The NATS client and the repair code are loaded when a server is read or a repair is planned, not by every scan.
async function readKvLive(o: KvConnectOptions, progress: ReadProgress['kv'], keys?: string[]) {
  return (await import('./sources/kv.js')).readKvLive(o, progress, keys);
}

/** Counters the sources advance as they read: what a progress line shows. */
export interface ReadProgress {
  logs: { files: number; filesTotal: number; bytes: number; bytesTotal: number };
  kv: { keys: number; revisions: number };
  specs: { folders: number; foldersTotal: number };
}

export function newReadProgress(): ReadProgress {
  return {
    logs: { files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 },
    kv: { keys: 0, revisions: 0 },
    specs: { folders: 0, foldersTotal: 0 },
  };
}

/** Where the time of one audit goes, phase by phase (the CLI prints it with PEER_AUDIT_TIMINGS). */
export interface PhaseTimer {
  /** Runs `task` and records how long it took under `name`. */
  time<T>(name: string, task: Promise<T>): Promise<T>;
  /** Records the time since the audit began under `name`. */
  mark(name: string): void;
}

export interface AuditOptions {
  /** The project folder (spec folders and transcripts are found from it). */
  project: string;
  /** The spec folders' root; default `<project>/.agent-os/specs`. */
  specs?: string;
  /** Transcript files, folders or globs; undefined or empty: Claude Code's folder for the project; false: none. */
  logs?: string[] | false;
  /**
   * Globs of repository files (relative to the project) to search for the heredoc residue, honouring .gitignore;
   * undefined or empty: none.
   */
  files?: string[];
  /** A KV snapshot file to read instead of a live server. */
  kvSnapshot?: string;
  /**
   * The live server to read when there is no snapshot; undefined: no KV. A function is called only when the
   * server is read (so settings that cannot be used are reported after the project check).
   */
  kv?: KvConnectOptions | (() => KvConnectOptions);
  /**
   * Only the KV keys matching these subjects (NATS wildcards, e.g. `peer.spec.x.>`), live or from a snapshot;
   * default every key. For judging one run without reading a whole bucket.
   */
  kvKeys?: string[];
  /** Only the spec folders of these spec names (the folder name without its date); default every folder. */
  specNames?: string[];
  /** The bucket named in the result when no KV is read; default agent-os-peer-state. */
  bucket?: string;
  /** The time rules judge staleness by (ISO 8601); default now. */
  now?: string;
  /** e.g. "6h", "90m", "2d". */
  staleAfter?: string;
  expectReplicas?: number;
  expectHistory?: number;
  /** Run only these rules (by id); default all. */
  rules?: string[];
  /** Rule severities (`off` skips the rule), applied by the engine. */
  severities?: Record<string, Severity | 'off'>;
  /** Model prices per million tokens: each run's cost then carries money. */
  prices?: Prices;
  /** Audit every run in the bucket, not only this project's. */
  allRuns?: boolean;
  /** `peer.*` keys no layout explains leave the KV source complete. */
  allowUnknownKeys?: boolean;
  /** One-line notices about what the audit does (e.g. where it reads transcripts from). */
  onNotice?: (msg: string) => void;
  /** Read progress: counters the sources advance, and when reading starts and stops. */
  progress?: { counts: ReadProgress; start?(): void; stop?(): void };
  timings?: PhaseTimer;
}

/** The result and the model it was judged from (a repair plans from the same model the findings came from). */
export interface Audited {
  result: ScanResult;
  model: Model;
}

/** The result as `scan --format json` reports it (runs and evidence contexts included), before any baseline. */
export async function audit(o: AuditOptions): Promise<ScanResult> {
  const { result, model } = await auditWithModel(o);
  return withContext(result, model, o.prices);
}

/** The findings and sources of one audit, with the model; no runs section or evidence contexts. */
export async function auditWithModel(a: AuditOptions): Promise<Audited> {
  const notice = a.onNotice ?? (() => {});
  const projectRoot = path.resolve(a.project);
  const sources: SourceReport[] = [];
  const reasons: string[] = [];

  const projectStat = await fs.stat(projectRoot).catch(() => undefined);
  if (!projectStat?.isDirectory()) throw new UsageError(`project folder ${a.project} does not exist`);

  const times: PhaseTimer = a.timings ?? { time: (_name, task) => task, mark: () => {} };
  const progress = a.progress ?? { counts: newReadProgress() };
  progress.start?.();
  const kvTask: Promise<{ data: KvData; report: SourceReport } | undefined> = a.kvSnapshot
    ? times.time(
        'kv',
        readSnapshot(a.kvSnapshot).then((r) => ({ ...r, data: keepKeys(r.data, a.kvKeys) })),
      )
    : a.kv
      ? times.time('kv', readKvLive(typeof a.kv === 'function' ? a.kv() : a.kv, progress.counts.kv, a.kvKeys))
      : Promise.resolve(undefined);
  const specTask = times.time(
    'specs',
    readSpecs({
      projectRoot,
      specsDir: a.specs ? path.resolve(a.specs) : undefined,
      explicit: a.specs !== undefined,
      progress: progress.counts.specs,
      names: a.specNames ? new Set(a.specNames) : undefined,
    }),
  );
  const useLogs = a.logs !== false;
  let logPatterns = a.logs || [];
  const defaultDirs = logPatterns.length === 0 && useLogs;
  if (defaultDirs) {
    logPatterns = defaultLogDirs(projectRoot);
    if (logPatterns.length > 0) notice(`reading Claude Code logs from ${logPatterns.join(', ')}`);
  }
  // No transcripts at all is said in the sources, with where the scan looked.
  const logTask = !useLogs
    ? Promise.resolve(undefined)
    : logPatterns.length > 0
      ? times.time('logs', readLogs(logPatterns, projectRoot, progress.counts.logs, { defaultDirs }))
      : Promise.resolve({ data: { sessions: [] }, report: noTranscriptsReport(projectRoot) });

  const fileTask = a.files?.length
    ? times.time('files', readRepoFiles({ projectRoot, globs: a.files }))
    : Promise.resolve(undefined);

  const [kv, specs, logs, files] = await Promise.all([kvTask, specTask, logTask, fileTask]).finally(() =>
    progress.stop?.(),
  );
  times.mark('read');
  let kvData: KvData | undefined;
  let specData: SpecData | undefined;
  let logData: LogData | undefined;
  let fileData: RepoFileData | undefined;
  for (const [src, set] of [
    [kv, (d: unknown) => (kvData = d as KvData)],
    [specs, (d: unknown) => (specData = d as SpecData)],
    [logs, (d: unknown) => (logData = d as LogData)],
    [files, (d: unknown) => (fileData = d as RepoFileData)],
  ] as const) {
    if (!src) continue;
    sources.push(src.report);
    if (src.report.ok) {
      if (!src.report.absent) set(src.data);
    } else {
      reasons.push(
        src.report.error ??
          `${src.report.kind} ${src.report.ref}: ${src.report.problems.length} part(s) could not be read`,
      );
      // Damaged but partly readable sources still feed the rules; the scan stays incomplete. Transcripts are read
      // file by file: those that could be read are evidence even when another could not.
      if (
        (src.report.problems.length > 0 && !src.report.error) ||
        (src.report.kind === 'logs' && (src.data as LogData).sessions.length > 0)
      )
        set(src.data);
    }
  }

  const bucket = kvData?.bucket ?? a.bucket ?? DEFAULT_BUCKET;
  const built = buildModel({ projectRoot, bucket, kv: kvData, specs: specData, logs: logData, files: fileData });
  // The runs of this project (a shared bucket holds every project's), and the keys that are no run.
  const scope = scopeRuns(built, a.allRuns === true);
  const model = scope.model;
  const kvReport = kv && kvData ? kv.report : undefined;
  // An empty bucket has no runs to speak of.
  if (kvReport && built.keys.length > 0) {
    const cov = keyCoverage(built);
    const stats = kvReport.stats;
    const how =
      scope.mode === 'all-runs'
        ? ', all audited (--all-runs)'
        : scope.mode === 'unscoped'
          ? ', all audited (no spec folders or transcripts to scope by)'
          : '';
    stats[`runs${how}`] = scope.audited;
    if (scope.notInProject.length > 0) stats['runs not in this project'] = scope.notInProject.length;
    if (cov.notPeer > 0) stats['keys of other tools'] = cov.notPeer;
    if (cov.peerNotRun > 0) stats['PEER keys of no run'] = cov.peerNotRun;
    if (cov.unknown.length > 0) {
      const names = cov.unknown.map((k) => k.info.key);
      if (a.allowUnknownKeys) stats['unknown PEER keys (allowed)'] = names.length;
      else {
        stats['unknown PEER keys'] = names.length;
        kvReport.ok = false;
        for (const k of names.slice(0, UNKNOWN_SHOWN))
          kvReport.problems.push({ where: k, reason: 'a PEER key no known layout explains' });
        const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
        reasons.push(
          `${kvReport.kind} ${kvReport.ref}: ${names.length} PEER key${names.length === 1 ? '' : 's'} no known ` +
            `layout explains (${shown}); --allow-unknown-keys accepts them`,
        );
      }
    }
  }
  if (logs && logData) logs.report.stats.peerRuns = peerSessions(model).length;
  times.mark('model');
  const rules = (await loadRules()).filter((r) => !a.rules || a.rules.includes(r.meta.id));
  const now = a.now ?? new Date().toISOString();
  if (!Number.isFinite(Date.parse(now))) throw new UsageError(`--now ${a.now} is not an ISO-8601 time`);
  const { findings, failures } = runRules(model, rules, ruleOptionsOf(a, now), a.severities ?? {});
  for (const f of failures) reasons.push(`rule ${f.ruleId} failed: ${f.error.split('\n')[0]}`);
  times.mark('rules');

  const result: ScanResult = {
    version: 1,
    tool: { name: 'peer-audit', version: VERSION },
    generatedAt: new Date().toISOString(),
    projectRoot,
    bucket,
    complete: reasons.length === 0,
    incompleteReasons: reasons,
    sources,
    summary: summarise(findings),
    findings,
    ...(kvReport
      ? {
          scope: {
            mode: scope.mode,
            runs: scope.audited,
            notInProject: scope.notInProject.length,
            ...(scope.notInProject.length
              ? { notInProjectRuns: scope.notInProject.slice(0, NOT_IN_PROJECT_LISTED) }
              : {}),
          },
        }
      : {}),
  };
  return { result, model };
}

/** Unknown keys listed one by one in the source's problems; the count is exact. */
const UNKNOWN_SHOWN = 50;
/** Runs of other projects named in the JSON `scope`; the count is exact. */
const NOT_IN_PROJECT_LISTED = 200;

/** Rule options from the flags (already merged with the config), checked. */
export function ruleOptionsOf(
  a: Pick<AuditOptions, 'staleAfter' | 'expectReplicas' | 'expectHistory'>,
  now: string,
): RuleOptions {
  for (const [flag, v] of [
    ['--expect-replicas', a.expectReplicas],
    ['--expect-history', a.expectHistory],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new UsageError(`${flag} must be a whole number of at least 1 (got ${v})`);
  }
  return {
    ...DEFAULT_RULE_OPTIONS,
    now,
    ...(a.staleAfter !== undefined ? { staleAfterMs: parseDuration(a.staleAfter) } : {}),
    ...(a.expectReplicas !== undefined ? { expectReplicas: a.expectReplicas } : {}),
    ...(a.expectHistory !== undefined ? { expectHistory: a.expectHistory } : {}),
  };
}

// ---------------------------------------------------------------- repair

/** Which findings to repair; unset fields match every finding. */
export interface RepairSelection {
  rules?: string[];
  spec?: string;
  cycle?: number;
}

export interface RepairPlan {
  /** The audit the plan was made from. */
  audited: Audited;
  /** The time the plan was made: the journal's id and time. */
  now: string;
  /** Why, recorded in every repaired value; undefined for a dry run (which cannot be applied). */
  reason?: string;
  /** The findings the plan repairs (each has a fix). */
  findings: Finding[];
  /** Exact bytes before and after, per KV key or file. */
  changes: Change[];
  /** Fixes that could not be planned (the value moved on, the file changed). */
  skipped: Skipped[];
  /** Matching findings whose state no write can make right, with why. */
  refused: { finding: Finding; why: string }[];
}

/**
 * The changes that would repair the selected findings: nothing is written. Refuses an incomplete audit: a plan
 * made from part of the evidence could undo what the rest shows.
 */
export async function planRepair(
  audited: Audited,
  o: RepairSelection & { reason?: string; now?: string } = {},
): Promise<RepairPlan> {
  const { result, model } = audited;
  if (!result.complete) {
    throw new SourceFailure(`refusing to plan a repair on partial evidence: ${result.incompleteReasons[0]}`);
  }
  const matches = result.findings.filter(
    (f) =>
      (!o.rules?.length || o.rules.includes(f.ruleId)) &&
      (!o.spec || f.subject.spec === o.spec) &&
      (o.cycle === undefined || f.subject.cycle === o.cycle),
  );
  const findings = matches.filter((f) => f.fix?.length);
  const refused = matches.filter((f) => f.unfixable).map((f) => ({ finding: f, why: f.unfixable! }));
  const now = o.now ?? new Date().toISOString();
  const [{ planRepair: planChanges }, { actorName }] = await Promise.all([
    import('./repair/plan.js'),
    import('./repair/journal.js'),
  ]);
  const plan = await planChanges(findings, model, { reason: o.reason ?? '(dry run)', actor: actorName(), now });
  return { audited, now, reason: o.reason, findings, changes: plan.changes, skipped: plan.skipped, refused };
}

export interface ApplyOptions {
  /** The live server, for KV changes and for settling earlier repairs (a function is called only when needed). */
  kv?: KvConnectOptions | (() => KvConnectOptions);
  /** Told once the journal is written, before the first change. */
  onJournal?: (file: string) => void;
  /** Lines about earlier repairs settled first and temporary files removed. */
  onNotice?: (msg: string) => void;
}

export interface AppliedRepair {
  journal: Journal;
  /** The journal file: `undo` takes it. */
  file: string;
  outcome: Outcome;
}

/**
 * Writes the plan's changes: earlier repairs that died half-way are settled first, the journal is written and
 * synced before the first change, and every change is compare-and-set against what the plan saw.
 */
export async function applyRepair(plan: RepairPlan, o: ApplyOptions): Promise<AppliedRepair> {
  const reason = plan.reason?.trim() ? plan.reason : undefined;
  if (!reason) {
    throw new UsageError(
      "a repair needs planRepair's `reason`: it is recorded in the journal and in every repaired value",
    );
  }
  const { model } = plan.audited;
  const [{ actorName, journalDir, newJournalId, saveJournal }, { withKv }, apply] = await Promise.all([
    import('./repair/journal.js'),
    import('./repair/connect.js'),
    import('./repair/apply.js'),
  ]);
  const { applyJournal, hasUnsettledJournals, removeLeftoverTemps, settleEarlierJournals } = apply;
  const notice = o.onNotice ?? (() => {});
  let resolved: KvConnectOptions | undefined;
  const kvo = (): KvConnectOptions => {
    if (!o.kv) throw new UsageError('the repair writes KV keys: give the server to write to');
    return (resolved ??= typeof o.kv === 'function' ? o.kv() : o.kv);
  };
  if (await hasUnsettledJournals(model.projectRoot)) {
    const root = model.projectRoot;
    const lines = await withKv(kvo(), (kv) => settleEarlierJournals(root, { kv, projectRoot: root }));
    for (const l of lines) notice(l);
  }
  for (const l of await removeLeftoverTemps(model.projectRoot)) notice(l);
  const kvCount = plan.changes.filter((c) => c.kind === 'kv').length;
  const journal: Journal = {
    format: JOURNAL_FORMAT,
    id: newJournalId(new Date(plan.now)),
    command: 'repair',
    createdAt: plan.now,
    reason,
    actor: actorName(),
    projectRoot: model.projectRoot,
    bucket: model.bucket,
    server: kvCount ? displayServers(kvo().servers) : null,
    changes: plan.changes,
  };
  const file = path.join(journalDir(model.projectRoot), `${journal.id}.json`);
  await saveJournal(file, journal);
  o.onJournal?.(file);
  const outcome = await withKv(kvCount ? kvo() : undefined, (kv) =>
    applyJournal(journal, file, { kv, projectRoot: model.projectRoot }),
  );
  return { journal, file, outcome };
}

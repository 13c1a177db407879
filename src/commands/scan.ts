import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { buildModel, type Model } from '../model/build.js';
import { keyCoverage, scopeRuns } from '../model/scope.js';
import type { KvData, LogData, Severity, SourceReport, SpecData } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import { runRules } from '../engine/run.js';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from '../engine/rule.js';
import { displayServers, readKvLive } from '../sources/kv.js';
import { readSnapshot } from '../sources/snapshot.js';
import { readSpecs } from '../sources/specs.js';
import { defaultLogDirs, noTranscriptsReport, readLogs } from '../sources/logs.js';
import { peerSessions } from '../model/peer-sessions.js';
import { renderReportChunks, type ReportFormat } from '../report/format.js';
import { withContext } from '../report/runs.js';
import { exitCodeFor, summarise, type ScanResult } from '../report/result.js';
import { DEFAULT_BUCKET, kvOptions, type ConnectArgs } from './options.js';
import { nextSteps } from '../report/next-steps.js';
import { VERSION } from '../version.js';
import { checkOutputFile, writeOutput } from './output.js';
import { PhaseTimes, ProgressLine } from './progress.js';
import { escapeControl } from '../model/text.js';
import { ConfigError, UsageError } from '../errors.js';
import { displayPath } from '../config/config.js';
import {
  applyBaseline,
  BASELINE_FILE,
  baselineReport,
  formatBaseline,
  judgeFor,
  JUSTIFICATION_PLACEHOLDER,
  readBaseline,
  updateBaseline,
  type BaselineReport,
} from '../config/baseline.js';

export interface ScanArgs extends ConnectArgs {
  project: string;
  specs?: string;
  logs?: string[];
  /** false: do not read logs even when Claude Code's folder for the project exists. */
  useLogs: boolean;
  kvSnapshot?: string;
  /** false: do not read KV at all (`--no-kv`). */
  useKv: boolean;
  now?: string;
  /** e.g. "6h", "90m", "2d". */
  staleAfter?: string;
  expectReplicas?: number;
  expectHistory?: number;
  /** Rule severities from the config (`off` skips the rule), applied by the engine. */
  severities?: Record<string, Severity | 'off'>;
  /** Audit every run in the bucket, not only this project's (`--all-runs`). */
  allRuns?: boolean;
  /** `peer.*` keys no layout explains leave the KV source complete (`--allow-unknown-keys`). */
  allowUnknownKeys?: boolean;
}

/** The scan, and the model it judged (repair plans from the same model the findings came from). */
export async function scanWithModel(a: ScanArgs, notice: (msg: string) => void = () => {}): Promise<{ result: ScanResult; model: Model }> {
  const projectRoot = path.resolve(a.project);
  const sources: SourceReport[] = [];
  const reasons: string[] = [];

  const projectStat = await fs.stat(projectRoot).catch(() => undefined);
  if (!projectStat?.isDirectory()) throw new UsageError(`project folder ${a.project} does not exist`);

  // Progress on stderr only when it is a terminal; phase times only with PEER_AUDIT_TIMINGS.
  const times = new PhaseTimes();
  const progress = new ProgressLine().start();
  const kvTask: Promise<{ data: KvData; report: SourceReport } | undefined> = a.kvSnapshot
    ? times.time('kv', readSnapshot(a.kvSnapshot))
    : a.useKv
      ? times.time('kv', readKvLive(kvOptions(a), progress.counts.kv))
      : Promise.resolve(undefined);
  const specTask = times.time(
    'specs',
    readSpecs({ projectRoot, specsDir: a.specs ? path.resolve(a.specs) : undefined, explicit: a.specs !== undefined, progress: progress.counts.specs }),
  );
  let logPatterns = a.logs ?? [];
  const defaultDirs = logPatterns.length === 0 && a.useLogs;
  if (defaultDirs) {
    logPatterns = defaultLogDirs(projectRoot);
    if (logPatterns.length > 0) notice(`reading Claude Code logs from ${logPatterns.join(', ')}`);
  }
  // No transcripts at all is said in the sources, with where the scan looked.
  const logTask = !a.useLogs
    ? Promise.resolve(undefined)
    : logPatterns.length > 0
      ? times.time('logs', readLogs(logPatterns, projectRoot, progress.counts.logs, { defaultDirs }))
      : Promise.resolve({ data: { sessions: [] }, report: noTranscriptsReport(projectRoot) });

  const [kv, specs, logs] = await Promise.all([kvTask, specTask, logTask]).finally(() => progress.stop());
  times.mark('read');
  let kvData: KvData | undefined;
  let specData: SpecData | undefined;
  let logData: LogData | undefined;
  for (const [src, set] of [
    [kv, (d: unknown) => (kvData = d as KvData)],
    [specs, (d: unknown) => (specData = d as SpecData)],
    [logs, (d: unknown) => (logData = d as LogData)],
  ] as const) {
    if (!src) continue;
    sources.push(src.report);
    if (src.report.ok) {
      if (!src.report.absent) set(src.data);
    }
    else {
      reasons.push(src.report.error ?? `${src.report.kind} ${src.report.ref}: ${src.report.problems.length} part(s) could not be read`);
      // Damaged but partly readable sources still feed the rules; the scan stays incomplete. Transcripts are read
      // file by file: those that could be read are evidence even when another could not.
      if ((src.report.problems.length > 0 && !src.report.error) || (src.report.kind === 'logs' && (src.data as LogData).sessions.length > 0)) set(src.data);
    }
  }

  const bucket = kvData?.bucket ?? a.bucket;
  const built = buildModel({ projectRoot, bucket, kv: kvData, specs: specData, logs: logData });
  // The runs of this project (a shared bucket holds every project's), and the keys that are no run.
  const scope = scopeRuns(built, a.allRuns === true);
  const model = scope.model;
  const kvReport = kv && kvData ? kv.report : undefined;
  // An empty bucket has no runs to speak of.
  if (kvReport && built.keys.length > 0) {
    const cov = keyCoverage(built);
    const stats = kvReport.stats;
    const how = scope.mode === 'all-runs' ? ', all audited (--all-runs)' : scope.mode === 'unscoped' ? ', all audited (no spec folders or transcripts to scope by)' : '';
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
        for (const k of names.slice(0, UNKNOWN_SHOWN)) kvReport.problems.push({ where: k, reason: 'a PEER key no known layout explains' });
        const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
        reasons.push(`${kvReport.kind} ${kvReport.ref}: ${names.length} PEER key${names.length === 1 ? '' : 's'} no known layout explains (${shown}); --allow-unknown-keys accepts them`);
      }
    }
  }
  if (logs && logData) logs.report.stats.peerRuns = peerSessions(model).length;
  times.mark('model');
  const rules = await loadRules();
  const now = a.now ?? new Date().toISOString();
  if (!Number.isFinite(Date.parse(now))) throw new UsageError(`--now ${a.now} is not an ISO-8601 time`);
  const { findings, failures } = runRules(model, rules, ruleOptionsOf(a, now), a.severities ?? {});
  for (const f of failures) reasons.push(`rule ${f.ruleId} failed: ${f.error.split('\n')[0]}`);
  times.mark('rules');
  times.print();

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
      ? { scope: { mode: scope.mode, runs: scope.audited, notInProject: scope.notInProject.length, ...(scope.notInProject.length ? { notInProjectRuns: scope.notInProject.slice(0, NOT_IN_PROJECT_LISTED) } : {}) } }
      : {}),
  };
  return { result, model };
}

/** Unknown keys listed one by one in the source's problems; the count is exact. */
const UNKNOWN_SHOWN = 50;
/** Runs of other projects named in the JSON `scope`; the count is exact. */
const NOT_IN_PROJECT_LISTED = 200;

/** Rule options from the flags (already merged with the config), checked. */
export function ruleOptionsOf(a: Pick<ScanArgs, 'staleAfter' | 'expectReplicas' | 'expectHistory'>, now: string): RuleOptions {
  for (const [flag, v] of [['--expect-replicas', a.expectReplicas], ['--expect-history', a.expectHistory]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new UsageError(`${flag} must be a whole number of at least 1 (got ${v})`);
  }
  return {
    ...DEFAULT_RULE_OPTIONS,
    now,
    ...(a.staleAfter !== undefined ? { staleAfterMs: parseDuration(a.staleAfter) } : {}),
    ...(a.expectReplicas !== undefined ? { expectReplicas: a.expectReplicas } : {}),
    ...(a.expectHistory !== undefined ? { expectHistory: a.expectHistory } : {}),
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** "6h", "90m", "2d", "45s", "1500ms" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not a duration (use e.g. 6h, 90m, 2d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

export interface ScanOutputArgs {
  format: ReportFormat;
  output?: string;
  failOn: Severity;
  /** Stylish shows errors only; the exit code still counts everything. */
  quiet?: boolean;
  /** Baseline file; false: use none (`--no-baseline`); undefined: peer-audit-baseline.json beside the config, else in the project. */
  baseline?: string | false;
  /** The config file's folder, when a config is in use (the default baseline lives there). */
  configDir?: string;
  /** Accept every current finding into the baseline (keeping the justifications of entries that still match). */
  updateBaseline?: boolean;
  /** Exit 1 when more warnings than this are reported (after the baseline). */
  maxWarnings?: number;
}

/** The scan result as reported: findings the baseline accepts are left out and summarised in `baseline`. */
export type ScanReport = ScanResult & { baseline?: BaselineReport };

export async function scanCommand(a: ScanArgs & ScanOutputArgs, chalk: ChalkInstance, notice: (msg: string) => void): Promise<number> {
  if (a.maxWarnings !== undefined && !(Number.isInteger(a.maxWarnings) && a.maxWarnings >= 0)) {
    throw new UsageError(`--max-warnings must be a whole number of at least 0 (got ${a.maxWarnings})`);
  }
  if (a.updateBaseline && a.baseline === false) throw new UsageError('--update-baseline and --no-baseline contradict each other');
  if (a.output) checkOutputFile(a.output); // before the scan, not after it
  const scanned = await scanWithModel(a, notice);
  // The runs section and evidence contexts: what reports need beyond the findings (also in the JSON).
  const result = withContext(scanned.result, scanned.model);

  // Baseline: read it (a missing default file is simply no baseline), update it on request, apply it.
  let report: ScanReport = result;
  let baselineLine: string | undefined;
  if (a.baseline !== false) {
    const file = a.baseline ? path.resolve(a.baseline) : path.join(a.configDir ?? result.projectRoot, BASELINE_FILE);
    const shown = displayPath(file);
    let baseline = await readBaseline(file, shown);
    if (!baseline && a.baseline && !a.updateBaseline) throw new ConfigError(`${shown}: no such baseline file (write one with scan --update-baseline)`);
    const judged = judgeFor(await loadRules(), result.sources, a.severities ?? {});
    if (a.updateBaseline) {
      if (!result.complete) {
        for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
        throw new ConfigError(`not updating ${shown}: the scan is incomplete, and a baseline written from part of the evidence would drop entries`);
      }
      const upd = updateBaseline(result.findings, baseline, judged);
      await writeOutput(formatBaseline(upd.baseline), file, '--baseline');
      baseline = upd.baseline;
      const todo = upd.baseline.entries.filter((e) => e.justification === JUSTIFICATION_PLACEHOLDER).length;
      notice(
        `wrote ${shown}: ${upd.baseline.entries.length} entr${upd.baseline.entries.length === 1 ? 'y' : 'ies'} (${upd.added} new, ${upd.kept} kept, ${upd.removed} removed)` +
          (todo ? `; ${todo} need${todo === 1 ? 's' : ''} a justification` : ''),
      );
    }
    if (baseline) {
      const outcome = applyBaseline(result.findings, baseline, judged);
      report = { ...result, summary: summarise(outcome.shown), findings: outcome.shown, baseline: baselineReport(file, baseline, outcome) };
      const m = outcome.matched;
      if (m.length > 0 || outcome.stale.length > 0) {
        const counts = summarise(m);
        baselineLine =
          `Baseline ${shown}: ${m.length} known problem${m.length === 1 ? '' : 's'} not shown` +
          (m.length ? ` (${counts.errors} error${counts.errors === 1 ? '' : 's'}, ${counts.warnings} warning${counts.warnings === 1 ? '' : 's'}, ${counts.infos} info)` : '') +
          (outcome.stale.length ? `; ${outcome.stale.length} stale entr${outcome.stale.length === 1 ? 'y' : 'ies'}` : '') +
          '.';
      }
      if (outcome.stale.length > 0 && !a.updateBaseline) {
        notice(`${shown}: ${outcome.stale.length} entr${outcome.stale.length === 1 ? 'y no longer matches' : 'ies no longer match'} any finding (stale; --update-baseline removes ${outcome.stale.length === 1 ? 'it' : 'them'}):`);
        for (const e of outcome.stale) notice(`  ${e.fingerprint}  ${e.ruleId}  ${escapeControl(e.subject ?? '')}${e.message ? ` — ${escapeControl(e.message)}` : ''}`);
      }
    }
  }

  const steps = nextSteps(report.findings, {
    ...a,
    server: a.server ? displayServers(a.server) : undefined,
    defaultBucket: DEFAULT_BUCKET,
  });
  await writeOutput(await renderReportChunks(report, a.format, { chalk, quiet: a.quiet, baselineLine, nextSteps: steps }), a.output);
  if (a.output) notice(`wrote ${a.output}`);
  if (!result.complete) for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
  let code = exitCodeFor(report, a.failOn);
  if (code !== 2 && a.maxWarnings !== undefined && report.summary.warnings > a.maxWarnings) {
    notice(`too many warnings: ${report.summary.warnings} (--max-warnings ${a.maxWarnings})`);
    code = 1;
  }
  return code;
}

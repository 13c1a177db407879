import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { auditWithModel, type Audited, type AuditOptions } from '../audit.js';
import type { Severity } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import { displayServers } from '../sources/servers.js';
import { renderReportChunks, type ReportFormat } from '../report/format.js';
import { withContext } from '../report/runs.js';
import { exitCodeFor, summarise, type ScanResult } from '../report/result.js';
import { DEFAULT_BUCKET, kvOptions, type ConnectArgs } from './options.js';
import { nextSteps } from '../report/next-steps.js';
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

/** The scan's flags: the library's options as they are, plus how the flags choose the sources. */
export interface ScanArgs
  extends
    ConnectArgs,
    Pick<
      AuditOptions,
      | 'project'
      | 'specs'
      | 'files'
      | 'kvSnapshot'
      | 'now'
      | 'staleAfter'
      | 'expectReplicas'
      | 'expectHistory'
      | 'severities'
      | 'allRuns'
      | 'allowUnknownKeys'
    > {
  logs?: string[];
  /** false: do not read logs even when Claude Code's folder for the project exists. */
  useLogs: boolean;
  /** false: do not read KV at all (`--no-kv`). */
  useKv: boolean;
}

/** The library's options from the flags: KV from a snapshot, else live unless --no-kv; logs unless --no-logs. */
export function auditOptionsOf(a: ScanArgs, notice: (msg: string) => void = () => {}): AuditOptions {
  return {
    project: a.project,
    specs: a.specs,
    logs: a.useLogs ? a.logs : false,
    files: a.files,
    kvSnapshot: a.kvSnapshot,
    kv: a.useKv ? () => kvOptions(a) : undefined,
    bucket: a.bucket,
    now: a.now,
    staleAfter: a.staleAfter,
    expectReplicas: a.expectReplicas,
    expectHistory: a.expectHistory,
    severities: a.severities,
    allRuns: a.allRuns,
    allowUnknownKeys: a.allowUnknownKeys,
    onNotice: notice,
  };
}

/** The scan, and the model it judged, with a progress line on a terminal and phase times with PEER_AUDIT_TIMINGS. */
export async function scanWithModel(a: ScanArgs, notice: (msg: string) => void = () => {}): Promise<Audited> {
  const times = new PhaseTimes();
  const scanned = await auditWithModel({ ...auditOptionsOf(a, notice), progress: new ProgressLine(), timings: times });
  times.print();
  return scanned;
}

export interface ScanOutputArgs {
  format: ReportFormat;
  output?: string;
  failOn: Severity;
  /** Stylish shows errors only; the exit code still counts everything. */
  quiet?: boolean;
  /**
   * Baseline file; false: use none (`--no-baseline`);
   * undefined: peer-audit-baseline.json beside the config, else in the project.
   */
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

export async function scanCommand(
  a: ScanArgs & ScanOutputArgs,
  chalk: ChalkInstance,
  notice: (msg: string) => void,
): Promise<number> {
  if (a.maxWarnings !== undefined && !(Number.isInteger(a.maxWarnings) && a.maxWarnings >= 0)) {
    throw new UsageError(`--max-warnings must be a whole number of at least 0 (got ${a.maxWarnings})`);
  }
  if (a.updateBaseline && a.baseline === false)
    throw new UsageError('--update-baseline and --no-baseline contradict each other');
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
    if (!baseline && a.baseline && !a.updateBaseline)
      throw new ConfigError(`${shown}: no such baseline file (write one with scan --update-baseline)`);
    const judged = judgeFor(await loadRules(), result.sources, a.severities ?? {});
    if (a.updateBaseline) {
      if (!result.complete) {
        for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
        throw new ConfigError(
          `not updating ${shown}: the scan is incomplete, ` +
            `and a baseline written from part of the evidence would drop entries`,
        );
      }
      const upd = updateBaseline(result.findings, baseline, judged);
      await writeOutput(formatBaseline(upd.baseline), file, '--baseline');
      baseline = upd.baseline;
      const todo = upd.baseline.entries.filter((e) => e.justification === JUSTIFICATION_PLACEHOLDER).length;
      notice(
        `wrote ${shown}: ${upd.baseline.entries.length} entr${upd.baseline.entries.length === 1 ? 'y' : 'ies'} ` +
          `(${upd.added} new, ${upd.kept} kept, ${upd.removed} removed)` +
          (todo ? `; ${todo} need${todo === 1 ? 's' : ''} a justification` : ''),
      );
    }
    if (baseline) {
      const outcome = applyBaseline(result.findings, baseline, judged);
      report = {
        ...result,
        summary: summarise(outcome.shown),
        findings: outcome.shown,
        baseline: baselineReport(file, baseline, outcome),
      };
      const m = outcome.matched;
      if (m.length > 0 || outcome.stale.length > 0) {
        const counts = summarise(m);
        baselineLine =
          `Baseline ${shown}: ${m.length} known problem${m.length === 1 ? '' : 's'} not shown` +
          (m.length
            ? ` (${counts.errors} error${counts.errors === 1 ? '' : 's'}, ` +
              `${counts.warnings} warning${counts.warnings === 1 ? '' : 's'}, ${counts.infos} info)`
            : '') +
          (outcome.stale.length
            ? `; ${outcome.stale.length} stale entr${outcome.stale.length === 1 ? 'y' : 'ies'}`
            : '') +
          '.';
      }
      if (outcome.stale.length > 0 && !a.updateBaseline) {
        notice(
          `${shown}: ${outcome.stale.length} ` +
            `entr${outcome.stale.length === 1 ? 'y no longer matches' : 'ies no longer match'} any finding ` +
            `(stale; --update-baseline removes ${outcome.stale.length === 1 ? 'it' : 'them'}):`,
        );
        for (const e of outcome.stale)
          notice(
            `  ${e.fingerprint}  ${e.ruleId}  ${escapeControl(e.subject ?? '')}` +
              `${e.message ? ` — ${escapeControl(e.message)}` : ''}`,
          );
      }
    }
  }

  const steps = nextSteps(report.findings, {
    ...a,
    server: a.server ? displayServers(a.server) : undefined,
    defaultBucket: DEFAULT_BUCKET,
  });
  await writeOutput(
    await renderReportChunks(report, a.format, { chalk, quiet: a.quiet, baselineLine, nextSteps: steps }),
    a.output,
  );
  if (a.output) notice(`wrote ${a.output}`);
  if (!result.complete) for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
  let code = exitCodeFor(report, a.failOn);
  if (code !== 2 && a.maxWarnings !== undefined && report.summary.warnings > a.maxWarnings) {
    notice(`too many warnings: ${report.summary.warnings} (--max-warnings ${a.maxWarnings})`);
    code = 1;
  }
  return code;
}

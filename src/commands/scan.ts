import type { ChalkInstance } from 'chalk';
import { auditWithModel, type Audited, type AuditOptions } from '../audit.js';
import type { Severity } from '../model/types.js';
import { displayServers } from '../sources/servers.js';
import { renderReportChunks, type ReportFormat } from '../report/format.js';
import { withContext } from '../report/runs.js';
import { exitCodeFor } from '../report/result.js';
import { DEFAULT_BUCKET, kvOptions, type ConnectArgs } from './options.js';
import { nextSteps } from '../report/next-steps.js';
import { checkOutputFile, writeOutput } from './output.js';
import { PhaseTimes, ProgressLine } from './progress.js';
import { UsageError } from '../errors.js';
import { withBaseline, type BaselineArgs } from './baseline-apply.js';
import { activeConfig } from '../config/config.js';

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

export interface ScanOutputArgs extends BaselineArgs {
  format: ReportFormat;
  output?: string;
  failOn: Severity;
  /** Stylish shows errors only; the exit code still counts everything. */
  quiet?: boolean;
  /** Exit 1 when more warnings than this are reported (after the baseline). */
  maxWarnings?: number;
}

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
  const result = withContext(scanned.result, scanned.model, activeConfig().config.prices);

  const { report, line: baselineLine } = await withBaseline(result, a, notice);

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

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { buildModel, type Model } from '../model/build.js';
import type { KvData, LogData, Severity, SourceReport, SpecData } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import { runRules } from '../engine/run.js';
import { DEFAULT_RULE_OPTIONS } from '../engine/rule.js';
import { readKvLive } from '../sources/kv.js';
import { readSnapshot } from '../sources/snapshot.js';
import { readSpecs } from '../sources/specs.js';
import { defaultLogDirs, readLogs } from '../sources/logs.js';
import { formatJson } from '../report/json.js';
import { formatStylish } from '../report/stylish.js';
import { exitCodeFor, summarise, type ScanResult } from '../report/result.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { VERSION } from '../version.js';
import { writeOutput } from './output.js';

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
}

export async function runScan(a: ScanArgs, notice: (msg: string) => void = () => {}): Promise<ScanResult> {
  return (await scanWithModel(a, notice)).result;
}

/** The scan, and the model it judged (repair plans from the same model the findings came from). */
export async function scanWithModel(a: ScanArgs, notice: (msg: string) => void = () => {}): Promise<{ result: ScanResult; model: Model }> {
  const projectRoot = path.resolve(a.project);
  const sources: SourceReport[] = [];
  const reasons: string[] = [];

  const projectStat = await fs.stat(projectRoot).catch(() => undefined);
  if (!projectStat?.isDirectory()) throw new UsageError(`project folder ${a.project} does not exist`);

  const kvTask: Promise<{ data: KvData; report: SourceReport } | undefined> = a.kvSnapshot
    ? readSnapshot(a.kvSnapshot)
    : a.useKv
      ? readKvLive(kvOptions(a))
      : Promise.resolve(undefined);
  const specTask = readSpecs({ projectRoot, specsDir: a.specs ? path.resolve(a.specs) : undefined, explicit: a.specs !== undefined });
  let logPatterns = a.logs ?? [];
  if (logPatterns.length === 0 && a.useLogs) {
    logPatterns = defaultLogDirs(projectRoot);
    if (logPatterns.length > 0) notice(`reading Claude Code logs from ${logPatterns.join(', ')}`);
  }
  const logTask = a.useLogs && logPatterns.length > 0 ? readLogs(logPatterns, projectRoot) : Promise.resolve(undefined);

  const [kv, specs, logs] = await Promise.all([kvTask, specTask, logTask]);
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
    if (src.report.ok) set(src.data);
    else {
      reasons.push(src.report.error ?? `${src.report.kind} ${src.report.ref}: ${src.report.problems.length} part(s) could not be read`);
      // Damaged but partly readable sources still feed the rules; the scan stays incomplete.
      if (src.report.problems.length > 0 && !src.report.error) set(src.data);
    }
  }

  const bucket = kvData?.bucket ?? a.bucket;
  const model = buildModel({ projectRoot, bucket, kv: kvData, specs: specData, logs: logData });
  const rules = await loadRules();
  const now = a.now ?? new Date().toISOString();
  if (!Number.isFinite(Date.parse(now))) throw new UsageError(`--now ${a.now} is not an ISO-8601 time`);
  const { findings, failures } = runRules(model, rules, {
    ...DEFAULT_RULE_OPTIONS,
    now,
    ...(a.staleAfter !== undefined ? { staleAfterMs: parseDuration(a.staleAfter) } : {}),
    ...(a.expectReplicas !== undefined ? { expectReplicas: a.expectReplicas } : {}),
  });
  for (const f of failures) reasons.push(`rule ${f.ruleId} failed: ${f.error.split('\n')[0]}`);

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
  };
  return { result, model };
}

export class UsageError extends Error {}

/** A source or target that could not be used (NATS down, bucket missing, unreadable journal): exit 2, one line. */
export class SourceFailure extends Error {}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** "6h", "90m", "2d", "45s", "1500ms" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not a duration (use e.g. 6h, 90m, 2d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

export interface ScanOutputArgs {
  format: 'stylish' | 'json';
  output?: string;
  failOn: Severity;
  quiet?: boolean;
}

export async function scanCommand(a: ScanArgs & ScanOutputArgs, chalk: ChalkInstance, notice: (msg: string) => void): Promise<number> {
  const result = await runScan(a, notice);
  const text = a.format === 'json' ? formatJson(result) : formatStylish(result, { chalk, quiet: a.quiet });
  await writeOutput(text, a.output);
  if (!result.complete) for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
  return exitCodeFor(result, a.failOn);
}

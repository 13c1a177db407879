// `peer-audit report`: an incident report (Markdown by default) from a fresh scan or a saved JSON scan, with the
// repairs of the journals given. The report goes to stdout or --output; notices go to stderr.
import type { Severity } from '../model/types.js';
import type { Journal } from '../model/journal-format.js';
import { loadJournal } from '../repair/journal.js';
import { renderReportChunks, type ReportFormat } from '../report/format.js';
import { exitCodeFor, type ScanResult } from '../report/result.js';
import { withContext } from '../report/runs.js';
import { loadSavedScan, SavedScanError } from '../report/saved.js';
import { checkOutputFile, writeOutput } from './output.js';
import { scanWithModel, type ScanArgs } from './scan.js';
import { SourceFailure } from '../errors.js';
import { withBaseline, type BaselineArgs } from './baseline-apply.js';
import { activeConfig } from '../config/config.js';

export interface ReportArgs extends ScanArgs, Pick<BaselineArgs, 'baseline' | 'configDir'> {
  /** A saved `scan --format json` file to render instead of scanning. */
  from?: string;
  /** Repair journals to show under "Repairs applied". */
  journals?: string[];
  format: ReportFormat;
  output?: string;
  failOn: Severity;
}

/** Source settings that --from does not use. */
const SOURCE_FLAGS: [keyof ScanArgs, string][] = [
  ['kvSnapshot', '--kv-snapshot'],
  ['logs', '--logs'],
  ['specs', '--specs'],
  ['files', '--files'],
  ['server', '--server'],
];

export async function reportCommand(a: ReportArgs, notice: (msg: string) => void): Promise<number> {
  let result: ScanResult;
  if (a.output) checkOutputFile(a.output); // before the scan, not after it
  if (a.from) {
    // Source settings may come from a config file too, so they are not an error here; they are said to be unused.
    const unused = SOURCE_FLAGS.filter(([k]) => a[k] !== undefined).map(([, flag]) => flag);
    if (unused.length) notice(`--from renders a saved scan; ${unused.join(', ')} not used`);
    try {
      result = await loadSavedScan(a.from);
    } catch (e) {
      if (e instanceof SavedScanError) throw new SourceFailure(e.message);
      throw e;
    }
    if (!result.runs)
      notice(`${a.from} has no runs section (saved by an older peer-audit): the report has no timeline`);
  } else {
    const scanned = await scanWithModel(a, notice);
    result = withContext(scanned.result, scanned.model, activeConfig().config.prices);
  }

  // The baseline, as scan applies it; a saved scan that was already judged against one keeps that judgement.
  if (result.baseline) {
    if (a.baseline)
      notice(`${a.from} was saved with the baseline ${result.baseline.file} applied; --baseline not used`);
  } else ({ report: result } = await withBaseline(result, a, notice));

  const journals: { file: string; journal: Journal }[] = [];
  for (const file of a.journals ?? []) {
    try {
      journals.push({ file, journal: await loadJournal(file) });
    } catch (e) {
      throw new SourceFailure((e as Error).message);
    }
  }

  await writeOutput(await renderReportChunks(result, a.format, { journals, from: a.from }), a.output);
  if (a.output) notice(`wrote ${a.output}`);
  if (!result.complete) for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
  return exitCodeFor(result, a.failOn);
}

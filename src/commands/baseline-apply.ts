// The baseline as scan and report apply it: read it (a missing default file is simply no baseline), update it on
// request (scan only), and leave out the findings it accepts, keeping them in full in the report's baseline section
// (SARIF lists them as unchanged and suppressed).
import path from 'node:path';
import { loadRules } from '../engine/registry.js';
import { summarise, type ScanResult } from '../report/result.js';
import { escapeControl } from '../model/text.js';
import { ConfigError } from '../errors.js';
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
} from '../config/baseline.js';
import { writeOutput } from './output.js';

export interface BaselineArgs {
  /**
   * Baseline file; false: use none (`--no-baseline`);
   * undefined: peer-audit-baseline.json beside the config, else in the project.
   */
  baseline?: string | false;
  /** The config file's folder, when a config is in use (the default baseline lives there). */
  configDir?: string;
  /** Accept every current finding into the baseline (keeping the justifications of entries that still match). */
  updateBaseline?: boolean;
  severities?: Record<string, string>;
}

export interface Baselined {
  /** The result as reported: what the baseline accepts is left out of findings and summary. */
  report: ScanResult;
  /** One line saying what the baseline hid, for the terminal (absent: it hid nothing). */
  line?: string;
}

export async function withBaseline(
  result: ScanResult,
  a: BaselineArgs,
  notice: (msg: string) => void,
): Promise<Baselined> {
  if (a.baseline === false) return { report: result };
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
  if (!baseline) return { report: result };

  const outcome = applyBaseline(result.findings, baseline, judged);
  const report: ScanResult = {
    ...result,
    summary: summarise(outcome.shown),
    findings: outcome.shown,
    baseline: baselineReport(file, baseline, outcome),
  };
  let line: string | undefined;
  const m = outcome.matched;
  if (m.length > 0 || outcome.stale.length > 0) {
    const counts = summarise(m);
    line =
      `Baseline ${shown}: ${m.length} known problem${m.length === 1 ? '' : 's'} not shown` +
      (m.length
        ? ` (${counts.errors} error${counts.errors === 1 ? '' : 's'}, ` +
          `${counts.warnings} warning${counts.warnings === 1 ? '' : 's'}, ${counts.infos} info)`
        : '') +
      (outcome.stale.length ? `; ${outcome.stale.length} stale entr${outcome.stale.length === 1 ? 'y' : 'ies'}` : '') +
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
  return { report, line };
}

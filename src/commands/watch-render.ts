// What the watch prints: each new finding (stylish for a terminal, or one JSON object per line), and the line that
// says it is watching.
import type { ChalkInstance } from 'chalk';
import type { Finding } from '../model/types.js';
import { formatLocation } from '../report/location.js';
import { redactDeep } from '../model/redact.js';
import { escapeControl, safeJson } from '../model/text.js';
import type { Cause } from './watch-findings.js';

export interface RenderSetup {
  format: 'stylish' | 'json';
  chalk: ChalkInstance;
  bucket: string;
}

/** One finding, with the write that made it true; `initial`: it was already true when the watch started. */
export function renderFinding(found: Finding, cause: Cause, initial: boolean, r: RenderSetup): string {
  // Masked like every report: a finding printed as it happens quotes the same state values and logs.
  const f = redactDeep(found).value;
  if (r.format === 'json') {
    const event = {
      event: 'finding',
      time: new Date().toISOString(),
      key: cause.key,
      revision: cause.revision,
      operation: cause.operation,
      created: cause.created,
      ...(initial ? { initial: true } : {}),
      ruleId: f.ruleId,
      severity: f.severity,
      fingerprint: f.fingerprint,
      message: f.message,
      subject: f.subject,
      evidence: f.evidence,
    };
    return `${safeJson(event, 0)}\n`;
  }
  const { chalk } = r;
  const sev =
    f.severity === 'error'
      ? chalk.red('error  ')
      : f.severity === 'warning'
        ? chalk.yellow('warning')
        : chalk.blue('info   ');
  const where = cause.key ? `${cause.key}@${cause.revision}` : `bucket ${r.bucket}`;
  const lines = [
    `${chalk.dim(new Date().toISOString().slice(11, 19))}  ${chalk.underline(escapeControl(where))}` +
      `${cause.operation && cause.operation !== 'PUT' ? ` (${cause.operation})` : ''}` +
      `${initial ? chalk.dim(' (already true at start)') : ''}`,
    `  ${sev}  ${chalk.bold(f.ruleId)}  ${escapeControl(f.message)}`,
  ];
  for (const e of f.evidence) {
    const note = e.note ? chalk.dim(` — ${escapeControl(e.note)}`) : '';
    lines.push(`      ${chalk.cyan(escapeControl(formatLocation(e.location)))}${note}`);
    if (e.excerpt) lines.push(`        ${chalk.gray(escapeControl(e.excerpt))}`);
  }
  return `${lines.join('\n')}\n\n`;
}

export interface WatchStart {
  bucket: string;
  /** The server list as shown. */
  url: string;
  /** The key filter watched, and the run prefix of --spec. */
  filter: { key: string; prefix?: string };
  /** Keys held at start. */
  keys: number;
  revision: number;
  /** Findings already true at start (the ones in view). */
  present: number;
  /** Whether those are printed (--initial). */
  shown: boolean;
}

/** The `watching` event of --format json: the first line, before any finding. */
export function watchingEvent(s: WatchStart): string {
  const event = {
    event: 'watching',
    time: new Date().toISOString(),
    bucket: s.bucket,
    server: s.url,
    key: s.filter.key,
    keys: s.keys,
    revision: s.revision,
    present: s.present,
  };
  return `${JSON.stringify(event)}\n`;
}

/** The notice that the watch has started, with what it found already true. */
export function watchingNotice(s: WatchStart): string {
  const what = `${s.bucket} on ${s.url}${s.filter.prefix ? ` (${s.filter.prefix}.>)` : ''}`;
  return (
    `watching ${what}: ${s.keys} key${s.keys === 1 ? '' : 's'} at revision ${s.revision}, ` +
    `${s.present} finding${s.present === 1 ? '' : 's'} already true` +
    (s.present && !s.shown ? ' (not shown; --initial shows them, `peer-audit scan` explains them)' : '') +
    '. Ctrl-C to stop.'
  );
}

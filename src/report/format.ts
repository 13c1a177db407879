// Every report format in one place. The scan result is masked (redactResult) here, before any formatter sees
// it, so no format can print a secret the evidence held.
// Each formatter is loaded when its format is asked for: a scan printed as text does not load the Markdown report
// and its diff library.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Journal } from '../model/journal-format.js';
import { redactResult } from '../model/redact.js';
import type { ScanResult } from './result.js';

export const REPORT_FORMATS = ['stylish', 'json', 'sarif', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderOptions {
  /** Colour for stylish output (default: none). */
  chalk?: ChalkInstance;
  /** Stylish: errors only. */
  quiet?: boolean;
  /** Stylish: what the baseline hid (scan with a baseline). */
  baselineLine?: string;
  /** Stylish: what to run next. */
  nextSteps?: Array<{ command: string; why: string }>;
  /** Markdown and HTML: repair journals to show. */
  journals?: { file: string; journal: Journal }[];
  /** Markdown and HTML: the saved scan the report is rendered from. */
  from?: string;
  /** SARIF: project file for findings whose evidence names none (default README.md). */
  fallbackAnchor?: string;
}

export async function renderReport(
  result: ScanResult,
  format: ReportFormat,
  opts: RenderOptions = {},
): Promise<string> {
  return [...(await renderReportChunks(result, format, opts))].join('');
}

/** The report as pieces of text to write in turn: JSON a finding at a time, Markdown a section at a time. */
export async function renderReportChunks(
  result: ScanResult,
  format: ReportFormat,
  opts: RenderOptions = {},
): Promise<Iterable<string>> {
  const safe = redactResult(result);
  switch (format) {
    case 'json': {
      const { jsonChunks } = await import('./json.js');
      return jsonChunks(safe);
    }
    case 'stylish': {
      const { formatStylish } = await import('./stylish.js');
      return [
        formatStylish(safe, {
          chalk: opts.chalk ?? new Chalk({ level: 0 }),
          quiet: opts.quiet,
          baselineLine: opts.baselineLine,
          nextSteps: opts.nextSteps,
        }),
      ];
    }
    case 'sarif': {
      const [{ formatSarif }, { loadRuleDocs }] = await Promise.all([import('./sarif.js'), import('./rule-docs.js')]);
      return [formatSarif(safe, { rules: await loadRuleDocs(), fallbackAnchor: opts.fallbackAnchor })];
    }
    case 'markdown': {
      const [{ markdownChunks }, { loadRuleDocs }] = await Promise.all([
        import('./markdown.js'),
        import('./rule-docs.js'),
      ]);
      return markdownChunks(safe, { rules: await loadRuleDocs(), journals: opts.journals, from: opts.from });
    }
    case 'html': {
      const [{ htmlChunks }, { loadRuleDocs }] = await Promise.all([import('./html.js'), import('./rule-docs.js')]);
      return htmlChunks(safe, { rules: await loadRuleDocs(), journals: opts.journals, from: opts.from });
    }
  }
}

// `peer-audit report`: its flags, and the incident report written with them.
import { activeConfig } from '../config/config.js';
import { defineCommand, type CliContext } from './cli-context.js';
import { judgedSourceArgs, outputFlags, ruleFlags, sourceFlags } from './flag-groups.js';

export const reportCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'report',
    describe:
      'Write an incident report (Markdown, or one self-contained HTML file): request, claims, timeline, findings by ' +
      'root cause, advice, ' +
      'repairs, sources',
    builder: (y) =>
      ruleFlags(
        outputFlags(
          sourceFlags(y)
            .option('from', {
              type: 'string',
              describe: 'Render a scan saved with `scan --format json` instead of scanning',
            })
            .option('baseline', {
              type: 'string',
              describe:
                'Baseline of accepted findings, left out as in scan (default: peer-audit-baseline.json beside the ' +
                'config, else in the project; --no-baseline for none)',
            })
            .option('journal', {
              type: 'string',
              array: true,
              describe: 'Repair journal to show under "Repairs applied" (repeatable)',
            }),
          {
            default: 'markdown',
            describe: 'Report format (markdown, or html: the incident report as one file that opens in any browser)',
          },
        ),
      )
        .example(
          '$0 report --kv-snapshot kv-snapshot.jsonl --logs logs -o incident.md',
          'Scan and write the incident report',
        )
        .example('$0 report --format html -o incident.html', 'The same report as one HTML file, for any browser')
        .example(
          '$0 report --from scan.json --journal .peer-audit/journal/<id>.json -o incident.md',
          'Report on a saved scan, with the repair applied',
        ),
    handler: async (a) => {
      const { reportCommand } = await import('./report.js');
      cli.exitCode = await reportCommand(
        {
          ...judgedSourceArgs(a),
          from: a.from,
          journals: a.journal,
          baseline: a.baseline as string | false | undefined,
          configDir: activeConfig().dir,
          format: a.format,
          output: a.output,
          failOn: a['fail-on'],
        },
        cli.notice,
      );
    },
  });

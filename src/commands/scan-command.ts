// `peer-audit scan`: its flags, and the scan run with them.
import { activeConfig } from '../config/config.js';
import { defineCommand, type CliContext } from './cli-context.js';
import { judgedSourceArgs, outputFlags, ruleFlags, sourceFlags } from './flag-groups.js';

export const scanCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'scan',
    describe: 'Scan KV state, spec folders and logs for PEER failure modes',
    builder: (y) =>
      ruleFlags(
        outputFlags(sourceFlags(y), {
          default: 'stylish',
          describe: 'Report format: stylish, json, sarif (GitHub code scanning), markdown or html (incident report)',
        }),
      )
        .option('baseline', {
          type: 'string',
          describe:
            'Baseline of accepted findings (default: peer-audit-baseline.json beside the config, ' +
            'else in the project; --no-baseline for none)',
        })
        .option('update-baseline', {
          type: 'boolean',
          default: false,
          describe:
            'Accept every current finding into the baseline (justifications of entries that still match are kept)',
        })
        .option('max-warnings', {
          type: 'number',
          describe: 'Exit 1 when more than this many warnings are reported (after the baseline)',
        })
        .example('$0 scan', 'Scan the current project against the local NATS server')
        .example(
          '$0 scan --update-baseline',
          'Accept the current findings; then write a justification for each in peer-audit-baseline.json',
        )
        .example('$0 scan --max-warnings 0 --quiet', 'In CI: fail on any new warning, print only errors')
        .example(
          '$0 scan --kv-snapshot kv.jsonl --logs "logs/*.jsonl"',
          'Audit offline from a snapshot and saved transcripts',
        )
        .example('$0 scan --format json -o scan.json', 'Machine-readable report for CI')
        .example('$0 scan --format sarif -o peer-audit.sarif', 'For GitHub code scanning (upload-sarif)'),
    handler: async (a) => {
      const out = a.output;
      const { scanCommand } = await import('./scan.js');
      cli.exitCode = await scanCommand(
        {
          ...judgedSourceArgs(a),
          format: a.format,
          output: out,
          failOn: a['fail-on'],
          quiet: a.quiet,
          baseline: a.baseline as string | false | undefined,
          configDir: activeConfig().dir,
          updateBaseline: a['update-baseline'],
          maxWarnings: a['max-warnings'],
        },
        cli.chalk(process.stdout, out !== undefined),
        cli.notice,
      );
    },
  });

// `peer-audit watch`: its flags, and the bucket followed with them.
import { activeConfig } from '../config/config.js';
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags, projectFlag, ruleFlag } from './flag-groups.js';
import { connectArgs } from './options.js';

export const watchCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'watch',
    describe: 'Follow the KV bucket during a PEER run and print each new finding as a write makes it true',
    builder: (y) =>
      connectionFlags(y)
        .option('spec', {
          type: 'string',
          describe: 'Only this spec (keys peer.spec.<name>.*), or a key prefix such as peer.global',
        })
        .option('project', { ...projectFlag, describe: 'Project root (its baseline is applied)' })
        .option('format', {
          alias: 'f',
          choices: ['stylish', 'json'] as const,
          default: 'stylish' as const,
          describe: 'stylish, or json: one JSON object per line',
        })
        .option('initial', {
          type: 'boolean',
          default: false,
          describe: 'Also print the findings already true when the watch starts',
        })
        .option('settle', {
          type: 'string',
          default: '1s',
          describe:
            'Print a new finding once it has stayed true this long (0: at once); ' +
            'a write and the one that completes it are not a finding',
        })
        .option('stale-after', ruleFlag.staleAfter)
        .option('expect-replicas', ruleFlag.expectReplicas)
        .option('expect-history', ruleFlag.expectHistory)
        .option('baseline', {
          type: 'string',
          describe: 'Baseline of accepted findings, not reported (default: as for scan; --no-baseline for none)',
        })
        .example('$0 watch', 'Follow every run in the local bucket; Ctrl-C to stop')
        .example(
          '$0 watch --spec wal-operation-handling-fix --format json | jq .ruleId',
          'One spec, one JSON object per finding',
        ),
    handler: async (a) => {
      const { watchCommand } = await import('./watch.js');
      cli.exitCode = await watchCommand(
        {
          ...connectArgs(a),
          project: a.project,
          spec: a.spec,
          format: a.format,
          initial: a.initial,
          quiet: a.quiet,
          settle: a.settle,
          staleAfter: a['stale-after'],
          expectReplicas: a['expect-replicas'],
          expectHistory: a['expect-history'],
          severities: activeConfig().severities,
          baseline: a.baseline as string | false | undefined,
          configDir: activeConfig().dir,
        },
        cli.chalk(process.stdout),
        { out: (t) => process.stdout.write(t), notice: cli.notice },
      );
    },
  });

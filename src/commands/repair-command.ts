// `peer-audit repair`: its flags, and the repair planned (or applied) with them.
import { activeConfig } from '../config/config.js';
import { defineCommand, type CliContext } from './cli-context.js';
import { evidenceArgs, sourceFlags, writeFlags } from './flag-groups.js';

export const repairCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'repair',
    describe: 'Plan fixes for fixable findings and show them as a diff; write them with --apply',
    builder: (y) =>
      writeFlags(
        sourceFlags(y)
          .option('spec', { type: 'string', describe: 'Only this spec' })
          .option('cycle', { type: 'number', describe: 'Only this cycle' })
          .option('rule', { type: 'string', array: true, describe: 'Only fixes of these rules (repeatable)' }),
      )
        .option('reason', {
          type: 'string',
          describe: 'Why: required with --apply, recorded in the journal and the values',
        })
        .example('$0 repair', 'Show what would be repaired (dry run)')
        .example(
          '$0 repair --spec wal-operation-handling-fix --apply --reason "execute never ran" --yes',
          'Repair one spec',
        ),
    handler: async (a) => {
      const { repairCommand } = await import('./repair.js');
      cli.exitCode = await repairCommand(
        {
          ...evidenceArgs(a),
          severities: activeConfig().severities,
          spec: a.spec,
          cycle: a.cycle,
          rule: a.rule,
          apply: a.apply,
          yes: a.yes,
          reason: a.reason,
        },
        cli.chalk(process.stdout),
        cli.notice,
      );
    },
  });

// `peer-audit undo <journal>`: its flags, and the repair put back with them.
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags, yesFlag } from './flag-groups.js';
import { connectArgs } from './options.js';

export const undoCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'undo <journal>',
    describe: 'Put back exactly what a repair or reopen changed (compare-and-set against what it wrote)',
    builder: (y) =>
      connectionFlags(y)
        .positional('journal', {
          type: 'string',
          demandOption: true,
          describe: 'Journal file (.peer-audit/journal/<id>.json)',
        })
        .option('yes', yesFlag)
        .example('$0 undo .peer-audit/journal/<id>.json', 'Put back what that repair changed'),
    handler: async (a) => {
      const { undoCommand } = await import('./undo.js');
      cli.exitCode = await undoCommand({ ...connectArgs(a), journal: a.journal as string, yes: a.yes }, cli.notice);
    },
  });

// `peer-audit reopen <spec>`: its flags, and the cycle reopened with them.
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags, projectFlag, writeFlags } from './flag-groups.js';
import { connectArgs } from './options.js';

export const reopenCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'reopen <spec>',
    describe: 'Make a cycle resumable: write cycle N+1 carrying the completed phases, so /peer --continue finishes it',
    builder: (y) =>
      writeFlags(
        connectionFlags(y)
          .positional('spec', {
            type: 'string',
            demandOption: true,
            describe: 'Spec name (or a key prefix such as peer.global)',
          })
          .option('project', {
            ...projectFlag,
            describe: 'Project root (the journal goes to <project>/.peer-audit/journal/)',
          })
          .option('cycle', { type: 'number', describe: 'Cycle to reopen (default: the current one)' })
          .option('phase', {
            choices: ['plan', 'execute', 'express', 'review'] as const,
            describe:
              'Phase to resume at (default: the first not completed). v1 state: execute or review only ' +
              '(v1 --continue cannot run plan, nor express without the executor)',
          })
          .option('reason', { type: 'string', describe: 'Why (required; recorded in the journal and the new cycle)' })
          .option('quiet-for', {
            type: 'string',
            default: '10m',
            describe: 'Refuse a cycle written to more recently than this',
          })
          .option('force', {
            type: 'boolean',
            default: false,
            describe: 'Reopen even if the cycle was written to recently',
          }),
      ).example(
        '$0 reopen wal-operation-handling-fix --reason "execute never ran" --apply --yes',
        'Resume the seed incident at execute',
      ),
    handler: async (a) => {
      const { reopenCommand } = await import('./reopen.js');
      cli.exitCode = await reopenCommand(
        {
          spec: a.spec as string,
          project: a.project,
          cycle: a.cycle,
          phase: a.phase,
          reason: a.reason,
          quietFor: a['quiet-for'],
          force: a.force,
          apply: a.apply,
          yes: a.yes,
          ...connectArgs(a),
        },
        cli.notice,
      );
    },
  });

// `peer-audit rules`: its flags, and the rule list printed with them.
import { defineCommand, type CliContext } from './cli-context.js';

export const rulesCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'rules',
    describe: 'List the rules: id, severity, sources, fixable, summary',
    builder: (y) =>
      y
        .option('format', {
          alias: 'f',
          choices: ['stylish', 'json'] as const,
          default: 'stylish' as const,
          describe: 'List format',
        })
        .example('$0 rules', 'One line per rule')
        .example('$0 rules --format json', 'The rule catalogue for other tools'),
    handler: async (a) => {
      const { rulesCommand } = await import('./rules.js');
      cli.exitCode = await rulesCommand(a.format, cli.chalk(process.stdout));
    },
  });

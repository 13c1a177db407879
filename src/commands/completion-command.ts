// `peer-audit completion`: prints the shell script; the words it completes come from completion.ts.
import { defineCommand } from './cli-context.js';

/** `showScript`: yargs' own script writer, which only the command tree can reach. */
export const completionCommandModule = (showScript: () => void) =>
  defineCommand({
    command: 'completion',
    describe:
      'Print a bash or zsh completion script (zsh when $SHELL is zsh); ' +
      'completes commands, flags, rule ids and spec names',
    builder: (y) =>
      y
        .example('$0 completion >> ~/.bashrc', 'Install for bash')
        .example('source <($0 completion)', 'Try it in the current shell'),
    handler: () => {
      showScript();
    },
  });

// The command tree only: global options, middleware, the commands (one module each in commands/), usage errors
// and exit codes.
import { createRequire } from 'node:module';
import { CliExit, SourceFailure, UsageError } from './errors.js';
import { NatsContextError } from './sources/nats-context.js';
import { VERSION } from './version.js';
import { configMiddleware } from './config/config.js';
import { withFlagHints } from './config/suggest.js';
import { completeWords } from './commands/completion.js';
import { checkFlags, type OptionMeta } from './commands/flag-checks.js';
import { escapeControl, escapeLines } from './model/text.js';
import { CliContext } from './commands/cli-context.js';
import { scanCommandModule } from './commands/scan-command.js';
import { reportCommandModule } from './commands/report-command.js';
import { repairCommandModule } from './commands/repair-command.js';
import { reopenCommandModule } from './commands/reopen-command.js';
import { undoCommandModule } from './commands/undo-command.js';
import { snapshotCommandModule } from './commands/snapshot-command.js';
import { doctorCommandModule } from './commands/doctor-command.js';
import { rulesCommandModule } from './commands/rules-command.js';
import { watchCommandModule } from './commands/watch-command.js';
import { completionCommandModule } from './commands/completion-command.js';
import { hookCommandModule } from './commands/hook-command.js';

// yargs' CommonJS build: its help wraps at word boundaries (the ES module build's cuts words in two). Its helpers
// are taken from the same build: the ES module helpers would load a second copy of the parser.
const requireCjs = createRequire(import.meta.url);
const yargs = requireCjs('yargs') as typeof import('yargs').default;
const { hideBin } = requireCjs('yargs/helpers') as typeof import('yargs/helpers');

/** Where a usage error sends the reader: the help of the command that failed, else the general help. */
function helpHint(argv: string[], commands: string[]): string {
  const cmd = argv.find((w) => !w.startsWith('-'));
  return cmd && commands.includes(cmd) ? `peer-audit ${cmd} --help` : 'peer-audit --help';
}

/**
 * Help width: the terminal's, else $COLUMNS, else 100; at most 110. Below 60 columns the description column is
 * narrower than some words (file names, URLs), which the layout would have to cut: lines are then left whole.
 */
function helpWidth(): number | null {
  const cols = process.stdout.columns || Number.parseInt(process.env.COLUMNS ?? '', 10) || 100;
  return cols < 60 ? null : Math.min(110, cols);
}

/** The option names of the command being parsed (for "did you mean" hints). */
function knownOptions(y: unknown): string[] {
  return Object.keys((y as { getOptions?: () => { key: Record<string, unknown> } }).getOptions?.().key ?? {});
}

/** `peer-audit hook` judging an event (not its install or uninstall). */
function isHookRun(argv: string[]): boolean {
  const words = argv.filter((w) => !w.startsWith('-'));
  return words[0] === 'hook' && words[1] !== 'install' && words[1] !== 'uninstall';
}

async function main(argv: string[]): Promise<number> {
  const cli = new CliContext();
  // yargs takes the program name and the command to name in the script (its typings leave them out).
  const showCompletionScript = () =>
    (parser as unknown as { showCompletionScript($0: string, cmd: string): void }).showCompletionScript(
      'peer-audit',
      'completion',
    );
  const commands = [
    scanCommandModule(cli),
    reportCommandModule(cli),
    repairCommandModule(cli),
    reopenCommandModule(cli),
    undoCommandModule(cli),
    snapshotCommandModule(cli),
    doctorCommandModule(cli),
    rulesCommandModule(cli),
    watchCommandModule(cli),
    hookCommandModule(cli),
    completionCommandModule(showCompletionScript),
  ];
  const optionMeta = () => (parser as unknown as { getOptions(): OptionMeta }).getOptions();
  const parser = yargs(argv)
    .scriptName('peer-audit')
    .usage(
      '$0 <command> [options]\n\nAudit Agent OS PEER runs: NATS KV state, spec folders and Claude Code transcripts.',
    )
    .option('color', {
      type: 'boolean',
      describe: 'Force colour on or off (default: on for terminals, off with NO_COLOR)',
    })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Show errors only' })
    .middleware((a) => {
      cli.color = a.color;
    })
    .option('config', {
      type: 'string',
      describe:
        'Config file (default: peer-audit.config.json, looked for from . up to the git root; --no-config for none)',
    })
    .option('print-config', {
      type: 'boolean',
      describe: 'Print the settings in effect (flags > environment > config > defaults) as JSON, then exit',
    })
    // Flag values as typed (before the config fills in the rest): empty paths, choices, numbers, duplicates.
    .middleware((a): void => checkFlags(a, optionMeta(), argv), true)
    // Fills every option not given on the command line from the config; the yargs instance says which took defaults.
    .middleware((a): Promise<void> => configMiddleware(a, parser))
    .command(commands)
    // The completion script asks `peer-audit --get-yargs-completions <words>`; the command itself is the one above.
    .completion('__complete', false, completeWords)
    .example('$0 scan', 'Audit the project in . against the local NATS server')
    .example('$0 watch --format json', 'Follow a run live, one JSON object per new finding')
    .example('$0 <command> --help', 'Options and examples of a command')
    .demandCommand(
      1,
      'Name a command: scan, report, watch, repair, reopen, undo, snapshot, doctor, rules, hook or completion.',
    )
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(helpWidth())
    .fail((msg, err) => {
      throw err ?? new UsageError(msg ? withFlagHints(msg, knownOptions(parser)) : msg);
    });
  try {
    await parser.parseAsync();
    return cli.exitCode;
  } catch (e) {
    const err = e as Error;
    // A hook that exits 2 blocks Claude Code's agent with its stderr: the hook's own failures never do.
    if (isHookRun(argv)) {
      const line = `peer-audit hook: ${escapeControl(err.message.split('\n')[0])}`;
      process.stdout.write(`${JSON.stringify({ systemMessage: line })}\n`);
      return 0;
    }
    if (err instanceof CliExit) {
      const lines = err.message ? err.message.split('\n') : [];
      for (const line of lines) process.stderr.write(`peer-audit: ${escapeControl(line)}\n`);
      return err.code;
    }
    if (err instanceof UsageError || err.name === 'YError') {
      // A usage error can quote what was typed: a hostile argument must not reach the terminal raw.
      const names = commands.map((c) => c.command.split(' ')[0]);
      process.stderr.write(`peer-audit: ${escapeLines(err.message)}\nRun "${helpHint(argv, names)}" for usage.\n`);
      return 2;
    }
    if (err instanceof SourceFailure || err instanceof NatsContextError) {
      process.stderr.write(`peer-audit: ${escapeLines(err.message)}\n`);
      return 2;
    }
    process.stderr.write(`peer-audit: internal error: ${escapeLines(err.message)}\n`);
    if (process.env.PEER_AUDIT_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 2;
  }
}

// A reader that stops reading (`peer-audit scan | head`) closes the pipe: stop writing, quietly, like other tools.
// The exit code is the one a closed pipe gives a shell pipeline's writer (128 + SIGPIPE).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

main(hideBin(process.argv)).then(
  (code) => {
    // Exit explicitly: a NATS socket to a peer that never answered would otherwise keep the process alive.
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`peer-audit: internal error: ${escapeLines((e as Error).message)}\n`);
    process.exit(2);
  },
);

// What every command module gets from the command tree: colour per stream, notices on stderr, and where its
// exit code goes (a yargs handler returns nothing).
import { Chalk, type ChalkInstance } from 'chalk';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { escapeLines } from '../model/text.js';

/** The options every command has, defined by the command tree (cli.ts). */
export interface GlobalFlags {
  color: boolean | undefined;
  quiet: boolean;
}

/** Colour is decided per stream: flag, then NO_COLOR, then FORCE_COLOR, then whether the stream is a terminal. */
export function chalkFor(stream: NodeJS.WriteStream, flag: boolean | undefined, toFile = false): ChalkInstance {
  let on: boolean;
  if (toFile) on = flag === true;
  else if (flag !== undefined) on = flag;
  else if (process.env.NO_COLOR) on = false;
  else if (process.env.FORCE_COLOR !== undefined) {
    on = process.env.FORCE_COLOR !== '0' && process.env.FORCE_COLOR !== 'false';
  } else on = Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
  return new Chalk({ level: on ? 1 : 0 });
}

export class CliContext {
  /** --color / --no-color, once the global middleware has read it. */
  color: boolean | undefined;
  /** Set by the command that ran. */
  exitCode = 0;

  /** Colour for output on `stream`; a report written to a file is plain unless --color asks otherwise. */
  chalk(stream: NodeJS.WriteStream, toFile = false): ChalkInstance {
    return chalkFor(stream, this.color, toFile);
  }

  /** One notice on stderr. Bound: commands take it as a callback. */
  readonly notice = (msg: string): void => {
    const c = this.chalk(process.stderr);
    // Notices quote names, paths and messages from the evidence: escaped, never acted on by the terminal.
    process.stderr.write(`${c.dim('peer-audit:')} ${escapeLines(msg)}\n`);
  };
}

/** A command as the command tree holds it: `command` names it (and its positionals), as yargs takes it. */
export type CliCommand = CommandModule<GlobalFlags, object> & { command: string };

/**
 * A command module whose handler's argv type follows from its builder, so each command's flags are typed where
 * they are read. yargs calls the handler with what the builder declared: the tree may hold it as a CliCommand.
 */
export function defineCommand<U>(m: {
  command: string;
  describe: string;
  builder: (y: Argv<GlobalFlags>) => Argv<U>;
  handler: (a: ArgumentsCamelCase<U>) => void | Promise<void>;
}): CliCommand {
  return m as unknown as CliCommand;
}

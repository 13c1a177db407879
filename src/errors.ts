// The errors that end a command, thrown from any layer. This module imports nothing of ours, so anyone may use it.

/** A flag or argument that cannot be used: exit 2, with a pointer to the help. */
export class UsageError extends Error {}

/**
 * A source or target that could not be used (NATS down, bucket missing, unreadable journal): exit 2, one line.
 * The message is already the line to show; `code` is the underlying error's code, when it had one.
 */
export class SourceFailure extends Error {
  readonly code?: string;
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SourceFailure';
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') this.code = code;
  }
}

/**
 * Ends the command with an exit code and, when there is one, a message for stderr (one line per problem).
 * Thrown from places that cannot return an exit code themselves (yargs middleware, deep in a command).
 */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** A config or baseline file that is missing, unreadable or invalid: exit 2, with the path and the problem. */
export class ConfigError extends CliExit {
  constructor(message: string) {
    super(2, message);
    this.name = 'ConfigError';
  }
}

// The command tree only: flags → options → command. Everything else lives in commands/.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Chalk, type ChalkInstance } from 'chalk';
import { scanCommand, SourceFailure, UsageError } from './commands/scan.js';
import { repairCommand } from './commands/repair.js';
import { undoCommand } from './commands/undo.js';
import { reopenCommand } from './commands/reopen.js';
import { snapshotCommand } from './commands/snapshot.js';
import { rulesCommand } from './commands/rules.js';
import { DEFAULT_BUCKET } from './commands/options.js';
import { VERSION } from './version.js';

const SEVERITIES = ['info', 'warning', 'error'] as const;

/** Colour is decided per stream: flag, then NO_COLOR, then FORCE_COLOR, then whether the stream is a terminal. */
export function chalkFor(stream: NodeJS.WriteStream, flag: boolean | undefined, toFile = false): ChalkInstance {
  let on: boolean;
  if (toFile) on = flag === true;
  else if (flag !== undefined) on = flag;
  else if (process.env.NO_COLOR) on = false;
  else if (process.env.FORCE_COLOR !== undefined) on = process.env.FORCE_COLOR !== '0' && process.env.FORCE_COLOR !== 'false';
  else on = Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
  return new Chalk({ level: on ? 1 : 0 });
}

function notice(msg: string): void {
  const c = chalkFor(process.stderr, colorFlag);
  process.stderr.write(`${c.dim('peer-audit:')} ${msg}\n`);
}

let colorFlag: boolean | undefined;

/** `--logs` globs, `--no-logs` (no transcripts at all), or Claude Code's folder unless --no-default-logs. */
function logChoice(logs: unknown, defaultLogs: boolean): { logs?: string[]; useLogs: boolean } {
  // yargs turns --no-logs on an array option into [false].
  if (logs === false || (Array.isArray(logs) && logs.length > 0 && logs.every((l) => l === false))) return { useLogs: false };
  if (Array.isArray(logs)) return { logs: logs.map(String), useLogs: true };
  return { useLogs: defaultLogs };
}

function connectOptions(y: Argv) {
  return y
    .option('server', { alias: 's', type: 'string', describe: 'NATS server URL(s), comma-separated (default $NATS_URL, else nats://127.0.0.1:4222)' })
    .option('bucket', { type: 'string', default: DEFAULT_BUCKET, describe: 'KV bucket holding PEER state' })
    .option('user', { type: 'string', describe: 'NATS user' })
    .option('password', { type: 'string', describe: 'NATS password' })
    .option('token', { type: 'string', describe: 'NATS token' })
    .option('creds', { type: 'string', describe: 'NATS credentials file' })
    .option('timeout', { type: 'number', default: 5000, describe: 'NATS connect and request timeout in ms' });
}

function sourceOptions(y: Argv) {
  return connectOptions(y)
    .option('project', { alias: 'p', type: 'string', default: '.', describe: 'Project root; its .agent-os/specs/ is the default spec root' })
    .option('specs', { type: 'string', describe: 'Spec root (overrides <project>/.agent-os/specs)' })
    .option('logs', { type: 'string', array: true, describe: "Claude Code JSONL transcripts: a glob, file or folder (repeatable); default: Claude Code's log folder for the project" })
    .option('default-logs', { type: 'boolean', default: true, describe: "Read Claude Code's log folder for the project when --logs is not given (--no-default-logs to skip)" })
    .option('kv-snapshot', { type: 'string', describe: 'Audit a KV snapshot file (from `peer-audit snapshot`) instead of a live server' })
    .option('kv', { type: 'boolean', default: true, describe: 'Read NATS KV state (--no-kv to audit files and logs only)' });
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('peer-audit')
    .usage('$0 <command> [options]\n\nAudit Agent OS PEER runs: NATS KV state, spec folders and Claude Code transcripts.')
    .option('color', { type: 'boolean', describe: 'Force colour on or off (default: on for terminals, off with NO_COLOR)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Show errors only' })
    .middleware((a) => {
      colorFlag = a.color as boolean | undefined;
    })
    .command(
      'scan',
      'Scan KV state, spec folders and logs for PEER failure modes',
      (y) =>
        sourceOptions(y)
          .option('format', { alias: 'f', choices: ['stylish', 'json'] as const, default: 'stylish' as const, describe: 'Report format' })
          .option('output', { alias: 'o', type: 'string', describe: 'Write the report to a file instead of stdout' })
          .option('fail-on', { choices: SEVERITIES, default: 'error' as const, describe: 'Lowest severity that makes the exit code 1' })
          .option('now', { type: 'string', describe: 'Evaluate age-based rules as of this ISO time (default: now)' })
          .option('stale-after', { type: 'string', default: '6h', describe: 'A phase in progress with no update for this long is stale (e.g. 6h, 90m, 2d)' })
          .option('expect-replicas', { type: 'number', default: 3, describe: 'Replicas the bucket should have (PEER creates it with 3)' })
          .example('$0 scan', 'Scan the current project against the local NATS server')
          .example('$0 scan --kv-snapshot kv.jsonl --logs "logs/*.jsonl"', 'Audit offline from a snapshot and saved transcripts')
          .example('$0 scan --format json -o scan.json', 'Machine-readable report for CI'),
      async (a) => {
        const out = a.output;
        exitCode = await scanCommand(
          {
            project: a.project,
            specs: a.specs,
            ...logChoice(a.logs as unknown, a['default-logs']),
            kvSnapshot: a['kv-snapshot'],
            useKv: a.kv,
            now: a.now,
            staleAfter: a['stale-after'],
            expectReplicas: a['expect-replicas'],
            server: a.server,
            bucket: a.bucket,
            user: a.user,
            password: a.password,
            token: a.token,
            creds: a.creds,
            timeout: a.timeout,
            format: a.format,
            output: out,
            failOn: a['fail-on'],
            quiet: a.quiet as boolean,
          },
          chalkFor(process.stdout, colorFlag, out !== undefined),
          notice,
        );
      },
    )
    .command(
      'repair',
      'Plan fixes for fixable findings and show them as a diff; write them with --apply',
      (y) =>
        sourceOptions(y)
          .option('spec', { type: 'string', describe: 'Only this spec' })
          .option('cycle', { type: 'number', describe: 'Only this cycle' })
          .option('rule', { type: 'string', array: true, describe: 'Only fixes of these rules (repeatable)' })
          .option('apply', { type: 'boolean', default: false, describe: 'Write the changes (compare-and-set, journaled)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation' })
          .option('reason', { type: 'string', describe: 'Why: required with --apply, recorded in the journal and the values' })
          .example('$0 repair', 'Show what would be repaired (dry run)')
          .example('$0 repair --spec wal-operation-handling-fix --apply --reason "execute never ran" --yes', 'Repair one spec'),
      async (a) => {
        exitCode = await repairCommand(
          {
            project: a.project,
            specs: a.specs,
            ...logChoice(a.logs as unknown, a['default-logs']),
            kvSnapshot: a['kv-snapshot'],
            useKv: a.kv,
            server: a.server,
            bucket: a.bucket,
            user: a.user,
            password: a.password,
            token: a.token,
            creds: a.creds,
            timeout: a.timeout,
            spec: a.spec,
            cycle: a.cycle,
            rule: a.rule,
            apply: a.apply,
            yes: a.yes,
            reason: a.reason,
          },
          chalkFor(process.stdout, colorFlag),
          notice,
        );
      },
    )
    .command(
      'reopen <spec>',
      'Make a cycle resumable: write cycle N+1 carrying the completed phases, so /peer --continue finishes it',
      (y) =>
        connectOptions(y)
          .positional('spec', { type: 'string', demandOption: true, describe: 'Spec name (or a key prefix such as peer.global)' })
          .option('project', { alias: 'p', type: 'string', default: '.', describe: 'Project root (the journal goes to <project>/.peer-audit/journal/)' })
          .option('cycle', { type: 'number', describe: 'Cycle to reopen (default: the current one)' })
          .option('phase', { choices: ['plan', 'execute', 'express', 'review'] as const, describe: 'Phase to resume at (default: the first not completed)' })
          .option('reason', { type: 'string', describe: 'Why (required; recorded in the journal and the new cycle)' })
          .option('quiet-for', { type: 'string', default: '10m', describe: 'Refuse a cycle written to more recently than this' })
          .option('force', { type: 'boolean', default: false, describe: 'Reopen even if the cycle was written to recently' })
          .option('apply', { type: 'boolean', default: false, describe: 'Write the changes (compare-and-set, journaled)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation' })
          .example('$0 reopen wal-operation-handling-fix --reason "execute never ran" --apply --yes', 'Resume the seed incident at execute'),
      async (a) => {
        exitCode = await reopenCommand(
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
            server: a.server,
            bucket: a.bucket,
            user: a.user,
            password: a.password,
            token: a.token,
            creds: a.creds,
            timeout: a.timeout,
          },
          notice,
        );
      },
    )
    .command(
      'undo <journal>',
      'Put back exactly what a repair or reopen changed (compare-and-set against what it wrote)',
      (y) =>
        connectOptions(y)
          .positional('journal', { type: 'string', demandOption: true, describe: 'Journal file (.peer-audit/journal/<id>.json)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation' }),
      async (a) => {
        exitCode = await undoCommand(
          { journal: a.journal as string, yes: a.yes, server: a.server, bucket: a.bucket, user: a.user, password: a.password, token: a.token, creds: a.creds, timeout: a.timeout },
          notice,
        );
      },
    )
    .command(
      'snapshot',
      'Write the KV bucket (values, revisions, times, history) to one file for offline audits',
      (y) =>
        connectOptions(y)
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Snapshot file to write' })
          .example('$0 snapshot -o peer-state.jsonl', 'Snapshot the local bucket'),
      async (a) => {
        exitCode = await snapshotCommand(
          { server: a.server, bucket: a.bucket, user: a.user, password: a.password, token: a.token, creds: a.creds, timeout: a.timeout, output: a.output },
          notice,
        );
      },
    )
    .command(
      'rules',
      'List the rules: id, severity, sources, fixable, summary',
      (y) => y.option('format', { alias: 'f', choices: ['stylish', 'json'] as const, default: 'stylish' as const }),
      async (a) => {
        exitCode = await rulesCommand(a.format, chalkFor(process.stdout, colorFlag));
      },
    )
    .demandCommand(1, 'Name a command: scan, repair, reopen, undo, snapshot or rules.')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err.name === 'YError') {
      process.stderr.write(`peer-audit: ${err.message}\nRun "peer-audit --help" for usage.\n`);
      return 2;
    }
    if (err instanceof SourceFailure) {
      process.stderr.write(`peer-audit: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`peer-audit: internal error: ${err.message}\n`);
    if (process.env.PEER_AUDIT_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 2;
  }
}

main(hideBin(process.argv)).then(
  (code) => {
    // Exit explicitly: a NATS socket to a peer that never answered would otherwise keep the process alive.
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`peer-audit: internal error: ${(e as Error).message}\n`);
    process.exit(2);
  },
);

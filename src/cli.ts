// The command tree only: flags → options → command. Everything else lives in commands/.
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Chalk, type ChalkInstance } from 'chalk';
import { scanCommand } from './commands/scan.js';
import { reportCommand } from './commands/report.js';
import { REPORT_FORMATS } from './report/format.js';
import { repairCommand } from './commands/repair.js';
import { undoCommand } from './commands/undo.js';
import { reopenCommand } from './commands/reopen.js';
import { snapshotCommand } from './commands/snapshot.js';
import { snapshotRestoreCommand } from './commands/snapshot-restore.js';
import { rulesCommand } from './commands/rules.js';
import { connectArgs, DEFAULT_BUCKET } from './commands/options.js';
import { doctorCommand } from './commands/doctor.js';
import { NatsContextError } from './sources/nats-context.js';
import { VERSION } from './version.js';
import { activeConfig, configMiddleware } from './config/config.js';
import { CliExit, SourceFailure, UsageError } from './errors.js';
import { withFlagHints } from './config/suggest.js';
import { watchCommand } from './commands/watch.js';
import { completeWords } from './commands/completion.js';
import { escapeControl, escapeLines } from './model/text.js';

// yargs' CommonJS build: its help wraps at word boundaries (the ES module build's cuts words in two).
const yargs = createRequire(import.meta.url)('yargs') as typeof import('yargs').default;
import { checkFlags, type OptionMeta } from './commands/flag-checks.js';

const COMMANDS = ['scan', 'report', 'repair', 'reopen', 'undo', 'snapshot', 'doctor', 'rules', 'watch', 'completion'];

/** Where a usage error sends the reader: the help of the command that failed, else the general help. */
function helpHint(argv: string[]): string {
  const cmd = argv.find((w) => !w.startsWith('-'));
  return cmd && COMMANDS.includes(cmd) ? `peer-audit ${cmd} --help` : 'peer-audit --help';
}

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
  // Notices quote names, paths and messages from the evidence: escaped, never acted on by the terminal.
  process.stderr.write(`${c.dim('peer-audit:')} ${escapeLines(msg)}\n`);
}

let colorFlag: boolean | undefined;

/**
 * Help width: the terminal's, else $COLUMNS, else 100; at most 110. Below 60 columns the description column is
 * narrower than some words (file names, URLs), which the layout would have to cut: lines are then left whole.
 */
function helpWidth(): number | null {
  const cols = process.stdout.columns || Number.parseInt(process.env.COLUMNS ?? '', 10) || 100;
  return cols < 60 ? null : Math.min(110, cols);
}

/** The evidence flags every scanning command shares: project, specs, logs, KV (live or snapshot). */
function evidenceArgs(a: Record<string, unknown>) {
  return {
    project: a.project as string,
    specs: a.specs as string | undefined,
    ...logChoice(a.logs, a['default-logs'] as boolean),
    kvSnapshot: a['kv-snapshot'] as string | undefined,
    useKv: a.kv as boolean,
    allRuns: a['all-runs'] === true,
    allowUnknownKeys: a['allow-unknown-keys'] === true,
    ...connectArgs(a as Parameters<typeof connectArgs>[0]),
  };
}

/** Evidence flags plus what the rules are judged with (times, expectations, severities). */
function judgedSourceArgs(a: Record<string, unknown>) {
  return {
    ...evidenceArgs(a),
    now: a.now as string | undefined,
    staleAfter: a['stale-after'] as string | undefined,
    expectReplicas: a['expect-replicas'] as number | undefined,
    expectHistory: a['expect-history'] as number | undefined,
    severities: activeConfig().severities,
  };
}

/** `--logs` globs, `--no-logs` (no transcripts at all), or Claude Code's folder unless --no-default-logs. */
function logChoice(logs: unknown, defaultLogs: boolean): { logs?: string[]; useLogs: boolean } {
  // yargs turns --no-logs on an array option into [false].
  if (logs === false || (Array.isArray(logs) && logs.length > 0 && logs.every((l) => l === false))) return { useLogs: false };
  if (Array.isArray(logs)) return { logs: logs.map(String), useLogs: true };
  return { useLogs: defaultLogs };
}

/** Every command that connects takes these; connectArgs() (commands/options.ts) reads them back. */
function connectOptions(y: Argv) {
  return y
    .option('server', { alias: 's', type: 'string', describe: 'NATS server URL(s), comma-separated (default $NATS_URL, then the NATS context, else nats://127.0.0.1:4222)' })
    .option('bucket', { type: 'string', default: DEFAULT_BUCKET, describe: 'KV bucket holding PEER state' })
    .option('context', { type: 'string', describe: "NATS context: a name from the nats CLI's contexts or a context .json file (default $NATS_CONTEXT, else the nats CLI's selected context; --no-context for none)" })
    .option('user', { type: 'string', describe: 'NATS user (default $NATS_USER)' })
    .option('password', { type: 'string', describe: 'NATS password (default $NATS_PASSWORD)' })
    .option('token', { type: 'string', describe: 'NATS token (default $NATS_TOKEN)' })
    .option('creds', { type: 'string', describe: 'NATS credentials file (default $NATS_CREDS)' })
    .option('nkey', { type: 'string', describe: 'NKey seed file (default $NATS_NKEY)' })
    .option('tlscert', { type: 'string', describe: 'TLS client certificate, PEM (default $NATS_CERT)' })
    .option('tlskey', { type: 'string', describe: 'TLS client key, PEM (default $NATS_KEY)' })
    .option('tlsca', { type: 'string', describe: 'CA that signed the server certificate, PEM (default $NATS_CA)' })
    .option('tlsfirst', { type: 'boolean', describe: 'TLS handshake before the NATS protocol (server option handshake_first)' })
    .option('js-domain', { type: 'string', describe: 'JetStream domain' })
    .option('js-api-prefix', { type: 'string', describe: 'JetStream API prefix (an imported JetStream)' })
    .option('inbox-prefix', { type: 'string', describe: 'Prefix for reply subjects (default _INBOX)' })
    .option('timeout', { type: 'number', default: 5000, describe: 'NATS connect and request timeout in ms' });
}

function sourceOptions(y: Argv) {
  return connectOptions(y)
    .option('project', { alias: 'p', type: 'string', default: '.', describe: 'Project root; its .agent-os/specs/ is the default spec root' })
    .option('specs', { type: 'string', describe: 'Spec root (overrides <project>/.agent-os/specs)' })
    .option('logs', { type: 'string', array: true, describe: "Claude Code JSONL transcripts: a glob, file or folder (repeatable); default: Claude Code's log folder for the project" })
    .option('default-logs', { type: 'boolean', default: true, describe: "Read Claude Code's log folder for the project when --logs is not given (--no-default-logs to skip)" })
    .option('kv-snapshot', { type: 'string', describe: 'Audit a KV snapshot file (from `peer-audit snapshot`) instead of a live server' })
    .option('kv', { type: 'boolean', default: true, describe: 'Read NATS KV state (--no-kv to audit files and logs only)' })
    .option('all-runs', { type: 'boolean', default: false, describe: "Audit every run in the bucket, not only this project's (runs with a spec folder here or named in its transcripts)" })
    .option('allow-unknown-keys', { type: 'boolean', default: false, describe: 'PEER keys (peer.*) that no known layout explains do not make the scan incomplete' });
}

/** The option names of the command being parsed (for "did you mean" hints). */
function knownOptions(y: unknown): string[] {
  return Object.keys((y as { getOptions?: () => { key: Record<string, unknown> } }).getOptions?.().key ?? {});
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
    .option('config', { type: 'string', describe: 'Config file (default: peer-audit.config.json, looked for from . up to the git root; --no-config for none)' })
    .option('print-config', { type: 'boolean', describe: 'Print the settings in effect (flags > environment > config > defaults) as JSON, then exit' })
    // Fills every option not given on the command line from the config; the yargs instance says which took defaults.
    // Flag values as typed (before the config fills in the rest): empty paths, choices, numbers, duplicates.
    .middleware((a): void => checkFlags(a, (parser as unknown as { getOptions(): OptionMeta }).getOptions(), argv), true)
    .middleware((a): Promise<void> => configMiddleware(a, parser))
    .command(
      'scan',
      'Scan KV state, spec folders and logs for PEER failure modes',
      (y) =>
        sourceOptions(y)
          .option('format', { alias: 'f', choices: REPORT_FORMATS, default: 'stylish' as const, describe: 'Report format: stylish, json, sarif (GitHub code scanning) or markdown (incident report)' })
          .option('output', { alias: 'o', type: 'string', describe: 'Write the report to a file instead of stdout' })
          .option('fail-on', { choices: SEVERITIES, default: 'error' as const, describe: 'Lowest severity that makes the exit code 1' })
          .option('now', { type: 'string', describe: 'Evaluate age-based rules as of this ISO time (default: now)' })
          .option('stale-after', { type: 'string', default: '6h', describe: 'A phase in progress with no update for this long is stale (e.g. 6h, 90m, 2d)' })
          .option('expect-replicas', { type: 'number', default: 3, describe: 'Replicas the bucket should have (PEER creates it with 3)' })
          .option('expect-history', { type: 'number', default: 50, describe: 'History the bucket should keep (PEER creates it with 50)' })
          .option('baseline', { type: 'string', describe: 'Baseline of accepted findings (default: peer-audit-baseline.json beside the config, else in the project; --no-baseline for none)' })
          .option('update-baseline', { type: 'boolean', default: false, describe: 'Accept every current finding into the baseline (justifications of entries that still match are kept)' })
          .option('max-warnings', { type: 'number', describe: 'Exit 1 when more than this many warnings are reported (after the baseline)' })
          .example('$0 scan', 'Scan the current project against the local NATS server')
          .example('$0 scan --update-baseline', 'Accept the current findings; then write a justification for each in peer-audit-baseline.json')
          .example('$0 scan --max-warnings 0 --quiet', 'In CI: fail on any new warning, print only errors')
          .example('$0 scan --kv-snapshot kv.jsonl --logs "logs/*.jsonl"', 'Audit offline from a snapshot and saved transcripts')
          .example('$0 scan --format json -o scan.json', 'Machine-readable report for CI')
          .example('$0 scan --format sarif -o peer-audit.sarif', 'For GitHub code scanning (upload-sarif)'),
      async (a) => {
        const out = a.output;
        exitCode = await scanCommand(
          {
            ...judgedSourceArgs(a),
            format: a.format,
            output: out,
            failOn: a['fail-on'],
            quiet: a.quiet as boolean,
            baseline: a.baseline as string | false | undefined,
            configDir: activeConfig().dir,
            updateBaseline: a['update-baseline'],
            maxWarnings: a['max-warnings'],
          },
          chalkFor(process.stdout, colorFlag, out !== undefined),
          notice,
        );
      },
    )
    .command(
      'report',
      'Write an incident report (Markdown): request, claims, timeline, findings by root cause, advice, repairs, sources',
      (y) =>
        sourceOptions(y)
          .option('from', { type: 'string', describe: 'Render a scan saved with `scan --format json` instead of scanning' })
          .option('journal', { type: 'string', array: true, describe: 'Repair journal to show under "Repairs applied" (repeatable)' })
          .option('format', { alias: 'f', choices: REPORT_FORMATS, default: 'markdown' as const, describe: 'Report format (markdown: the incident report)' })
          .option('output', { alias: 'o', type: 'string', describe: 'Write the report to a file instead of stdout' })
          .option('fail-on', { choices: SEVERITIES, default: 'error' as const, describe: 'Lowest severity that makes the exit code 1' })
          .option('now', { type: 'string', describe: 'Evaluate age-based rules as of this ISO time (default: now)' })
          .option('stale-after', { type: 'string', default: '6h', describe: 'A phase in progress with no update for this long is stale (e.g. 6h, 90m, 2d)' })
          .option('expect-replicas', { type: 'number', default: 3, describe: 'Replicas the bucket should have (PEER creates it with 3)' })
          .option('expect-history', { type: 'number', default: 50, describe: 'History the bucket should keep (PEER creates it with 50)' })
          .example('$0 report --kv-snapshot kv-snapshot.jsonl --logs logs -o incident.md', 'Scan and write the incident report')
          .example('$0 report --from scan.json --journal .peer-audit/journal/<id>.json -o incident.md', 'Report on a saved scan, with the repair applied'),
      async (a) => {
        exitCode = await reportCommand(
          {
            ...judgedSourceArgs(a),
            from: a.from,
            journals: a.journal,
            format: a.format,
            output: a.output,
            failOn: a['fail-on'],
          },
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
            ...evidenceArgs(a),
            severities: activeConfig().severities,
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
          .option('phase', { choices: ['plan', 'execute', 'express', 'review'] as const, describe: 'Phase to resume at (default: the first not completed). v1 state: execute or review only (v1 --continue cannot run plan, nor express without the executor)' })
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
            ...connectArgs(a),
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
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation' })
          .example('$0 undo .peer-audit/journal/<id>.json', 'Put back what that repair changed'),
      async (a) => {
        exitCode = await undoCommand(
          { ...connectArgs(a), journal: a.journal as string, yes: a.yes },
          notice,
        );
      },
    )
    .command(
      'snapshot',
      'Write the KV bucket (values, revisions, times, history) to one file for offline audits',
      (y) =>
        connectOptions(y)
          .option('output', { alias: 'o', type: 'string', describe: 'Snapshot file to write' })
          .option('restore', { type: 'string', describe: 'Load this snapshot into --bucket instead (created with the snapshot\'s settings when missing; revisions get new numbers and times)' })
          .option('force', { type: 'boolean', default: false, describe: 'With --restore: write into a bucket that already holds keys' })
          .conflicts('output', 'restore')
          .check((a) => {
            if (a.output === undefined && a.restore === undefined) throw new UsageError('Give -o FILE to write a snapshot, or --restore FILE to load one.');
            return true;
          })
          .example('$0 snapshot -o peer-state.jsonl', 'Snapshot the local bucket')
          .example('$0 snapshot --restore kv-snapshot.jsonl --bucket demo', 'Load a snapshot (a bundled incident\'s) into bucket demo, on a live server'),
      async (a) => {
        exitCode =
          a.restore !== undefined
            ? await snapshotRestoreCommand({ ...connectArgs(a), restore: a.restore, force: a.force }, notice)
            : await snapshotCommand({ ...connectArgs(a), output: a.output as string }, notice);
      },
    )
    .command(
      'doctor',
      'Check that a scan can read everything: NATS, JetStream, the bucket and its settings, clocks, spec and log folders',
      (y) =>
        connectOptions(y)
          .option('project', { alias: 'p', type: 'string', default: '.', describe: 'Project root; its .agent-os/specs/ is the default spec root' })
          .option('specs', { type: 'string', describe: 'Spec root (overrides <project>/.agent-os/specs)' })
          .option('logs', { type: 'string', array: true, describe: "Claude Code JSONL transcripts: a glob, file or folder (repeatable); default: Claude Code's log folder for the project" })
          .option('default-logs', { type: 'boolean', default: true, describe: "Check Claude Code's log folder for the project when --logs is not given (--no-default-logs to skip)" })
          .option('expect-replicas', { type: 'number', default: 3, describe: 'Replicas the bucket should have (PEER creates it with 3)' })
          .example('$0 doctor', 'Check the local NATS server, the bucket and the project in .')
          .example('$0 doctor --context prod --project ~/src/app', 'Check through a nats CLI context'),
      async (a) => {
        exitCode = await doctorCommand(
          {
            ...connectArgs(a),
            project: a.project,
            specs: a.specs,
            ...logChoice(a.logs as unknown, a['default-logs']),
            expectReplicas: a['expect-replicas'],
          },
          chalkFor(process.stdout, colorFlag),
        );
      },
    )
    .command(
      'rules',
      'List the rules: id, severity, sources, fixable, summary',
      (y) =>
        y
          .option('format', { alias: 'f', choices: ['stylish', 'json'] as const, default: 'stylish' as const, describe: 'List format' })
          .example('$0 rules', 'One line per rule')
          .example('$0 rules --format json', 'The rule catalogue for other tools'),
      async (a) => {
        exitCode = await rulesCommand(a.format, chalkFor(process.stdout, colorFlag));
      },
    )
    .command(
      'watch',
      'Follow the KV bucket during a PEER run and print each new finding as a write makes it true',
      (y) =>
        connectOptions(y)
          .option('spec', { type: 'string', describe: 'Only this spec (keys peer.spec.<name>.*), or a key prefix such as peer.global' })
          .option('project', { alias: 'p', type: 'string', default: '.', describe: 'Project root (its baseline is applied)' })
          .option('format', { alias: 'f', choices: ['stylish', 'json'] as const, default: 'stylish' as const, describe: 'stylish, or json: one JSON object per line' })
          .option('initial', { type: 'boolean', default: false, describe: 'Also print the findings already true when the watch starts' })
          .option('settle', { type: 'string', default: '1s', describe: 'Print a new finding once it has stayed true this long (0: at once); a write and the one that completes it are not a finding' })
          .option('stale-after', { type: 'string', default: '6h', describe: 'A phase in progress with no update for this long is stale (e.g. 6h, 90m, 2d)' })
          .option('expect-replicas', { type: 'number', default: 3, describe: 'Replicas the bucket should have (PEER creates it with 3)' })
          .option('expect-history', { type: 'number', default: 50, describe: 'History the bucket should keep (PEER creates it with 50)' })
          .option('baseline', { type: 'string', describe: 'Baseline of accepted findings, not reported (default: as for scan; --no-baseline for none)' })
          .example('$0 watch', 'Follow every run in the local bucket; Ctrl-C to stop')
          .example('$0 watch --spec wal-operation-handling-fix --format json | jq .ruleId', 'One spec, one JSON object per finding'),
      async (a) => {
        exitCode = await watchCommand(
          {
            ...connectArgs(a),
            project: a.project,
            spec: a.spec,
            format: a.format,
            initial: a.initial,
            quiet: a.quiet as boolean,
            settle: a.settle,
            staleAfter: a['stale-after'],
            expectReplicas: a['expect-replicas'],
            expectHistory: a['expect-history'],
            severities: activeConfig().severities,
            baseline: a.baseline as string | false | undefined,
            configDir: activeConfig().dir,
          },
          chalkFor(process.stdout, colorFlag),
          { out: (t) => process.stdout.write(t), notice },
        );
      },
    )
    .command(
      'completion',
      'Print a bash or zsh completion script (zsh when $SHELL is zsh); completes commands, flags, rule ids and spec names',
      (y) =>
        y
          .example('$0 completion >> ~/.bashrc', 'Install for bash')
          .example('source <($0 completion)', 'Try it in the current shell'),
      () => {
        // yargs takes the program name and the command to name in the script (its typings leave them out).
        (parser as unknown as { showCompletionScript($0: string, cmd: string): void }).showCompletionScript('peer-audit', 'completion');
      },
    )
    // The completion script asks `peer-audit --get-yargs-completions <words>`; the command itself is the one above.
    .completion('__complete', false, completeWords)
    .example('$0 scan', 'Audit the project in . against the local NATS server')
    .example('$0 watch --format json', 'Follow a run live, one JSON object per new finding')
    .example('$0 <command> --help', 'Options and examples of a command')
    .demandCommand(1, 'Name a command: scan, report, watch, repair, reopen, undo, snapshot, doctor, rules or completion.')
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
    return exitCode;
  } catch (e) {
    const err = e as Error;
    if (err instanceof CliExit) {
      for (const line of err.message ? err.message.split('\n') : []) process.stderr.write(`peer-audit: ${escapeControl(line)}\n`);
      return err.code;
    }
    if (err instanceof UsageError || err.name === 'YError') {
      // A usage error can quote what was typed: a hostile argument must not reach the terminal raw.
      process.stderr.write(`peer-audit: ${escapeLines(err.message)}\nRun "${helpHint(argv)}" for usage.\n`);
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

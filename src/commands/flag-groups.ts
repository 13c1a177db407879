// The flags several commands share, defined once: connection, evidence sources, rule options, report output.
// Each group adds its flags in the order `--help` lists them. The functions at the end read the groups back
// out of a parsed command line into the options the commands take.
import type { Argv } from 'yargs';
import { DEFAULT_RULE_OPTIONS } from '../engine/rule.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/format.js';
import { activeConfig } from '../config/config.js';
import { connectArgs, DEFAULT_BUCKET } from './options.js';

export const SEVERITIES = ['info', 'warning', 'error'] as const;

/** Every command that connects takes these; connectArgs() (commands/options.ts) reads them back. */
export function connectionFlags<T>(y: Argv<T>) {
  return y
    .option('server', {
      alias: 's',
      type: 'string',
      describe:
        'NATS server URL(s), comma-separated (default $NATS_URL, then the NATS context, else nats://127.0.0.1:4222)',
    })
    .option('bucket', { type: 'string', default: DEFAULT_BUCKET, describe: 'KV bucket holding PEER state' })
    .option('context', {
      type: 'string',
      describe:
        "NATS context: a name from the nats CLI's contexts or a context .json file (default $NATS_CONTEXT, " +
        "else the nats CLI's selected context; --no-context for none)",
    })
    .option('user', { type: 'string', describe: 'NATS user (default $NATS_USER)' })
    .option('password', { type: 'string', describe: 'NATS password (default $NATS_PASSWORD)' })
    .option('token', { type: 'string', describe: 'NATS token (default $NATS_TOKEN)' })
    .option('creds', { type: 'string', describe: 'NATS credentials file (default $NATS_CREDS)' })
    .option('nkey', { type: 'string', describe: 'NKey seed file (default $NATS_NKEY)' })
    .option('tlscert', { type: 'string', describe: 'TLS client certificate, PEM (default $NATS_CERT)' })
    .option('tlskey', { type: 'string', describe: 'TLS client key, PEM (default $NATS_KEY)' })
    .option('tlsca', { type: 'string', describe: 'CA that signed the server certificate, PEM (default $NATS_CA)' })
    .option('tlsfirst', {
      type: 'boolean',
      describe: 'TLS handshake before the NATS protocol (server option handshake_first)',
    })
    .option('js-domain', { type: 'string', describe: 'JetStream domain' })
    .option('js-api-prefix', { type: 'string', describe: 'JetStream API prefix (an imported JetStream)' })
    .option('inbox-prefix', { type: 'string', describe: 'Prefix for reply subjects (default _INBOX)' })
    .option('timeout', { type: 'number', default: 5000, describe: 'NATS connect and request timeout in ms' });
}

/** `--project`: what it is the root of differs per command, so each says it in its own words. */
export const projectFlag = { alias: 'p', type: 'string', default: '.' } as const;

/**
 * The evidence on disk: the project, its spec root and the Claude Code transcripts. `logFolder` says what the
 * command does with Claude Code's log folder when --logs is not given (doctor checks it, the others read it).
 */
export function localSourceFlags<T>(y: Argv<T>, logFolder: 'Read' | 'Check' = 'Read') {
  return y
    .option('project', { ...projectFlag, describe: 'Project root; its .agent-os/specs/ is the default spec root' })
    .option('specs', { type: 'string', describe: 'Spec root (overrides <project>/.agent-os/specs)' })
    .option('logs', {
      type: 'string',
      array: true,
      describe:
        'Claude Code JSONL transcripts: a glob, file or folder (repeatable); ' +
        "default: Claude Code's log folder for the project",
    })
    .option('default-logs', {
      type: 'boolean',
      default: true,
      describe:
        `${logFolder} Claude Code's log folder for the project when --logs is not given ` +
        `(--no-default-logs to skip)`,
    });
}

/** Every source a scan reads: the connection, the evidence on disk, and how KV state is read. */
export function sourceFlags<T>(y: Argv<T>) {
  return localSourceFlags(connectionFlags(y))
    .option('kv-snapshot', {
      type: 'string',
      describe: 'Audit a KV snapshot file (from `peer-audit snapshot`) instead of a live server',
    })
    .option('files', {
      type: 'string',
      array: true,
      describe:
        'Also search repository files for heredoc residue: a glob relative to the project (repeatable; ' +
        '.gitignore is honoured, binary files are skipped; --no-files for none)',
    })
    .option('kv', {
      type: 'boolean',
      default: true,
      describe: 'Read NATS KV state (--no-kv to audit files and logs only)',
    })
    .option('all-runs', {
      type: 'boolean',
      default: false,
      describe:
        "Audit every run in the bucket, not only this project's " +
        '(runs with a spec folder here or named in its transcripts)',
    })
    .option('allow-unknown-keys', {
      type: 'boolean',
      default: false,
      describe: 'PEER keys (peer.*) that no known layout explains do not make the scan incomplete',
    });
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 21600000 → "6h": the largest unit that says a duration in whole numbers, as --stale-after takes it. */
function durationText(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}

/** What the rules are judged with; the defaults are the rules' own (DEFAULT_RULE_OPTIONS). */
export const ruleFlag = {
  now: { type: 'string', describe: 'Evaluate age-based rules as of this ISO time (default: now)' },
  staleAfter: {
    type: 'string',
    default: durationText(DEFAULT_RULE_OPTIONS.staleAfterMs),
    describe: 'A phase in progress with no update for this long is stale (e.g. 6h, 90m, 2d)',
  },
  expectReplicas: {
    type: 'number',
    default: DEFAULT_RULE_OPTIONS.expectReplicas,
    describe: `Replicas the bucket should have (PEER creates it with ${DEFAULT_RULE_OPTIONS.expectReplicas})`,
  },
  expectHistory: {
    type: 'number',
    default: DEFAULT_RULE_OPTIONS.expectHistory,
    describe: `History the bucket should keep (PEER creates it with ${DEFAULT_RULE_OPTIONS.expectHistory})`,
  },
} as const;

/** Every rule option, for the commands that judge the evidence once (scan, report). */
export function ruleFlags<T>(y: Argv<T>) {
  return y
    .option('now', ruleFlag.now)
    .option('stale-after', ruleFlag.staleAfter)
    .option('expect-replicas', ruleFlag.expectReplicas)
    .option('expect-history', ruleFlag.expectHistory);
}

/** Where a report goes and in which format, and which findings fail the run. */
export function outputFlags<T, F extends ReportFormat>(y: Argv<T>, format: { default: F; describe: string }) {
  return y
    .option('format', { alias: 'f', choices: REPORT_FORMATS, default: format.default, describe: format.describe })
    .option('output', { alias: 'o', type: 'string', describe: 'Write the report to a file instead of stdout' })
    .option('fail-on', {
      choices: SEVERITIES,
      default: 'error' as const,
      describe: 'Lowest severity that makes the exit code 1',
    });
}

/** The commands that write: --apply to write at all, --yes to skip the question. */
export const yesFlag = {
  alias: 'y',
  type: 'boolean',
  default: false,
  describe: 'Do not ask for confirmation',
} as const;

export function writeFlags<T>(y: Argv<T>) {
  return y
    .option('apply', { type: 'boolean', default: false, describe: 'Write the changes (compare-and-set, journaled)' })
    .option('yes', yesFlag);
}

// ---------------------------------------------------------------- read back

/** `--logs` globs, `--no-logs` (no transcripts at all), or Claude Code's folder unless --no-default-logs. */
export function logChoice(logs: unknown, defaultLogs: boolean): { logs?: string[]; useLogs: boolean } {
  // yargs turns --no-logs on an array option into [false].
  const noLogs = logs === false || (Array.isArray(logs) && logs.length > 0 && logs.every((l) => l === false));
  if (noLogs) return { useLogs: false };
  if (Array.isArray(logs)) return { logs: logs.map(String), useLogs: true };
  return { useLogs: defaultLogs };
}

/** The evidence flags every scanning command shares: project, specs, logs, KV (live or snapshot). */
export function evidenceArgs(a: Record<string, unknown>) {
  return {
    project: a.project as string,
    specs: a.specs as string | undefined,
    ...logChoice(a.logs, a['default-logs'] as boolean),
    // --no-files arrives as [false].
    files: Array.isArray(a.files) ? a.files.filter((g): g is string => typeof g === 'string') : undefined,
    kvSnapshot: a['kv-snapshot'] as string | undefined,
    useKv: a.kv as boolean,
    allRuns: a['all-runs'] === true,
    allowUnknownKeys: a['allow-unknown-keys'] === true,
    ...connectArgs(a as Parameters<typeof connectArgs>[0]),
  };
}

/** Evidence flags plus what the rules are judged with (times, expectations, severities). */
export function judgedSourceArgs(a: Record<string, unknown>) {
  return {
    ...evidenceArgs(a),
    now: a.now as string | undefined,
    staleAfter: a['stale-after'] as string | undefined,
    expectReplicas: a['expect-replicas'] as number | undefined,
    expectHistory: a['expect-history'] as number | undefined,
    severities: activeConfig().severities,
  };
}

// `peer-audit snapshot`: its flags, and the bucket written to a file (or a file loaded into it) with them.
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags } from './flag-groups.js';
import { connectArgs } from './options.js';
import { UsageError } from '../errors.js';

export const snapshotCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'snapshot',
    describe: 'Write the KV bucket (values, revisions, times, history) to one file for offline audits',
    builder: (y) =>
      connectionFlags(y)
        .option('output', { alias: 'o', type: 'string', describe: 'Snapshot file to write' })
        .option('restore', {
          type: 'string',
          describe:
            "Load this snapshot into --bucket instead (created with the snapshot's settings when missing; " +
            'revisions get new numbers and times)',
        })
        .option('force', {
          type: 'boolean',
          default: false,
          describe: 'With --restore: write into a bucket that already holds keys',
        })
        .conflicts('output', 'restore')
        .check((a) => {
          if (a.output === undefined && a.restore === undefined) {
            throw new UsageError('Give -o FILE to write a snapshot, or --restore FILE to load one.');
          }
          return true;
        })
        .example('$0 snapshot -o peer-state.jsonl', 'Snapshot the local bucket')
        .example(
          '$0 snapshot --restore kv-snapshot.jsonl --bucket demo',
          "Load a snapshot (a bundled incident's) into bucket demo, on a live server",
        ),
    handler: async (a) => {
      if (a.restore !== undefined) {
        const { snapshotRestoreCommand } = await import('./snapshot-restore.js');
        cli.exitCode = await snapshotRestoreCommand(
          { ...connectArgs(a), restore: a.restore, force: a.force },
          cli.notice,
        );
      } else {
        const { snapshotCommand } = await import('./snapshot.js');
        cli.exitCode = await snapshotCommand({ ...connectArgs(a), output: a.output as string }, cli.notice);
      }
    },
  });

// A project folder holding the seed incident's spec folders and KV snapshot, inside a git work tree of its own.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/cli.js';

export const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');

/** `<tmp>/.git/` (empty: enough to mark the git root), `.agent-os/`, `kv-snapshot.jsonl`, and `logs/` with `withLogs`. */
export async function seedProject(opts: { withLogs?: boolean; git?: boolean } = {}): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-cfg-'));
  if (opts.git !== false) await fs.mkdir(path.join(root, '.git'));
  await fs.cp(path.join(SEED, '.agent-os'), path.join(root, '.agent-os'), { recursive: true });
  await fs.copyFile(path.join(SEED, 'kv-snapshot.jsonl'), path.join(root, 'kv-snapshot.jsonl'));
  if (opts.withLogs) await fs.cp(path.join(SEED, 'logs'), path.join(root, 'logs'), { recursive: true });
  return root;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
}

/** The offline scan every test here runs: the snapshot, no transcripts. */
export const OFFLINE = ['--kv-snapshot', 'kv-snapshot.jsonl', '--no-default-logs'];

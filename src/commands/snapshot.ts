import path from 'node:path';
import { readKvLive } from '../sources/kv.js';
import { writeSnapshot } from '../sources/snapshot.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { checkOutputFile } from './output.js';
import { escapeControl } from '../model/text.js';

export async function snapshotCommand(
  a: ConnectArgs & { output: string },
  notice: (m: string) => void,
): Promise<number> {
  checkOutputFile(a.output);
  const { data, report } = await readKvLive(kvOptions(a));
  if (!report.ok) {
    process.stderr.write(`peer-audit: ${escapeControl(report.error ?? 'KV could not be read')}\n`);
    return 2;
  }
  const file = path.resolve(a.output);
  await writeSnapshot(data, file);
  let revisions = 0;
  for (const revs of data.keys.values()) revisions += revs.length;
  notice(`wrote ${data.keys.size} keys, ${revisions} revisions of bucket ${data.bucket} to ${a.output}`);
  return 0;
}

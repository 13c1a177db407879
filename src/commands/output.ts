import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes the report to stdout, or atomically to a file (temporary file + rename: never a partial report). */
export async function writeOutput(text: string, file?: string): Promise<void> {
  if (!file) {
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
    return;
  }
  const abs = path.resolve(file);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, abs);
}

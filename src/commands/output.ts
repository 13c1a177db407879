import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Pieces are gathered up to this size before each write. */
const WRITE_BATCH = 1 << 20;

/**
 * Writes the report to stdout, or atomically to a file (temporary file + rename: never a partial report).
 * The text may come in pieces (a large JSON report): they are written as they come, never joined whole.
 */
export async function writeOutput(text: string | Iterable<string>, file?: string): Promise<void> {
  if (!file) {
    for (const piece of batches(text)) {
      await new Promise<void>((resolve, reject) => process.stdout.write(piece, (e) => (e ? reject(e) : resolve())));
    }
    return;
  }
  const abs = path.resolve(file);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w');
  try {
    for (const piece of batches(text)) await fh.writeFile(piece);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.rename(tmp, abs);
}

function* batches(text: string | Iterable<string>): Generator<string> {
  if (typeof text === 'string') {
    yield text;
    return;
  }
  let buf: string[] = [];
  let size = 0;
  for (const piece of text) {
    buf.push(piece);
    size += piece.length;
    if (size >= WRITE_BATCH) {
      yield buf.join('');
      buf = [];
      size = 0;
    }
  }
  if (buf.length > 0 || size === 0) yield buf.join('');
}

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

/** The text as UTF-8 buffers of about WRITE_BATCH bytes: pieces are encoded straight into the buffer. */
function* batches(text: string | Iterable<string>): Generator<Buffer | string> {
  if (typeof text === 'string') {
    yield text;
    return;
  }
  let buf = Buffer.allocUnsafe(WRITE_BATCH);
  let used = 0;
  for (const piece of text) {
    // At most 3 bytes per UTF-16 code unit.
    if (used + piece.length * 3 > buf.length) {
      if (used > 0) {
        yield buf.subarray(0, used);
        buf = Buffer.allocUnsafe(WRITE_BATCH);
        used = 0;
      }
      if (piece.length * 3 > buf.length) {
        yield piece;
        continue;
      }
    }
    used += buf.write(piece, used);
  }
  yield buf.subarray(0, used);
}

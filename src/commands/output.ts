import { promises as fs } from 'node:fs';
import { statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Pieces are gathered up to this size before each write. */
const WRITE_BATCH = 1 << 20;

/**
 * Checks that `file` can be written as a file before any work is done: a folder (or a path ending in a separator)
 * or a path under a non-folder is a usage error, said with the flag that named it.
 */
export function checkOutputFile(file: string, flag = '--output'): string {
  if (/[\\/]$/.test(file)) throw new UsageError(`${flag} ${file}: names a folder; give a file name`);
  const abs = path.resolve(file);
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`${flag} ${file}: a part of the path is a file, not a folder`);
    return abs; // not there yet: it is created (with its folders)
  }
  if (st.isDirectory()) throw new UsageError(`${flag} ${file}: is a folder; give a file name`);
  return abs;
}

/**
 * Writes the report to stdout, or atomically to a file (temporary file + rename: never a partial report).
 * The text may come in pieces (a large JSON report): they are written as they come, never joined whole.
 */
export async function writeOutput(text: string | Iterable<string>, file?: string, flag = '--output'): Promise<void> {
  if (!file) {
    for (const piece of batches(text)) {
      await new Promise<void>((resolve, reject) => process.stdout.write(piece, (e) => (e ? reject(e) : resolve())));
    }
    return;
  }
  const abs = checkOutputFile(file, flag);
  await fs.mkdir(path.dirname(abs), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST' || e.code === 'ENOTDIR'
      ? new UsageError(`${flag} ${file}: a part of the path is a file, not a folder`)
      : e;
  });
  const tmp = `${abs}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w');
  try {
    for (const piece of batches(text)) await fh.writeFile(piece);
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, abs);
  } catch (e) {
    // Nothing is left behind: not the temporary file, not a partial report.
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EISDIR')
      throw new UsageError(`${flag} ${file}: is a folder; give a file name`);
    throw e;
  }
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

// Temporary folders for one test file, removed after its tests.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** A maker of temporary folders (named by prefix) that the file's afterAll removes. */
export function tempDirs(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await fs.rm(d, { recursive: true, force: true });
  });
  return async (prefix) => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}

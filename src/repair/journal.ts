// The journal: written and synced before the first write, updated after each one, so a repair that dies
// half-way can always be told apart from one that finished, and undone byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { journalSchema, type Journal } from '../model/journal-format.js';

export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
export const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function newJournalId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function actorName(): string {
  let user = process.env.USER ?? process.env.LOGNAME;
  try {
    user ??= os.userInfo().username;
  } catch {
    user ??= 'unknown';
  }
  return `${user}@${os.hostname()}`;
}

export function journalDir(projectRoot: string): string {
  return path.join(projectRoot, '.peer-audit', 'journal');
}

/**
 * Writes the journal atomically and durably: temp file, fsync, rename, fsync of the folder. A journal holds the
 * exact bytes before and after, secrets included: it is readable by its owner only.
 */
export async function saveJournal(file: string, journal: Journal): Promise<void> {
  await preparePrivateDir(path.dirname(file));
  await writeFileDurably(file, `${JSON.stringify(journal, null, 2)}\n`, 0o600);
}

/** What `.peer-audit/.gitignore` holds: the folder ignores itself, so its journals are never committed. */
export const IGNORE_ALL =
  '# Written by peer-audit: repair journals hold exact values, secrets included. Never commit them.\n*\n';

const prepared = new Set<string>();

/**
 * The project's journal folder (`.peer-audit/journal`) is made private (0700), and `.peer-audit/` gets a
 * `.gitignore` that ignores everything in it. A journal kept anywhere else (undo of a copied journal) leaves
 * its folder alone.
 */
async function preparePrivateDir(dir: string): Promise<void> {
  if (prepared.has(dir)) return;
  const top = path.dirname(dir);
  if (path.basename(dir) === 'journal' && path.basename(top) === '.peer-audit') {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chmod(top, 0o700);
    await fs.chmod(dir, 0o700);
    await fs
      .writeFile(path.join(top, '.gitignore'), IGNORE_ALL, { flag: 'wx', mode: 0o644 })
      .catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
  }
  prepared.add(dir);
}

export async function writeFileDurably(file: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  const fh = await fs.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await syncDir(dir);
}

/** The temporary file a durable write goes through, beside the file: `.<name>.tmp-<pid>-<6 hex>`. */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
}

const TEMP_NAME = /^\.(.+)\.tmp-\d+-[0-9a-f]{6}$/;

/** The file a temporary name stands for (`.spec.md.tmp-123-abcdef` → `spec.md`), or undefined for any other name. */
export function tempTarget(name: string): string | undefined {
  return TEMP_NAME.exec(name)?.[1];
}

async function syncDir(dir: string): Promise<void> {
  let dh: fs.FileHandle | undefined;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await dh?.close();
  }
}

export async function loadJournal(file: string): Promise<Journal> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`cannot read journal ${file}: ${code}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const why = (e as Error).message.replace(/[\u0000-\u001f]+/g, ' ');
    throw new Error(`journal ${file} is not JSON: ${why}`, { cause: e });
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `journal ${file} is not a peer-audit journal: ` +
        `${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

// The journal: written and synced before the first write, updated after each one, so a repair that dies
// half-way can always be told apart from one that finished, and undone byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const JOURNAL_FORMAT = 'peer-audit-journal/1';

export type ChangeStatus = 'planned' | 'applying' | 'applied' | 'conflict' | 'failed' | 'undone';

const base = {
  why: z.array(z.string()),
  rules: z.array(z.string()),
  status: z.enum(['planned', 'applying', 'applied', 'conflict', 'failed', 'undone']),
  error: z.string().optional(),
};

export const kvChangeSchema = z.object({
  kind: z.literal('kv'),
  key: z.string(),
  /** Revision the plan was made from; 0 when the key did not exist. */
  revisionSeen: z.number().int().nonnegative(),
  /** Exact bytes before (base64); null when the key did not exist. */
  before_b64: z.string().nullable(),
  after_b64: z.string(),
  revisionWritten: z.number().int().positive().optional(),
  revisionRestored: z.number().int().positive().optional(),
  ...base,
});

export const fileChangeSchema = z.object({
  kind: z.literal('file'),
  /** Path relative to the project root. */
  path: z.string(),
  sha256Before: z.string(),
  sha256After: z.string(),
  before_b64: z.string(),
  after_b64: z.string(),
  ...base,
});

export const journalSchema = z.object({
  format: z.literal(JOURNAL_FORMAT),
  id: z.string(),
  command: z.enum(['repair', 'reopen', 'undo']),
  createdAt: z.string(),
  reason: z.string(),
  actor: z.string(),
  projectRoot: z.string(),
  bucket: z.string(),
  server: z.string().nullable(),
  changes: z.array(z.discriminatedUnion('kind', [kvChangeSchema, fileChangeSchema])),
});

export type KvChange = z.infer<typeof kvChangeSchema>;
export type FileChange = z.infer<typeof fileChangeSchema>;
export type Change = KvChange | FileChange;
export type Journal = z.infer<typeof journalSchema>;

export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
export const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function newJournalId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
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

/** Writes the journal atomically and durably: temp file, fsync, rename, fsync of the folder. */
export async function saveJournal(file: string, journal: Journal): Promise<void> {
  await writeFileDurably(file, `${JSON.stringify(journal, null, 2)}\n`);
}

export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await syncDir(dir);
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
    throw new Error(`cannot read journal ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`journal ${file} is not JSON: ${(e as Error).message.replace(/[\u0000-\u001f]+/g, ' ')}`);
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success) throw new Error(`journal ${file} is not a peer-audit journal: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

// What `peer-audit hook` remembers between calls, per session: how often it blocked and for which findings. Kept in
// <project>/.peer-audit/hook-state.json, written atomically (a temporary file renamed over it), so a hook killed
// mid-write leaves the previous state.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IGNORE_ALL } from '../repair/journal.js';

export interface SessionState {
  /** Blocks answered in this session. */
  blocks: number;
  /** The fingerprints of the findings of the last block, sorted. */
  fingerprints: string[];
  updatedAt: string;
}

interface StateFile {
  version: 1;
  sessions: Record<string, SessionState>;
}

/** Sessions kept: the oldest are dropped beyond this many. */
const KEEP_SESSIONS = 200;

export const STATE_DIR = '.peer-audit';
export const STATE_FILE = 'hook-state.json';

export function statePath(project: string): string {
  return path.join(project, STATE_DIR, STATE_FILE);
}

/** The whole file; a missing or unreadable one is an empty state (the counter then starts again). */
async function readState(file: string): Promise<StateFile> {
  try {
    const json = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<StateFile>;
    if (json && json.version === 1 && typeof json.sessions === 'object' && json.sessions !== null)
      return { version: 1, sessions: json.sessions };
  } catch {
    /* missing or damaged: start again */
  }
  return { version: 1, sessions: {} };
}

export async function sessionState(project: string, session: string): Promise<SessionState | undefined> {
  const s = (await readState(statePath(project))).sessions[session];
  return s && Number.isInteger(s.blocks) && Array.isArray(s.fingerprints) ? s : undefined;
}

/** Records one more block of `session` for these findings. */
export async function recordBlock(project: string, session: string, fingerprints: string[], now: Date): Promise<void> {
  const file = statePath(project);
  const state = await readState(file);
  const prev = state.sessions[session];
  delete state.sessions[session];
  state.sessions[session] = {
    blocks: (prev?.blocks ?? 0) + 1,
    fingerprints: [...fingerprints].sort(),
    updatedAt: now.toISOString(),
  };
  const ids = Object.keys(state.sessions);
  for (const id of ids.slice(0, Math.max(0, ids.length - KEEP_SESSIONS))) delete state.sessions[id];
  await fs.mkdir(path.dirname(file), { recursive: true });
  // The folder ignores itself (as repair's journals make it), so the state is never committed.
  await fs.writeFile(path.join(path.dirname(file), '.gitignore'), IGNORE_ALL, { flag: 'wx' }).catch(() => undefined);
  await writeAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

/** Writes `text` to `file` through a temporary file in the same folder and a rename. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
  );
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

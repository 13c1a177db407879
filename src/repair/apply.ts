// The only code that writes evidence: compare-and-set on the KV revision, content-hash checks on files,
// the journal saved before and after every single write.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KV } from 'nats';
import type { Change, FileChange, Journal, KvChange } from '../model/journal-format.js';
import { fromB64, journalDir, loadJournal, saveJournal, sha256, tempTarget, writeFileDurably } from './journal.js';

export interface Targets {
  /** Bound KV bucket; required when the journal has KV changes. */
  kv?: KV;
  projectRoot: string;
}

export interface Outcome {
  applied: number;
  conflicts: number;
  failed: number;
  /** Changes whose outcome is unknown (the connection failed mid-write); reconcile settles them. */
  unknown: number;
}

function isCasConflict(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; code?: string; message?: string };
  return err?.api_error?.err_code === 10071 || (err?.code === '400' && /wrong last sequence/.test(err.message ?? ''));
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

async function currentKv(kv: KV, key: string): Promise<{ revision: number; value: Uint8Array | null }> {
  const e = await kv.get(key);
  if (!e) return { revision: 0, value: null };
  return { revision: e.revision, value: e.operation === 'PUT' ? e.value : null };
}

async function currentFile(projectRoot: string, rel: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await fs.readFile(path.join(projectRoot, rel)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Fault-injection hook for the crash tests: PEER_AUDIT_FAULT_DELAY_MS widens the window around each write
 * so that a SIGKILL can land between the journal update and the write, and between the write and the next.
 */
const faultDelay = Number(process.env.PEER_AUDIT_FAULT_DELAY_MS ?? 0);
const pause = () => (faultDelay > 0 ? new Promise((r) => setTimeout(r, faultDelay)) : Promise.resolve());

/** Applies every planned change in order. The journal file is rewritten before and after each write. */
export async function applyJournal(journal: Journal, file: string, t: Targets): Promise<Outcome> {
  const out: Outcome = { applied: 0, conflicts: 0, failed: 0, unknown: 0 };
  for (const ch of journal.changes) {
    if (ch.status !== 'planned') continue;
    ch.status = 'applying';
    await saveJournal(file, journal);
    await pause();
    try {
      if (ch.kind === 'kv') await applyKv(ch, t);
      else await applyFile(ch, t);
    } catch (e) {
      if (isCasConflict(e)) {
        ch.status = 'conflict';
        ch.error = `${ch.kind === 'kv' ? ch.key : ''} changed since the plan was made; left as it is`;
      } else if (ch.kind === 'kv') {
        // The write may or may not have landed; leave it "applying" for reconcile to settle, and stop.
        ch.error = (e as Error).message;
        await saveJournal(file, journal);
        out.unknown++;
        break;
      } else {
        ch.status = 'failed';
        ch.error = (e as Error).message;
      }
    }
    await pause();
    await saveJournal(file, journal);
    const status = ch.status as Change['status'];
    if (status === 'applied') out.applied++;
    else if (status === 'conflict') out.conflicts++;
    else if (status === 'failed') out.failed++;
  }
  return out;
}

async function applyKv(ch: KvChange, t: Targets): Promise<void> {
  if (!t.kv) throw new Error('no KV connection for a KV change');
  const after = fromB64(ch.after_b64);
  const rev =
    ch.revisionSeen === 0 ? await t.kv.create(ch.key, after) : await t.kv.update(ch.key, after, ch.revisionSeen);
  ch.revisionWritten = rev;
  ch.status = 'applied';
}

async function applyFile(ch: FileChange, t: Targets): Promise<void> {
  const cur = await currentFile(t.projectRoot, ch.path);
  if (!cur || sha256(cur) !== ch.sha256Before) {
    ch.status = 'conflict';
    ch.error = `${ch.path} changed since the plan was made; left as it is`;
    return;
  }
  await writeFileDurably(path.join(t.projectRoot, ch.path), fromB64(ch.after_b64));
  ch.status = 'applied';
}

/**
 * Settles changes left "planned" or "applying" by a process that died: the current value says which.
 * After it, every change is applied (new bytes in place), planned (old bytes in place) or a conflict.
 */
export async function reconcile(journal: Journal, file: string, t: Targets): Promise<void> {
  let dirty = false;
  for (const ch of journal.changes) {
    if (ch.status !== 'applying' && ch.status !== 'planned') continue;
    const before = ch.status;
    if (ch.kind === 'kv') {
      if (!t.kv) throw new Error('no KV connection to check KV changes');
      const cur = await currentKv(t.kv, ch.key);
      if (sameBytes(cur.value, fromB64(ch.after_b64))) {
        ch.status = 'applied';
        ch.revisionWritten = cur.revision;
      } else if (cur.revision === ch.revisionSeen) {
        ch.status = 'planned';
      } else {
        ch.status = 'conflict';
        ch.error = `${ch.key} is at revision ${cur.revision}, written by someone else`;
      }
    } else {
      const cur = await currentFile(t.projectRoot, ch.path);
      const h = cur ? sha256(cur) : '';
      if (h === ch.sha256After) ch.status = 'applied';
      else if (h === ch.sha256Before) ch.status = 'planned';
      else {
        ch.status = 'conflict';
        ch.error = `${ch.path} was changed by someone else`;
      }
    }
    if (ch.status !== before) {
      if (ch.status !== 'conflict') delete ch.error;
      dirty = true;
    }
  }
  if (dirty) await saveJournal(file, journal);
}

/** Puts back exactly what the journal's applied changes replaced, newest first, with compare-and-set. */
export async function undoJournal(journal: Journal, file: string, t: Targets): Promise<Outcome & { undone: number }> {
  await reconcile(journal, file, t);
  const out = { applied: 0, conflicts: 0, failed: 0, unknown: 0, undone: 0 };
  for (const ch of [...journal.changes].reverse()) {
    if (ch.status !== 'applied') continue;
    try {
      if (ch.kind === 'kv') await undoKv(ch, t);
      else await undoFile(ch, t);
    } catch (e) {
      ch.error = `undo failed: ${(e as Error).message}`;
    }
    await saveJournal(file, journal);
    if ((ch.status as Change['status']) === 'undone') out.undone++;
    else out.conflicts++;
  }
  return out;
}

async function undoKv(ch: KvChange, t: Targets): Promise<void> {
  if (!t.kv) throw new Error('no KV connection for a KV change');
  const before = ch.before_b64 === null ? null : fromB64(ch.before_b64);
  const cur = await currentKv(t.kv, ch.key);
  if (sameBytes(cur.value, before)) {
    ch.status = 'undone'; // an earlier undo got this far before it stopped
    return;
  }
  if (cur.revision !== ch.revisionWritten) {
    ch.error =
      `${ch.key} changed since the repair wrote revision ${ch.revisionWritten} ` +
      `(now ${cur.revision}); left as it is`;
    return;
  }
  if (before === null) {
    await t.kv.delete(ch.key, { previousSeq: ch.revisionWritten });
    ch.revisionRestored = (await currentKv(t.kv, ch.key)).revision || undefined;
  } else {
    ch.revisionRestored = await t.kv.update(ch.key, before, ch.revisionWritten!);
  }
  ch.status = 'undone';
  delete ch.error;
}

async function undoFile(ch: FileChange, t: Targets): Promise<void> {
  const cur = await currentFile(t.projectRoot, ch.path);
  const h = cur ? sha256(cur) : '';
  if (h === ch.sha256Before) {
    ch.status = 'undone';
    return;
  }
  if (h !== ch.sha256After) {
    ch.error = `${ch.path} changed since the repair wrote it; left as it is`;
    return;
  }
  await writeFileDurably(path.join(t.projectRoot, ch.path), fromB64(ch.before_b64));
  ch.status = 'undone';
  delete ch.error;
}

/**
 * Settles the journals of earlier runs that stopped between marking a change "applying" and recording its
 * outcome. Returns one line per journal it settled.
 */
export async function settleEarlierJournals(projectRoot: string, t: Targets): Promise<string[]> {
  const dir = journalDir(projectRoot);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const lines: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    let journal: Journal;
    try {
      journal = await loadJournal(file);
    } catch {
      continue; // not ours to judge here; undo reports an unreadable journal when asked
    }
    const open = journal.changes.filter((c) => c.status === 'applying');
    if (open.length === 0) continue;
    if (!t.kv && open.some((c) => c.kind === 'kv')) continue;
    await reconcile(journal, file, t);
    const applied = open.filter((c) => (c.status as Change['status']) === 'applied').length;
    lines.push(
      `journal ${journal.id}: ${open.length} change(s) left mid-write by an earlier run settled ` +
        `(${applied} in place, ${open.length - applied} not)`,
    );
  }
  return lines;
}

export async function hasUnsettledJournals(projectRoot: string): Promise<boolean> {
  const dir = journalDir(projectRoot);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    const text = await fs.readFile(path.join(dir, name), 'utf8').catch(() => '');
    if (text.includes('"status": "applying"')) return true;
  }
  return false;
}

/** True when a process with this id is running (a temporary file of a write still under way is left alone). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writes killed before their rename left behind (`.tasks.md.tmp-<pid>-<rand>`
 * beside a spec file, `.<id>.json.tmp-…` in the journal folder). Only folders a journal wrote to are looked at,
 * only names of that exact form whose target a journal names, and never one whose writing process still runs.
 * The journal says which copy is the real one: a change in place means the rename happened (the temporary file is
 * a stale copy); any other status means the original was never replaced. Either way the temporary file goes.
 * Returns one line per file removed.
 */
export async function removeLeftoverTemps(projectRoot: string, also: Journal[] = []): Promise<string[]> {
  const dir = journalDir(projectRoot);
  const journals: (Journal | undefined)[] = [...also];
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()) {
    journals.push(await loadJournal(path.join(dir, name)).catch(() => undefined));
  }
  // target file (absolute) -> the status the newest journal naming it gives it
  const targets = new Map<string, Change['status']>();
  for (const j of journals) {
    if (!j) continue;
    for (const ch of j.changes) if (ch.kind === 'file') targets.set(path.resolve(j.projectRoot, ch.path), ch.status);
  }
  const lines: string[] = [];
  const remove = async (abs: string, pid: number, why: string) => {
    if (
      !alive(pid) &&
      (await fs.rm(abs).then(
        () => true,
        () => false,
      ))
    )
      lines.push(`removed ${path.relative(projectRoot, abs)}, left by an interrupted write: ${why}`);
  };
  for (const folder of new Set([...targets.keys()].map((t) => path.dirname(t)))) {
    for (const entry of await fs.readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const target = tempTarget(entry.name);
      if (!entry.isFile() || target === undefined) continue;
      const status = targets.get(path.join(folder, target));
      if (status === undefined) continue; // no journal wrote this file: not ours
      await remove(
        path.join(folder, entry.name),
        pidOf(entry.name),
        status === 'applied' || status === 'undone'
          ? 'the journal shows the change was written, so it is a stale copy'
          : 'the journal shows the change was not written, so the original is intact',
      );
    }
  }
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const target = tempTarget(entry.name);
    if (entry.isFile() && target?.endsWith('.json'))
      await remove(path.join(dir, entry.name), pidOf(entry.name), 'the journal itself is intact');
  }
  return lines;
}

function pidOf(name: string): number {
  return Number(/\.tmp-(\d+)-[0-9a-f]{6}$/.exec(name)?.[1] ?? 0);
}

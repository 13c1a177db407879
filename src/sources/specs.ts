import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  promises as fs,
  readdirSync,
  readlinkSync,
  readSync,
  type Dirent,
} from 'node:fs';
import path from 'node:path';
import type { SourceReport, SpecData, SpecFile, SpecFolder, TaskItem, TasksDoc } from '../model/types.js';
import { displayPath } from './paths.js';

/** Spec files are Markdown written by agents; anything larger is not a spec and is not read whole. */
const MAX_SPEC_FILE_BYTES = 8 * 1024 * 1024;
const DATED_FOLDER = /^(\d{4}-\d{2}-\d{2})-(.+)$/;

export interface SpecSourceOptions {
  projectRoot: string;
  /** Spec root; default <project>/.agent-os/specs. */
  specsDir?: string;
  /** True when the user named --specs: a missing folder is then an error, not "no specs yet". */
  explicit?: boolean;
  /** Counters advanced as folders are read (for a progress line). */
  progress?: { folders: number; foldersTotal: number };
  /** Read only the folders whose spec name (the folder name without its date) is one of these. */
  names?: ReadonlySet<string>;
}

export async function readSpecs(opts: SpecSourceOptions): Promise<{ data: SpecData; report: SourceReport }> {
  const projectRoot = path.resolve(opts.projectRoot);
  const specsAbs = path.resolve(opts.specsDir ?? path.join(projectRoot, '.agent-os', 'specs'));
  const report: SourceReport = {
    kind: 'specs',
    ref: displayPath(specsAbs, projectRoot),
    ok: true,
    stats: { folders: 0, files: 0, bytes: 0 },
    problems: [],
  };
  const data: SpecData = { root: report.ref, folders: [], productFiles: [] };
  const progress = opts.progress ?? { folders: 0, foldersTotal: 0 };

  const rootStat = await fs.stat(specsAbs).catch((e: NodeJS.ErrnoException) => e);
  if (rootStat instanceof Error) {
    if (rootStat.code === 'ENOENT' && !opts.explicit) {
      // A project that has not created a spec yet: nothing to read, nothing lost.
      report.stats.missing = 1;
    } else {
      report.ok = false;
      report.error = `cannot read spec folder ${report.ref}: ${rootStat.code ?? rootStat.message}`;
    }
  } else if (!rootStat.isDirectory()) {
    report.ok = false;
    report.error = `spec folder ${report.ref} is not a directory`;
  } else {
    const entries = await fs.readdir(specsAbs, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => e);
    if (entries instanceof Error) {
      report.ok = false;
      report.error = `cannot list spec folder ${report.ref}: ${entries.code ?? entries.message}`;
    } else {
      const wanted = opts.names;
      const dirs = entries
        .filter((e) => e.isDirectory() && (!wanted || wanted.has(DATED_FOLDER.exec(e.name)?.[2] ?? e.name)))
        .map((e) => e.name)
        .sort();
      for (const e of entries) {
        const abs = path.join(specsAbs, e.name);
        if (!e.isDirectory() && !e.isFile()) notReadable(e, abs, projectRoot, report);
      }
      progress.foldersTotal += dirs.length;
      // Spec files are small: synchronous reads are several times faster than a promise per call. They run in
      // batches, with a turn of the event loop between, so sources read side by side keep moving.
      for (let i = 0; i < dirs.length; i += FOLDERS_PER_TURN) {
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        for (const name of dirs.slice(i, i + FOLDERS_PER_TURN)) {
          data.folders.push(readFolder(path.join(specsAbs, name), name, projectRoot, report));
          progress.folders++;
        }
      }
    }
  }

  const productAbs = path.join(projectRoot, '.agent-os', 'product');
  const productFiles = listFiles(productAbs, report, projectRoot, true);
  for (const abs of productFiles) {
    const f = readSpecFile(abs, path.relative(productAbs, abs), projectRoot, report);
    if (f) data.productFiles.push(f);
  }
  // complete-tasks writes a recap per finished spec; a recap is evidence that the tasks were done.
  data.recaps = data.productFiles.filter((f) => /^recaps\/[^/]+\.md$/i.test(f.name));
  for (const abs of recapFiles(path.join(projectRoot, '.agent-os', 'recaps'), report, projectRoot)) {
    const f = readSpecFile(abs, path.basename(abs), projectRoot, report);
    if (f) data.recaps.push(f);
  }

  report.stats.folders = data.folders.length;
  return { data, report };
}

const FOLDERS_PER_TURN = 64;

/**
 * Every regular file under dirAbs (hidden ones too; symbolic links are not followed or listed), sorted. Entries that
 * exist but are not read are reported, and passed to `unread`.
 */
function listFiles(
  dirAbs: string,
  report: SourceReport,
  projectRoot: string,
  optional = false,
  unread?: (abs: string) => void,
): string[] {
  const found: string[] = [];
  try {
    const walk = (dir: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        if (dir === dirAbs) throw e;
        // A sub-folder that cannot be listed (sub-specs/): what it holds is unknown, the rest is still read.
        report.ok = false;
        report.problems.push({
          where: displayPath(dir, projectRoot),
          reason: `cannot list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        });
        unread?.(dir);
        return;
      }
      for (const entry of entries) {
        const abs = path.join(dir, entry.name);
        if (entry.isDirectory() && !NAMED_LIKE_A_FILE.test(entry.name)) walk(abs);
        else if (entry.isFile()) found.push(abs);
        else {
          notReadable(entry, abs, projectRoot, report);
          unread?.(abs);
        }
      }
    };
    walk(dirAbs);
    return found.sort();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // A folder that is not there (the product folder of a project without one) holds nothing; a spec folder
    // that vanished after it was listed is lost evidence.
    if (optional && found.length === 0 && err.code === 'ENOENT' && !existsSync(dirAbs)) return [];
    report.ok = false;
    report.problems.push({
      where: displayPath(dirAbs, projectRoot),
      reason: `cannot list: ${err.code ?? err.message}`,
    });
    unread?.(dirAbs);
    return [];
  }
}

/** A directory where a Markdown file is expected (`tasks.md/`): the file it stands for cannot be read. */
const NAMED_LIKE_A_FILE = /\.(md|markdown)$/i;

/**
 * Reports an entry that is left alone. A link not followed is a choice, and the scan stays complete; a FIFO, socket,
 * device or a directory named like a file holds evidence that could not be read, so the source is incomplete.
 */
function notReadable(entry: Dirent, abs: string, projectRoot: string, report: SourceReport): void {
  const where = displayPath(abs, projectRoot);
  if (entry.isDirectory()) {
    report.ok = false;
    report.problems.push({ where, reason: 'a directory where a file is expected, not read' });
    return;
  }
  if (!entry.isSymbolicLink()) report.ok = false;
  report.problems.push({ where, reason: notRead(entry, abs, projectRoot) });
}

/**
 * The recaps in a recaps folder: its top-level files
 * (complete-tasks writes `<spec folder>.md`; sub-folders are archived specs).
 */
function recapFiles(dirAbs: string, report: SourceReport, projectRoot: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dirAbs, { withFileTypes: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    report.ok = false;
    report.problems.push({
      where: displayPath(dirAbs, projectRoot),
      reason: `cannot list: ${err.code ?? err.message}`,
    });
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (!NAMED_LIKE_A_FILE.test(entry.name)) continue;
    const abs = path.join(dirAbs, entry.name);
    if (entry.isFile()) out.push(abs);
    else notReadable(entry, abs, projectRoot, report);
  }
  return out.sort();
}

/**
 * Why an entry that is not a regular file is left alone:
 * links are not followed, a FIFO would block, a device never ends.
 */
function notRead(entry: Dirent, abs: string, projectRoot: string): string {
  if (entry.isSymbolicLink()) {
    let rel = '';
    try {
      rel = path.relative(projectRoot, path.resolve(path.dirname(abs), readlinkSync(abs)));
    } catch {
      /* an unreadable link is still a link */
    }
    return (
      `a symbolic link` +
      `${rel.startsWith('..') || path.isAbsolute(rel) ? ' to a path outside the project' : ''}, not followed`
    );
  }
  return `${entry.isFIFO() ? 'a FIFO' : entry.isSocket() ? 'a socket' : 'a device'}, not opened`;
}

/**
 * The temporary file peer-audit's own durable write goes through (`.<name>.tmp-<pid>-<6 hex>`), left behind when
 * the write was killed before its rename. The same form as src/repair/journal.ts writes (sources read no repair code).
 */
const LEFTOVER_TEMP = /^\..+\.tmp-\d+-[0-9a-f]{6}$/;
const LEFTOVER_STAT = 'leftover temporary files ignored';

function readFolder(abs: string, name: string, projectRoot: string, report: SourceReport): SpecFolder {
  const m = DATED_FOLDER.exec(name);
  const folder: SpecFolder = {
    folderName: name,
    date: m?.[1],
    slug: m ? m[2] : name,
    path: displayPath(abs, projectRoot),
    files: [],
  };
  const relOf = (p: string) => path.relative(abs, p).split(path.sep).join('/');
  const unread = (p: string) => (folder.unread ??= []).push(relOf(p));
  for (const fileAbs of listFiles(abs, report, projectRoot, false, unread)) {
    const rel = relOf(fileAbs);
    if (LEFTOVER_TEMP.test(path.basename(fileAbs))) {
      // Never the file in place: counted and said in the Sources line; repair --apply and undo remove them.
      report.stats[LEFTOVER_STAT] = (report.stats[LEFTOVER_STAT] ?? 0) + 1;
      continue;
    }
    const file = readSpecFile(fileAbs, rel, projectRoot, report);
    if (!file) {
      unread(fileAbs);
      continue;
    }
    folder.files.push(file);
    if (rel === 'tasks.md') folder.tasks = parseTasks(file);
  }
  return folder;
}

function readSpecFile(abs: string, name: string, projectRoot: string, report: SourceReport): SpecFile | undefined {
  const where = displayPath(abs, projectRoot);
  let fd: number | undefined;
  try {
    fd = openSync(abs, 'r');
    const buf = readWhole(fd);
    if (!buf) {
      report.problems.push({ where, reason: `skipped: ${fstatSync(fd).size} bytes is larger than a spec file can be` });
      return undefined;
    }
    report.stats.files++;
    report.stats.bytes += buf.length;
    return toSpecFile(where, name.split(path.sep).join('/'), buf);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    report.ok = false;
    report.problems.push({ where, reason: `cannot read: ${err.code ?? err.message}` });
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The bytes of an open regular file, or undefined when it is larger than a spec file can be. Most spec files fit
 * the scratch buffer in one read, and a short read of a regular file is its end, so a file costs open, read, close.
 * The result is only valid until the next call.
 */
function readWhole(fd: number): Buffer | undefined {
  let n = 0;
  for (;;) {
    if (n === scratch.length) {
      if (n > MAX_SPEC_FILE_BYTES) return undefined;
      const bigger = Buffer.allocUnsafe(scratch.length * 2);
      scratch.copy(bigger, 0, 0, n);
      scratch = bigger;
    }
    const want = scratch.length - n;
    const got = readSync(fd, scratch, n, want, null);
    n += got;
    if (got < want) break;
  }
  return n > MAX_SPEC_FILE_BYTES ? undefined : scratch.subarray(0, n);
}

export function toSpecFile(filePath: string, name: string, buf: Buffer): SpecFile {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const endsWithNewline = text.endsWith('\n');
  const body = endsWithNewline ? text.slice(0, -1) : text;
  const lines =
    body === '' && !endsWithNewline ? [] : body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return { path: filePath, name, text, lines, endsWithNewline, bytes: buf.length };
}

const TASK_LINE = /^(\s*)[-*]\s+\[([ xX])\]\s+(.*)$/;
const BLOCKING = /⚠️\s*Blocking issue/i;

/** Parses the create-spec tasks.md checklist: `- [ ] 1. Task` with indented `- [ ] 1.1 Subtask`. */
export function parseTasks(file: SpecFile): TasksDoc {
  const tasks: TaskItem[] = [];
  let current: TaskItem | undefined;
  let last: TaskItem | undefined;
  file.lines.forEach((line, i) => {
    const m = TASK_LINE.exec(line);
    if (m) {
      const indent = m[1].replace(/\t/g, '  ').length;
      const text = m[3].trim();
      const num = /^(\d+(?:\.\d+)*)\.?\s/.exec(text)?.[1] ?? '';
      const item: TaskItem = { number: num, text, checked: m[2] !== ' ', line: i + 1, subtasks: [] };
      if (indent === 0 || !current) {
        tasks.push(item);
        current = item;
      } else {
        current.subtasks.push(item);
      }
      last = item;
      return;
    }
    if (last && BLOCKING.test(line)) last.blockingNote = { line: i + 1, text: line.trim() };
  });
  return { path: file.path, tasks };
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
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
      const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
      for (const name of dirs) {
        const folder = await readFolder(path.join(specsAbs, name), name, projectRoot, report);
        data.folders.push(folder);
      }
    }
  }

  const productAbs = path.join(projectRoot, '.agent-os', 'product');
  const productFiles = await listFiles(productAbs, report, projectRoot);
  for (const abs of productFiles) {
    const f = await readSpecFile(abs, path.relative(productAbs, abs), projectRoot, report);
    if (f) data.productFiles.push(f);
  }

  report.stats.folders = data.folders.length;
  return { data, report };
}

async function listFiles(dirAbs: string, report: SourceReport, projectRoot: string): Promise<string[]> {
  try {
    await fs.access(dirAbs);
  } catch {
    return [];
  }
  try {
    // followSymbolicLinks off: a link out of the project is not evidence of this run.
    const found = await fg('**/*', {
      cwd: dirAbs,
      absolute: true,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: false,
      suppressErrors: false,
    });
    return found.sort();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    report.ok = false;
    report.problems.push({ where: displayPath(dirAbs, projectRoot), reason: `cannot list: ${err.code ?? err.message}` });
    return [];
  }
}

async function readFolder(abs: string, name: string, projectRoot: string, report: SourceReport): Promise<SpecFolder> {
  const m = DATED_FOLDER.exec(name);
  const folder: SpecFolder = {
    folderName: name,
    date: m?.[1],
    slug: m ? m[2] : name,
    path: displayPath(abs, projectRoot),
    files: [],
  };
  for (const fileAbs of await listFiles(abs, report, projectRoot)) {
    const rel = path.relative(abs, fileAbs).split(path.sep).join('/');
    const file = await readSpecFile(fileAbs, rel, projectRoot, report);
    if (!file) continue;
    folder.files.push(file);
    if (rel === 'tasks.md') folder.tasks = parseTasks(file);
  }
  return folder;
}

async function readSpecFile(abs: string, name: string, projectRoot: string, report: SourceReport): Promise<SpecFile | undefined> {
  const where = displayPath(abs, projectRoot);
  try {
    const st = await fs.lstat(abs);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_SPEC_FILE_BYTES) {
      report.problems.push({ where, reason: `skipped: ${st.size} bytes is larger than a spec file can be` });
      return undefined;
    }
    const buf = await fs.readFile(abs);
    report.stats.files++;
    report.stats.bytes += buf.length;
    return toSpecFile(where, name.split(path.sep).join('/'), buf);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    report.ok = false;
    report.problems.push({ where, reason: `cannot read: ${err.code ?? err.message}` });
    return undefined;
  }
}

export function toSpecFile(filePath: string, name: string, buf: Buffer): SpecFile {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const endsWithNewline = text.endsWith('\n');
  const body = endsWithNewline ? text.slice(0, -1) : text;
  const lines = body === '' && !endsWithNewline ? [] : body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
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

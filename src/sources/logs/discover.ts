// Which transcript files a scan reads: Claude Code's own folders for the project, the paths and globs the user
// gave (folders searched for *.jsonl, a locked folder noted and passed over rather than losing its neighbours,
// FIFOs and devices never opened), and the role of each file found: a main transcript, a subagent transcript
// (sibling agent-<id>.jsonl, or <session>/subagents/agent-<id>.jsonl) or bookkeeping to ignore.
import { existsSync, readdir, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fg from 'fast-glob';
import type { SourceReport } from '../../model/types.js';
import type { FileRole } from './parsed.js';
import { errorCode } from './values.js';

/**
 * Where Claude Code keeps a project's transcripts:
 * <config>/projects/<absolute path with every non-alphanumeric char as '-'>.
 */
function logDirCandidates(projectRoot: string): string[] {
  const encoded = path.resolve(projectRoot).replace(/[^A-Za-z0-9]/g, '-');
  const configDir = process.env.CLAUDE_CONFIG_DIR || path.join(os.homedir(), '.claude');
  const candidates = [
    path.join(configDir, 'projects', encoded),
    path.join(os.homedir(), '.config', 'claude', 'projects', encoded),
  ];
  return [...new Set(candidates)];
}

/** Claude Code's log folders for the project that exist. */
export function defaultLogDirs(projectRoot: string): string[] {
  return logDirCandidates(projectRoot).filter(isDirectory);
}

/**
 * The logs source of a scan that found no transcripts at all (no --logs, no Claude Code folder for the project):
 * said in the sources like any other, with where it looked. Nothing was read, so nothing was judged from logs.
 */
export function noTranscriptsReport(projectRoot: string): SourceReport {
  return {
    kind: 'logs',
    ref: logDirCandidates(projectRoot).join(', '),
    ok: true,
    absent: 'no transcripts found',
    stats: { files: 0, sessions: 0 },
    problems: [],
  };
}

/**
 * fast-glob's directory listing, except that a folder it may not list (EACCES, EPERM) is noted and taken as
 * empty, so one locked folder under ~/.claude/projects does not lose every transcript beside it. The folders
 * noted are reported (the scan is then incomplete), never passed over in silence.
 */
function listingThatNotes(locked: Array<{ dir: string; code: string }>): typeof readdir {
  return ((dir: string, ...rest: unknown[]) => {
    const cb = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null, entries?: unknown) => void;
    const opts = rest.length > 1 ? rest[0] : undefined;
    const done = (err: NodeJS.ErrnoException | null, entries?: unknown) => {
      if (err && (err.code === 'EACCES' || err.code === 'EPERM')) {
        locked.push({ dir, code: err.code });
        cb(null, []);
      } else cb(err, entries);
    };
    if (opts === undefined) readdir(dir, done as never);
    else readdir(dir, opts as never, done as never);
  }) as unknown as typeof readdir;
}

/**
 * The absolute paths of the transcript files the patterns name, sorted. `fail` gets a pattern or folder that
 * could not be read (or matched nothing), `skip` a path that is not a regular file, `shown` makes a path
 * presentable.
 */
export async function expandPatterns(
  patterns: string[],
  fail: (where: string, reason: string) => void,
  skip: (abs: string, reason: string) => void,
  shown: (abs: string) => string,
): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const abs = path.resolve(process.cwd(), pattern);
    let isDir = false;
    try {
      const st = await stat(abs);
      if (!st.isDirectory()) {
        if (st.isFile()) found.add(abs);
        else fail(pattern, `cannot read ${pattern}: ${notOpened(st)}`);
        continue;
      }
      isDir = true;
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        fail(pattern, `cannot read ${pattern}: ${code}`);
        continue;
      }
      if (!fg.isDynamicPattern(pattern)) {
        fail(pattern, `log path not found: ${pattern}`);
        continue;
      }
    }
    const locked: Array<{ dir: string; code: string }> = [];
    try {
      const fsAdapter = { readdir: listingThatNotes(locked) };
      const entries = isDir
        ? await fg('**/*.jsonl', {
            cwd: abs,
            absolute: true,
            dot: true,
            onlyFiles: false,
            objectMode: true,
            fs: fsAdapter,
          })
        : await fg(pattern.split(path.sep).join('/'), {
            cwd: process.cwd(),
            absolute: true,
            dot: true,
            onlyFiles: false,
            objectMode: true,
            fs: fsAdapter,
          });
      if (isDir && locked.some((l) => path.resolve(l.dir) === abs)) {
        fail(pattern, `cannot read ${pattern}: ${locked[0].code}`);
        continue;
      }
      for (const l of locked) fail(shown(path.resolve(l.dir)), `cannot list ${shown(path.resolve(l.dir))}: ${l.code}`);
      for (const e of entries) {
        if (!e.dirent.isFile() && !e.dirent.isDirectory()) skip(path.resolve(e.path), notOpened(e.dirent));
      }
      const matches = entries.filter((e) => e.dirent.isFile()).map((e) => e.path);
      // Sidecars are read next to their agent file, never as logs.
      const logs = matches.filter((m) => !m.endsWith('.meta.json'));
      if (logs.length === 0 && locked.length === 0) fail(pattern, `no log files matched ${pattern}`);
      for (const m of logs) found.add(path.resolve(m));
    } catch (err) {
      fail(pattern, `cannot read ${pattern}: ${errorCode(err)}`);
    }
  }
  return [...found].sort();
}

/** Why a path that is not a regular file is left alone: a FIFO would block the read, a device never ends. */
function notOpened(st: { isFIFO(): boolean; isSocket(): boolean; isSymbolicLink(): boolean }): string {
  const what = st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isSymbolicLink()
        ? 'a symbolic link that leads nowhere (a loop or a missing target)'
        : 'a device';
  return `${what}, not opened`;
}

export function classifyFile(abs: string): FileRole {
  const segments = abs.split(path.sep);
  const base = segments[segments.length - 1];
  const sub = segments.lastIndexOf('subagents');
  const inSubagents = sub > 0 && sub < segments.length - 1;
  const agent = /^agent-(.+)\.jsonl$/.exec(base);
  // Compaction agents are not spawns.
  if (agent && agent[1].startsWith('acompact-')) return { kind: 'ignored' };
  if (agent) {
    return inSubagents
      ? { kind: 'agent', agentId: agent[1], layout: 'subagents-dir', dirSessionId: segments[sub - 1] }
      : { kind: 'agent', agentId: agent[1], layout: 'sibling-file' };
  }
  // Workflow journals and other bookkeeping next to subagent transcripts.
  if (inSubagents) return { kind: 'ignored' };
  return { kind: 'main' };
}

function isDirectory(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isDirectory();
  } catch {
    return false;
  }
}

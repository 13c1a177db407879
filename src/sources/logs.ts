// Claude Code transcripts (JSONL) → LogData: sessions of tool calls, spawns and texts, with the
// subagent records of each spawn attributed to it across every layout Claude Code has used:
// inline sidechains (≤2.0.27), sibling agent-<id>.jsonl (2.0.28–2.1.1), <session>/subagents/ (2.1.2+),
// agent_progress mirrors (2.1.x), and `claude -p --output-format stream-json` output.
// This module is the logs source's public face (readLogs and the default folders) and its report; the work is
// done in logs/: discover.ts (which files) → pool.ts (parse them, in threads when that pays) → parse-file.ts
// (one file's lines, read with read-lines.ts and json-scan.ts) → decode-record.ts (one record's events) →
// assemble.ts (files into sessions); parsed.ts holds the shapes passed between them.
import { stat } from 'node:fs/promises';
import type { LogData, SourceProblem, SourceReport } from '../model/types.js';
import { assembleSessions, dropDuplicateRecords } from './logs/assemble.js';
import { classifyFile, expandPatterns } from './logs/discover.js';
import type { ParsedFile } from './logs/parsed.js';
import { type FileOutcome, type ParseJob, parseJobs } from './logs/pool.js';
import { errorCode } from './logs/values.js';
import { displayPath } from './paths.js';

export { defaultLogDirs, noTranscriptsReport } from './logs/discover.js';

/** Counters readLogs advances as it reads (for a progress line). */
export interface LogProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}

export interface ReadLogsOptions {
  /**
   * The patterns are Claude Code's own folders for the project, not paths the user gave: a folder with no
   * transcripts in it is no transcripts found, not a path that failed.
   */
  defaultDirs?: boolean;
}

export async function readLogs(
  patterns: string[],
  projectRoot: string,
  progress: LogProgress = { files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 },
  options: ReadLogsOptions = {},
): Promise<{ data: LogData; report: SourceReport }> {
  const report: SourceReport = {
    kind: 'logs',
    ref: patterns.join(', '),
    ok: true,
    stats: {
      files: 0,
      bytes: 0,
      lines: 0,
      records: 0,
      corruptLines: 0,
      sessions: 0,
      ignoredFiles: 0,
      duplicateRecords: 0,
    },
    problems: [],
  };
  const errors: string[] = [];
  const fail = (where: string, reason: string): void => {
    if (options.defaultDirs && reason.startsWith('no log files matched ')) return;
    errors.push(reason);
    report.problems.push({ where, reason });
  };
  const shown = (abs: string): string => displayPath(abs, projectRoot);

  const files = await expandPatterns(
    patterns,
    fail,
    (abs, reason) => report.problems.push({ where: shown(abs), reason }),
    shown,
  );
  const stats = await mapConcurrent(files, 16, (abs) => stat(abs).catch((err: unknown) => ({ err })));
  progress.filesTotal += files.length;
  for (const st of stats) if (!('err' in st)) progress.bytesTotal += st.size;
  const outcomes = new Array<FileOutcome>(files.length);
  const jobs: ParseJob[] = [];
  // A file reached by more than one path (a symbolic link, a link loop) is read once, by its shortest path.
  const readAs = new Map<string, number>();
  stats.forEach((st, i) => {
    if ('err' in st) return;
    const j = readAs.get(`${st.dev}:${st.ino}`);
    if (j === undefined || files[i].length < files[j].length) readAs.set(`${st.dev}:${st.ino}`, i);
  });
  files.forEach((abs, index) => {
    const st = stats[index];
    const role = classifyFile(abs);
    if (role.kind === 'ignored') outcomes[index] = { kind: 'ignored', bytes: 'err' in st ? 0 : st.size };
    else if ('err' in st) outcomes[index] = { kind: 'failed', display: shown(abs), code: errorCode(st.err) };
    else if (readAs.get(`${st.dev}:${st.ino}`) !== index) {
      outcomes[index] = { kind: 'ignored', bytes: 0 };
      const same = shown(files[readAs.get(`${st.dev}:${st.ino}`)!]);
      report.problems.push({ where: shown(abs), reason: `the same file as ${same}, read once` });
    } else jobs.push({ index, abs, display: shown(abs), role, mtimeMs: st.mtimeMs, size: st.size });
  });
  progress.files += files.length - jobs.length;
  await parseJobs(jobs, outcomes, progress);
  const parsed: ParsedFile[] = [];
  for (const outcome of outcomes) {
    report.stats.files++;
    if (outcome.kind === 'ignored') {
      report.stats.ignoredFiles++;
      report.stats.bytes += outcome.bytes;
    } else if (outcome.kind === 'parsed') {
      addFileStats(report, outcome.file);
      // A file with lines but not one record (a gzip, random bytes): a transcript that could not be read at all,
      // and no session.
      const f = outcome.file;
      if (f.records === 0 && f.corruptTotal > 0) {
        const lines = `${f.lines} line${f.lines === 1 ? '' : 's'}`;
        const why = 'compressed, binary or damaged throughout';
        fail(f.path, `cannot read ${f.path}: none of its ${lines} is a JSON record (${why})`);
      } else parsed.push(f);
    } else {
      fail(outcome.display, `cannot read ${outcome.display}: ${outcome.code}`);
    }
  }

  report.stats.duplicateRecords = dropDuplicateRecords(parsed) + parsed.reduce((n, f) => n + f.duplicates, 0);
  const { sessions, unlinked } = assembleSessions(parsed);
  report.stats.ignoredFiles += unlinked;
  report.stats.sessions = sessions.length;
  if (options.defaultDirs && report.stats.files === 0 && errors.length === 0) report.absent = 'no transcripts found';
  if (errors.length) {
    report.ok = false;
    report.error = errors.length > 1 ? `${errors[0]} (and ${errors.length - 1} more)` : errors[0];
  }
  return { data: { sessions }, report };
}

async function mapConcurrent<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function addFileStats(report: SourceReport, file: ParsedFile): void {
  const s = report.stats;
  s.bytes += file.bytes;
  s.lines += file.lines;
  s.records += file.records;
  s.corruptLines += file.corruptTotal;
  const problems: SourceProblem[] = file.corrupt.map((c) => ({ where: c.path, line: c.line, reason: c.reason }));
  if (file.corruptTotal > file.corrupt.length) {
    const more = file.corruptTotal - file.corrupt.length;
    problems.push({ where: file.path, reason: `${more} more corrupt lines not listed` });
  }
  report.problems.push(...problems);
}

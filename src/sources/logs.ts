// Claude Code transcripts (JSONL) → LogData: sessions of tool calls, spawns and texts, with the
// subagent records of each spawn attributed to it across every layout Claude Code has used:
// inline sidechains (≤2.0.27), sibling agent-<id>.jsonl (2.0.28–2.1.1), <session>/subagents/ (2.1.2+),
// agent_progress mirrors (2.1.x), and `claude -p --output-format stream-json` output.
import { closeSync, existsSync, openSync, readdir, readSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fg from 'fast-glob';
import type {
  Actor,
  CorruptLine,
  LogData,
  LogEvent,
  LogRef,
  LogSession,
  SourceProblem,
  SourceReport,
  Spawn,
  StreamResultEvent,
  TextEvent,
  ToolCall,
  ToolResult,
} from '../model/types.js';
import { isUtf8 } from 'node:buffer';
import { decodeBounded, decodeValue, type CutPolicy, KeyTable, Members, scanObject } from './logs/json-scan.js';
import { forEachLine, parseJsonLine, type JsonRecord, type ParsedLine, type RawLine } from './logs/read-lines.js';
import { displayPath } from './paths.js';

const TEXT_MAX = 4000;
/**
 * Tools whose result is what they showed (file contents, search hits, pages), not what they did: their results
 * are kept this long. They are most of a transcript's bytes, and no rule reads past their first lines.
 */
const VIEW_RESULT_MAX = 400;
const VIEW_TOOLS = new Set(['Read', 'Grep', 'Glob', 'LS', 'NotebookRead', 'WebFetch', 'WebSearch']);
const COMMAND_MAX = 8000;
/** Other tool input (Write content, Edit strings, patterns) only names a call in reports: a short head is kept. */
const INPUT_STRING_MAX = 300;
const INPUT_ITEMS_MAX = 50;
const INPUT_DEPTH_MAX = 4;
/** Corrupt lines listed per file; the rest are only counted. */
const CORRUPT_LISTED_MAX = 200;

const SPAWN_TOOLS = new Set(['Task', 'Agent']);
const EXIT_CODE_FAILURE = /^Exit code [1-9]\d*/;
const AGENT_TRAILER = /^agentId: ([A-Za-z0-9_-]+)/;
const INTERRUPT_MARKER = '[Request interrupted by user';
/** Record types events or links are taken from; everything else is tolerated and skipped. */
const EXTRACTED_TYPES = new Set(['user', 'assistant', 'progress', 'result', 'system']);

// ---------------------------------------------------------------- public API

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
    stats: { files: 0, bytes: 0, lines: 0, records: 0, corruptLines: 0, sessions: 0, ignoredFiles: 0, duplicateRecords: 0 },
    problems: [],
  };
  const errors: string[] = [];
  const fail = (where: string, reason: string): void => {
    if (options.defaultDirs && reason.startsWith('no log files matched ')) return;
    errors.push(reason);
    report.problems.push({ where, reason });
  };

  const files = await expandPatterns(
    patterns,
    fail,
    (abs, reason) => report.problems.push({ where: displayPath(abs, projectRoot), reason }),
    (abs) => displayPath(abs, projectRoot),
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
    else if ('err' in st) outcomes[index] = { kind: 'failed', display: displayPath(abs, projectRoot), code: errorCode(st.err) };
    else if (readAs.get(`${st.dev}:${st.ino}`) !== index) {
      outcomes[index] = { kind: 'ignored', bytes: 0 };
      report.problems.push({ where: displayPath(abs, projectRoot), reason: `the same file as ${displayPath(files[readAs.get(`${st.dev}:${st.ino}`)!], projectRoot)}, read once` });
    } else jobs.push({ index, abs, display: displayPath(abs, projectRoot), role, mtimeMs: st.mtimeMs, size: st.size });
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
        fail(f.path, `cannot read ${f.path}: none of its ${f.lines} line${f.lines === 1 ? '' : 's'} is a JSON record (compressed, binary or damaged throughout)`);
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

/** Files read at the same time by one thread, so reading one overlaps with splitting and decoding another. */
const READ_CONCURRENCY = 4;
/** Below this many bytes of transcripts, starting threads costs more than it saves. */
const THREADS_FROM_BYTES = 48 * 1024 * 1024;

interface ParseJob {
  index: number;
  abs: string;
  display: string;
  role: FileRole;
  mtimeMs: number;
  size: number;
}

async function parseJob(job: ParseJob, onBytes?: (n: number) => void): Promise<FileOutcome> {
  try {
    return { kind: 'parsed', file: await parseFile(job.abs, job.display, job.role, job.mtimeMs, onBytes) };
  } catch (err) {
    return { kind: 'failed', display: job.display, code: errorCode(err) };
  }
}

/**
 * How many worker threads parse transcripts beside this one: PEER_AUDIT_LOG_THREADS if set (0: none), else one
 * per further core (at most 3) for large inputs. Workers run the compiled module; from sources (tests) none.
 */
function logThreads(bytes: number): number {
  if (!import.meta.url.endsWith('.js')) return 0;
  const forced = process.env.PEER_AUDIT_LOG_THREADS;
  if (forced !== undefined && forced.trim() !== '' && Number.isInteger(Number(forced))) return Math.max(0, Math.min(16, Number(forced)));
  return bytes >= THREADS_FROM_BYTES ? Math.min(os.availableParallelism() - 1, 3) : 0;
}

/** Parses every job into outcomes[job.index]: in worker threads when that pays, else here; either way the same result. */
async function parseJobs(jobs: ParseJob[], outcomes: FileOutcome[], progress: LogProgress): Promise<void> {
  const onBytes = (n: number): void => {
    progress.bytes += n;
  };
  const threads = Math.min(logThreads(jobs.reduce((n, j) => n + j.size, 0)), jobs.length);
  // Largest files first, so no thread is left with one big file at the end.
  const queue = threads === 0 ? [...jobs] : [...jobs].sort((a, b) => b.size - a.size || a.index - b.index);
  // This thread takes files from the same queue as the workers (while it is not busy with other sources).
  const here = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      outcomes[job.index] = await parseJob(job, onBytes);
      progress.files++;
    }
  };
  const orphaned: ParseJob[] = [];
  await Promise.all([
    ...Array.from({ length: READ_CONCURRENCY }, here),
    ...Array.from({ length: threads }, async () => {
      const inFlight = new Map<number, ParseJob>();
      let worker: Worker;
      try {
        worker = new Worker(new URL(import.meta.url), { workerData: { [WORKER_FLAG]: true } });
      } catch {
        return;
      }
      await new Promise<void>((resolve) => {
        const feed = (): void => {
          const job = queue.shift();
          if (!job) {
            if (inFlight.size === 0) resolve();
            return;
          }
          inFlight.set(job.index, job);
          worker.postMessage(job);
        };
        worker.on('message', (msg: WorkerMessage) => {
          if (msg.kind === 'bytes') return onBytes(msg.bytes);
          outcomes[msg.index] = msg.outcome;
          progress.files++;
          inFlight.delete(msg.index);
          feed();
        });
        // A thread that cannot start or dies leaves its files to this one.
        const lost = (): void => {
          orphaned.push(...inFlight.values());
          inFlight.clear();
          resolve();
        };
        worker.on('error', lost);
        worker.on('exit', lost);
        feed();
        feed();
      });
      worker.removeAllListeners('exit');
      await worker.terminate();
    }),
  ]);
  // The files of a thread that died.
  queue.push(...orphaned);
  await here();
}

const WORKER_FLAG = 'peerAuditLogWorker';

type WorkerMessage = { kind: 'bytes'; bytes: number } | { kind: 'done'; index: number; outcome: FileOutcome };

// Inside a parsing thread: parse the files the main thread sends, report bytes as they are read.
if (!isMainThread && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true && parentPort) {
  const port = parentPort;
  port.on('message', (job: ParseJob) => {
    void parseJob(job, (bytes) => port.postMessage({ kind: 'bytes', bytes } satisfies WorkerMessage)).then((outcome) =>
      port.postMessage({ kind: 'done', index: job.index, outcome } satisfies WorkerMessage),
    );
  });
}

type FileOutcome = { kind: 'ignored'; bytes: number } | { kind: 'parsed'; file: ParsedFile } | { kind: 'failed'; display: string; code: string };

async function mapConcurrent<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
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

/** Where Claude Code keeps a project's transcripts: <config>/projects/<absolute path with every non-alphanumeric char as '-'>. */
export function logDirCandidates(projectRoot: string): string[] {
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

// ---------------------------------------------------------------- finding files

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

async function expandPatterns(
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
        ? await fg('**/*.jsonl', { cwd: abs, absolute: true, dot: true, onlyFiles: false, objectMode: true, fs: fsAdapter })
        : await fg(pattern.split(path.sep).join('/'), { cwd: process.cwd(), absolute: true, dot: true, onlyFiles: false, objectMode: true, fs: fsAdapter });
      if (isDir && locked.some((l) => path.resolve(l.dir) === abs)) {
        fail(pattern, `cannot read ${pattern}: ${locked[0].code}`);
        continue;
      }
      for (const l of locked) fail(shown(path.resolve(l.dir)), `cannot list ${shown(path.resolve(l.dir))}: ${l.code}`);
      for (const e of entries) if (!e.dirent.isFile() && !e.dirent.isDirectory()) skip(path.resolve(e.path), notOpened(e.dirent));
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
  const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isSymbolicLink() ? 'a symbolic link that leads nowhere (a loop or a missing target)' : 'a device';
  return `${what}, not opened`;
}

type FileRole =
  | { kind: 'main' }
  | { kind: 'agent'; agentId: string; layout: 'sibling-file' | 'subagents-dir'; dirSessionId?: string }
  | { kind: 'ignored' };

function classifyFile(abs: string): FileRole {
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

// ---------------------------------------------------------------- reading one file

/** Who a record belongs to, before the session is assembled. */
type LocalActor =
  | 'main' // the file's own agent: the main agent, or the subagent of an agent file
  | { spawnId: string } // stream-json parent_tool_use_id, agent_progress parentToolUseID
  | { chain: string } // legacy inline sidechain, by the uuid of its root record
  | { agentId: string }; // inline sidechain record that names its agent

interface EventUnit {
  kind: 'event';
  event: LogEvent;
  local: LocalActor;
  /** Copied from an agent_progress record. */
  mirror: boolean;
  uuid?: string;
}

interface ResultUnit {
  kind: 'result';
  toolUseId: string;
  result: ToolResult;
  /** Result text without the `agentId: …` trailer block, used when the call is a spawn. */
  spawnText?: string;
  /** The text is already cut to VIEW_RESULT_MAX (its call, a view tool, was in the same file). */
  viewCut?: true;
  agentId?: string;
  mirror: boolean;
  uuid?: string;
}

interface LinkUnit {
  kind: 'link';
  spawnId: string;
  agentId: string;
  uuid?: string;
}

/**
 * An agent_progress copy of a subagent record. Its events are made only when they are needed (no subagent
 * file stands in for the spawn, or a call is still without a result): until then only where its data sits.
 */
interface MirrorUnit {
  kind: 'mirror';
  spawnId: string;
  line: number;
  uuid?: string;
  /** The progress record's own timestamp. */
  timestamp?: string;
  /** Byte range of `data` in the file. */
  at?: { offset: number; length: number };
  /** `data` itself, when the line was parsed whole. */
  data?: JsonRecord;
}

type Unit = EventUnit | ResultUnit | LinkUnit | MirrorUnit;

interface ChainRoot {
  id: string;
  prompt?: string;
  ms?: number;
}

interface AgentMeta {
  agentType?: string;
  description?: string;
  toolUseId?: string;
}

interface ParsedFile {
  abs: string;
  path: string;
  role: FileRole;
  mtimeMs: number;
  bytes: number;
  lines: number;
  records: number;
  format: 'transcript' | 'stream-json';
  sessionId?: string;
  version?: string;
  cwd?: string;
  first?: { ms: number; iso: string };
  last?: { ms: number; iso: string };
  units: Unit[];
  uuids: Set<string>;
  chains: Map<string, ChainRoot>;
  /** First user text of the file: an agent file's prompt. */
  firstUserText?: string;
  corrupt: CorruptLine[];
  corruptTotal: number;
  truncatedTail: boolean;
  /** Records skipped because their uuid already appeared in this file. */
  duplicates: number;
  meta?: AgentMeta;
}

async function parseFile(abs: string, display: string, role: FileRole, mtimeMs: number, onBytes?: (n: number) => void): Promise<ParsedFile> {
  const parser = new FileParser(abs, display, role, mtimeMs);
  const { bytes, lines } = await forEachLine(abs, (l) => parser.line(l), onBytes);
  const file = parser.file;
  file.bytes = bytes;
  file.lines = lines;
  if (role.kind === 'agent') file.meta = await readAgentMeta(abs, role.agentId);
  return file;
}

async function readAgentMeta(abs: string, agentId: string): Promise<AgentMeta | undefined> {
  try {
    const raw: unknown = JSON.parse(await readFile(path.join(path.dirname(abs), `agent-${agentId}.meta.json`), 'utf8'));
    if (!isObj(raw)) return undefined;
    return { agentType: str(raw.agentType), description: str(raw.description), toolUseId: str(raw.toolUseId) };
  } catch {
    // No sidecar (older versions) or an unreadable one: linking falls back to agent ids and prompts.
    return undefined;
  }
}

class FileParser {
  readonly file: ParsedFile;
  private formatKnown = false;
  private readonly chainOf = new Map<string, string>();
  /** tool_use ids of view tools (Read, Grep, …) in this file. */
  private readonly viewCalls = new Set<string>();
  /** File offset of the first byte of the line being read. */
  private lineStart = 0;
  /** PEER_AUDIT_LOG_FAST_PATH=0 parses every line whole (to compare the two paths). */
  private readonly fastPath = process.env.PEER_AUDIT_LOG_FAST_PATH !== '0';

  constructor(abs: string, display: string, role: FileRole, mtimeMs: number) {
    this.file = {
      abs,
      path: display,
      role,
      mtimeMs,
      bytes: 0,
      lines: 0,
      records: 0,
      format: 'transcript',
      units: [],
      uuids: new Set(),
      chains: new Map(),
      corrupt: [],
      corruptTotal: 0,
      truncatedTail: false,
      duplicates: 0,
    };
  }

  line(l: RawLine): void {
    const b = l.bytes;
    this.lineStart = l.start;
    // Well-formed lines (nearly all) take the fast path; anything else is parsed whole so the problem can be named.
    if (this.fastPath && b.indexOf(0) === -1 && isUtf8(b)) {
      let rec: JsonRecord | undefined;
      try {
        rec = readRecord(b);
      } catch {
        rec = undefined;
      }
      if (rec) {
        this.file.records++;
        try {
          this.record(rec, l.line);
        } catch (err) {
          this.corrupt(l, `unreadable record: ${err instanceof Error ? err.message : String(err)}`, '');
        }
        return;
      }
    }
    let parsed: ParsedLine;
    try {
      parsed = parseJsonLine(l.bytes, l.terminated);
    } catch (err) {
      // A line too long for one JavaScript string.
      this.corrupt(l, `unreadable line (${l.bytes.length} bytes): ${err instanceof Error ? err.message : String(err)}`, '');
      return;
    }
    if (parsed.blank) return;
    if (parsed.problem) this.corrupt(l, parsed.problem.reason, parsed.problem.excerpt);
    if (parsed.cutOff) this.file.truncatedTail = true;
    if (!parsed.value) return;
    this.file.records++;
    try {
      this.record(parsed.value, l.line);
    } catch (err) {
      // A record of a shape never seen before must not stop the file.
      this.corrupt(l, `unreadable record: ${err instanceof Error ? err.message : String(err)}`, '');
    }
  }

  private corrupt(l: RawLine, reason: string, excerpt: string): void {
    this.file.corruptTotal++;
    if (this.file.corrupt.length < CORRUPT_LISTED_MAX) {
      this.file.corrupt.push({ path: this.file.path, line: l.line, byteOffset: l.byteOffset, reason, excerpt });
    }
  }

  private get isAgentTranscript(): boolean {
    return this.file.role.kind === 'agent' && this.file.format === 'transcript';
  }

  private record(rec: JsonRecord, line: number): void {
    this.noteEnvelope(rec);
    const local = this.localActor(rec, line);
    const type = str(rec.type);
    if (!type || !EXTRACTED_TYPES.has(type)) return;
    const uuid = str(rec.uuid);
    if (uuid) {
      if (this.file.uuids.has(uuid)) {
        this.file.duplicates++;
        return;
      }
      this.file.uuids.add(uuid);
    }
    const ref = this.ref(line, uuid, str(rec.timestamp));
    if (type === 'assistant') this.assistant(rec.message, local, ref, false);
    else if (type === 'user') this.user(rec, local, ref, false);
    else if (type === 'progress') this.progress(rec, line, uuid);
    else if (type === 'result') this.streamResult(rec, ref);
    else this.taskLink(rec, uuid);
  }

  private noteEnvelope(rec: JsonRecord): void {
    const f = this.file;
    if (!this.formatKnown) {
      this.formatKnown = true;
      const init = rec.type === 'system' && rec.subtype === 'init' && 'session_id' in rec;
      if (init || ('parent_tool_use_id' in rec && !('sessionId' in rec))) f.format = 'stream-json';
    }
    f.sessionId ??= str(rec.sessionId) ?? str(rec.session_id);
    f.version ??= str(rec.version) ?? str(rec.claude_code_version);
    f.cwd ??= str(rec.cwd);
    const iso = str(rec.timestamp);
    const ms = iso ? Date.parse(iso) : NaN;
    if (iso && !Number.isNaN(ms)) {
      if (!f.first || ms < f.first.ms) f.first = { ms, iso };
      if (!f.last || ms > f.last.ms) f.last = { ms, iso };
    }
  }

  private localActor(rec: JsonRecord, line: number): LocalActor {
    if (this.file.format === 'stream-json') {
      const parent = str(rec.parent_tool_use_id);
      return parent ? { spawnId: parent } : 'main';
    }
    if (this.file.role.kind === 'agent' || rec.isSidechain !== true) return 'main';
    const agentId = str(rec.agentId);
    return agentId ? { agentId } : { chain: this.chainRoot(rec, line) };
  }

  /** Legacy inline sidechains: follow parentUuid back to the chain's root record. */
  private chainRoot(rec: JsonRecord, line: number): string {
    const uuid = str(rec.uuid);
    const parent = str(rec.parentUuid);
    let root = parent ? this.chainOf.get(parent) : undefined;
    if (!root) {
      root = uuid ?? `line:${line}`;
      const iso = str(rec.timestamp);
      const prompt = rec.type === 'user' && isObj(rec.message) ? userText(rec.message.content) : undefined;
      this.file.chains.set(root, { id: root, prompt: prompt === undefined ? undefined : cut(prompt, TEXT_MAX), ms: toMs(iso) });
    }
    if (uuid) this.chainOf.set(uuid, root);
    return root;
  }

  private ref(line: number, uuid: string | undefined, timestamp: string | undefined): LogRef {
    const ref: LogRef = { path: this.file.path, line };
    if (uuid) ref.uuid = uuid;
    if (timestamp) ref.timestamp = timestamp;
    return ref;
  }

  private push(event: LogEvent, local: LocalActor, mirror: boolean): void {
    this.file.units.push({ kind: 'event', event, local, mirror, uuid: event.ref.uuid });
  }

  private assistant(message: unknown, local: LocalActor, ref: LogRef, mirror: boolean): void {
    if (!isObj(message)) return;
    const content = message.content;
    if (typeof content === 'string') {
      this.text('assistant', content, local, ref, mirror);
      return;
    }
    if (!Array.isArray(content)) return;
    for (const block of content) {
      if (!isObj(block)) continue;
      if (block.type === 'text') this.text('assistant', str(block.text), local, ref, mirror);
      else if (block.type === 'tool_use') this.toolUse(block, local, ref, mirror);
    }
  }

  private toolUse(block: JsonRecord, local: LocalActor, ref: LogRef, mirror: boolean): void {
    const id = str(block.id);
    const name = str(block.name);
    if (!id || !name) return;
    const input = isObj(block.input) ? block.input : {};
    if (VIEW_TOOLS.has(name)) this.viewCalls.add(id);
    this.push(SPAWN_TOOLS.has(name) ? makeSpawn(id, name as Spawn['toolName'], input, ref) : makeToolCall(id, name, input, ref), local, mirror);
  }

  private text(role: TextEvent['role'], text: string | undefined, local: LocalActor, ref: LogRef, mirror: boolean, human?: boolean): void {
    if (!text || text.trim() === '') return;
    const event: TextEvent = { kind: 'text', role, text: cut(text, TEXT_MAX), actor: 'main', ref };
    if (role === 'user') event.human = human === true;
    this.push(event, local, mirror);
  }

  private user(rec: JsonRecord, local: LocalActor, ref: LogRef, mirror: boolean): void {
    const message = rec.message;
    if (!isObj(message)) return;
    const content = message.content;
    const text = userText(content);
    if (text !== undefined && !mirror) this.file.firstUserText ??= cut(text, TEXT_MAX);
    if (text !== undefined) this.text('user', text, local, ref, mirror, this.isHumanTurn(rec, local, text));
    if (!Array.isArray(content)) return;
    const results = content.filter((b): b is JsonRecord => isObj(b) && b.type === 'tool_result');
    // toolUseResult describes the record's one tool result; with several it cannot be told apart.
    const detail = results.length === 1 ? rec.toolUseResult ?? rec.tool_use_result : undefined;
    for (const block of results) this.toolResult(block, detail, ref, mirror);
  }

  private isHumanTurn(rec: JsonRecord, local: LocalActor, text: string): boolean {
    if (local !== 'main' || this.isAgentTranscript) return false;
    if (rec.isMeta === true || rec.isCompactSummary === true || rec.isVisibleInTranscriptOnly === true) return false;
    return !text.startsWith(INTERRUPT_MARKER);
  }

  private toolResult(block: JsonRecord, detail: unknown, ref: LogRef, mirror: boolean): void {
    const toolUseId = str(block.tool_use_id);
    if (!toolUseId) return;
    const { text, withoutTrailer, trailerAgentId } = flattenResult(block.content);
    const isError =
      block.is_error === true || (typeof detail === 'string' && detail.startsWith('Error')) || EXIT_CODE_FAILURE.test(text);
    // What a view tool showed is cut here already: the file's records are all held until the sessions are built.
    const view = this.viewCalls.has(toolUseId);
    const unit: ResultUnit = { kind: 'result', toolUseId, result: { isError, text: view ? ownCopy(cut(text, VIEW_RESULT_MAX)) : text, ref }, mirror, uuid: ref.uuid };
    if (view) unit.viewCut = true;
    if (withoutTrailer !== undefined) unit.spawnText = withoutTrailer;
    const agentId = (isObj(detail) ? str(detail.agentId) : undefined) ?? trailerAgentId;
    if (agentId) unit.agentId = agentId;
    this.file.units.push(unit);
  }

  /** 2.1.x agent_progress: links a spawn to its agent id and mirrors the subagent's tool traffic. */
  private progress(rec: JsonRecord, line: number, uuid: string | undefined): void {
    const data = rec.data;
    const spawnId = str(rec.parentToolUseID);
    if (!isObj(data) || data.type !== 'agent_progress' || !spawnId) return;
    const agentId = str(data.agentId);
    if (agentId) this.file.units.push({ kind: 'link', spawnId, agentId, uuid });
    const unit: MirrorUnit = { kind: 'mirror', spawnId, line, uuid, timestamp: str(rec.timestamp) };
    if (data instanceof DeferredData) unit.at = { offset: this.lineStart + data.start, length: data.end - data.start };
    else unit.data = data;
    this.file.units.push(unit);
  }

  /** The units an agent_progress record's data yields: what progress() would have made of it at once. */
  mirrorUnits(unit: MirrorUnit, data: JsonRecord): Unit[] {
    const inner = data.message;
    if (!isObj(inner)) return [];
    const ref = this.ref(unit.line, unit.uuid, str(inner.timestamp) ?? unit.timestamp);
    const local = { spawnId: unit.spawnId };
    if (inner.type === 'assistant') this.assistant(inner.message, local, ref, true);
    else if (inner.type === 'user') this.user(inner, local, ref, true);
    return this.file.units;
  }

  private streamResult(rec: JsonRecord, ref: LogRef): void {
    const event: StreamResultEvent = { kind: 'result', subtype: str(rec.subtype) ?? '', isError: rec.is_error === true, ref };
    const text = str(rec.result);
    if (text !== undefined) event.text = cut(text, TEXT_MAX);
    this.file.units.push({ kind: 'event', event, local: 'main', mirror: false, uuid: ref.uuid });
  }

  /** stream-json task_started / task_notification name the agent id of a spawn. */
  private taskLink(rec: JsonRecord, uuid: string | undefined): void {
    const agentId = str(rec.task_id);
    const spawnId = str(rec.tool_use_id);
    if (agentId && spawnId) this.file.units.push({ kind: 'link', spawnId, agentId, uuid });
  }
}

// ---------------------------------------------------------------- reading only what the parser uses

/** The top-level fields FileParser reads. Every other member of a record is located, checked and skipped. */
const FIELDS = [
  'type',
  'subtype',
  'uuid',
  'parentUuid',
  'timestamp',
  'sessionId',
  'session_id',
  'version',
  'claude_code_version',
  'cwd',
  'isSidechain',
  'agentId',
  'parent_tool_use_id',
  'isMeta',
  'isCompactSummary',
  'isVisibleInTranscriptOnly',
  'parentToolUseID',
  'is_error',
  'task_id',
  'tool_use_id',
  'result',
  // Decoded only for the record types that use them:
  'message',
  'data',
  'toolUseResult',
  'tool_use_result',
] as const;
const FIELD_KEYS = new KeyTable(FIELDS);
const F_MESSAGE = FIELDS.indexOf('message');
const F_DATA = FIELDS.indexOf('data');
const F_TOOL_USE_RESULT = FIELDS.indexOf('toolUseResult');
const F_TOOL_USE_RESULT_STREAM = FIELDS.indexOf('tool_use_result');
const NESTED_KEYS = new KeyTable(['type', 'agentId']);

/**
 * What FileParser reads of the strings in a message: these keys whole; `command` up to COMMAND_MAX characters;
 * every other string (texts, results, prompts, descriptions, other tool input) up to TEXT_MAX at most.
 */
const WHOLE_STRINGS = ['id', 'name', 'type', 'tool_use_id', 'subagent_type', 'file_path', 'notebook_path', 'role', 'model', 'uuid', 'timestamp', 'agentId'];
const CUT_KEYS = new KeyTable([...WHOLE_STRINGS, 'command']);
const COMMAND_KEY = WHOLE_STRINGS.length;
const MESSAGE_CUTS: CutPolicy = {
  needFor(b, s, e) {
    const id = CUT_KEYS.lookup(b, s, e);
    if (id === -1) return TEXT_MAX + 1;
    return id === COMMAND_KEY ? COMMAND_MAX + 1 : 0;
  },
  elementNeed: TEXT_MAX + 1,
  needOf(key) {
    if (key === 'command') return COMMAND_MAX + 1;
    return key !== undefined && WHOLE_STRINGS.includes(key) ? 0 : TEXT_MAX + 1;
  },
};
const topMembers = new Members();
const nestedMembers = new Members();

/**
 * The record on a line, holding what FileParser reads and nothing else: envelope fields always; `message` for
 * user and assistant records; `data` for agent_progress (for other progress records only its type);
 * of toolUseResult only whether it is a string (kept), an object (only its agentId kept) or something else.
 * Undefined when the line is not a well-formed object: the caller then parses it whole.
 */
function readRecord(b: Buffer): JsonRecord | undefined {
  const m = topMembers;
  if (!scanObject(b, m)) return undefined;
  const rec: JsonRecord = {};
  let message = -1;
  let data = -1;
  let toolUseResult = -1;
  let toolUseResultStream = -1;
  for (let i = 0; i < m.count; i++) {
    const id = FIELD_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return undefined;
    if (id < 0) continue;
    // A repeated key: the last one counts, as with JSON.parse.
    if (id === F_MESSAGE) message = i;
    else if (id === F_DATA) data = i;
    else if (id === F_TOOL_USE_RESULT) toolUseResult = i;
    else if (id === F_TOOL_USE_RESULT_STREAM) toolUseResultStream = i;
    else rec[FIELDS[id]] = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  const type = rec.type;
  if (type === 'user' || type === 'assistant') {
    if (message >= 0) rec.message = decodeBounded(b, m, message, MESSAGE_CUTS);
    if (type === 'user') {
      if (toolUseResult >= 0) rec.toolUseResult = toolUseResultSummary(b, m.valueStart(toolUseResult), m.valueEnd(toolUseResult));
      if (toolUseResultStream >= 0) {
        rec.tool_use_result = toolUseResultSummary(b, m.valueStart(toolUseResultStream), m.valueEnd(toolUseResultStream));
      }
    }
  } else if (type === 'progress' && data >= 0) {
    rec.data = progressData(b, m.valueStart(data), m.valueEnd(data));
  }
  return rec;
}

/** A toolUseResult as far as it matters: a string whole, of an object only its agentId, any other value as a stand-in of its kind. */
function toolUseResultSummary(b: Buffer, s: number, e: number): unknown {
  const c = b[s];
  if (c === 0x5b) return [];
  if (c !== 0x7b) return decodeValue(b, s, e);
  const m = nestedMembers;
  if (!scanObject(b, m, s, e)) return decodeValue(b, s, e);
  const out: JsonRecord = {};
  for (let i = 0; i < m.count; i++) {
    const id = NESTED_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return decodeValue(b, s, e);
    if (id === 1) out.agentId = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  return out;
}

/** agent_progress data not decoded yet: its agent id, and where it sits on the line. */
class DeferredData {
  readonly type = 'agent_progress';
  constructor(
    readonly agentId: unknown,
    readonly start: number,
    readonly end: number,
  ) {}
}

/** A progress record's data: for agent_progress its agent id and place (see MirrorUnit), else only its type. */
function progressData(b: Buffer, s: number, e: number): unknown {
  if (b[s] !== 0x7b) return decodeValue(b, s, e);
  const m = nestedMembers;
  if (!scanObject(b, m, s, e)) return decodeValue(b, s, e);
  let type: unknown;
  let agentId: unknown;
  for (let i = 0; i < m.count; i++) {
    const id = NESTED_KEYS.lookup(b, m.keyStart(i), m.keyEnd(i));
    if (id === -2) return decodeValue(b, s, e);
    if (id === 0) type = decodeValue(b, m.valueStart(i), m.valueEnd(i));
    else if (id === 1) agentId = decodeValue(b, m.valueStart(i), m.valueEnd(i));
  }
  return type === 'agent_progress' ? new DeferredData(agentId, s, e) : { type };
}

/** Decodes a deferred agent_progress record from its file; undefined when the file no longer holds it. */
function readMirrorData(file: ParsedFile, unit: MirrorUnit): JsonRecord | undefined {
  if (unit.data) return unit.data;
  if (!unit.at) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file.abs, 'r');
    const buf = Buffer.allocUnsafe(unit.at.length);
    const n = readSync(fd, buf, 0, unit.at.length, unit.at.offset);
    const value: unknown = JSON.parse(buf.toString('utf8', 0, n));
    return isObj(value) ? value : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The events and results of an agent_progress record, made the way FileParser would have made them. */
function materialiseMirror(file: ParsedFile, unit: MirrorUnit): Unit[] {
  const data = readMirrorData(file, unit);
  if (!data) return [];
  try {
    return new FileParser(file.abs, file.path, file.role, file.mtimeMs).mirrorUnits(unit, data);
  } catch {
    return [];
  }
}

function makeSpawn(id: string, toolName: Spawn['toolName'], input: JsonRecord, ref: LogRef): Spawn {
  const type = str(input.subagent_type) ?? '';
  const spawn: Spawn = { kind: 'spawn', id, toolName, subagentType: stripPlugin(type), actor: 'main', ref };
  const description = str(input.description);
  const prompt = str(input.prompt);
  if (description !== undefined) spawn.description = cut(description, TEXT_MAX);
  if (prompt !== undefined) spawn.prompt = cut(prompt, TEXT_MAX);
  return spawn;
}

function makeToolCall(id: string, name: string, input: JsonRecord, ref: LogRef): ToolCall {
  const call: ToolCall = { kind: 'tool', id, name, input: {}, actor: 'main', ref };
  const rest: JsonRecord = { ...input };
  if (name === 'Bash' && typeof input.command === 'string') {
    call.command = cut(input.command, COMMAND_MAX);
    delete rest.command;
  }
  const filePath = str(input.file_path) ?? str(input.notebook_path);
  if (filePath !== undefined) {
    call.filePath = filePath;
    delete rest.file_path;
    delete rest.notebook_path;
  }
  call.input = bounded(rest, 0) as Record<string, unknown>;
  return call;
}

/** A copy of a tool input with strings, arrays and nesting cut, so no record is kept whole. */
function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > INPUT_STRING_MAX ? ownCopy(cut(value, INPUT_STRING_MAX)) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= INPUT_DEPTH_MAX) return Array.isArray(value) ? '[array]' : '[object]';
  if (Array.isArray(value)) return value.slice(0, INPUT_ITEMS_MAX).map((v) => bounded(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, INPUT_ITEMS_MAX)) out[k] = bounded(v, depth + 1);
  return out;
}

/** User text: a string content, or the text blocks of an array content joined by newlines. */
function userText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter((b): b is JsonRecord => isObj(b) && b.type === 'text' && typeof b.text === 'string');
  return texts.length ? texts.map((b) => cut(b.text as string, TEXT_MAX)).join('\n') : undefined;
}

function flattenResult(content: unknown): { text: string; withoutTrailer?: string; trailerAgentId?: string } {
  if (typeof content === 'string') return { text: cut(content, TEXT_MAX) };
  if (!Array.isArray(content)) return { text: '' };
  const all: string[] = [];
  const kept: string[] = [];
  let trailerAgentId: string | undefined;
  for (const block of content) {
    if (!isObj(block) || block.type !== 'text' || typeof block.text !== 'string') continue;
    const text = cut(block.text, TEXT_MAX);
    all.push(text);
    const trailer = AGENT_TRAILER.exec(text);
    if (trailer) trailerAgentId ??= trailer[1];
    else kept.push(text);
  }
  const text = cut(all.join('\n'), TEXT_MAX);
  return trailerAgentId ? { text, withoutTrailer: cut(kept.join('\n'), TEXT_MAX), trailerAgentId } : { text };
}

// ---------------------------------------------------------------- across files

/**
 * Resumed sessions copy earlier records into the new file: keep each uuid's first occurrence,
 * reading files oldest first. Returns how many records were dropped.
 */
function dropDuplicateRecords(files: ParsedFile[]): number {
  const order = [...files].sort(
    (a, b) => (a.first?.ms ?? Infinity) - (b.first?.ms ?? Infinity) || a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path),
  );
  const seen = new Set<string>();
  let dropped = 0;
  for (const file of order) {
    const duplicates = new Set([...file.uuids].filter((u) => seen.has(u)));
    if (duplicates.size) {
      file.units = file.units.filter((u) => !u.uuid || !duplicates.has(u.uuid));
      dropped += duplicates.size;
    }
    for (const u of file.uuids) seen.add(u);
  }
  return dropped;
}

function assembleSessions(files: ParsedFile[]): { sessions: LogSession[]; unlinked: number } {
  const isAgentFile = (f: ParsedFile): boolean => f.role.kind === 'agent' && f.format === 'transcript';
  const hosts = new Map<string, ParsedFile[]>();
  for (const f of files.filter((f) => !isAgentFile(f))) {
    const id = sessionIdOf(f);
    hosts.set(id, [...(hosts.get(id) ?? []), f]);
  }
  const candidates = new Map<ParsedFile, ParsedFile[]>();
  const orphans: ParsedFile[] = [];
  for (const f of files.filter(isAgentFile)) {
    const host = pickHost(hosts.get(parentSessionId(f)));
    if (host) candidates.set(host, [...(candidates.get(host) ?? []), f]);
    else orphans.push(f);
  }

  const sessions: LogSession[] = [];
  let unlinked = 0;
  for (const main of [...files.filter((f) => !isAgentFile(f)), ...orphans]) {
    const builder = new SessionBuilder(main);
    unlinked += builder.linkAgentFiles(candidates.get(main) ?? []);
    sessions.push(builder.finish());
  }
  sessions.sort((a, b) => (toMs(a.firstTimestamp) ?? Infinity) - (toMs(b.firstTimestamp) ?? Infinity) || a.mainFile.localeCompare(b.mainFile));
  return { sessions, unlinked };
}

function sessionIdOf(f: ParsedFile): string {
  return f.sessionId ?? (f.role.kind === 'agent' ? f.role.dirSessionId : undefined) ?? path.basename(f.abs, '.jsonl');
}

function parentSessionId(f: ParsedFile): string {
  return (f.role.kind === 'agent' ? f.role.dirSessionId : undefined) ?? sessionIdOf(f);
}

/** The main file subagent files attach to: a transcript named after the session, else any transcript. */
function pickHost(mains: ParsedFile[] | undefined): ParsedFile | undefined {
  if (!mains) return undefined;
  const transcripts = mains.filter((m) => m.format === 'transcript');
  return transcripts.find((m) => path.basename(m.abs, '.jsonl') === m.sessionId) ?? transcripts[0];
}

interface Item {
  event: LogEvent;
  seq: number;
  ms?: number;
  /** The spawn an agent_progress copy belongs to. */
  mirrorOf?: string;
}

class SessionBuilder {
  private items: Item[] = [];
  private readonly calls = new Map<string, ToolCall | Spawn>();
  private readonly spawns = new Map<string, Spawn>();
  private readonly pendingResults: ResultUnit[] = [];
  /** agent_progress records, in read order, with the sequence number of their place. */
  private readonly mirrors: Array<{ unit: MirrorUnit; file: ParsedFile; seq: number }> = [];
  private readonly files: ParsedFile[] = [];
  private seq = 0;

  constructor(private readonly main: ParsedFile) {
    this.addFile(main, 'main');
  }

  /** Attaches every subagent file that links to a spawn; a linked file may hold spawns other files link to. Returns how many stayed unlinked. */
  linkAgentFiles(candidates: ParsedFile[]): number {
    const pending = [...candidates];
    let linked = true;
    while (linked && pending.length) {
      linked = false;
      for (const file of [...pending]) {
        const spawn = this.spawnFor(file);
        if (!spawn || file.role.kind !== 'agent') continue;
        pending.splice(pending.indexOf(file), 1);
        spawn.agentId ??= file.role.agentId;
        spawn.transcript = file.role.layout;
        if (spawn.subagentType === '' && file.meta?.agentType) spawn.subagentType = stripPlugin(file.meta.agentType);
        if (spawn.description === undefined && file.meta?.description) spawn.description = file.meta.description;
        this.addFile(file, { spawnId: spawn.id });
        linked = true;
      }
    }
    return pending.length;
  }

  /** Linking order: meta.json toolUseId, then the agent id, then (old versions) the prompt. */
  private spawnFor(file: ParsedFile): Spawn | undefined {
    if (file.role.kind !== 'agent') return undefined;
    const byMeta = file.meta?.toolUseId ? this.spawns.get(file.meta.toolUseId) : undefined;
    if (byMeta) return byMeta;
    const agentId = file.role.agentId;
    const spawns = [...this.spawns.values()];
    const byAgent = spawns.find((s) => s.agentId === agentId);
    if (byAgent) return byAgent;
    const prompt = file.firstUserText;
    return prompt ? spawns.find((s) => !s.agentId && !s.transcript && s.prompt && prompt.startsWith(s.prompt)) : undefined;
  }

  private addFile(file: ParsedFile, owner: Actor): void {
    this.files.push(file);
    // Sequence numbers follow read order, so events without a timestamp keep their place.
    const base = this.seq;
    this.seq += file.units.length;
    const chained: Array<{ unit: EventUnit; seq: number }> = [];
    const links: LinkUnit[] = [];
    file.units.forEach((unit, index) => {
      if (unit.kind === 'event') {
        if (isChainActor(unit.local)) chained.push({ unit, seq: base + index });
        else this.addEvent(unit, unit.local === 'main' ? owner : unit.local, base + index);
      } else if (unit.kind === 'result') {
        this.attachResult(unit);
      } else if (unit.kind === 'mirror') {
        this.mirrors.push({ unit, file, seq: base + index });
      } else links.push(unit);
    });
    for (const link of links) {
      const spawn = this.spawns.get(link.spawnId);
      if (spawn) spawn.agentId ??= link.agentId;
    }
    this.retryPendingResults();
    if (chained.length) this.resolveInlineChains(file, chained);
  }

  private addEvent(unit: EventUnit, actor: Actor, seq: number): void {
    const event = unit.event;
    if (event.kind !== 'result') event.actor = actor;
    const item: Item = { event, seq, ms: toMs(event.ref.timestamp) };
    if (unit.mirror && typeof unit.local === 'object' && 'spawnId' in unit.local) {
      item.mirrorOf = unit.local.spawnId;
    } else if (event.kind === 'tool' || event.kind === 'spawn') {
      this.registerCall(event);
    }
    this.items.push(item);
  }

  private registerCall(call: ToolCall | Spawn): void {
    if (this.calls.has(call.id)) return;
    this.calls.set(call.id, call);
    if (call.kind === 'spawn') this.spawns.set(call.id, call);
  }

  /** First result wins; one whose call is not known yet waits for it. */
  private attachResult(unit: ResultUnit): void {
    const call = this.calls.get(unit.toolUseId);
    if (!call) this.pendingResults.push(unit);
    else if (call.result) return;
    else if (call.kind === 'tool') call.result = VIEW_TOOLS.has(call.name) && !unit.viewCut ? { ...unit.result, text: ownCopy(cut(unit.result.text, VIEW_RESULT_MAX)) } : unit.result;
    else {
      call.result = unit.spawnText === undefined ? unit.result : { ...unit.result, text: unit.spawnText };
      call.agentId ??= unit.agentId;
    }
  }

  private retryPendingResults(): void {
    const waiting = this.pendingResults.splice(0);
    for (const unit of waiting) this.attachResult(unit);
  }

  /**
   * ≤2.0.27 sidechains carry no agent id: a chain belongs to the spawn whose prompt its root repeats,
   * else to the latest spawn still running when the chain started. Chains matching no spawn are dropped.
   */
  private resolveInlineChains(file: ParsedFile, units: Array<{ unit: EventUnit; seq: number }>): void {
    const owner = new Map<string, Spawn>();
    const taken = new Set<Spawn>();
    const roots = [...file.chains.values()].sort((a, b) => (a.ms ?? 0) - (b.ms ?? 0));
    for (const root of roots) {
      const spawn = this.spawnByPrompt(root, taken) ?? this.spawnRunningAt(root, taken);
      if (!spawn) continue;
      owner.set(root.id, spawn);
      taken.add(spawn);
    }
    for (const { unit, seq } of units) {
      const local = unit.local as { chain: string } | { agentId: string };
      const spawn = 'chain' in local ? owner.get(local.chain) : [...this.spawns.values()].find((s) => s.agentId === local.agentId);
      if (!spawn) continue;
      spawn.transcript ??= 'inline';
      this.addEvent(unit, { spawnId: spawn.id }, seq);
    }
    this.retryPendingResults();
  }

  private spawnByPrompt(root: ChainRoot, taken: Set<Spawn>): Spawn | undefined {
    if (!root.prompt) return undefined;
    const prompt = root.prompt;
    const matches = [...this.spawns.values()].filter((s) => !taken.has(s) && !s.transcript && s.prompt && prompt.startsWith(s.prompt));
    return latestBefore(matches, root.ms) ?? matches[0];
  }

  private spawnRunningAt(root: ChainRoot, taken: Set<Spawn>): Spawn | undefined {
    const at = root.ms;
    if (at === undefined) return undefined;
    const running = [...this.spawns.values()].filter((s) => {
      if (taken.has(s) || s.transcript) return false;
      const end = s.result ? toMs(s.result.ref.timestamp) : undefined;
      return end === undefined || end >= at;
    });
    return latestBefore(running, at);
  }

  finish(): LogSession {
    this.keepMirrors();
    const events = this.orderedEvents();
    this.setTranscripts(events);
    const main = this.main;
    const session: LogSession = {
      sessionId: sessionIdOf(main),
      format: main.format,
      mainFile: main.path,
      files: this.files.map((f) => f.path),
      events,
      corrupt: this.files.flatMap((f) => f.corrupt),
    };
    if (main.version) session.version = main.version;
    if (main.cwd) session.cwd = main.cwd;
    const firsts = this.files.map((f) => f.first).filter((t) => t !== undefined);
    const lasts = this.files.map((f) => f.last).filter((t) => t !== undefined);
    if (firsts.length) session.firstTimestamp = firsts.reduce((a, b) => (b.ms < a.ms ? b : a)).iso;
    if (lasts.length) session.lastTimestamp = lasts.reduce((a, b) => (b.ms > a.ms ? b : a)).iso;
    if (main.truncatedTail) session.truncatedTail = true;
    for (const f of this.files) if (f.corruptTotal > f.corrupt.length) (session.corruptCounts ??= {})[f.path] = f.corruptTotal;
    return session;
  }

  /** agent_progress copies stand in only for a spawn whose own file is missing, and never repeat a call. */
  private keepMirrors(): void {
    const hasFile = (spawnId: string): boolean => {
      const t = this.spawns.get(spawnId)?.transcript;
      return t === 'sibling-file' || t === 'subagents-dir';
    };
    const kept: Item[] = [...this.items];
    // In read order: a mirror's results, or (for a spawn with its own file) the mirror to read them from if needed.
    const results: Array<ResultUnit | { unit: MirrorUnit; file: ParsedFile }> = [];
    for (const mirror of this.mirrors) {
      if (hasFile(mirror.unit.spawnId)) {
        results.push(mirror);
        continue;
      }
      for (const unit of materialiseMirror(mirror.file, mirror.unit)) {
        if (unit.kind === 'result') results.push(unit);
        if (unit.kind !== 'event') continue;
        const item = this.mirrorItem(unit, mirror.seq);
        if (item.event.kind === 'tool' || item.event.kind === 'spawn') {
          if (this.calls.has(item.event.id)) continue;
          this.registerCall(item.event);
        }
        kept.push(this.markMirror(item));
      }
    }
    this.items = kept;
    for (const unit of this.pendingResults.splice(0)) this.attachResult(unit);
    // The first result wins: a mirror copy of a result can only matter to a call that is still without one.
    const open = new Set([...this.calls.values()].filter((c) => !c.result).map((c) => c.id));
    const attach = (unit: ResultUnit): void => {
      this.attachResult(unit);
      if (this.calls.get(unit.toolUseId)?.result) open.delete(unit.toolUseId);
    };
    for (const entry of results) {
      if ('kind' in entry) attach(entry);
      else if (open.size > 0) for (const unit of materialiseMirror(entry.file, entry.unit)) if (unit.kind === 'result') attach(unit);
    }
  }

  private mirrorItem(unit: EventUnit, seq: number): Item {
    const event = unit.event;
    const local = unit.local as { spawnId: string };
    if (event.kind !== 'result') event.actor = local;
    return { event, seq, ms: toMs(event.ref.timestamp), mirrorOf: local.spawnId };
  }

  private markMirror(item: Item): Item {
    const spawn = this.spawns.get(item.mirrorOf!);
    if (spawn) spawn.transcript ??= 'progress-mirror';
    return item;
  }

  /** By timestamp; an event without one takes its predecessor's, so it stays next to it. */
  private orderedEvents(): LogEvent[] {
    const items = [...this.items].sort((a, b) => a.seq - b.seq);
    let previous: number | undefined;
    const effective = new Map<Item, number | undefined>();
    for (const item of items) {
      previous = item.ms ?? previous;
      effective.set(item, previous);
    }
    const firstKnown = items.find((i) => i.ms !== undefined)?.ms ?? 0;
    const key = (i: Item): number => effective.get(i) ?? firstKnown;
    return items.sort((a, b) => key(a) - key(b) || a.seq - b.seq).map((i) => i.event);
  }

  private setTranscripts(events: LogEvent[]): void {
    const lastText = new Map<string, TextEvent>();
    const streamed = new Set<string>();
    for (const e of events) {
      if (e.kind === 'result' || e.actor === 'main') continue;
      if (e.kind === 'text' && e.role === 'assistant') lastText.set(e.actor.spawnId, e);
      if (this.main.format === 'stream-json') streamed.add(e.actor.spawnId);
    }
    for (const spawn of this.spawns.values()) {
      if (!spawn.transcript && streamed.has(spawn.id)) spawn.transcript = 'stream-json';
      spawn.transcript ??= 'none';
      const text = lastText.get(spawn.id);
      if (text) spawn.finalText = { text: text.text, ref: text.ref };
    }
  }
}

function isChainActor(local: LocalActor): local is { chain: string } | { agentId: string } {
  return typeof local === 'object' && ('chain' in local || 'agentId' in local);
}

function latestBefore(spawns: Spawn[], ms: number | undefined): Spawn | undefined {
  let best: Spawn | undefined;
  let bestMs = -Infinity;
  for (const s of spawns) {
    const at = toMs(s.ref.timestamp);
    if (at === undefined || (ms !== undefined && at > ms)) continue;
    if (at >= bestMs) {
      best = s;
      bestMs = at;
    }
  }
  return best;
}

// ---------------------------------------------------------------- small helpers

function addFileStats(report: SourceReport, file: ParsedFile): void {
  const s = report.stats;
  s.bytes += file.bytes;
  s.lines += file.lines;
  s.records += file.records;
  s.corruptLines += file.corruptTotal;
  const problems: SourceProblem[] = file.corrupt.map((c) => ({ where: c.path, line: c.line, reason: c.reason }));
  if (file.corruptTotal > file.corrupt.length) {
    problems.push({ where: file.path, reason: `${file.corruptTotal - file.corrupt.length} more corrupt lines not listed` });
  }
  report.problems.push(...problems);
}

/** A string that holds its own characters: a cut of a longer string would keep the whole of it alive. */
function ownCopy(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  // Do not leave half of a surrogate pair at the cut.
  const end = /[\uD800-\uDBFF]/.test(s[max - 1]) ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}

function stripPlugin(type: string): string {
  return type.slice(type.lastIndexOf(':') + 1);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function isObj(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function errorCode(err: unknown): string {
  if (isObj(err) && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

function isDirectory(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isDirectory();
  } catch {
    return false;
  }
}

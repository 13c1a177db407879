// Contracts shared by sources, model, rules and formatters.
// Sources produce the *Data types; the model builds Runs from them; rules read Runs and emit Findings.

import type { Fix } from './fix.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };

// ---------------------------------------------------------------- evidence locations

export interface KvLocation {
  kind: 'kv';
  bucket: string;
  key: string;
  revision: number;
  /** JSON pointer into the value, e.g. "/phases/execute". */
  pointer?: string;
}
export interface FileLocation {
  kind: 'file';
  /** Path relative to the project root (forward slashes). */
  path: string;
  line?: number;
  endLine?: number;
  /** `files`: a repository file read by `--files` (not a spec or product file); a baseline records the source. */
  source?: 'files';
}
export interface LogLocation {
  kind: 'log';
  /** Path relative to the project root when inside it, else absolute. */
  path: string;
  /** 1-based physical line in the JSONL file. */
  line: number;
  uuid?: string;
  timestamp?: string;
}
/** The bucket itself (its configuration), for findings about how it was created. */
export interface BucketLocation {
  kind: 'bucket';
  bucket: string;
  /** Server URL or snapshot file the configuration was read from. */
  origin: string;
  /** The configuration field concerned, e.g. "history". */
  field?: string;
}
export type Location = KvLocation | FileLocation | LogLocation | BucketLocation;

export interface Evidence {
  location: Location;
  /** A short, human-checkable quote of what is at the location. */
  excerpt: string;
  /** What this piece of evidence shows. */
  note?: string;
}

export interface Subject {
  spec?: string;
  cycle?: number;
  keyPrefix?: string;
  /** Spec folder path relative to the project root. */
  folder?: string;
  session?: string;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  message: string;
  subject: Subject;
  evidence: Evidence[];
  /** Stable across runs: rule id + subject + target, never line text. */
  fingerprint: string;
  /** How `peer-audit repair` would put it right, as data. */
  fix?: Fix[];
  /** Why `peer-audit repair` offers no fix for this finding, when its rule repairs others like it. */
  unfixable?: string;
}

// ---------------------------------------------------------------- source coverage

export type SourceKind = 'kv' | 'kv-snapshot' | 'specs' | 'logs' | 'files';

export interface SourceProblem {
  /** File path, key, or other place the problem is at. */
  where: string;
  line?: number;
  reason: string;
}

export interface SourceReport {
  kind: SourceKind;
  /** What was asked for: server URL + bucket, snapshot path, spec root, log glob. */
  ref: string;
  /** False when the source could not be read at all, or evidence in it was lost. */
  ok: boolean;
  /** One line: why the source could not be read. */
  error?: string;
  stats: Record<string, number>;
  /**
   * Set when there was nothing of this kind to read (e.g. no transcripts for the project): what was found, said
   * with `ref` (where it looked). The scan is complete, but no rule judged anything from this source.
   */
  absent?: string;
  /** Readable-but-damaged pieces (corrupt lines, unreadable files). Not fatal by themselves. */
  problems: SourceProblem[];
}

// ---------------------------------------------------------------- KV data

export type KvOperation = 'PUT' | 'DEL' | 'PURGE';

export interface KvRevision {
  key: string;
  revision: number;
  operation: KvOperation;
  /** ISO-8601 with milliseconds, from the server's message time. */
  created: string;
  /** Exact bytes of the value (empty for DEL/PURGE markers). */
  value: Uint8Array;
}

export interface BucketConfig {
  history?: number;
  replicas?: number;
  ttlMs?: number;
  storage?: string;
  description?: string;
  maxValueSize?: number;
}

export interface KvData {
  bucket: string;
  origin: 'live' | 'snapshot';
  /** Server URL (live) or snapshot file path. */
  originRef: string;
  takenAt: string;
  config?: BucketConfig;
  serverVersion?: string;
  /** Every retained revision per key, ascending by revision. */
  keys: Map<string, KvRevision[]>;
}

// ---------------------------------------------------------------- spec folders

export interface SpecFile {
  /** Path relative to the project root. */
  path: string;
  /** Path relative to the spec folder (e.g. "sub-specs/technical-spec.md"). */
  name: string;
  text: string;
  /** Lines split on \n (a trailing \r is kept off); no phantom last line after a final newline. */
  lines: string[];
  endsWithNewline: boolean;
  bytes: number;
}

export interface TaskItem {
  number: string;
  text: string;
  checked: boolean;
  line: number;
  subtasks: TaskItem[];
  blockingNote?: { line: number; text: string };
}

export interface TasksDoc {
  path: string;
  tasks: TaskItem[];
}

export interface SpecFolder {
  /** Folder name, e.g. "2025-08-05-wal-operation-handling-fix". */
  folderName: string;
  /** "2025-08-05" when the name has a date prefix. */
  date?: string;
  /** The name without its date prefix: the spec segment of a KV key. */
  slug: string;
  /** Folder path relative to the project root. */
  path: string;
  files: SpecFile[];
  tasks?: TasksDoc;
  /**
   * Entries that exist but were not read (relative to the folder): unreadable files, FIFOs, devices, links not
   * followed, directories named like a file. They are never reported as missing.
   */
  unread?: string[];
}

export interface SpecData {
  /** Spec root relative to the project root (e.g. ".agent-os/specs"). */
  root: string;
  folders: SpecFolder[];
  /** Files under .agent-os/product/ (also checked for residue). */
  productFiles: SpecFile[];
  /**
   * Recaps (`.agent-os/recaps/*.md`, `.agent-os/product/recaps/*.md`): what complete-tasks wrote when a spec was done.
   */
  recaps?: SpecFile[];
}

// ---------------------------------------------------------------- repository files (--files)

export interface RepoFileData {
  /** The globs given, relative to the project root. */
  globs: string[];
  /**
   * The files holding a line shaped like the residue (`<WORD> < /dev/null` at a line start), read whole; every other
   * file matched was searched and holds none. `name` is the project-relative path, like `path`.
   */
  candidates: SpecFile[];
}

// ---------------------------------------------------------------- logs

export interface LogRef {
  path: string;
  line: number;
  uuid?: string;
  timestamp?: string;
}

/** Who produced a record: the main agent, or the subagent spawned by a Task/Agent call. */
export type Actor = 'main' | { spawnId: string };

export interface ToolResult {
  isError: boolean;
  /** Result text (tool_result content flattened), cut to a bounded length. */
  text: string;
  ref: LogRef;
}

export interface ToolCall {
  kind: 'tool';
  /** tool_use id. */
  id: string;
  name: string;
  /** Bash command, when name is Bash. */
  command?: string;
  /** file_path for Write/Edit/Read/MultiEdit. */
  filePath?: string;
  /** Other input fields, each string cut to a bounded length. */
  input: Record<string, unknown>;
  actor: Actor;
  ref: LogRef;
  result?: ToolResult;
}

export interface Spawn {
  kind: 'spawn';
  /** tool_use id of the Task/Agent call. */
  id: string;
  toolName: 'Task' | 'Agent';
  /** subagent_type with any "plugin:" prefix removed; "" when absent. */
  subagentType: string;
  description?: string;
  prompt?: string;
  agentId?: string;
  actor: Actor;
  ref: LogRef;
  /** The Task/Agent tool_result in the parent. Absent: the spawn never returned. */
  result?: ToolResult;
  /** What the result's toolUseResult says of the subagent, when it says it. */
  resultDetail?: SpawnResultDetail;
  /** The subagent's last assistant text, if its records were found. */
  finalText?: { text: string; ref: LogRef };
  /** Where the subagent's own records came from. */
  transcript?: 'inline' | 'sibling-file' | 'subagents-dir' | 'stream-json' | 'progress-mirror' | 'none';
}

/** Of a Task/Agent result's toolUseResult: `status` ("completed", "async_launched", …) and `totalToolUseCount`. */
export interface SpawnResultDetail {
  status?: string;
  totalToolUseCount?: number;
}

export interface TextEvent {
  kind: 'text';
  role: 'assistant' | 'user';
  /** True for a human turn (user text that is not a tool result and not meta). */
  human?: boolean;
  text: string;
  actor: Actor;
  ref: LogRef;
}

export interface StreamResultEvent {
  kind: 'result';
  subtype: string;
  isError: boolean;
  text?: string;
  ref: LogRef;
}

export type LogEvent = ToolCall | Spawn | TextEvent | StreamResultEvent;

export interface CorruptLine {
  path: string;
  line: number;
  byteOffset: number;
  reason: string;
  /** First bytes of the line, escaped. */
  excerpt: string;
}

export interface LogSession {
  sessionId: string;
  format: 'transcript' | 'stream-json';
  /** Main file, project-relative or absolute. */
  mainFile: string;
  /** Every file read for this session (main + subagent files). */
  files: string[];
  /** All events in order: by timestamp when both have one, else by read order. */
  events: LogEvent[];
  /** Corrupt lines, at most a bounded number per file: `corruptCounts` has the full count of a file with more. */
  corrupt: CorruptLine[];
  /** Corrupt lines per file, counted in full, for files with more than `corrupt` lists. */
  corruptCounts?: Record<string, number>;
  version?: string;
  cwd?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  /** The last physical line of the main file was cut off (no newline and not JSON). */
  truncatedTail?: boolean;
  /** Tokens the session's API responses used, per actor and model, each response counted once. */
  usage?: ActorUsage[];
}

/** What one actor (the main agent or a subagent) of a session used with one model: sums over its API responses. */
export interface ActorUsage {
  actor: Actor;
  /** `message.model` of the responses, when the transcript names it. */
  model?: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** API responses counted (each once, however many records carry it). */
  responses: number;
  /** Time of the first and last response (ms since the epoch). */
  firstMs?: number;
  lastMs?: number;
}

export interface LogData {
  sessions: LogSession[];
}

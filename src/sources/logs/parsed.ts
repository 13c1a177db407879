// What one transcript file reads into, before sessions are assembled: its role (main transcript or subagent
// file, from discover.ts), and the units its records decode into (events, tool results, spawn links and
// agent_progress mirrors whose data is decoded only if needed), with the file's envelope facts (session id,
// version, first and last timestamp), its inline sidechain roots and its corrupt lines. parse-file.ts and
// decode-record.ts fill a ParsedFile; assemble.ts joins ParsedFiles into sessions.
import type { CorruptLine, LogEvent, SpawnResultDetail, ToolResult } from '../../model/types.js';
import type { JsonRecord } from './read-lines.js';

export type FileRole =
  | { kind: 'main' }
  | { kind: 'agent'; agentId: string; layout: 'sibling-file' | 'subagents-dir'; dirSessionId?: string }
  | { kind: 'ignored' };

/** Who a record belongs to, before the session is assembled. */
export type LocalActor =
  | 'main' // the file's own agent: the main agent, or the subagent of an agent file
  | { spawnId: string } // stream-json parent_tool_use_id, agent_progress parentToolUseID
  | { chain: string } // legacy inline sidechain, by the uuid of its root record
  | { agentId: string }; // inline sidechain record that names its agent

export interface EventUnit {
  kind: 'event';
  event: LogEvent;
  local: LocalActor;
  /** Copied from an agent_progress record. */
  mirror: boolean;
  uuid?: string;
}

export interface ResultUnit {
  kind: 'result';
  toolUseId: string;
  result: ToolResult;
  /** Result text without the `agentId: …` trailer block, used when the call is a spawn. */
  spawnText?: string;
  /** The text is already cut to VIEW_RESULT_MAX (its call, a view tool, was in the same file). */
  viewCut?: true;
  agentId?: string;
  /** What a Task result's toolUseResult says of its subagent (status, totalToolUseCount). */
  spawnDetail?: SpawnResultDetail;
  mirror: boolean;
  uuid?: string;
}

export interface LinkUnit {
  kind: 'link';
  spawnId: string;
  agentId: string;
  uuid?: string;
}

/**
 * An agent_progress copy of a subagent record. Its events are made only when they are needed (no subagent
 * file stands in for the spawn, or a call is still without a result): until then only where its data sits.
 */
export interface MirrorUnit {
  kind: 'mirror';
  spawnId: string;
  /** The record's agent id: links the spawn to it, as a LinkUnit read at this place would. */
  agentId?: string;
  line: number;
  uuid?: string;
  /** The progress record's own timestamp. */
  timestamp?: string;
  /** Byte range of `data` in the file (offset -1: none). A main file holds one of these per mirrored record. */
  offset: number;
  length: number;
  /** `data` itself, when the line was parsed whole. */
  data?: JsonRecord;
}

/**
 * The token counts of one API response (an assistant message), counted once: Claude Code writes one record per
 * content block, each with the message's usage so far, so the records of one message are merged (largest count).
 */
export interface UsageUnit {
  kind: 'usage';
  /** The message id, else the request id, else the record's uuid. */
  key: string;
  model?: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Time of the message's first record. */
  ms?: number;
  local: LocalActor;
  mirror: boolean;
  uuid?: string;
}

/** The four token counts of a response. */
export type UsageCounts = Pick<UsageUnit, 'input' | 'output' | 'cacheRead' | 'cacheWrite'>;

/** Another record of the same response merged in: each count is the largest seen (records carry counts so far). */
export function mergeUsage(into: UsageCounts, from: UsageCounts): void {
  into.input = Math.max(into.input, from.input);
  into.output = Math.max(into.output, from.output);
  into.cacheRead = Math.max(into.cacheRead, from.cacheRead);
  into.cacheWrite = Math.max(into.cacheWrite, from.cacheWrite);
}

export type Unit = EventUnit | ResultUnit | LinkUnit | MirrorUnit | UsageUnit;

export interface ChainRoot {
  id: string;
  prompt?: string;
  ms?: number;
}

export interface AgentMeta {
  agentType?: string;
  description?: string;
  toolUseId?: string;
}

export interface ParsedFile {
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

/** A file with nothing read yet. */
export function emptyParsedFile(abs: string, display: string, role: FileRole, mtimeMs: number): ParsedFile {
  return {
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

/** agent_progress data not decoded yet: its agent id, and where it sits on the line. */
export class DeferredData {
  readonly type = 'agent_progress';
  constructor(
    readonly agentId: unknown,
    readonly start: number,
    readonly end: number,
  ) {}
}

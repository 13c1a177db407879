import type { Evidence, Finding, KvLocation, LogLocation, Severity, SourceReport } from '../model/types.js';
import { SEVERITY_RANK } from '../model/types.js';
import type { PhaseName, PhaseStatus } from '../model/state.js';
import type { RunCost } from '../model/run-cost.js';

/**
 * The versioned scan result: the JSON output, and what every other format is rendered from.
 * Version 1 only ever gains optional fields, so a reader of an older version-1 file keeps working.
 */
export interface ScanResult {
  version: 1;
  tool: { name: 'peer-audit'; version: string };
  generatedAt: string;
  projectRoot: string;
  bucket: string;
  /** True only when every requested source was read in full and every rule ran. */
  complete: boolean;
  /** Why the scan is incomplete, one line each. */
  incompleteReasons: string[];
  sources: SourceReport[];
  summary: ResultSummary;
  findings: ReportedFinding[];
  /** What the runs looked like (state, phases, transcript events): the context reports need beyond findings. */
  runs?: RunsSection;
  /** Which runs of the bucket were audited (when KV was read): this project's, or all of them. */
  scope?: ScanScope;
  /** The baseline applied: `findings` and `summary` then hold only what it does not accept. */
  baseline?: BaselineSection;
}

/** What a baseline of accepted findings did to a scan. */
export interface BaselineSection {
  /** The baseline file. */
  file: string;
  /** Findings the baseline accepted (not in `findings`, not in `summary`). */
  matched: number;
  /** Each accepted finding: fingerprint, rule, severity and the team's justification. */
  suppressed: Array<{ fingerprint: string; ruleId: string; severity: string; justification: string }>;
  /** Entries whose finding is gone. */
  stale: Array<{ fingerprint: string; ruleId: string; subject?: string; message?: string }>;
  /** Entries this scan could not judge (rule off, or its sources not read). */
  unchecked: number;
  /** The accepted findings in full, as in `findings`: SARIF lists them as unchanged and suppressed. */
  accepted?: ReportedFinding[];
}

export interface ScanScope {
  /** `project`: this project's runs; `all-runs`: --all-runs; `unscoped`: no spec folders or transcripts to scope by. */
  mode: 'project' | 'all-runs' | 'unscoped';
  /** Runs with state that were audited. */
  runs: number;
  /** Runs left out as not in this project. */
  notInProject: number;
  /** Their ids (the first 200). */
  notInProjectRuns?: string[];
}

export interface ResultSummary {
  errors: number;
  warnings: number;
  infos: number;
  /** How many secrets were masked in messages, excerpts, notes and run summaries (absent: none). */
  redacted?: number;
}

/** Evidence as reported: what the rule cited, plus what lets a reader check it without opening the source. */
export interface ReportedEvidence extends Evidence {
  /** Lines around a file location, or the JSON at a KV location, at the revision cited. */
  context?: EvidenceContext;
  /** A secret in this evidence was masked. */
  redacted?: true;
}

export interface EvidenceContext {
  /** File lines around the cited line (escaped, each cut to a bounded length). */
  lines?: { start: number; text: string[] };
  /** The value at the pointer (or at its parent, when the pointer names nothing), compact pretty JSON. */
  json?: { pointer: string; text: string; truncated?: true };
}

export interface ReportedFinding extends Finding {
  evidence: ReportedEvidence[];
}

// ---------------------------------------------------------------- runs (version 1 of the section)

export interface RunsSection {
  version: 1;
  /** The runs the findings are about. */
  items: RunRecord[];
  /** Runs (and transcripts naming no run) with no finding, left out. */
  omitted?: number;
}

export interface RunRecord {
  /**
   * Key prefix, `folder:<path>` for a spec folder with no state,
   * or `session:<id>` for a transcript that names no run.
   */
  id: string;
  spec?: string;
  keyPrefix?: string;
  folders: FolderRecord[];
  meta?: MetaRecord;
  counter?: { key: string; revision: number; created: string; value?: number };
  cycles: CycleRecord[];
  sessions: SessionRecord[];
  /** What the user asked for: the first human turn of the run's first transcript. */
  request?: RequestRecord;
  /** What the run's transcripts cost (tokens, wall time, tool calls, money with prices); absent: no transcripts. */
  cost?: RunCost;
}

export interface FolderRecord {
  path: string;
  files: { path: string; lines: number; bytes: number; endsWithNewline: boolean }[];
  tasks?: { path: string; total: number; checked: number };
}

export interface MetaRecord {
  key: string;
  revision: number;
  created: string;
  currentCycle?: number;
  currentPhase?: string;
  revisions: MetaRevisionRecord[];
}

export interface MetaRevisionRecord {
  revision: number;
  created: string;
  operation: string;
  currentCycle?: number;
  currentPhase?: string;
  /** Per cycle number: its status and notes in the meta at this revision. */
  cycles?: Record<string, { status?: string; notes?: string; completedAt?: string }>;
  /** The value could not be read. */
  invalid?: string;
}

export interface CycleRecord {
  number: number;
  key: string;
  layout: 'v1' | 'v2' | 'multi-key';
  instruction?: string;
  /** v1 status.current_phase, v2 metadata.status. */
  status?: string;
  progress?: number;
  startedAt?: string;
  completedAt?: string;
  /** Latest revision and its time. */
  revision: number;
  created: string;
  supersededBy?: number;
  phases: PhaseRecord[];
  revisions: CycleRevisionRecord[];
  /** Statements in the state that the cycle finished. */
  claims: { location: KvLocation; excerpt: string }[];
  /** Statements in the state that it did not. */
  signals: { location: KvLocation; excerpt: string; what: string }[];
  /** The v1 meta's entry for this cycle. */
  metaEntry?: { status?: string; notes?: string; startedAt?: string; completedAt?: string };
}

export interface PhaseRecord {
  name: PhaseName;
  status: PhaseStatus;
  raw?: string;
  startedAt?: string;
  completedAt?: string;
  /** First revision with an entry for the phase. */
  firstRevision?: { revision: number; created: string };
  /** First revision with the phase completed. */
  completedRevision?: { revision: number; created: string };
}

export interface CycleRevisionRecord {
  revision: number;
  created: string;
  operation: string;
  status?: string;
  phases?: Partial<Record<PhaseName, string>>;
  invalid?: string;
}

export interface SessionRecord {
  id: string;
  format: 'transcript' | 'stream-json';
  mainFile: string;
  files: number;
  version?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  /**
   * The cycles of the run this transcript most likely belongs to (by the keys it names, else by time); absent when
   * the run has no cycles.
   */
  cycles?: number[];
  corruptLines: number;
  truncatedTail?: boolean;
  events: KeyEventRecord[];
  /** Events left out to keep the section bounded. */
  eventsOmitted?: number;
}

export type KeyEventKind = 'request' | 'spawn' | 'return' | 'failed-call' | 'claim' | 'final-text' | 'cut-off';

export interface KeyEventRecord {
  kind: KeyEventKind;
  location: LogLocation;
  /** One line, escaped. */
  text: string;
  /** Subagent type of a spawn or return. */
  agent?: string;
  /** PEER phase the subagent runs. */
  phase?: PhaseName;
  /** tool_use id of the spawn (links a return to its spawn). */
  spawnId?: string;
  /** The failed call's command, escaped and cut. */
  command?: string;
  /** Where the same call later succeeded. */
  retriedAt?: LogLocation;
  /** The call or spawn ended in an error. */
  failed?: true;
  redacted?: true;
}

export interface RequestRecord {
  text: string;
  location: LogLocation;
  redacted?: true;
}

export function summarise(findings: Finding[]): ScanResult['summary'] {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}

/** 0: complete and nothing at or above failOn; 1: findings at or above it; 2: evidence could not be read. */
export function exitCodeFor(result: ScanResult, failOn: Severity): 0 | 1 | 2 {
  if (!result.complete) return 2;
  return result.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}

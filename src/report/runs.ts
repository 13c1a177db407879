// The context a report needs beyond the findings, taken from the model into the scan result: what each run's
// state looked like revision by revision, its spec folders, and the key events of its transcripts. Reports
// rendered later from a saved JSON scan (`report --from`) see exactly what a live scan saw.
import { cyclesForSession, type KeyRecord, type Model, type Run } from '../model/build.js';
import { callFailed, firstLine, laterSucceeded, logLocation, spawnPhase, successClaims } from '../model/log-facts.js';
import {
  isRecord,
  normaliseStatus,
  num,
  PHASES,
  str,
  type CycleState,
  type HistoryItem,
  type MetaState,
} from '../model/state.js';
import { failureLine, isHumanTurn, spawnOfActor } from '../model/transcript-facts.js';
import type { LogSession } from '../model/types.js';
import { getAt } from '../model/fix.js';
import { keyRecord, specFile } from '../model/lookup.js';
import type {
  CycleRecord,
  CycleRevisionRecord,
  EvidenceContext,
  FolderRecord,
  KeyEventRecord,
  MetaRecord,
  PhaseRecord,
  ReportedFinding,
  RequestRecord,
  RunRecord,
  RunsSection,
  ScanResult,
  SessionRecord,
} from './result.js';
import { excerptOf } from '../model/text.js';
import { runCost, type Prices } from '../model/run-cost.js';

/** At most this many key events per transcript; the rest are counted. */
const MAX_EVENTS = 200;
const MAX_FAILED_CALLS = 60;
const CONTEXT_LINES = 2;
const JSON_CONTEXT_MAX = 1200;

/** The scan result with the runs section and evidence contexts added (a new object; the input is not changed). */
export function withContext(result: ScanResult, model: Model, prices?: Prices): ScanResult {
  return {
    ...result,
    findings: result.findings.map((f) => addContext(f, model)),
    runs: describeRuns(model, result.findings, prices),
  };
}

// ---------------------------------------------------------------- runs

/** Runs a scan with no finding about any run describes. */
const CLEAN_RUNS = 50;

/**
 * The runs the findings are about (by key prefix, spec name, folder or session), described; the others are
 * counted in `omitted`. A bucket of years of healthy cycles would otherwise put every one of them in each scan.
 */
export function describeRuns(model: Model, findings: ReportedFinding[], prices?: Prices): RunsSection {
  const prefixes = new Set<string>();
  const specs = new Set<string>();
  const folders = new Set<string>();
  const sessions = new Set<string>();
  for (const f of findings) {
    const s = f.subject;
    if (s.keyPrefix !== undefined) prefixes.add(s.keyPrefix);
    if (s.spec !== undefined) specs.add(s.spec);
    if (s.folder !== undefined) folders.add(s.folder);
    if (s.session !== undefined) sessions.add(s.session);
  }
  const about = (run: Run) =>
    (run.prefix !== undefined && prefixes.has(run.prefix)) ||
    (run.spec !== undefined && specs.has(run.spec)) ||
    run.folders.some((x) => folders.has(x.path)) ||
    run.sessions.some((x) => sessions.has(x.sessionId));
  // A clean scan describes the runs it saw (up to a bound): a report then still shows what ran, and when.
  const clean = !model.runs.some(about) && !model.unattachedSessions.some((x) => sessions.has(x.sessionId));
  let room = CLEAN_RUNS;
  const wanted = clean ? () => room-- > 0 : about;
  const items: RunRecord[] = [];
  let omitted = 0;
  for (const run of model.runs) {
    if (wanted(run)) items.push(runRecord(run, prices));
    else omitted++;
  }
  for (const s of model.unattachedSessions) {
    if (clean ? room-- <= 0 : !sessions.has(s.sessionId)) {
      omitted++;
      continue;
    }
    const rec = sessionRecord(s, undefined);
    const cost = runCost([s], prices);
    items.push({
      id: `session:${s.sessionId}`,
      folders: [],
      cycles: [],
      sessions: [rec],
      ...requestOf([rec]),
      ...(cost ? { cost } : {}),
    });
  }
  return { version: 1, items, ...(omitted > 0 ? { omitted } : {}) };
}

function runRecord(run: Run, prices: Prices | undefined): RunRecord {
  const sessions = [...run.sessions]
    .sort((a, b) => (a.firstTimestamp ?? '').localeCompare(b.firstTimestamp ?? ''))
    .map((x) =>
      sessionRecord(
        x,
        run.cycles.length + run.supersededCycles.length > 0 ? cyclesForSession(run, x).map((c) => c.number) : undefined,
      ),
    );
  const rec: RunRecord = {
    id: run.id,
    ...(run.spec !== undefined ? { spec: run.spec } : {}),
    ...(run.prefix !== undefined ? { keyPrefix: run.prefix } : {}),
    folders: run.folders.map(folderRecord),
    ...(run.meta ? { meta: metaRecord(run.meta) } : {}),
    ...(run.counter
      ? {
          counter: {
            key: run.counter.key,
            revision: run.counter.revision,
            created: run.counter.created,
            ...(run.counter.value !== undefined ? { value: run.counter.value } : {}),
          },
        }
      : {}),
    cycles: [...run.cycles, ...run.supersededCycles]
      .sort((a, b) => a.number - b.number)
      .map((c) => cycleRecord(c, run.meta)),
    sessions,
    ...requestOf(sessions),
  };
  const cost = runCost(run.sessions, prices);
  if (cost) rec.cost = cost;
  return rec;
}

function requestOf(sessions: SessionRecord[]): { request?: RequestRecord } {
  for (const s of sessions) {
    const e = s.events.find((x) => x.kind === 'request');
    if (e) return { request: { text: e.text, location: e.location } };
  }
  return {};
}

function folderRecord(f: Model['folders'][number]): FolderRecord {
  const all = (f.tasks?.tasks ?? []).flatMap((t) => [t, ...t.subtasks]);
  return {
    path: f.path,
    files: f.files.map((x) => ({
      path: x.path,
      lines: x.lines.length,
      bytes: x.bytes,
      endsWithNewline: x.endsWithNewline,
    })),
    ...(f.tasks
      ? { tasks: { path: f.tasks.path, total: all.length, checked: all.filter((t) => t.checked).length } }
      : {}),
  };
}

function metaRecord(meta: MetaState): MetaRecord {
  return {
    key: meta.key,
    revision: meta.revision,
    created: meta.created,
    ...(meta.currentCycle !== undefined ? { currentCycle: meta.currentCycle } : {}),
    ...(meta.currentPhase !== undefined ? { currentPhase: meta.currentPhase } : {}),
    revisions: meta.history.map((h) => {
      const base = { revision: h.revision, created: h.created, operation: h.operation };
      if (h.operation !== 'PUT' || !h.decoded) return base;
      if (!h.decoded.ok) return { ...base, invalid: h.decoded.reason };
      const j = h.decoded.json;
      if (!isRecord(j)) return { ...base, invalid: 'not an object' };
      const cycles: Record<string, { status?: string; notes?: string; completedAt?: string }> = {};
      if (isRecord(j.cycles)) {
        for (const [n, c] of Object.entries(j.cycles)) {
          if (!isRecord(c)) continue;
          cycles[n] = defined({
            status: str(c.status),
            notes: str(c.notes) && excerptOf(str(c.notes)!, 200),
            completedAt: str(c.completed_at),
          });
        }
      }
      return defined({
        ...base,
        currentCycle: num(j.current_cycle),
        currentPhase: str(j.current_phase),
        cycles: Object.keys(cycles).length ? cycles : undefined,
      });
    }),
  };
}

function cycleRecord(c: CycleState, meta: MetaState | undefined): CycleRecord {
  const revisions: CycleRevisionRecord[] = c.history.map((h) => cycleRevision(h, c.layout));
  const phases: PhaseRecord[] = PHASES.map((name) => {
    const p = c.phases[name];
    let firstRevision: PhaseRecord['firstRevision'];
    let completedRevision: PhaseRecord['completedRevision'];
    for (const h of c.history) {
      const entry = phaseEntry(h, name);
      if (entry === undefined) continue;
      firstRevision ??= { revision: h.revision, created: h.created };
      if (!completedRevision && isRecord(entry) && normaliseStatus(entry.status) === 'completed')
        completedRevision = { revision: h.revision, created: h.created };
    }
    return defined({
      name,
      status: p.status,
      raw: p.raw,
      startedAt: p.startedAt,
      completedAt: p.completedAt,
      firstRevision,
      completedRevision,
    }) as PhaseRecord;
  });
  const entry = meta?.cycles[String(c.number)];
  return defined({
    number: c.number,
    key: c.key,
    layout: c.layout,
    instruction: c.instruction,
    status: c.statusRaw,
    progress: c.progress,
    startedAt: c.startedAt,
    completedAt: c.completedAt,
    revision: c.revision,
    created: c.created,
    supersededBy: c.supersededBy,
    phases,
    revisions,
    claims: c.claims.map((x) => ({ location: x.location, excerpt: excerptOf(x.excerpt, 200) })),
    signals: c.signals.map((x) => ({
      location: x.location,
      excerpt: excerptOf(x.excerpt, 200),
      what: excerptOf(x.what, 200),
    })),
    metaEntry: entry ? defined({ ...entry, notes: entry.notes && excerptOf(entry.notes, 200) }) : undefined,
  }) as CycleRecord;
}

function phaseEntry(h: HistoryItem, name: string): unknown {
  if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json)) return undefined;
  const phases = h.decoded.json.phases;
  const e = isRecord(phases) ? phases[name] : undefined;
  return e === null ? undefined : e;
}

function cycleRevision(h: HistoryItem, layout: CycleState['layout']): CycleRevisionRecord {
  const base = { revision: h.revision, created: h.created, operation: h.operation };
  if (h.operation !== 'PUT' || !h.decoded) return base;
  if (!h.decoded.ok) return { ...base, invalid: h.decoded.reason };
  const j = h.decoded.json;
  if (!isRecord(j)) return { ...base, invalid: 'not an object' };
  const phases: Record<string, string> = {};
  for (const name of PHASES) {
    const e = phaseEntry(h, name);
    if (e === undefined) continue;
    phases[name] = isRecord(e) ? (str(e.status) ?? '(no status)') : '(not an object)';
  }
  const status =
    layout === 'v2' && isRecord(j.metadata)
      ? str(j.metadata.status)
      : isRecord(j.status)
        ? str(j.status.current_phase)
        : str(j.status);
  return defined({ ...base, status, phases: Object.keys(phases).length ? phases : undefined });
}

// ---------------------------------------------------------------- transcripts

function sessionRecord(s: LogSession, cycles: number[] | undefined): SessionRecord {
  const events: KeyEventRecord[] = [];
  const human = s.events.find(isHumanTurn);
  if (human && human.kind === 'text')
    events.push({ kind: 'request', location: logLocation(human.ref), text: requestText(human.text) });
  let failed = 0;
  let failedOmitted = 0;
  for (const e of s.events) {
    if (e.kind === 'spawn') {
      const phase = spawnPhase(e);
      const common = defined({ agent: e.subagentType || undefined, phase, spawnId: e.id });
      events.push({
        kind: 'spawn',
        location: logLocation(e.ref),
        text: excerptOf(
          `${e.toolName} ${e.subagentType || '(no type)'}${e.description ? `: ${e.description}` : ''}`,
          200,
        ),
        ...common,
      });
      if (e.result) {
        const bad = callFailed(e);
        events.push({
          kind: 'return',
          location: logLocation(e.result.ref),
          text: excerptOf(bad ? failureLine(e.result.text) : firstLine(e.result.text), 200),
          ...common,
          ...(bad ? { failed: true as const } : {}),
        });
      }
    } else if (e.kind === 'tool' && e.result && callFailed(e)) {
      if (failed >= MAX_FAILED_CALLS) {
        failedOmitted++;
        continue;
      }
      failed++;
      const retry = laterSucceeded(s, e);
      const by = spawnOfActor(s, e.actor);
      events.push(
        defined({
          kind: 'failed-call' as const,
          location: logLocation(e.result.ref),
          text: excerptOf(failureLine(e.result.text), 200),
          command: excerptOf(e.command ?? e.filePath ?? e.name, 200),
          agent: by ? by.subagentType || by.toolName : undefined,
          retriedAt: retry?.result ? logLocation(retry.result.ref) : undefined,
          failed: true as const,
        }) as KeyEventRecord,
      );
    }
  }
  const claims = successClaims(s);
  for (const c of claims) events.push({ kind: 'claim', location: logLocation(c.ref), text: excerptOf(c.excerpt, 200) });
  const last = [...s.events].reverse().find((e) => e.kind === 'text' && e.role === 'assistant' && e.actor === 'main');
  if (
    last &&
    last.kind === 'text' &&
    !claims.some((c) => c.ref.path === last.ref.path && c.ref.line === last.ref.line)
  ) {
    events.push({ kind: 'final-text', location: logLocation(last.ref), text: excerptOf(firstLine(last.text), 200) });
  }
  if (s.truncatedTail) {
    const cut = s.corrupt.filter((c) => c.path === s.mainFile).at(-1);
    if (cut)
      events.push({
        kind: 'cut-off',
        location: { kind: 'log', path: cut.path, line: cut.line },
        text: excerptOf(cut.reason, 200),
      });
  }
  events.sort(byTime);
  const kept = events.slice(0, MAX_EVENTS);
  const omitted = events.length - kept.length + failedOmitted;
  return defined({
    id: s.sessionId,
    format: s.format,
    mainFile: s.mainFile,
    files: s.files.length,
    version: s.version,
    firstTimestamp: s.firstTimestamp,
    lastTimestamp: s.lastTimestamp,
    cycles,
    corruptLines: corruptLineCount(s),
    truncatedTail: s.truncatedTail || undefined,
    events: kept,
    eventsOmitted: omitted > 0 ? omitted : undefined,
  }) as SessionRecord;
}

function byTime(a: KeyEventRecord, b: KeyEventRecord): number {
  const ta = a.location.timestamp ? Date.parse(a.location.timestamp) : NaN;
  const tb = b.location.timestamp ? Date.parse(b.location.timestamp) : NaN;
  if (Number.isFinite(ta) && Number.isFinite(tb) && ta !== tb) return ta - tb;
  if (a.location.path === b.location.path) return a.location.line - b.location.line;
  return a.location.path.localeCompare(b.location.path);
}

/** The request as the user typed it: a slash command's name and arguments, other markup removed. */
export function requestText(text: string): string {
  const name = /<command-name>([\s\S]*?)<\/command-name>/.exec(text)?.[1]?.trim();
  const args = /<command-args>([\s\S]*?)<\/command-args>/.exec(text)?.[1]?.trim();
  const plain = name ? `${name}${args ? ` ${args}` : ''}` : text.replace(/<\/?[a-z][\w-]*>/gi, ' ');
  return excerptOf(plain.replace(/\s+/g, ' ').trim(), 600);
}

// ---------------------------------------------------------------- evidence context

function addContext(f: ReportedFinding, model: Model): ReportedFinding {
  return {
    ...f,
    evidence: f.evidence.map((e) => {
      const context = contextOf(e.location, model);
      return context ? { ...e, context } : e;
    }),
  };
}

function contextOf(l: ReportedFinding['evidence'][number]['location'], model: Model): EvidenceContext | undefined {
  if (l.kind === 'file' && l.line !== undefined) {
    const file = specFile(model, l.path);
    if (!file) return undefined;
    const from = Math.max(1, l.line - CONTEXT_LINES);
    const to = Math.min(file.lines.length, (l.endLine ?? l.line) + CONTEXT_LINES);
    if (from > to) return undefined;
    return { lines: { start: from, text: file.lines.slice(from - 1, to).map((x) => excerptOf(x, 200)) } };
  }
  if (l.kind === 'kv') {
    const rec = keyRecord(model, l.key);
    const json = rec ? jsonAt(rec, l.revision) : undefined;
    if (json === undefined) return undefined;
    let pointer = l.pointer ?? '';
    let value = getAt(json, pointer);
    // A pointer to something absent ("/phases/execute"): show what is there instead.
    while (value === undefined && pointer !== '') {
      pointer = pointer.slice(0, pointer.lastIndexOf('/'));
      value = getAt(json, pointer);
    }
    if (value === undefined) return undefined;
    // A single value is already in the excerpt; objects and arrays are what the excerpt cannot show.
    if (value === null || typeof value !== 'object') return undefined;
    const text = compactJson(value, pointer === (l.pointer ?? '') ? 3 : 2);
    const truncated = text.length > JSON_CONTEXT_MAX;
    return {
      json: {
        pointer,
        text: escapeLines(truncated ? `${text.slice(0, JSON_CONTEXT_MAX - 1)}…` : text),
        ...(truncated ? { truncated: true as const } : {}),
      },
    };
  }
  return undefined;
}

function escapeLines(s: string): string {
  return s
    .split('\n')
    .map((x) => excerptOf(x, 400))
    .join('\n');
}

function jsonAt(rec: KeyRecord, revision: number): unknown {
  const h = rec.history.find((x) => x.revision === revision);
  return h?.decoded?.ok ? h.decoded.json : undefined;
}

/** Pretty JSON with nesting below `depth` folded to {…} / […n] and long strings cut, so an excerpt stays readable. */
export function compactJson(v: unknown, depth: number, indent = ''): string {
  if (typeof v === 'string' && v.length > 160) return `${JSON.stringify(v.slice(0, 159)).slice(0, -1)}…"`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (depth <= 0) return `[… ${v.length} item${v.length === 1 ? '' : 's'}]`;
    if (v.every((x) => x === null || typeof x !== 'object') && JSON.stringify(v).length <= 80) return JSON.stringify(v);
    return `[\n${v.map((x) => `${inner}${compactJson(x, depth - 1, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  if (depth <= 0) return '{…}';
  const fields = entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${compactJson(x, depth - 1, inner)}`);
  return `{\n${fields.join(',\n')}\n${indent}}`;
}

/** Drops undefined fields, so the JSON carries only what is known. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Every corrupt line of a session, not only the ones listed (a file lists a bounded number). */
function corruptLineCount(s: LogSession): number {
  const listed = new Map<string, number>();
  for (const c of s.corrupt) listed.set(c.path, (listed.get(c.path) ?? 0) + 1);
  for (const [file, n] of Object.entries(s.corruptCounts ?? {})) listed.set(file, Math.max(n, listed.get(file) ?? 0));
  return [...listed.values()].reduce((a, b) => a + b, 0);
}

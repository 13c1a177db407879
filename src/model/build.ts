// Builds the one read-only model every rule sees: parsed KV state, spec folders and log sessions,
// correlated into Runs by key prefix / spec name.
import type { KvData, KvRevision, LogData, LogSession, RepoFileData, SpecData, SpecFolder } from './types.js';
import {
  classifyKey,
  decodeJson,
  readCycle,
  readMeta,
  RUN_KEY_KINDS,
  specSlug,
  type CounterState,
  type CycleState,
  type Decoded,
  type HistoryItem,
  type KeyInfo,
  type MetaState,
} from './state.js';
import { sessionMentions, stateOps } from './log-facts.js';
import { MentionIndex } from './mentions.js';
import { readMultiKeyCycle } from './multi-key.js';

export interface InvalidValue {
  revision: number;
  created: string;
  reason: string;
  text: string;
  /** The newest earlier revision whose value parses, if any. */
  lastGood?: number;
}

export interface KeyRecord {
  info: KeyInfo;
  revisions: KvRevision[];
  /** Latest revision (any operation). */
  latest: KvRevision;
  history: HistoryItem[];
  /** Set when the latest value cannot be read as the state its key says it holds. */
  invalid?: InvalidValue;
  deleted: boolean;
}

export interface Run {
  /** Key prefix, or `folder:<path>` for a spec folder with no state. */
  id: string;
  prefix?: string;
  spec?: string;
  meta?: MetaState;
  counter?: CounterState;
  /** Cycles that stand: superseded ones (reopened as a newer cycle) are kept apart. */
  cycles: CycleState[];
  /** Cycles `peer-audit reopen` replaced; their history stays evidence, but they no longer claim anything. */
  supersededCycles: CycleState[];
  folders: SpecFolder[];
  sessions: LogSession[];
  keys: KeyRecord[];
}

export interface Model {
  projectRoot: string;
  bucket: string;
  kv?: KvData;
  specs?: SpecData;
  logs?: LogData;
  /** Repository files matched by `--files`, searched for the heredoc residue. */
  files?: RepoFileData;
  keys: KeyRecord[];
  runs: Run[];
  folders: SpecFolder[];
  sessions: LogSession[];
  /** Sessions that no run's key prefix or spec name appears in. */
  unattachedSessions: LogSession[];
  /** Keys the bucket holds for runs of other projects: left out of the audit, still in the bucket. */
  keysOutOfScope?: KeyRecord[];
}

export interface ModelInput {
  projectRoot: string;
  bucket: string;
  kv?: KvData;
  specs?: SpecData;
  logs?: LogData;
  files?: RepoFileData;
}

export function buildModel(input: ModelInput): Model {
  const keys: KeyRecord[] = [];
  const runsByPrefix = new Map<string, Run>();
  const runFor = (prefix: string, spec?: string): Run => {
    let r = runsByPrefix.get(prefix);
    if (!r) {
      r = { id: prefix, prefix, spec, cycles: [], supersededCycles: [], folders: [], sessions: [], keys: [] };
      runsByPrefix.set(prefix, r);
    }
    if (!r.spec && spec) r.spec = spec;
    return r;
  };

  const bucket = input.kv?.bucket ?? input.bucket;
  // Multi-key draft cycles: their part keys, by prefix and cycle number, assembled once all keys are read.
  const partsOf = new Map<string, { run: Run; parts: KeyRecord[] }>();
  for (const [key, revisions] of [...(input.kv?.keys ?? new Map<string, KvRevision[]>())].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (revisions.length === 0) continue;
    const info = classifyKey(key);
    const latest = revisions[revisions.length - 1];
    let previous: unknown;
    const history: HistoryItem[] = revisions.map((r) => {
      const decoded =
        r.operation === 'PUT' ? (info.kind === 'v2-counter' ? decodeCounter(r.value) : decodeJson(r.value)) : undefined;
      if (decoded?.ok) previous = decoded.json = shareUnchanged(previous, decoded.json);
      return { revision: r.revision, created: r.created, operation: r.operation, decoded };
    });
    const rec: KeyRecord = { info, revisions, latest, history, deleted: latest.operation !== 'PUT' };
    keys.push(rec);
    // Keys of no run (other tools' keys, the git-commit flow, the draft's run context, unknown keys) stay in model.keys
    // only.
    if (!RUN_KEY_KINDS.has(info.kind) || !info.prefix) continue;
    const run = runFor(info.prefix, info.scope === 'spec' ? info.name : undefined);
    run.keys.push(rec);
    if (info.kind === 'cycle-part') {
      const id = `${info.prefix}\u0000${info.cycle}`;
      const g = partsOf.get(id) ?? { run, parts: [] };
      g.parts.push(rec);
      partsOf.set(id, g);
      continue;
    }
    if (rec.deleted || info.kind === 'archive') continue;

    if (info.kind === 'v2-counter') {
      const raw = Buffer.from(latest.value).toString('utf8');
      const value = /^\s*"?(\d+)"?\s*$/.exec(raw)?.[1];
      run.counter = {
        key,
        prefix: info.prefix,
        revision: latest.revision,
        created: latest.created,
        raw,
        value: value === undefined ? undefined : Number(value),
        history,
      };
      const d = history[history.length - 1].decoded;
      if (d && !d.ok) {
        rec.invalid = {
          revision: latest.revision,
          created: latest.created,
          reason: d.reason,
          text: raw,
          lastGood: lastGood(history),
        };
      }
      continue;
    }

    const decoded = history[history.length - 1].decoded as Decoded;
    if (!decoded.ok) {
      rec.invalid = {
        revision: latest.revision,
        created: latest.created,
        reason: decoded.reason,
        text: decoded.text,
        lastGood: lastGood(history),
      };
      continue;
    }
    const parsed =
      info.kind === 'v1-meta'
        ? readMeta(bucket, info, latest, decoded.json, history)
        : readCycle(bucket, info, latest, decoded.json, history);
    if (typeof parsed === 'string') {
      rec.invalid = {
        revision: latest.revision,
        created: latest.created,
        reason: parsed,
        text: Buffer.from(latest.value).toString('utf8'),
        lastGood: lastGood(history),
      };
      continue;
    }
    if (info.kind === 'v1-meta') {
      run.meta = parsed as MetaState;
      if (!run.spec && run.meta.specName && info.scope === 'spec') run.spec = run.meta.specName;
    } else {
      const c = parsed as CycleState;
      (c.supersededBy !== undefined ? run.supersededCycles : run.cycles).push(c);
    }
  }
  for (const { run, parts } of partsOf.values()) {
    const n = parts[0].info.cycle;
    // A cycle document under the same number is the cycle; its stray part keys stay keys of the run.
    if ([...run.cycles, ...run.supersededCycles].some((c) => c.number === n)) continue;
    const c = readMultiKeyCycle(bucket, parts);
    if (c) run.cycles.push(c);
  }
  for (const run of runsByPrefix.values()) {
    run.cycles.sort((a, b) => a.number - b.number);
    run.supersededCycles.sort((a, b) => a.number - b.number);
  }

  // Spec folders join the run whose spec name is their slug. A dated spec name (`--spec=2026-12-03-foo`) joins
  // the folder of exactly that name, else the folders of its slug; each folder joins one run.
  const folders = input.specs?.folders ?? [];
  const runs = [...runsByPrefix.values()];
  const exact = new Map<string, Run>();
  const bySlug = new Map<string, Run[]>();
  for (const r of runs) {
    if (r.spec === undefined) continue;
    if (!exact.has(r.spec)) exact.set(r.spec, r);
    const slug = specSlug(r.spec);
    bySlug.set(slug, [...(bySlug.get(slug) ?? []), r]);
  }
  const folderNames = new Set(folders.map((f) => f.folderName));
  for (const folder of folders) {
    // An exact name first; then an undated key of the slug; then a dated key whose own folder does not exist.
    const run =
      exact.get(folder.folderName) ??
      exact.get(folder.slug) ??
      bySlug.get(folder.slug)?.find((r) => r.spec !== undefined && !folderNames.has(r.spec));
    if (run) run.folders.push(folder);
    else {
      const r: Run = {
        id: `folder:${folder.path}`,
        spec: folder.slug,
        cycles: [],
        supersededCycles: [],
        folders: [folder],
        sessions: [],
        keys: [],
      };
      runs.push(r);
      if (!exact.has(folder.slug)) exact.set(folder.slug, r);
    }
  }

  // Sessions join the runs they name: one pass over each session's text finds every run it mentions.
  const sessions = input.logs?.sessions ?? [];
  const unattachedSessions: LogSession[] = [];
  const runsByNeedle = new Map<string, number[]>();
  runs.forEach((r, i) => {
    for (const n of runNeedles(r)) {
      const list = runsByNeedle.get(n) ?? [];
      list.push(i);
      runsByNeedle.set(n, list);
    }
  });
  const index = new MentionIndex(runsByNeedle.keys());
  for (const s of sessions) {
    const hits = index.sessionMentions(s);
    const matchedIdx = new Set<number>();
    for (const h of hits) for (const i of runsByNeedle.get(h) ?? []) matchedIdx.add(i);
    const matched = [...matchedIdx].sort((a, b) => a - b).map((i) => runs[i]);
    // A session that names a run with state belongs to it; a spec folder it merely lists is not its run.
    const withState = matched.filter((r) => r.keys.length > 0);
    let chosen = withState.length > 0 ? withState : matched;
    if (chosen.length === 0) {
      // No name in its text: the keys its state operations use (peer.global is too generic to match by mention).
      const prefixes = new Set(stateOps(s).flatMap((op) => (op.key ? [classifyKey(op.key).prefix ?? ''] : [])));
      chosen = runs.filter((r) => r.prefix !== undefined && r.keys.length > 0 && prefixes.has(r.prefix));
    }
    for (const r of chosen) r.sessions.push(s);
    if (chosen.length === 0) unattachedSessions.push(s);
  }

  runs.sort((a, b) => a.id.localeCompare(b.id));
  return {
    projectRoot: input.projectRoot,
    bucket,
    kv: input.kv,
    specs: input.specs,
    logs: input.logs,
    ...(input.files ? { files: input.files } : {}),
    keys,
    runs,
    folders,
    sessions,
    unattachedSessions,
  };
}

/**
 * `next` with every part equal to the same part of `prev` (same keys in the same order, same values) replaced
 * by that part of `prev`. A key's revisions mostly repeat the one before: sharing the unchanged parts keeps a
 * bucket's history in a fraction of the memory. Parsed values are read-only from here on.
 */
export function shareUnchanged(prev: unknown, next: unknown): unknown {
  if (prev === next) return prev;
  if (typeof next !== 'object' || next === null || typeof prev !== 'object' || prev === null) return next;
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    let same = prev.length === next.length;
    for (let i = 0; i < next.length; i++) {
      if (i >= prev.length) continue;
      const v = shareUnchanged(prev[i], next[i]);
      if (v !== next[i]) next[i] = v;
      if (v !== prev[i]) same = false;
    }
    return same ? prev : next;
  }
  if (Array.isArray(prev)) return next;
  const p = prev as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  const pk = Object.keys(p);
  const nk = Object.keys(n);
  let same = pk.length === nk.length;
  for (let i = 0; i < nk.length; i++) {
    const k = nk[i];
    if (same && pk[i] !== k) same = false;
    if (!Object.hasOwn(p, k)) {
      same = false;
      continue;
    }
    const v = shareUnchanged(p[k], n[k]);
    // A "__proto__" member of parsed JSON is an own property; assigning it would change the prototype instead.
    if (v !== n[k] && k !== '__proto__') n[k] = v;
    if (v !== p[k]) same = false;
  }
  return same ? prev : next;
}

function runNeedles(r: Run): string[] {
  const out = new Set<string>();
  if (r.prefix && r.prefix !== 'peer.global') out.add(r.prefix);
  // Short or generic names would match unrelated text.
  if (r.spec && r.spec.length >= 6 && r.spec !== 'new-feature') out.add(r.spec);
  return [...out];
}

function lastGood(history: HistoryItem[]): number | undefined {
  for (let i = history.length - 2; i >= 0; i--) {
    const h = history[i];
    if (h.operation === 'PUT' && h.decoded?.ok) return h.revision;
  }
  return undefined;
}

/** v2 `cycle.current` is plain text: a number, or empty / "null" before the first cycle. */
function decodeCounter(value: Uint8Array): Decoded {
  const text = Buffer.from(value).toString('utf8');
  const m = /^\s*"?(\d+)"?\s*$/.exec(text);
  if (m) return { ok: true, json: Number(m[1]) };
  if (/^\s*(null)?\s*$/.test(text)) return { ok: true, json: null };
  return { ok: false, reason: 'cycle counter is not a number', text };
}

/**
 * The cycles of a run (superseded ones included) that a session belongs to: the cycles whose keys it names
 * (`<prefix>.cycle.<n>`, `current_cycle=<n>`); else those whose revisions fall inside its time span; else the
 * last cycle that started before it ended. With no times to go by, all of them.
 */
export function cyclesForSession(run: Run, s: LogSession): CycleState[] {
  const all = [...run.cycles, ...run.supersededCycles].sort((a, b) => a.number - b.number);
  if (all.length === 0) return all;
  const named = mentionedCycles(run, s, all);
  if (named.length > 0) return named;
  if (!s.firstTimestamp || !s.lastTimestamp) return all;
  const from = Date.parse(s.firstTimestamp) - 60_000;
  const to = Date.parse(s.lastTimestamp) + 60_000;
  const times = (c: CycleState) => c.history.map((h) => Date.parse(h.created)).filter(Number.isFinite);
  const hit = all.filter((c) => times(c).some((t) => t >= from && t <= to));
  if (hit.length > 0) return hit;
  const before = all.filter((c) => Math.min(...times(c)) <= to);
  return before.length > 0 ? [before[before.length - 1]] : [];
}

const mentionCache = new WeakMap<LogSession, Map<string, CycleState[]>>();

function mentionedCycles(run: Run, s: LogSession, all: CycleState[]): CycleState[] {
  const byRun = mentionCache.get(s) ?? new Map<string, CycleState[]>();
  mentionCache.set(s, byRun);
  const cached = byRun.get(run.id);
  if (cached) return cached;
  const needles = new Map<string, CycleState>();
  for (const c of all) {
    if (run.prefix)
      needles
        .set(`${run.prefix}.cycle.${c.number}"`, c)
        .set(`${run.prefix}.cycle.${c.number} `, c)
        .set(`${run.prefix}.cycle.${c.number}\n`, c);
    needles.set(`current_cycle=${c.number}\n`, c);
  }
  const hits = sessionMentions(s, [...needles.keys()]);
  const out = [...new Set([...hits].map((h) => needles.get(h)!))].sort((a, b) => a.number - b.number);
  byRun.set(run.id, out);
  return out;
}

// Which runs of a bucket a scan of one project audits, and what the bucket holds that is no run at all.
// Every project on a machine writes into the same bucket: a run belongs to this project when its spec has a
// folder here, or when this project's transcripts touch it. The model keeps its shape; the runs (and their
// keys) of other projects are left out before the rules see it, and counted.
import type { KeyRecord, Model, Run } from './build.js';
import { classifyKey, isRecord, RUN_KEY_KINDS, specSlug, type KeyKind } from './state.js';
import { stateOps } from './log-facts.js';

export type ScopeMode =
  /** This project's runs only. */
  | 'project'
  /** `--all-runs`: every run in the bucket. */
  | 'all-runs'
  /** The project has no spec folders and no transcripts: nothing to scope by, so every run. */
  | 'unscoped';

export interface RunScope {
  mode: ScopeMode;
  /** The model the rules see. */
  model: Model;
  /** Runs with state that were audited. */
  audited: number;
  /** Runs left out as not in this project (their ids, in model order). */
  notInProject: string[];
}

/**
 * Whether a run belongs to the project scanned: a spec folder here, a transcript of this project names it, or its
 * state names a spec that has a folder here (a create-spec run under peer.instruction whose plan names the spec).
 */
export function inProject(
  run: Run,
  folderNames: ReadonlySet<string>,
  touched: ReadonlySet<string> = new Set(),
): boolean {
  if (run.folders.length > 0 || run.sessions.length > 0) return true;
  // peer.global is too generic a name to tie a session to by mention; the keys its state operations use do.
  if (run.prefix && touched.has(run.prefix)) return true;
  return specNames(run).some((n) => folderNames.has(n) || folderNames.has(specSlug(n)));
}

/** The spec names a run's state gives: key, v1 meta, v2 metadata, cycle, plan output. */
function specNames(run: Run): string[] {
  const out: unknown[] = [run.spec, run.meta?.specName];
  for (const c of run.cycles) {
    out.push(c.spec, c.metadata?.spec_name);
    const plan = c.phases.plan.output;
    if (isRecord(plan)) out.push(plan.spec_name);
  }
  return out.filter((n): n is string => typeof n === 'string' && n.trim() !== '').map((n) => n.trim());
}

export function scopeRuns(model: Model, allRuns: boolean): RunScope {
  const withState = model.runs.filter((r) => r.keys.length > 0);
  if (allRuns) return { mode: 'all-runs', model, audited: withState.length, notInProject: [] };
  if (model.folders.length === 0 && model.sessions.length === 0)
    return { mode: 'unscoped', model, audited: withState.length, notInProject: [] };
  const names = new Set(model.folders.flatMap((f) => [f.folderName, f.slug]));
  const touched = new Set<string>();
  for (const s of model.sessions)
    for (const op of stateOps(s)) if (op.key) touched.add(classifyKey(op.key).prefix ?? '');
  const keep = new Set(model.runs.filter((r) => inProject(r, names, touched)));
  const kept = model.runs.filter((r) => keep.has(r));
  if (kept.length === model.runs.length) return { mode: 'project', model, audited: withState.length, notInProject: [] };
  const left = model.runs.filter((r) => !keep.has(r));
  const leftKeys = new Set<KeyRecord>(left.flatMap((r) => r.keys));
  return {
    mode: 'project',
    model: { ...model, runs: kept, keys: model.keys.filter((k) => !leftKeys.has(k)), keysOutOfScope: [...leftKeys] },
    audited: kept.filter((r) => r.keys.length > 0).length,
    notInProject: left.map((r) => r.id),
  };
}

/** How many keys the bucket holds that are no run: other tools' keys, and PEER keys no layout explains. */
export interface KeyCoverage {
  /** Keys outside `peer.` (other tools sharing the bucket). */
  notPeer: number;
  /** `peer.*` keys that are known but no run: the git-commit flow, the draft's run context, review criteria. */
  peerNotRun: number;
  /** `peer.*` keys no layout explains. */
  unknown: KeyRecord[];
}

const NOT_RUN: ReadonlySet<KeyKind> = new Set(['run-context', 'commit', 'criteria']);

export function keyCoverage(model: Model): KeyCoverage {
  const out: KeyCoverage = { notPeer: 0, peerNotRun: 0, unknown: [] };
  for (const k of model.keys) {
    const kind = k.info.kind;
    if (RUN_KEY_KINDS.has(kind)) continue;
    if (kind === 'unknown') out.unknown.push(k);
    else if (NOT_RUN.has(kind)) out.peerNotRun++;
    // The colon drafts' keys (`peer:spec:x:cycle:1`) are PEER's: malformed-key reports each one.
    else if (!/^peer:/.test(k.info.key)) out.notPeer++;
  }
  return out;
}

// Lookups over a built model that several rules and reports ask for many times: worked out once per model.
// Scanning `model.runs` for each of thousands of folders, sessions or findings was quadratic at scale.
import type { Model, Run } from './build.js';
import { specSlug, type CycleState } from './state.js';
import type { KeyRecord } from './build.js';
import type { LogSession, SpecFile } from './types.js';

interface Lookup {
  byPrefix: Map<string, Run>;
  /** Cycles (standing ones) whose state names the spec, in model order. */
  cyclesNaming: Map<string, Array<{ run: Run; cycle: CycleState }>>;
  runsOfSession: Map<LogSession, Run[]>;
  keys: Map<string, KeyRecord>;
  files: Map<string, SpecFile>;
}

const cache = new WeakMap<Model, Lookup>();

function lookup(model: Model): Lookup {
  let l = cache.get(model);
  if (l) return l;
  l = { byPrefix: new Map(), cyclesNaming: new Map(), runsOfSession: new Map(), keys: new Map(), files: new Map() };
  for (const k of model.keys) if (!l.keys.has(k.info.key)) l.keys.set(k.info.key, k);
  for (const f of model.folders) for (const x of f.files) if (!l.files.has(x.path)) l.files.set(x.path, x);
  for (const x of model.specs?.productFiles ?? []) if (!l.files.has(x.path)) l.files.set(x.path, x);
  for (const x of model.files?.candidates ?? []) if (!l.files.has(x.path)) l.files.set(x.path, x);
  for (const run of model.runs) {
    if (run.prefix !== undefined && !l.byPrefix.has(run.prefix)) l.byPrefix.set(run.prefix, run);
    for (const cycle of run.cycles) {
      if (cycle.spec === undefined) continue;
      // A dated spec name (`--spec=2026-12-03-foo`) names the spec of its slug too.
      for (const name of new Set([cycle.spec, specSlug(cycle.spec)])) {
        const list = l.cyclesNaming.get(name) ?? [];
        list.push({ run, cycle });
        l.cyclesNaming.set(name, list);
      }
    }
    for (const s of run.sessions) {
      const list = l.runsOfSession.get(s) ?? [];
      list.push(run);
      l.runsOfSession.set(s, list);
    }
  }
  cache.set(model, l);
  return l;
}

/** The run with this key prefix. */
export function runByPrefix(model: Model, prefix: string): Run | undefined {
  return lookup(model).byPrefix.get(prefix);
}

/** The runs a session is attached to, in model order. */
export function runsOfSession(model: Model, s: LogSession): Run[] {
  return lookup(model).runsOfSession.get(s) ?? [];
}

/** A run's own cycles and every other run's cycles whose state names the spec, in model order, each once. */
export function cyclesForSpec(model: Model, run: Run, slug: string): Array<{ run: Run; cycle: CycleState }> {
  const l = lookup(model);
  const named = l.cyclesNaming.get(slug) ?? [];
  if (named.every((x) => x.run === run)) return run.cycles.map((cycle) => ({ run, cycle }));
  const order = runOrder(model);
  const all = [...run.cycles.map((cycle) => ({ run, cycle })), ...named.filter((x) => x.run !== run)];
  return all.sort(
    (a, b) => order.get(a.run)! - order.get(b.run)! || a.run.cycles.indexOf(a.cycle) - b.run.cycles.indexOf(b.cycle),
  );
}

const orders = new WeakMap<Model, Map<Run, number>>();
/** Each run's place in `model.runs`. */
export function runOrder(model: Model): Map<Run, number> {
  let o = orders.get(model);
  if (!o) orders.set(model, (o = new Map(model.runs.map((r, i) => [r, i]))));
  return o;
}

/** The record of a KV key. */
export function keyRecord(model: Model, key: string): KeyRecord | undefined {
  return lookup(model).keys.get(key);
}

/**
 * A file of a spec folder, of .agent-os/product, or matched by --files (a spec file first), by its project-relative
 * path.
 */
export function specFile(model: Model, path: string): SpecFile | undefined {
  return lookup(model).files.get(path);
}

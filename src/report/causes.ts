// Findings grouped by root cause: one failure often explains others (a skipped execute phase is why the cycle
// falsely claims success, why tasks.md is missing and why the phases ran out of order). The links are the rules'
// own: an effect rule's meta names the rules that can explain it (`causedBy`), and how the two must be related.
import { SEVERITY_RANK, type Location, type Severity } from '../model/types.js';
import type { CauseRelation, RuleMeta } from '../engine/rule.js';
import type { ReportedFinding } from './result.js';

export interface CauseGroup {
  /** The root findings: one, or several of the same rule in the same run (the same failure in several places). */
  roots: ReportedFinding[];
  /** Findings that follow from the root (directly or through another finding of the group). */
  follows: ReportedFinding[];
  /** The highest severity in the group. */
  severity: Severity;
  title: string;
}

/** What the grouping needs of a rule's meta: its title and the causes that can explain its findings. */
export type CauseMeta = Pick<RuleMeta, 'title' | 'causedBy'>;

/** A group's title, by its root's rule: the rule's title, else the rule id (a rule this version does not know). */
export function titleOf(ruleId: string, metas: Map<string, CauseMeta>): string {
  return metas.get(ruleId)?.title ?? ruleId;
}

function runKey(f: ReportedFinding): string | undefined {
  return f.subject.keyPrefix ?? (f.subject.spec ? `spec:${f.subject.spec}` : f.subject.folder);
}

function locKey(l: Location): string {
  switch (l.kind) {
    case 'kv':
      return `kv ${l.key}${l.pointer ?? ''}`;
    case 'file':
      return `file ${l.path}:${l.line ?? ''}`;
    case 'log':
      return `log ${l.path}:${l.line}`;
    case 'bucket':
      return `bucket ${l.bucket} ${l.field ?? ''}`;
  }
}

function filesOf(f: ReportedFinding): Set<string> {
  return new Set(f.evidence.flatMap((e) => (e.location.kind === 'file' ? [e.location.path] : [])));
}

function related(cause: ReportedFinding, effect: ReportedFinding, when: CauseRelation): boolean {
  switch (when) {
    case 'same-cycle':
      return (
        runKey(cause) !== undefined && runKey(cause) === runKey(effect) && cause.subject.cycle === effect.subject.cycle
      );
    case 'same-run': {
      const sameRun =
        (cause.subject.keyPrefix !== undefined && cause.subject.keyPrefix === effect.subject.keyPrefix) ||
        (cause.subject.spec !== undefined && cause.subject.spec === effect.subject.spec);
      const a = cause.subject.cycle;
      const b = effect.subject.cycle;
      return sameRun && (a === undefined || b === undefined || a === b);
    }
    case 'shared-evidence': {
      const mine = locKeysOf(cause);
      return effect.evidence.some((e) => mine.has(locKey(e.location)));
    }
    case 'same-file': {
      const mine = filesOf(cause);
      return [...filesOf(effect)].some((p) => mine.has(p));
    }
  }
}

const locKeySets = new WeakMap<ReportedFinding, Set<string>>();
/** The locations a finding cites, as keys; worked out once per finding (a cause is compared with many effects). */
function locKeysOf(f: ReportedFinding): Set<string> {
  let keys = locKeySets.get(f);
  if (!keys) locKeySets.set(f, (keys = new Set(f.evidence.map((e) => locKey(e.location)))));
  return keys;
}

/**
 * Groups findings under their root causes; findings nothing explains are roots of their own groups.
 * `metas` are the rules' metadata by id: an effect rule's `causedBy` lists its causes in priority order.
 */
export function groupByCause(findings: ReportedFinding[], metas: Map<string, CauseMeta> = new Map()): CauseGroup[] {
  const byRule = new Map<string, ReportedFinding[]>();
  for (const f of findings) {
    const list = byRule.get(f.ruleId);
    if (list) list.push(f);
    else byRule.set(f.ruleId, [f]);
  }
  const parent = new Map<ReportedFinding, ReportedFinding>();
  for (const effect of findings) {
    for (const link of metas.get(effect.ruleId)?.causedBy ?? []) {
      const cause = byRule.get(link.rule)?.find((c) => c !== effect && related(c, effect, link.when));
      if (cause) {
        parent.set(effect, cause);
        break;
      }
    }
  }
  const rootOf = (f: ReportedFinding): ReportedFinding => {
    const seen = new Set<ReportedFinding>([f]);
    let cur = f;
    for (let p = parent.get(cur); p && !seen.has(p); p = parent.get(cur)) {
      seen.add(p);
      cur = p;
    }
    return cur;
  };
  const groups = new Map<ReportedFinding, ReportedFinding[]>();
  for (const f of findings) {
    const r = rootOf(f);
    if (!groups.has(r)) groups.set(r, []);
    if (r !== f) groups.get(r)!.push(f);
  }
  // The same failure in several places of one run is one cause.
  const merged = new Map<string, { roots: ReportedFinding[]; follows: ReportedFinding[] }>();
  for (const [root, follows] of groups) {
    const k =
      `${root.ruleId}\u0000` +
      `${runKey(root) ?? (root.subject.session ? `session:${root.subject.session}` : 'everywhere')}`;
    const g = merged.get(k);
    if (g) {
      g.roots.push(root);
      g.follows.push(...follows);
    } else merged.set(k, { roots: [root], follows });
  }
  const out: CauseGroup[] = [...merged.values()].map(({ roots, follows }) => {
    const all = [...roots, ...follows];
    const severity = all.reduce<Severity>(
      (m, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[m] ? f.severity : m),
      roots[0].severity,
    );
    return { roots, follows, severity, title: titleOf(roots[0].ruleId, metas) };
  });
  const order = new Map(findings.map((f, i) => [f, i]));
  const size = (g: CauseGroup) => g.roots.length + g.follows.length;
  return out.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      size(b) - size(a) ||
      SEVERITY_RANK[b.roots[0].severity] - SEVERITY_RANK[a.roots[0].severity] ||
      order.get(a.roots[0])! - order.get(b.roots[0])!,
  );
}

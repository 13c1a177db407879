// Findings grouped by root cause: one failure often explains others (a skipped execute phase is why the cycle
// falsely claims success, why tasks.md is missing and why the phases ran out of order). Each link names the
// finding that explains and the one explained, and how the two must be related to be linked.
import { SEVERITY_RANK, type Location, type Severity } from '../model/types.js';
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

type Relation = 'same-cycle' | 'same-run' | 'shared-evidence' | 'same-file';

interface Link {
  cause: string;
  effect: string;
  when: Relation;
}

/** In priority order: an effect joins the first cause it matches. */
const LINKS: Link[] = [
  { cause: 'missing-execute-phase', effect: 'false-success', when: 'same-cycle' },
  { cause: 'missing-execute-phase', effect: 'phase-order-violation', when: 'same-cycle' },
  { cause: 'missing-execute-phase', effect: 'missing-tasks-md', when: 'same-run' },
  { cause: 'missing-execute-phase', effect: 'missing-spec-file', when: 'same-run' },
  { cause: 'missing-execute-phase', effect: 'placeholder-output', when: 'same-cycle' },
  { cause: 'kv-read-failure', effect: 'false-success', when: 'shared-evidence' },
  { cause: 'false-success', effect: 'state-inconsistency', when: 'shared-evidence' },
  { cause: 'read-before-write', effect: 'kv-read-failure', when: 'shared-evidence' },
  { cause: 'heredoc-artifact', effect: 'truncated-file', when: 'same-file' },
  { cause: 'aborted-session', effect: 'malformed-log', when: 'shared-evidence' },
  { cause: 'invalid-state-value', effect: 'state-inconsistency', when: 'shared-evidence' },
  { cause: 'lost-update', effect: 'state-inconsistency', when: 'shared-evidence' },
];

/** Titles for groups, by the root's rule: what went wrong, in words. */
const TITLES: Record<string, string> = {
  'missing-execute-phase': 'The execute phase never ran',
  'false-success': 'Success was claimed for work that was not done',
  'kv-read-failure': 'A state read failed and was never retried',
  'read-before-write': 'State was read before it was written',
  'heredoc-artifact': 'Heredoc residue in spec files',
  'truncated-file': 'A file was cut short',
  'missing-tasks-md': 'tasks.md is missing',
  'missing-spec-file': 'A spec document is missing',
  'phase-order-violation': 'Phases ran out of order',
  'state-inconsistency': 'The state contradicts itself',
  'script-failure': 'A PEER script failed',
  'aborted-session': 'The session stopped mid-run',
  'malformed-log': 'Transcript lines could not be read',
  'unverified-task-completion': 'Tasks are checked off with no record of the work',
  'missing-user-review': 'The user review was skipped',
  'spec-name-mismatch': 'The spec has more than one name',
  'invalid-state-value': 'A state value cannot be read',
  'lost-update': 'A write lost earlier state',
  'stale-cycle': 'A cycle stopped making progress',
  'stateless-run': 'A run kept no state',
  'placeholder-output': 'Phase outputs are placeholders',
  'malformed-key': 'State is stored under a malformed key',
  'bucket-config': 'The bucket is configured to lose evidence',
  'task-list-anomaly': 'The task list breaks create-spec’s limits',
};

export function titleOf(ruleId: string, summary?: string): string {
  return TITLES[ruleId] ?? summary ?? ruleId;
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

function related(cause: ReportedFinding, effect: ReportedFinding, when: Relation): boolean {
  switch (when) {
    case 'same-cycle':
      return runKey(cause) !== undefined && runKey(cause) === runKey(effect) && cause.subject.cycle === effect.subject.cycle;
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

/** Groups findings under their root causes; findings nothing explains are roots of their own groups. */
export function groupByCause(findings: ReportedFinding[], summaries: Map<string, string> = new Map()): CauseGroup[] {
  const byRule = new Map<string, ReportedFinding[]>();
  for (const f of findings) {
    const list = byRule.get(f.ruleId);
    if (list) list.push(f);
    else byRule.set(f.ruleId, [f]);
  }
  const parent = new Map<ReportedFinding, ReportedFinding>();
  for (const effect of findings) {
    for (const link of LINKS) {
      if (link.effect !== effect.ruleId) continue;
      const cause = byRule.get(link.cause)?.find((c) => c !== effect && related(c, effect, link.when));
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
    const k = `${root.ruleId}\u0000${runKey(root) ?? (root.subject.session ? `session:${root.subject.session}` : 'everywhere')}`;
    const g = merged.get(k);
    if (g) {
      g.roots.push(root);
      g.follows.push(...follows);
    } else merged.set(k, { roots: [root], follows });
  }
  const out: CauseGroup[] = [...merged.values()].map(({ roots, follows }) => {
    const all = [...roots, ...follows];
    const severity = all.reduce<Severity>((m, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[m] ? f.severity : m), roots[0].severity);
    return { roots, follows, severity, title: titleOf(roots[0].ruleId, summaries.get(roots[0].ruleId)) };
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

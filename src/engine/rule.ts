import type { Model } from '../model/build.js';
import type { Evidence, Severity, Subject } from '../model/types.js';
import type { Fix } from '../model/fix.js';

export type RuleSource = 'kv' | 'specs' | 'logs' | 'files';

export interface RuleMeta {
  /** Kebab-case id; the file name of the rule module. */
  id: string;
  severity: Severity;
  /** One line: what the rule catches. */
  summary: string;
  /** Evidence sources the rule reads (any one is enough for it to run). */
  sources: RuleSource[];
  fixable: boolean;
  /** What went wrong, in words: the title of a report's cause group rooted at this rule's finding. */
  title: string;
  /**
   * Rules whose findings can explain this one's, in priority order (the finding joins the first cause it
   * matches), and how the two must be related: the incident report groups findings by these links.
   */
  causedBy?: CauseLink[];
  /** The options the rule reads, with their defaults (like ESLint's meta.schema). */
  options?: { [K in RuleOptionName]?: RuleOptionSpec<RuleOptions[K]> };
}

/**
 * How a cause and its effect must be related to be linked: the same cycle, the same run (cycle unknown on
 * either side counts), one evidence location cited by both, or one file cited by both.
 */
export type CauseRelation = 'same-cycle' | 'same-run' | 'shared-evidence' | 'same-file';

export interface CauseLink {
  rule: string;
  when: CauseRelation;
}

export interface RuleOptionSpec<T> {
  default: T;
  description: string;
}

export interface RuleOptions {
  /** "Now" for age-based rules, ISO-8601. */
  now: string;
  /** A phase in progress with no update for longer than this is stale (ms). Default 6 h. */
  staleAfterMs: number;
  /** Replicas the bucket is meant to have (PEER creates it with 3). */
  expectReplicas: number;
  /** History the bucket is meant to keep (PEER creates it with 50). */
  expectHistory: number;
}

/** The options a rule may declare in its meta (all but `now`, which every rule gets). */
export type RuleOptionName = Exclude<keyof RuleOptions, 'now'>;

/** The defaults of the options rules declare; a test checks them against the rules' own declarations. */
export const DEFAULT_RULE_OPTIONS: Omit<RuleOptions, 'now'> = {
  staleAfterMs: 6 * 3600_000,
  expectReplicas: 3,
  expectHistory: 50,
};

export interface ReportInput {
  message: string;
  subject: Subject;
  evidence: Evidence[];
  /** What the finding is about, stable across runs (a key, a file, a folder + occurrence): feeds the fingerprint. */
  target: string;
  /** Overrides the rule's default severity for this finding. */
  severity?: Severity;
  /** The repair, as data (only for rules whose meta says fixable). */
  fix?: Fix[];
  /** Why no fix is offered, when the rule is fixable but this finding is not (said up front by repair). */
  unfixable?: string;
}

export interface RuleContext {
  model: Model;
  options: RuleOptions;
  report(finding: ReportInput): void;
}

export interface Rule {
  meta: RuleMeta;
  check(ctx: RuleContext): void;
}

export function defineRule(rule: Rule): Rule {
  return rule;
}

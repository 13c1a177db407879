// Which findings the watch reports. The model keeps, per key, what arrived (up to the bucket's history). On each
// write only the run the key belongs to (its key prefix) is judged again; a finding is new when it was not true for
// that run before the write, is not true in another run, and is not in the baseline. A new finding is shown once it
// has stayed true for the settle time: PEER writes a cycle and then its counter, and the moment between is not one.
import type { KvEntry } from 'nats';
import { buildModel } from '../model/build.js';
import { classifyKey } from '../model/state.js';
import type { BucketConfig, Finding, KvRevision, Severity } from '../model/types.js';
import { runRules } from '../engine/run.js';
import type { Rule, RuleOptions } from '../engine/rule.js';

/** The write that made a finding true; key null for what is true of the bucket itself at start. */
export interface Cause {
  key: string | null;
  revision: number;
  operation: string | null;
  created: string | null;
}

/** A finding and the write that made it true. */
export interface CausedFinding {
  finding: Finding;
  cause: Cause;
}

/** The group of findings about the bucket itself (its settings), judged once with no keys at all. */
const BUCKET_GROUP = '';

/** The run a key belongs to: its key prefix, or the key itself for keys outside any run. */
function groupOf(key: string): string {
  return classifyKey(key).prefix ?? key;
}

export interface JudgeSetup {
  projectRoot: string;
  bucket: string;
  /** The server list as shown (the model's origin). */
  url: string;
  config: BucketConfig;
  /** The connected server's version (it may change with a reconnect). */
  serverVersion(): string | undefined;
  rules: Rule[];
  /** Rule options; `now` is set at each judgement. */
  options: RuleOptions;
  severities: Record<string, Severity | 'off'>;
  notice(msg: string): void;
}

/** Judges the keys of one run as live KV state, as of now. A rule that fails is said once, then stays quiet. */
export function keysJudge(j: JudgeSetup): (keys: Map<string, KvRevision[]>) => Finding[] {
  const failedRules = new Set<string>();
  return (keys) => {
    const now = new Date().toISOString();
    const kv = { bucket: j.bucket, origin: 'live' as const, originRef: j.url, takenAt: now, config: j.config, keys };
    const model = buildModel({
      projectRoot: j.projectRoot,
      bucket: j.bucket,
      kv: { ...kv, serverVersion: j.serverVersion() },
    });
    const { findings, failures } = runRules(model, j.rules, { ...j.options, now }, j.severities);
    for (const f of failures) {
      if (failedRules.has(f.ruleId)) continue;
      failedRules.add(f.ruleId);
      j.notice(`rule ${f.ruleId} failed: ${f.error.split('\n')[0]}`);
    }
    return findings;
  };
}

export interface TrackerSetup {
  judge(keys: Map<string, KvRevision[]>): Finding[];
  /** Revisions kept per key: the bucket's history. */
  keep: number;
  /** Fingerprints of the baseline: never new. */
  accepted: Set<string>;
  /** How long a new finding must stay true before it is shown; 0: at once. */
  settleMs: number;
  /** The bucket's last revision at start. */
  lastSeq: number;
  /** A new finding, shown (it has stayed true for the settle time). */
  show(f: Finding, cause: Cause): void;
}

export class FindingTracker {
  /** Per key, the revisions received, oldest first. */
  readonly keys = new Map<string, KvRevision[]>();
  /** The last revision received. */
  lastSeq: number;
  /** Group → fingerprints true after its last judgement. */
  private readonly active = new Map<string, Set<string>>();
  /** Fingerprint → number of groups it is true in. */
  private readonly refs = new Map<string, number>();
  /** Fingerprint → the finding as last judged. */
  private readonly latest = new Map<string, Finding>();
  /** New findings waiting out the settle time: shown if still true then, with the write that made them true. */
  private readonly pending = new Map<string, { group: string; cause: Cause; timer: NodeJS.Timeout }>();

  constructor(private readonly s: TrackerSetup) {
    this.lastSeq = s.lastSeq;
  }

  /** Keeps an entry; false for one already held (redelivered after a reconnect). */
  ingest(e: KvEntry): boolean {
    const list = this.keys.get(e.key) ?? [];
    if (list.length > 0 && list[list.length - 1].revision >= e.revision) return false; // redelivered
    if (e.operation === 'PURGE') list.length = 0;
    const value = new Uint8Array(e.value);
    list.push({ key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString(), value });
    if (list.length > this.s.keep) list.splice(0, list.length - this.s.keep);
    this.keys.set(e.key, list);
    if (e.revision > this.lastSeq) this.lastSeq = e.revision;
    return true;
  }

  /**
   * At start: judges the bucket itself, then every run. Returns what is already true: the bucket's findings
   * (caused by no key) and each run's, with the key and revision its evidence names.
   */
  judgeAll(): { bucket: CausedFinding[]; runs: CausedFinding[] } {
    // The bucket's own findings first: every run's model repeats them, and none of them is new.
    const bucketCause: Cause = { key: null, revision: this.lastSeq, operation: null, created: null };
    const bucket = this.update(BUCKET_GROUP).map((finding) => ({ finding, cause: bucketCause }));
    const runs: CausedFinding[] = [];
    for (const g of [...new Set([...this.keys.keys()].map(groupOf))].sort()) {
      for (const finding of this.update(g)) {
        const loc = finding.evidence.find((e) => e.location.kind === 'kv')?.location;
        const key = loc?.kind === 'kv' ? loc.key : g;
        const last = this.keys.get(key)?.at(-1);
        const revision = loc?.kind === 'kv' ? loc.revision : (last?.revision ?? 0);
        const cause = { key, revision, operation: last?.operation ?? 'PUT', created: last?.created ?? null };
        runs.push({ finding, cause });
      }
    }
    return { bucket, runs };
  }

  /** After a write (already ingested): judges its run again; what became true is shown once it has settled. */
  written(e: KvEntry): void {
    const cause: Cause = { key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString() };
    const group = groupOf(e.key);
    for (const f of this.update(group)) {
      if (this.s.settleMs === 0) {
        this.s.show(f, cause);
        continue;
      }
      const fp = f.fingerprint;
      this.pending.set(fp, { group, cause, timer: setTimeout(() => this.settle(fp), this.s.settleMs) });
    }
  }

  /** On the way out: what is pending is true right now, so it is shown. */
  flush(): void {
    for (const [fp, p] of [...this.pending]) {
      clearTimeout(p.timer);
      this.settle(fp);
    }
  }

  /** Re-judges a group; returns the findings that just became true (and are not true elsewhere or accepted). */
  private update(group: string): Finding[] {
    const subset = new Map<string, KvRevision[]>();
    for (const [k, revs] of this.keys) if (groupOf(k) === group) subset.set(k, revs);
    const before = this.active.get(group) ?? new Set<string>();
    const findings = this.s.judge(subset);
    const after = new Set(findings.map((f) => f.fingerprint));
    const isNew = (fp: string) => !before.has(fp) && !(this.refs.get(fp) ?? 0) && !this.s.accepted.has(fp);
    const fresh = findings.filter((f) => isNew(f.fingerprint));
    for (const fp of before) if (!after.has(fp)) this.refs.set(fp, (this.refs.get(fp) ?? 1) - 1);
    for (const fp of after) if (!before.has(fp)) this.refs.set(fp, (this.refs.get(fp) ?? 0) + 1);
    this.active.set(group, after);
    for (const f of findings) this.latest.set(f.fingerprint, f);
    for (const fp of before) {
      const p = after.has(fp) ? undefined : this.pending.get(fp);
      if (p) {
        clearTimeout(p.timer); // true only for a moment
        this.pending.delete(fp);
      }
    }
    return fresh;
  }

  private settle(fp: string): void {
    const p = this.pending.get(fp);
    if (!p) return;
    this.pending.delete(fp);
    const f = this.latest.get(fp);
    if (f && this.active.get(p.group)?.has(fp)) this.s.show(f, p.cause);
  }
}

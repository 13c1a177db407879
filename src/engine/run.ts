import { createHash } from 'node:crypto';
import type { Model } from '../model/build.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../model/types.js';
import type { ReportInput, Rule, RuleOptions } from './rule.js';

export interface RuleFailure {
  ruleId: string;
  error: string;
}

export interface EngineResult {
  findings: Finding[];
  /** Rules that threw: their evidence was not judged, so the scan is incomplete. */
  failures: RuleFailure[];
}

export function fingerprint(ruleId: string, r: Pick<ReportInput, 'subject' | 'target'>): string {
  const s = r.subject;
  // The key prefix is left out on purpose: a spec folder finding keeps its fingerprint whether or not KV was scanned.
  const parts = [ruleId, s.spec ?? '', s.cycle ?? '', r.target];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

export function runRules(
  model: Model,
  rules: Rule[],
  options: RuleOptions,
  severityOverride: Record<string, Severity | 'off'> = {},
): EngineResult {
  const findings: Finding[] = [];
  const failures: RuleFailure[] = [];
  for (const rule of rules) {
    const override = severityOverride[rule.meta.id];
    if (override === 'off') continue;
    const seen = new Set<string>();
    try {
      rule.check({
        model,
        options,
        report(r) {
          // Like ESLint: a rule that does not declare itself fixable may not hand out fixes.
          if (r.fix?.length && !rule.meta.fixable)
            throw new Error(`rule ${rule.meta.id} reported a fix but its meta does not say fixable`);
          const fp = fingerprint(rule.meta.id, r);
          if (seen.has(fp)) return; // one finding per target
          seen.add(fp);
          findings.push({
            ruleId: rule.meta.id,
            severity: override ?? r.severity ?? rule.meta.severity,
            message: r.message,
            subject: r.subject,
            evidence: r.evidence,
            fingerprint: fp,
            ...(r.fix && r.fix.length > 0 ? { fix: r.fix } : {}),
            ...(r.unfixable && !r.fix?.length ? { unfixable: r.unfixable } : {}),
          });
        },
      });
    } catch (e) {
      failures.push({ ruleId: rule.meta.id, error: (e as Error).stack ?? String(e) });
    }
  }
  findings.sort(compareFindings);
  return { findings, failures };
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.subject.keyPrefix ?? a.subject.folder ?? a.subject.session ?? '').localeCompare(
      b.subject.keyPrefix ?? b.subject.folder ?? b.subject.session ?? '',
    ) ||
    (a.subject.cycle ?? 0) - (b.subject.cycle ?? 0) ||
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    a.ruleId.localeCompare(b.ruleId) ||
    where(a).localeCompare(where(b)) ||
    firstLine(a) - firstLine(b)
  );
}

function where(f: Finding): string {
  const l = f.evidence[0]?.location;
  if (!l) return '';
  return l.kind === 'kv' ? l.key : l.kind === 'bucket' ? l.bucket : l.path;
}

function firstLine(f: Finding): number {
  const l = f.evidence[0]?.location;
  if (!l || l.kind === 'bucket') return 0;
  return l.kind === 'kv' ? l.revision : (l.line ?? 0);
}

// A case table for one rule, like ESLint's RuleTester: `valid` cases must produce no finding, `invalid` cases
// exactly the findings listed, in the engine's order. Each case builds its evidence in a fresh temporary project
// (KV revisions in memory, spec files and a transcript as real files) and runs the rule alone through the engine.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint, runRules } from '../../src/engine/run.js';
import { DEFAULT_RULE_OPTIONS, type Rule, type RuleOptions } from '../../src/engine/rule.js';
import type { Model } from '../../src/model/build.js';
import type { Evidence, Finding, KvData, Location, LogData, Severity, Subject } from '../../src/model/types.js';
import { readLogs } from '../../src/sources/logs.js';
import { kvData, modelOf, tempProject, type Put } from './evidence.js';
import type { Transcript } from './transcript.js';

export const DEFAULT_NOW = '2025-08-06T00:00:00Z';

export interface RuleCase {
  name: string;
  /** KV revisions (numbered 1.. in order), or a whole bucket (for its config, origin or name). */
  kv?: Put[] | KvData;
  /** Files of the project, by path relative to its root. */
  files?: Record<string, string>;
  /** A transcript, written as session.jsonl at the project root and read as the logs. */
  transcript?: Transcript;
  /** Builds the model itself (bundled evidence, several log files): the fields above are then ignored. */
  model?: () => Promise<Model>;
  /** "Now" for the rule; default 2025-08-06T00:00:00Z. */
  now?: string;
  options?: Partial<Omit<RuleOptions, 'now'>>;
}

export interface ExpectedFinding {
  severity: Severity;
  /** The whole message. */
  message?: string;
  /** A part of the message (a string is looked for as is). */
  messageMatch?: RegExp | string;
  subject?: Subject;
  /** The finding's target (checked through its fingerprint). */
  target?: string;
  /** Every evidence location in order, written as `locationText` writes them. */
  locations?: string[];
  /** Every evidence item in order, each matched as a subset (`{}` matches any; asymmetric matchers welcome). */
  evidence?: Partial<Record<keyof Evidence, unknown>>[];
  /** Anything else about the finding. */
  check?: (f: Finding) => void;
}

export interface InvalidCase extends RuleCase {
  findings: ExpectedFinding[];
}

/** `kv key@rev/pointer`, `file path:line`, `log path:line`, `bucket name field`. */
export function locationText(l: Location): string {
  switch (l.kind) {
    case 'kv':
      return `kv ${l.key}@${l.revision}${l.pointer ?? ''}`;
    case 'file':
      return `file ${l.path}${l.line !== undefined ? `:${l.line}` : ''}`;
    case 'log':
      return `log ${l.path}:${l.line}`;
    case 'bucket':
      return `bucket ${l.bucket}${l.field ? ` ${l.field}` : ''}`;
  }
}

async function modelFor(c: RuleCase): Promise<Model> {
  if (c.model) return c.model();
  const project = await tempProject(c.files ?? {});
  const kv = c.kv === undefined ? undefined : Array.isArray(c.kv) ? kvData(c.kv) : c.kv;
  let logs: LogData | undefined;
  if (c.transcript) {
    await c.transcript.write(project);
    logs = (await readLogs([path.join(project, '*.jsonl')], project)).data;
  }
  return modelOf({ kv, project, logs });
}

/** Runs `rule` alone on the case's evidence; a rule that throws fails the case. */
export async function runRule(rule: Rule, c: RuleCase): Promise<Finding[]> {
  const model = await modelFor(c);
  const options: RuleOptions = { ...DEFAULT_RULE_OPTIONS, now: c.now ?? DEFAULT_NOW, ...c.options };
  const { findings, failures } = runRules(model, [rule], options);
  if (failures.length) throw new Error(failures.map((f) => f.error).join('\n'));
  return findings;
}

function assertFinding(rule: Rule, f: Finding, want: ExpectedFinding, i: number): void {
  const at = `finding ${i}`;
  expect(f.ruleId, at).toBe(rule.meta.id);
  expect(f.severity, at).toBe(want.severity);
  if (want.message !== undefined) expect(f.message, at).toBe(want.message);
  if (typeof want.messageMatch === 'string') expect(f.message, at).toContain(want.messageMatch);
  else if (want.messageMatch) expect(f.message, at).toMatch(want.messageMatch);
  if (want.subject) expect(f.subject, at).toEqual(want.subject);
  if (want.target !== undefined) {
    expect(f.fingerprint, `${at}: target`).toBe(fingerprint(rule.meta.id, { subject: f.subject, target: want.target }));
  }
  if (want.locations)
    expect(
      f.evidence.map((e) => locationText(e.location)),
      at,
    ).toEqual(want.locations);
  if (want.evidence) expect(f.evidence, at).toMatchObject(want.evidence);
  want.check?.(f);
}

/** Registers one vitest `describe` for the rule with an `it` per case. */
export function ruleTester(
  rule: Rule,
  cases: { valid?: RuleCase[]; invalid?: InvalidCase[] },
  title = rule.meta.id,
): void {
  describe(title, () => {
    for (const c of cases.valid ?? []) {
      it(`valid: ${c.name}`, async () => {
        expect(await runRule(rule, c)).toEqual([]);
      });
    }
    for (const c of cases.invalid ?? []) {
      it(`invalid: ${c.name}`, async () => {
        const got = await runRule(rule, c);
        expect(got.map((f) => `${f.severity} ${f.message}`)).toHaveLength(c.findings.length);
        c.findings.forEach((want, i) => assertFinding(rule, got[i], want, i));
      });
    }
  });
}

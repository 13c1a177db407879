import { defineRule } from '../src/engine/rule.js';
import { brief, recordedFailures } from '../src/model/state.js';
import { refusedNote, resumeFixes } from '../src/model/resume-fixes.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence } from '../src/model/types.js';

export default defineRule({
  meta: {
    id: 'recorded-failure',
    severity: 'error',
    summary:
      'The state records a failure: a phase in error (with its error text), a cycle status ERROR/FAILED, the ' +
      'v1 meta at current_phase "error".',
    sources: ['kv'],
    fixable: true,
    // No shorter title yet: the report has always used the summary.
    title:
      'The state records a failure: a phase in error (with its error text), a cycle status ERROR/FAILED, ' +
      'the v1 meta at current_phase "error".',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const failures = recordedFailures(bucket, cycle, run.meta);
        if (failures.length === 0) continue;
        const evidence: Evidence[] = failures.map((f) => ({ location: f.location, excerpt: f.excerpt, note: f.what }));
        const said = failures.map((f) => (f.text ? `${f.what}: ${brief(oneLine(f.text), 160)}` : f.what));
        const phases = [...new Set(failures.flatMap((f) => (f.phase ? [f.phase] : [])))];
        const lead = phases.length
          ? `Cycle ${cycle.number} recorded a failure in ${list(phases)}`
          : `Cycle ${cycle.number} recorded a failure`;
        // A cycle `peer-audit reopen` replaced: the failure is known, and the new cycle is the one that counts.
        const reopened =
          cycle.supersededBy !== undefined
            ? ` Known: cycle ${cycle.number} was reopened as cycle ${cycle.supersededBy}.`
            : '';
        // Known once reopened: the new cycle is the one to resume, not this one.
        const resume = reopened ? { fixes: [] } : resumeFixes(cycle, run.meta);
        report({
          message: `${lead} (${said.join('; ')}).${reopened}${refusedNote(resume.refused)}`,
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
          severity: reopened ? 'info' : undefined,
          fix: resume.fixes,
          unfixable: resume.refused,
        });
      }
    }
  },
});

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function list(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

import { defineRule } from '../src/engine/rule.js';
import { metaStatements } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence } from '../src/model/types.js';

export default defineRule({
  meta: {
    id: 'unsuccessful-cycle',
    severity: 'warning',
    summary:
      'A cycle that records its own unsuccessful outcome: cycle_summary/result success false, or the user ' +
      'cancelled (execution_status "cancelled").',
    sources: ['kv'],
    fixable: false,
    // No shorter title yet: the report has always used the summary.
    title:
      'A cycle that records its own unsuccessful outcome: cycle_summary/result success false, or the user ' +
      'cancelled (execution_status "cancelled").',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const meta = run.meta
          ? metaStatements(bucket, run.meta, cycle.number)
          : { claims: [], signals: [], outcomes: [] };
        const outcomes = [...cycle.outcomes, ...meta.outcomes];
        if (outcomes.length === 0) continue;
        const ended = [...cycle.claims, ...meta.claims].filter((c) => c.kind === 'lifecycle');
        const evidence: Evidence[] = outcomes.map((o) => ({ location: o.location, excerpt: o.excerpt, note: o.what }));
        for (const c of ended.slice(0, 1))
          evidence.push({ location: c.location, excerpt: c.excerpt, note: 'the cycle ran to its end' });
        const reasons = [...new Set(outcomes.map((o) => o.what))].join('; ');
        const message = ended.length
          ? `Cycle ${cycle.number} finished unsuccessfully: ${reasons}. ${ended[0].excerpt} says its lifecycle ` +
            'ended, not that it succeeded.'
          : `Cycle ${cycle.number} records an unsuccessful outcome: ${reasons}.`;
        report({ message, subject: runSubject(run, cycle.number), evidence, target: cycle.key });
      }
    }
  },
});

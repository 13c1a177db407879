import { defineRule } from '../src/engine/rule.js';
import type { CorruptLine, Evidence } from '../src/model/types.js';

const MAX_EVIDENCE = 20;

export default defineRule({
  meta: {
    id: 'malformed-log',
    severity: 'warning',
    summary: 'A transcript has corrupt lines (spliced records, NUL runs, a cut-off tail): the evidence has gaps.',
    sources: ['logs'],
    fixable: false,
  },
  check({ model, report }) {
    for (const s of model.sessions) {
      const byFile = new Map<string, CorruptLine[]>();
      for (const c of s.corrupt) byFile.set(c.path, [...(byFile.get(c.path) ?? []), c]);
      for (const [file, lines] of byFile) {
        const evidence: Evidence[] = lines.slice(0, MAX_EVIDENCE).map((c) => ({
          location: { kind: 'log', path: c.path, line: c.line },
          excerpt: c.excerpt,
          note: c.reason,
        }));
        const more = lines.length > MAX_EVIDENCE ? ` (first ${MAX_EVIDENCE} shown)` : '';
        report({
          message: `${file} has ${lines.length} corrupt line${lines.length === 1 ? '' : 's'} (${lines.map((c) => c.line).slice(0, 8).join(', ')}${lines.length > 8 ? ', …' : ''}); what they held is not in the audit${more}.`,
          subject: { session: s.sessionId },
          evidence,
          target: file,
        });
      }
    }
  },
});

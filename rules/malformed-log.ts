import { defineRule } from '../src/engine/rule.js';
import { peerSessions } from '../src/model/peer-sessions.js';
import type { CorruptLine, Evidence } from '../src/model/types.js';

const MAX_EVIDENCE = 20;

export default defineRule({
  meta: {
    id: 'malformed-log',
    severity: 'warning',
    summary:
      'A transcript of a PEER run has corrupt lines (spliced records, NUL runs, a cut-off tail): the evidence ' +
      'has gaps.',
    sources: ['logs'],
    fixable: false,
    title: 'Transcript lines could not be read',
    causedBy: [{ rule: 'aborted-session', when: 'shared-evidence' }],
  },
  check({ model, report }) {
    // Corrupt lines of ordinary sessions stay in the logs source's problems and counts; they are not a run's gap.
    for (const s of peerSessions(model)) {
      const byFile = new Map<string, CorruptLine[]>();
      for (const c of s.corrupt) byFile.set(c.path, [...(byFile.get(c.path) ?? []), c]);
      for (const [file, lines] of byFile) {
        // The session lists a bounded number of lines per file; the message says how many there are.
        const total = Math.max(lines.length, s.corruptCounts?.[file] ?? 0);
        const evidence: Evidence[] = lines.slice(0, MAX_EVIDENCE).map((c) => ({
          location: { kind: 'log', path: c.path, line: c.line },
          excerpt: c.excerpt,
          note: c.reason,
        }));
        const more = total > evidence.length ? ` (the first ${evidence.length} shown)` : '';
        report({
          message: `${file} has ${total} corrupt line${total === 1 ? '' : 's'} (${lines
            .map((c) => c.line)
            .slice(0, 8)
            .join(', ')}${total > 8 ? ', …' : ''}); what they held is not in the audit${more}.`,
          subject: { session: s.sessionId },
          evidence,
          target: file,
        });
      }
    }
  },
});

// Grouping by root cause reads titles and links from the rules' meta: an effect joins the first cause it matches.
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/engine/registry.js';
import { groupByCause, type CauseMeta } from '../../src/report/causes.js';
import type { ReportedFinding } from '../../src/report/result.js';
import type { Location } from '../../src/model/types.js';

const at = (key: string): Location => ({ kind: 'kv', bucket: 'b', key, revision: 1 });
function finding(ruleId: string, cycle: number, keys: string[]): ReportedFinding {
  return {
    ruleId,
    severity: 'error',
    message: ruleId,
    subject: { keyPrefix: 'peer.spec.x', cycle },
    evidence: keys.map((k) => ({ location: at(k), excerpt: '' })),
    fingerprint: `${ruleId}-${cycle}`,
  };
}

describe('groupByCause', () => {
  it('links an effect to the first cause in its causedBy that matches, and titles groups from meta', () => {
    const metas = new Map<string, CauseMeta>([
      ['a', { title: 'A went wrong' }],
      ['b', { title: 'B went wrong' }],
      [
        'e',
        {
          title: 'E',
          causedBy: [
            { rule: 'a', when: 'shared-evidence' },
            { rule: 'b', when: 'same-cycle' },
          ],
        },
      ],
    ]);
    const a = finding('a', 1, ['k1']);
    const b = finding('b', 1, ['k2']);
    const e = finding('e', 1, ['k1']);
    const groups = groupByCause([a, b, e], metas);
    expect(groups.map((g) => [g.title, g.roots.map((r) => r.ruleId), g.follows.map((f) => f.ruleId)])).toEqual([
      ['A went wrong', ['a'], ['e']],
      ['B went wrong', ['b'], []],
    ]);
    // Without the shared location the second cause takes it.
    const e2 = finding('e', 1, ['k9']);
    expect(groupByCause([a, b, e2], metas).find((g) => g.roots[0] === b)?.follows).toEqual([e2]);
    // A rule this version does not know: titled by its id, linked to nothing.
    expect(groupByCause([finding('gone', 1, [])], metas).map((g) => g.title)).toEqual(['gone']);
  });

  it('the bundled rules keep their causes in the priority order the report has always used', async () => {
    const rules = await loadRules();
    // Priority within an effect: the order its causes are listed in.
    const causes = (id: string) => rules.find((r) => r.meta.id === id)!.meta.causedBy!.map((c) => c.rule);
    expect(causes('false-success')).toEqual(['missing-execute-phase', 'kv-read-failure']);
    expect(causes('state-inconsistency')).toEqual(['false-success', 'invalid-state-value', 'lost-update']);
  });
});

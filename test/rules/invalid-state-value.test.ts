import { describe, expect, it } from 'vitest';
import { kvLocs, stateFindings as run } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta } from './state-fixtures.js';

const P = 'peer.spec.demo-spec';

describe('invalid-state-value', () => {
  it('names the key, the revision and the last revision that parses', async () => {
    const good = v1Cycle({ plan: done() });
    const fs = await run(
      [
        [`${P}.cycle.1`, good],
        [
          `${P}.cycle.1`,
          '{"cycle_number":1,"phases":{"plan":{"status":"complete","output":"line1\nline2"}}}',
          { raw: true },
        ],
        [`${P}.meta`, `${JSON.stringify(v1Meta('demo-spec'))}\nEOF`, { raw: true }],
        ['peer.spec.empty.cycle.1', '', { raw: true }],
        ['peer.spec.shape.cycle.1', [1, 2, 3]],
        ['peer.spec.counter.cycle.current', 'one', { raw: true }],
      ],
      'invalid-state-value',
    );
    expect(fs.map((f) => kvLocs(f).join(' '))).toEqual([
      'peer.spec.counter.cycle.current@6',
      `${P}.meta@3`,
      `${P}.cycle.1@2 ${P}.cycle.1@1`,
      'peer.spec.empty.cycle.1@4',
      'peer.spec.shape.cycle.1@5',
    ]);
    expect(fs[2].evidence[0].note).toMatch(/^value is not JSON: Bad control character/);
    expect(fs[2].evidence[0].excerpt).toContain('line1\\nline2');
    expect(fs[1].evidence[0].note).toMatch(/^value is not JSON/);
    expect(fs[3].evidence[0].note).toBe('value is empty');
    expect(fs[4].evidence[0].note).toBe('cycle value is JSON but not an object');
    expect(fs[2].message).toContain('Revision 1 is the last that parses.');
    expect(fs[1].message).toContain('No earlier revision parses.');
  });

  it('is quiet for readable values and delete markers', async () => {
    const fs = await run(
      [
        [`${P}.cycle.1`, v1Cycle({})],
        [`${P}.cycle.current`, '1'],
        ['peer.spec.gone.cycle.1', '', { op: 'DEL' }],
      ],
      'invalid-state-value',
    );
    expect(fs).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { logFindings as findings } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

describe('malformed-log', () => {
  it('reports corrupt lines by file and line, and the rest of the file is still read', async () => {
    const dir = await new Transcript()
      .human('/peer --continue')
      .raw(
        '{"type":"user","message":{"role":"user","content":"cut"},"prNu{"parentUuid":null,"type":"assistant","sessionId":"s-1","uuid":"sp1","timestamp":"2025-08-05T16:00:30.000Z","message":{"role":"assistant","content":[{"type":"text","text":"after splice"}]}}',
      )
      .raw('\u0000\u0000\u0000\u0000')
      .say('still here')
      .write();
    const fs2 = await findings(dir, 'malformed-log');
    expect(fs2).toHaveLength(1);
    expect(fs2[0].severity).toBe('warning');
    expect(fs2[0].evidence.map((e) => (e.location as { line: number }).line)).toEqual([2, 3]);
    expect(fs2[0].message).toBe('session.jsonl has 2 corrupt lines (2, 3); what they held is not in the audit.');
  });

  it('is quiet on a clean transcript', async () => {
    const dir = await new Transcript().human('hi').say('hello').write();
    expect(await findings(dir, 'malformed-log')).toEqual([]);
  });
});

// The diff a dry run (and reopen) prints is masked like every report; what is written is not touched.
import { describe, expect, it } from 'vitest';
import { renderChange } from '../../src/repair/plan.js';
import type { Change } from '../../src/model/journal-format.js';
import { b64 } from '../../src/repair/journal.js';

const TOKEN = 'ghp_1234567890abcdefghijABCDEFGHIJ123456';
const PASSWORD = 'correct-horse-battery-staple-42';

describe('renderChange', () => {
  it('masks secrets in the values it quotes, and still shows the change', () => {
    const before = {
      spec_name: 'demo',
      current_phase: 'complete',
      notify: `https://bot:${PASSWORD}@hooks.example.com`,
      api_token: TOKEN,
    };
    const after = { ...before, current_phase: 'execute' };
    const ch: Change = {
      kind: 'kv',
      key: 'peer.spec.demo.meta',
      revisionSeen: 7,
      before_b64: b64(Buffer.from(JSON.stringify(before))),
      after_b64: b64(Buffer.from(JSON.stringify(after))),
      why: ['cycle 1 claims completion but execute never completed'],
      rules: ['false-success'],
      status: 'planned',
    };
    const text = renderChange(ch, 'agent-os-peer-state');
    expect(text).toContain('-  "current_phase": "complete",\n+  "current_phase": "execute",');
    expect(text).toContain('"api_token": "[REDACTED:secret]"');
    expect(text).toContain('https://bot:[REDACTED:url-password]@hooks.example.com');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(PASSWORD);
    // The change itself keeps the real bytes.
    expect(Buffer.from(ch.after_b64, 'base64').toString()).toContain(TOKEN);
  });
});

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

const RULE = 'script-failure';

async function fixture(name: string) {
  const dir = path.join(REPO, 'fixtures/incidents', name);
  const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

async function scan(t: Transcript) {
  const dir = await t.write();
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ project: dir, logs }), RULE);
}

const at = (l: Location) => (l.kind === 'log' ? `${l.path}:${l.line}` : l.kind);
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

const UPDATE = (filter: string) => `~/.agent-os/scripts/peer/update-state.sh "peer.spec.demo-spec.cycle.1" '${filter}'`;

const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

describe('script-failure', () => {
  it('fires on the seed as a warning: determine-context.sh failed at line 15 and succeeded on retry at line 20', async () => {
    const fs = await fixture('wal-operation-handling-fix');
    expect(fs).toHaveLength(1);
    const [f] = fs;
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
    const log = 'logs/output-peer-test-2.jsonl';
    expect(locs(f)).toEqual([`${log}:15`, `${log}:14`, `${log}:20`]);
    expect(f.evidence[0].excerpt).toBe('❌ Error: No spec name provided for create-spec instruction');
    expect(f.evidence[0].note).toBe('determine-context.sh failed (exit code 1)');
    expect(f.evidence[2].note).toBe('retry succeeded (call at line 19)');
    expect(f.message).toBe(
      `determine-context.sh failed at ${log}:15 ("❌ Error: No spec name provided for create-spec instruction"); it succeeded on retry at line 20.`,
    );
  });

  it('fires on the v2 incident: update-state.sh failed in the planner file at line 23, retried OK at line 26', async () => {
    const fs = await fixture('v2-skipped-execute');
    expect(fs).toHaveLength(1);
    const agent = 'logs/e7b24d90-6f1a-4c3e-a5d8-2b9c0f6e1a47/subagents/agent-aa7214ae44b06ec65.jsonl';
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual([`${agent}:23`, `${agent}:22`, `${agent}:26`]);
    expect(fs[0].evidence[0].excerpt).toBe('ERROR: Failed to update state (likely revision mismatch)');
    expect(fs[0].evidence[1].note).toBe(
      'the call, by peer-planner (spawned at logs/e7b24d90-6f1a-4c3e-a5d8-2b9c0f6e1a47.jsonl:16)',
    );
    expect(fs[0].message).toContain('update-state.sh for peer.spec.csv-export-endpoint.cycle.1 failed');
    expect(fs[0].subject).toMatchObject({ spec: 'csv-export-endpoint', cycle: 1 });
  });

  it.skipIf(!existsSync(REWRITE))(
    'v2-review-rewrite: the finalize pipeline whose retry left an unreadable value, read-state.sh and the counter create',
    async () => {
      const fs = await fixture('v2-review-rewrite');
      const s1 = 'logs/5f1c8a3e-9b27-4d6a-8e41-2c7b0d9f6a58.jsonl';
      const s2 = 'logs/a93e6b21-4c8d-4f75-b0a2-7e1d5c3f9b86.jsonl';
      expect(fs.map((f) => [f.severity, at(f.evidence[0].location)])).toEqual([
        ['error', `${s1}:29`],
        ['error', `${s2}:12`],
        ['error', `${s2}:19`],
      ]);
      expect(locs(fs[0])).toEqual([`${s1}:29`, `${s1}:28`, `${s1}:32`, 'kv']);
      expect(fs[0].evidence[3].location).toMatchObject({
        key: 'peer.spec.search-api-pagination.cycle.1',
        revision: 19,
      });
      expect(fs[0].message).toContain(
        'the retry at line 32 printed no error but left revision 19 of peer.spec.search-api-pagination.cycle.1 unreadable',
      );
    },
  );

  it('is an error when no retry succeeded; a later success on another key is no retry', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'u1',
          UPDATE('.phases.plan.status = "completed"'),
          'ERROR: Failed to update state (likely revision mismatch)',
          true,
        )
        .bash('u2', '~/.agent-os/scripts/peer/update-state.sh "peer.spec.other-spec.cycle.1" \'.x = 1\'', 'OK'),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:1']);
    expect(fs[0].message).toBe(
      'update-state.sh for peer.spec.demo-spec.cycle.1 failed at session.jsonl:2 ("ERROR: Failed to update state (likely revision mismatch)") and was not retried successfully.',
    );
  });

  it('counts a retry of a state script with a corrected filter on the same key', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'u1',
          UPDATE('.phases.plan.status = '),
          'jq: error: syntax error, unexpected end of file (Unix shell quoting issues?) at <top-level>, line 1:',
          true,
        )
        .bash('u2', UPDATE('.phases.plan.status = "completed"'), 'OK'),
    );
    expect(fs.map((f) => [f.severity, f.evidence[0].excerpt])).toEqual([
      [
        'warning',
        'jq: error: syntax error, unexpected end of file (Unix shell quoting issues?) at <top-level>, line 1:',
      ],
    ]);
  });

  it('fires on a jq | nats kv put pipeline whose jq failed, even though the pipeline exited 0', async () => {
    const cmd =
      'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw | jq -c \'.metadata.status = "COMPLETED"\' | nats kv put agent-os-peer-state peer.spec.demo-spec.cycle.1';
    const fs = await scan(
      new Transcript().bash(
        'p1',
        cmd,
        'jq: parse error: Invalid string: control characters from U+0000 through U+001F must be escaped at line 46, column 141',
      ),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(fs[0].evidence[0].note).toBe('the jq | nats kv pipeline failed');
    expect(fs[0].message).toContain(
      'the jq | nats kv pipeline for peer.spec.demo-spec.cycle.1 failed at session.jsonl:2 ("jq: parse error: Invalid string',
    );
  });

  it('keeps the error when the retry printed nothing wrong but left the key unreadable (with KV)', async () => {
    const key = 'peer.spec.demo-spec.cycle.1';
    const cmd = `CURRENT=$(nats kv get agent-os-peer-state ${key} --raw) && echo "$CURRENT" | jq '.metadata.status = "COMPLETED"' | nats kv put agent-os-peer-state ${key}`;
    const retry = `CURRENT=$(nats kv get agent-os-peer-state ${key} --raw) && echo "\${CURRENT/REVIEWING/COMPLETED}}" | nats kv put agent-os-peer-state ${key}`;
    const t = new Transcript()
      .bash(
        'p1',
        cmd,
        'jq: parse error: Invalid string: control characters from U+0000 through U+001F must be escaped at line 46, column 141',
        true,
      )
      .bash('p2', retry, '(No content)');
    const dir = await t.write();
    const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
    const kv = kvData([
      [key, { version: 1, metadata: { status: 'REVIEWING' }, phases: {} }, { created: '2025-08-05T16:00:00.500Z' }],
      [key, '{"version":1,"metadata":{"status":"COMPLETED"}}}', { created: '2025-08-05T16:00:03.500Z', raw: true }],
    ]);
    const fs = await findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:1', 'session.jsonl:4', 'kv']);
    expect(fs[0].evidence[3].location).toMatchObject({ kind: 'kv', key, revision: 2 });
    expect(fs[0].message).toContain(
      `the retry at line 4 printed no error but left revision 2 of ${key} unreadable (value is not JSON`,
    );
  });

  it('any script under scripts/peer/ counts; the first meaningful line is the error text', async () => {
    const fs = await scan(
      new Transcript().bash(
        'f1',
        '~/.agent-os/scripts/peer/finalize-cycle.sh',
        '🏁 Finalizing PEER cycle...\n❌ Error: Could not retrieve cycle data for finalization',
        true,
      ),
    );
    expect(fs.map((f) => [f.severity, f.evidence[0].excerpt, f.evidence[0].note])).toEqual([
      ['error', '❌ Error: Could not retrieve cycle data for finalization', 'finalize-cycle.sh failed (exit code 1)'],
    ]);
  });

  it('fires on read-state.sh (a PEER script) and on a failed nats kv write of PEER state', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'r1',
          '~/.agent-os/scripts/peer/read-state.sh "peer.spec.demo-spec.cycle.1"',
          'ERROR: Invalid JSON in NATS KV state for key peer.spec.demo-spec.cycle.1',
          true,
        )
        .bash(
          'c1',
          'nats kv create agent-os-peer-state peer.spec.demo-spec.cycle.current 2',
          'nats: error: nats: key exists',
          true,
        ),
    );
    expect(fs.map((f) => [f.severity, f.evidence[0].note, f.evidence[0].excerpt])).toEqual([
      [
        'error',
        'read-state.sh failed (exit code 1)',
        'ERROR: Invalid JSON in NATS KV state for key peer.spec.demo-spec.cycle.1',
      ],
      ['error', 'nats kv create failed (exit code 1)', 'nats: error: nats: key exists'],
    ]);
    expect(fs[1].message).toBe(
      'nats kv create for peer.spec.demo-spec.cycle.current failed at session.jsonl:4 ("nats: error: nats: key exists") and was not retried successfully.',
    );
  });

  it('stays quiet on plain nats kv reads (kv-read-failure reports those), other commands and successful scripts', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'g1',
          'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw',
          'nats: error: nats: key not found',
          true,
        )
        .bash(
          'h1',
          'nats kv history agent-os-peer-state peer.spec.demo-spec.cycle.1 | jq .',
          'jq: parse error: Invalid numeric literal at line 1, column 4',
          true,
        )
        .bash('n1', 'npm test', 'Error: 3 tests failed', true)
        .bash('k1', 'nats kv put scratch-bucket some.key 1', 'nats: error: bucket not found', true)
        .bash('s1', '~/.agent-os/scripts/peer/check-nats-health.sh', '✅ NATS server is healthy')
        .bash(
          'p1',
          "nats kv get agent-os-peer-state k --raw | jq '.a = 1' | nats kv put agent-os-peer-state k",
          '{"a":1}',
        ),
    );
    expect(fs).toEqual([]);
  });

  it('is quiet on the healthy runs', async () => {
    expect(await fixture('healthy-v1')).toEqual([]);
    expect(await fixture('healthy-v2')).toEqual([]);
  });
});

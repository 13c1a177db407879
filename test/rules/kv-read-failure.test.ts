import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

const RULE = 'kv-read-failure';

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

const GET = 'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw';

const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

describe('kv-read-failure', () => {
  it("fires on the seed: the executor's plan read at line 51, with the key resolved from key_prefix= and current_cycle=", async () => {
    const fs = await fixture('wal-operation-handling-fix');
    expect(fs).toHaveLength(1);
    const [f] = fs;
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('error');
    expect(locs(f)).toEqual(['logs/output-peer-test-2.jsonl:51', 'logs/output-peer-test-2.jsonl:50']);
    expect(f.evidence[0].excerpt).toBe('❌ Error: Could not retrieve cycle data');
    expect(f.evidence[0].note).toBe('nats kv get of peer.spec.wal-operation-handling-fix.cycle.1 failed');
    expect(f.message).toContain(
      'nats kv get of peer.spec.wal-operation-handling-fix.cycle.1 by the main agent failed at logs/output-peer-test-2.jsonl:51',
    );
    expect(f.message).toContain('no identical read succeeded');
    expect(f.subject).toMatchObject({
      spec: 'wal-operation-handling-fix',
      keyPrefix: 'peer.spec.wal-operation-handling-fix',
      cycle: 1,
    });
  });

  it('resolves the key from variables printed earlier in the session', async () => {
    const fs = await scan(
      new Transcript()
        .bash('t0', 'cat /tmp/peer_cycle.txt', 'current_cycle=2\nkey_prefix=peer.spec.demo-spec')
        .bash(
          't1',
          'nats kv get agent-os-peer-state "${key_prefix}.cycle.${current_cycle}" --raw',
          'nats: error: nats: key not found',
          true,
        ),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(locs(fs[0])).toEqual(['session.jsonl:4', 'session.jsonl:3']);
    expect(fs[0].evidence[0].excerpt).toBe('nats: error: nats: key not found');
    expect(fs[0].message).toContain('nats kv get of peer.spec.demo-spec.cycle.2');
  });

  it('is a warning when the same read succeeded later, and names the line', async () => {
    const fs = await scan(
      new Transcript().bash('t1', GET, 'nats: error: timeout', true).say('Retrying.').bash('t2', GET, '{"phases":{}}'),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:1', 'session.jsonl:5']);
    expect(fs[0].message).toContain('the same read succeeded later at line 5');
  });

  it('fires on read-state.sh, on nats kv history, and on "nats: error:" printed by a call that exited 0', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'r1',
          '~/.agent-os/scripts/peer/read-state.sh "peer.spec.demo-spec.cycle.1"',
          'ERROR: Failed to read state',
          true,
        )
        .bash(
          'h1',
          'nats kv history agent-os-peer-state peer.spec.demo-spec.meta',
          'nats: error: nats: stream not found',
        )
        .bash('g1', `${GET}; echo done`, 'nats: error: nats: key not found\ndone'),
    );
    expect(fs.map((f) => [f.severity, f.evidence[0].note])).toEqual([
      ['error', 'read-state.sh of peer.spec.demo-spec.cycle.1 failed'],
      ['error', 'nats kv history of peer.spec.demo-spec.meta failed'],
      ['error', 'nats kv get of peer.spec.demo-spec.cycle.1 failed'],
    ]);
    expect(new Set(fs.map((f) => f.fingerprint)).size).toBe(3);
  });

  it('is info for an existence check: key not found, then the session creates that key', async () => {
    const fs = await scan(
      new Transcript()
        .bash('g1', GET, 'nats: error: nats: key not found', true)
        .bash('c1', '~/.agent-os/scripts/peer/create-state.sh "peer.spec.demo-spec.cycle.1" \'{"version":1}\'', 'OK'),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('info');
    expect(fs[0].message).toContain('an existence check');
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:1', 'session.jsonl:3']);
  });

  it('stays quiet on look-alikes: handled fallbacks, write pipelines, successful reads, other failing commands', async () => {
    const fs = await scan(
      new Transcript()
        .bash(
          'a',
          'CURRENT=$(nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.current --raw 2>/dev/null || echo ""); echo "current=${CURRENT:-none}"',
          'current=none',
        )
        .bash(
          'b',
          `${GET} | jq '.phases.plan = ' | nats kv put agent-os-peer-state peer.spec.demo-spec.cycle.1`,
          'jq: error: syntax error, unexpected end of file',
        )
        .bash('c', GET, '{"phases":{}}')
        .bash('d', 'ls /nope', 'ls: /nope: No such file or directory', true),
    );
    expect(fs).toEqual([]);
  });

  it.skipIf(!existsSync(REWRITE))(
    'v2-review-rewrite: read-state.sh of the unreadable cycle 1 in session 2',
    async () => {
      const fs = await fixture('v2-review-rewrite');
      expect(fs.map((f) => [f.severity, locs(f)])).toEqual([
        [
          'error',
          ['logs/a93e6b21-4c8d-4f75-b0a2-7e1d5c3f9b86.jsonl:12', 'logs/a93e6b21-4c8d-4f75-b0a2-7e1d5c3f9b86.jsonl:11'],
        ],
      ]);
      expect(fs[0].evidence[0].excerpt).toBe(
        'ERROR: Invalid JSON in NATS KV state for key peer.spec.search-api-pagination.cycle.1',
      );
    },
  );

  it('is quiet on the healthy runs', async () => {
    expect(await fixture('healthy-v1')).toEqual([]);
    expect(await fixture('healthy-v2')).toEqual([]);
  });
});

import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

const RULE = 'aborted-session';
const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');

async function scanDir(dir: string, withKv = true) {
  const kv = withKv ? (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data : undefined;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

async function scan(t: Transcript, tail?: string) {
  const dir = await t.write();
  if (tail !== undefined) await fs.appendFile(path.join(dir, 'session.jsonl'), tail);
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ project: dir, logs }), RULE);
}

/** A record in the Transcript builder's shape, for what the builder cannot write (a call with no result). */
function record(n: number, type: 'user' | 'assistant', content: unknown): string {
  return JSON.stringify({
    parentUuid: `u${n - 1}`,
    isSidechain: false,
    userType: 'external',
    cwd: '/home/dev/app',
    sessionId: 's-1',
    version: '1.0.69',
    type,
    message: { role: type, content },
    uuid: `u${n}`,
    timestamp: new Date(Date.UTC(2025, 7, 5, 16, 0, n)).toISOString(),
  });
}

const at = (l: Location) => (l.kind === 'log' ? `${l.path}:${l.line}` : l.kind);
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

describe('aborted-session', () => {
  it('fires on the seed transcript once its last record (line 188) is cut off', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-seed-'));
    await fs.cp(SEED, dir, { recursive: true });
    const file = path.join(dir, 'logs/output-peer-test-2.jsonl');
    const text = await fs.readFile(file, 'utf8');
    if (text.endsWith('\n')) {
      // Cut the last record in the middle, with no newline after it, as a killed session leaves it.
      const body = text.slice(0, -1);
      const start = body.lastIndexOf('\n') + 1;
      await fs.writeFile(file, body.slice(0, start + Math.floor((body.length - start) / 2)));
    }
    const found = await scanDir(dir);
    expect(found).toHaveLength(1);
    const [f] = found;
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
    expect(locs(f)).toEqual(['logs/output-peer-test-2.jsonl:188']);
    expect(f.evidence[0].note).toBe('cut-off last line: the record was never finished');
    expect(f.message).toBe('logs/output-peer-test-2.jsonl stops mid-run: the last line (188) is cut off.');
    expect(f.subject).toMatchObject({
      keyPrefix: 'peer.spec.wal-operation-handling-fix',
      session: '4b8f1c2e-7d3a-4e59-9a61-0c5d2e8f7a13',
    });
  });

  it('counts the last call when the session ends on it: a tool call with no result', async () => {
    const t = new Transcript()
      .human('/peer --continue')
      .bash('t1', 'cat /tmp/peer_cycle.txt', 'current_cycle=1')
      .raw(
        record(4, 'assistant', [
          {
            type: 'tool_use',
            id: 't2',
            name: 'Bash',
            input: { command: 'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw' },
          },
        ]),
      );
    const found = await scan(t);
    expect(found).toHaveLength(1);
    expect(locs(found[0])).toEqual(['session.jsonl:4']);
    expect(found[0].evidence[0].note).toBe('no result for this call (by the main agent)');
    expect(found[0].message).toBe('session.jsonl stops mid-run: the Bash call at line 4 never got a result.');
  });

  it('names a subagent that never reported back, and a cut-off tail, in one finding', async () => {
    const t = new Transcript()
      .human('/peer --continue')
      .task('p1', 'peer-planner', 'planned')
      .task('e1', 'peer-executor');
    const found = await scan(t, '{"parentUuid":"u4","isSidechain":false,"type":"assistant","message":{"role":"assis');
    expect(found).toHaveLength(1);
    expect(locs(found[0])).toEqual(['session.jsonl:4', 'session.jsonl:5']);
    expect(found[0].evidence[0].note).toBe('peer-executor spawned; its records end without a final report');
    expect(found[0].message).toBe(
      'session.jsonl stops mid-run: peer-executor (line 4) never reported back; the last line (5) is cut off.',
    );
  });

  it('fires when the main agent says nothing after its last tool result', async () => {
    const found = await scan(
      new Transcript()
        .human('/peer --continue')
        .say('Finalizing.')
        .bash('f1', '~/.agent-os/scripts/peer/finalize-cycle.sh', '🏁 Finalizing PEER cycle...'),
    );
    expect(found).toHaveLength(1);
    expect(locs(found[0])).toEqual(['session.jsonl:4']);
    expect(found[0].message).toBe(
      'session.jsonl stops mid-run: no assistant message follows the last tool result (line 4).',
    );
  });

  it.skipIf(!existsSync(REWRITE))(
    'v2-review-rewrite: session 2 ends mid-execute, the executor and its last test run never returned',
    async () => {
      const found = await scanDir(REWRITE);
      expect(found).toHaveLength(1);
      expect(locs(found[0])).toEqual([
        'logs/a93e6b21-4c8d-4f75-b0a2-7e1d5c3f9b86.jsonl:25',
        'logs/agent-742c7235.jsonl:17',
      ]);
    },
  );

  it('stays quiet on a session that closes with a message, and on the healthy runs', async () => {
    expect(
      await scan(
        new Transcript()
          .human('/peer --continue')
          .bash('t1', 'ls', 'a')
          .task('p1', 'peer-planner', 'planned')
          .say('PEER cycle 1 completed successfully.'),
      ),
    ).toEqual([]);
    expect(await scanDir(path.join(REPO, 'fixtures/incidents/healthy-v1'))).toEqual([]);
    expect(await scanDir(path.join(REPO, 'fixtures/incidents/healthy-v2'))).toEqual([]);
  });
});

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { findingsOf, kvData, modelOf } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta } from './state-fixtures.js';
import { Transcript } from '../helpers/transcript.js';

const COMPOSED = fileURLToPath(new URL('../fixtures-logs/composed/', import.meta.url));

async function findings(dir: string, rule: string, kv = kvData([])) {
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), rule);
}

const GET = 'nats kv get agent-os-peer-state peer.spec.demo-spec.cycle.1 --raw';

describe('false-success in a transcript', () => {
  it('fires on the composed example: a failed state read, then "completed successfully"', async () => {
    const logs = (await readLogs([path.join(COMPOSED, 'main.jsonl'), path.join(COMPOSED, 'agent-a4f09c2.jsonl')], COMPOSED)).data;
    const fs2 = await findingsOf(await modelOf({ project: COMPOSED, logs }), 'false-success');
    expect(fs2).toHaveLength(1);
    expect(fs2[0].subject).toEqual({ session: '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35' });
    expect(fs2[0].evidence.map((e) => [e.location.kind, (e.location as { path: string }).path, (e.location as { line: number }).line, e.note])).toEqual([
      ['log', 'agent-a4f09c2.jsonl', 3, 'state read failed (peer.spec.x.cycle.1) and was never retried'],
      ['log', 'main.jsonl', 4, 'peer-planner spawned; peer-executor, peer-express and peer-review never were'],
      ['log', 'main.jsonl', 7, 'claims success'],
    ]);
    // only the planner was spawned: the other phases cannot have completed
    expect(fs2[0].message).toContain('peer-executor, peer-express and peer-review were never spawned (the run spawned only peer-planner)');
  });

  it('fires on a stream-json result of subtype success after a failed read', async () => {
    const logs = (await readLogs([path.join(COMPOSED, 'stream-json.jsonl')], COMPOSED)).data;
    const fs2 = await findingsOf(await modelOf({ project: COMPOSED, logs }), 'false-success');
    expect(fs2.map((f) => f.evidence.map((e) => `${(e.location as { line: number }).line} ${e.note}`))).toEqual([
      ['4 state read failed (peer.spec.x.cycle.1) and was never retried', '5 claims success'],
    ]);
  });

  it('stays quiet when the failed read was retried successfully before the claim', async () => {
    const dir = await new Transcript().human('/peer --continue').bash('t1', GET, 'nats: error: nats: key not found', true).bash('t2', GET, '{"phases":{}}').say('PEER cycle 1 completed successfully').write();
    expect(await findings(dir, 'false-success')).toEqual([]);
  });

  it('stays quiet when the claim comes before the failure, or nothing is claimed', async () => {
    const dir = await new Transcript().say('PEER cycle 1 completed successfully').bash('t1', GET, 'nats: error: timeout', true).write();
    expect(await findings(dir, 'false-success')).toEqual([]);
    const dir2 = await new Transcript().bash('t1', GET, 'nats: error: timeout', true).say('The read failed; stopping here.').write();
    expect(await findings(dir2, 'false-success')).toEqual([]);
  });

  it('fires on a skipped executor in the transcript alone, naming the express spawn', async () => {
    const dir = await new Transcript()
      .task('p1', 'peer-planner', 'planned')
      .task('x1', 'peer-express', 'expressed')
      .task('r1', 'peer-review', 'reviewed')
      .bash('f1', '~/.agent-os/scripts/peer/finalize-cycle.sh', '🏁 Finalizing PEER cycle...\n✅ PEER cycle 1 completed successfully')
      .write();
    const fs2 = await findings(dir, 'false-success');
    expect(fs2.map((f) => f.evidence.map((e) => `${(e.location as { line: number }).line} ${e.note}`))).toEqual([
      ['3 peer-express ran, but peer-executor was never spawned', '8 claims success'],
    ]);
  });
});

describe('missing-execute-phase with a transcript', () => {
  const kv = () =>
    kvData([
      ['peer.spec.demo-spec.meta', v1Meta('demo-spec', { current_phase: 'review' })],
      ['peer.spec.demo-spec.cycle.1', v1Cycle({ plan: done(), express: done() })],
    ]);

  it('says the executor was spawned but never returned', async () => {
    const dir = await new Transcript().task('p1', 'peer-planner', 'planned').task('e1', 'peer-executor').task('x1', 'peer-express', 'ok').write();
    const fs2 = await findings(dir, 'missing-execute-phase', kv());
    expect(fs2).toHaveLength(1);
    expect(fs2[0].message).toBe('Cycle 1 went past the execute phase but execute is absent: express ran. The transcript spawns peer-executor, but it never returned.');
    expect(fs2[0].evidence.filter((e) => e.location.kind === 'log').map((e) => [(e.location as { line: number }).line, e.note])).toEqual([[3, 'peer-executor spawned']]);
  });

  it('adds nothing from a transcript where the executor returned', async () => {
    const dir = await new Transcript().task('p1', 'peer-planner', 'planned').task('e1', 'peer-executor', 'executed').task('x1', 'peer-express', 'ok').write();
    const fs2 = await findings(dir, 'missing-execute-phase', kv());
    expect(fs2[0].evidence.every((e) => e.location.kind === 'kv')).toBe(true);
  });
});

describe('malformed-log', () => {
  it('reports corrupt lines by file and line, and the rest of the file is still read', async () => {
    const dir = await new Transcript()
      .human('/peer --continue')
      .raw('{"type":"user","message":{"role":"user","content":"cut"},"prNu{"parentUuid":null,"type":"assistant","sessionId":"s-1","uuid":"sp1","timestamp":"2025-08-05T16:00:30.000Z","message":{"role":"assistant","content":[{"type":"text","text":"after splice"}]}}')
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

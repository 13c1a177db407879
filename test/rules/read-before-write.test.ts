import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, KvData, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { done, v1Cycle, v1Meta } from './state-fixtures.js';

const RULE = 'read-before-write';
const KEY = 'peer.spec.demo-spec.cycle.1';
const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

async function fixture(name: string) {
  const dir = path.join(REPO, 'fixtures/incidents', name);
  const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

async function scan(t: Transcript, kv?: KvData) {
  const dir = await t.write();
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

const at = (l: Location) =>
  l.kind === 'log' ? `${l.path}:${l.line}` : l.kind === 'kv' ? `${l.key}@${l.revision}${l.pointer ?? ''}` : l.kind;
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

/** The cycle key: initialised at 16:00:00, plan marked complete at `planAt`. */
const kv = (planAt: string) =>
  kvData([
    ['peer.spec.demo-spec.meta', v1Meta('demo-spec'), { created: '2025-08-05T16:00:00.000Z' }],
    [KEY, v1Cycle({}), { created: '2025-08-05T16:00:00.500Z' }],
    [KEY, v1Cycle({ plan: done({ instruction: 'create-spec', phases: [] }) }), { created: planAt }],
  ]);

// Transcript times: record n is at 16:00:0n. The planner spawn is records 1-2, the read call record 3.
const planThenRead = (out: string, isError = false) =>
  new Transcript()
    .task('p1', 'peer-planner', 'Plan stored.')
    .bash('r1', `nats kv get agent-os-peer-state ${KEY} --raw | jq -e '.phases.plan.output'`, out, isError);

describe('read-before-write', () => {
  it('fires on the seed: line 50 (16:00:41Z) reads .phases.plan.output, revision 3 marks plan complete at 16:00:48.902Z', async () => {
    const fs = await fixture('wal-operation-handling-fix');
    expect(fs).toHaveLength(1);
    const [f] = fs;
    const key = 'peer.spec.wal-operation-handling-fix.cycle.1';
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('warning');
    expect(locs(f)).toEqual([
      'logs/output-peer-test-2.jsonl:50',
      'logs/output-peer-test-2.jsonl:51',
      `${key}@3/phases/plan/status`,
    ]);
    expect(f.evidence[0].location).toMatchObject({ timestamp: '2025-08-05T16:00:41.206Z' });
    expect(f.evidence[1].excerpt).toBe('❌ Error: Could not retrieve cycle data');
    expect(f.evidence[2].excerpt).toBe('created 2025-08-05T16:00:48.902Z, "status": "complete"');
    expect(f.message).toBe(
      `${key} was read for the plan output at 2025-08-05T16:00:41.206Z (logs/output-peer-test-2.jsonl:50), 7.7 s before revision 3 (2025-08-05T16:00:48.902Z) recorded plan as complete.`,
    );
    expect(f.subject).toMatchObject({ keyPrefix: 'peer.spec.wal-operation-handling-fix', cycle: 1 });
  });

  it('fires on a read of the plan output before the revision that completed the plan', async () => {
    const fs = await scan(planThenRead('null'), kv('2025-08-05T16:00:09.500Z'));
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual(['session.jsonl:3', 'session.jsonl:4', `${KEY}@3/phases/plan/status`]);
    expect(fs[0].evidence[1].note).toBe('what the read returned');
    expect(fs[0].message).toContain('6.5 s before revision 3 (2025-08-05T16:00:09.500Z) recorded plan as complete');
  });

  it("falls back to the reading agent's predecessor: the executor's whole-state read needs the plan", async () => {
    const side = (uuid: string, parent: string | null, type: 'user' | 'assistant', content: unknown, ts: string) =>
      JSON.stringify({
        parentUuid: parent,
        isSidechain: true,
        userType: 'external',
        sessionId: 's-1',
        version: '1.0.69',
        type,
        message: { role: type, content },
        uuid,
        timestamp: ts,
      });
    const t = new Transcript()
      .task('e1', 'peer-executor')
      .raw(side('s1', null, 'user', 'do peer-executor work for peer.spec.demo-spec', '2025-08-05T16:00:01.500Z'))
      .raw(
        side(
          's2',
          's1',
          'assistant',
          [
            {
              type: 'tool_use',
              id: 'x1',
              name: 'Bash',
              input: { command: `~/.agent-os/scripts/peer/read-state.sh "${KEY}"` },
            },
          ],
          '2025-08-05T16:00:02.000Z',
        ),
      )
      .raw(
        side(
          's3',
          's2',
          'user',
          [{ type: 'tool_result', tool_use_id: 'x1', content: '{"phases":{}}' }],
          '2025-08-05T16:00:02.500Z',
        ),
      )
      .raw(
        side('s4', 's3', 'assistant', [{ type: 'text', text: 'Executed without a plan.' }], '2025-08-05T16:00:03.000Z'),
      );
    const fs = await scan(t, kv('2025-08-05T16:00:09.000Z'));
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual(['session.jsonl:3', 'session.jsonl:4', `${KEY}@3/phases/plan/status`]);
    expect(fs[0].evidence[0].note).toBe(
      `read of ${KEY} at 2025-08-05T16:00:02.000Z, by peer-executor (spawned at session.jsonl:1), the execute phase needs plan complete`,
    );
    expect(fs[0].message).toContain(
      'was read for the plan phase at 2025-08-05T16:00:02.000Z (session.jsonl:3), 7.0 s before revision 3',
    );
  });

  it('stays quiet when the plan was complete before the read, or never completed', async () => {
    expect(await scan(planThenRead('{"phases":[]}'), kv('2025-08-05T16:00:02.000Z'))).toEqual([]);
    const never = kvData([[KEY, v1Cycle({}), { created: '2025-08-05T16:00:00.500Z' }]]);
    expect(await scan(planThenRead('null'), never)).toEqual([]);
  });

  it('stays quiet when the read printed the plan (the log and server clocks differ, not the order)', async () => {
    expect(
      await scan(planThenRead('{"instruction":"create-spec","phases":[]}'), kv('2025-08-05T16:00:09.500Z')),
    ).toEqual([]);
  });

  it("stays quiet on the main agent's check of a phase it has not started yet", async () => {
    const t = new Transcript()
      .bash('r0', `nats kv get agent-os-peer-state ${KEY} --raw | jq -r '.phases.plan.status'`, 'null')
      .task('p1', 'peer-planner', 'Plan stored.');
    expect(await scan(t, kv('2025-08-05T16:00:09.500Z'))).toEqual([]);
  });

  it('proves nothing when the oldest revision kept already has the phase complete and the history limit may have dropped the write', async () => {
    const truncated = (history: number) => {
      const data = kvData([
        [
          KEY,
          v1Cycle({ plan: done({ instruction: 'create-spec', phases: [] }) }),
          { created: '2025-08-05T16:00:09.500Z' },
        ],
        [
          KEY,
          v1Cycle({ plan: done({ instruction: 'create-spec', phases: [] }), execute: done() }),
          { created: '2025-08-05T16:00:20.000Z' },
        ],
      ]);
      data.config = { history };
      return data;
    };
    expect(await scan(planThenRead('null'), truncated(2))).toEqual([]);
    // Under the limit nothing was dropped: the key was created with the plan complete, after the read.
    expect(await scan(planThenRead('null'), truncated(50))).toHaveLength(1);
  });

  it.skipIf(!existsSync(REWRITE))(
    'is quiet on v2-review-rewrite, where the plan write was dropped by the history limit',
    async () => {
      expect(await fixture('v2-review-rewrite')).toEqual([]);
    },
  );

  it('needs KV: without it nothing is compared', async () => {
    expect(await scan(planThenRead('null'))).toEqual([]);
  });

  it('is quiet on the healthy runs', async () => {
    expect(await fixture('healthy-v1')).toEqual([]);
    expect(await fixture('healthy-v2')).toEqual([]);
  });
});

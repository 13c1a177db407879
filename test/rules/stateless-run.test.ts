import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, KvData, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';
import { v1Cycle, v1Meta } from './state-fixtures.js';

const RULE = 'stateless-run';

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
  l.kind === 'log' ? `${l.path}:${l.line}` : l.kind === 'bucket' ? `bucket ${l.bucket}` : l.kind;
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

/** Four PEER subagents on free-text prompts, no nats call anywhere: the 2025-08-04 test run. */
const stateless = () =>
  new Transcript()
    .human('/peer --instruction=create-spec --spec=demo-spec')
    .task('p1', 'peer-planner', 'I have created spec.md, spec-lite.md and technical-spec.md.')
    .task('e1', 'peer-executor', 'tasks.md created with 8 major phases.')
    .task('x1', 'peer-express', 'Summary ready.')
    .task('r1', 'peer-review', 'Overall Quality Score: HIGH (88/100)')
    .say('PEER cycle complete.');

const otherSpec = () =>
  kvData([
    ['peer.spec.other-spec.meta', v1Meta('other-spec')],
    ['peer.spec.other-spec.cycle.1', v1Cycle({})],
  ]);

describe('stateless-run', () => {
  it('fires when PEER subagents ran with no state operation and the bucket holds nothing for the spec', async () => {
    const fs = await scan(stateless(), otherSpec());
    expect(fs).toHaveLength(1);
    const [f] = fs;
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('error');
    expect(locs(f)).toEqual([
      'session.jsonl:2',
      'session.jsonl:4',
      'session.jsonl:6',
      'session.jsonl:8',
      'bucket agent-os-peer-state',
    ]);
    expect(f.evidence.map((e) => e.note)).toEqual([
      'peer-planner ran',
      'peer-executor ran',
      'peer-express ran',
      'peer-review ran',
      'no key under peer.spec.demo-spec or peer.instruction.demo-spec',
    ]);
    expect(f.evidence[0].excerpt).toBe('Task peer-planner: Run peer-planner');
    expect(f.evidence[4].excerpt).toBe('2 keys, none for demo-spec');
    expect(f.message).toBe(
      '4 PEER subagents ran (peer-planner, peer-executor, peer-express, peer-review) but the session made no state operation (the records of 4 of them are missing, so their calls are unknown) and the bucket holds no state for demo-spec: the run kept no PEER state at all.',
    );
    expect(f.subject).toMatchObject({ spec: 'demo-spec', session: 's-1' });
  });

  it('is a warning when KV was not scanned, and says the state could not be checked', async () => {
    const fs = await scan(stateless());
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual(['session.jsonl:2', 'session.jsonl:4', 'session.jsonl:6', 'session.jsonl:8']);
    expect(fs[0].message).toContain(
      'KV was not scanned, so whether the bucket holds state for demo-spec could not be checked.',
    );
  });

  it('stays quiet when the bucket holds the spec, when the session touched state, or when no PEER subagent ran', async () => {
    const own = kvData([['peer.spec.demo-spec.meta', v1Meta('demo-spec')]]);
    expect(await scan(stateless(), own)).toEqual([]);
    const withRead = stateless().bash('g1', 'nats kv get agent-os-peer-state peer.spec.demo-spec.meta --raw', '{}');
    expect(await scan(withRead, otherSpec())).toEqual([]);
    expect(
      await scan(new Transcript().human('write a spec').task('g1', 'general-purpose', 'done').say('ok'), otherSpec()),
    ).toEqual([]);
  });

  it('is quiet on the healthy runs and the incidents, which all keep state', async () => {
    for (const name of ['healthy-v1', 'healthy-v2', 'wal-operation-handling-fix', 'v2-skipped-execute'])
      expect(await fixture(name)).toEqual([]);
  });
});

// Evidence shared by the tests of the rules that check a subagent's claims against its calls.
import path from 'node:path';
import type { Model } from '../../src/model/build.js';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import { REPO } from '../helpers/cli.js';
import { modelOf } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

export const FOLDER = '.agent-os/specs/2025-08-05-demo-spec';
export const ABS = `/home/dev/app/${FOLDER}`;

/** A bundled incident's whole model: snapshot, spec folders and transcripts. */
export async function incidentModel(name: string): Promise<Model> {
  const dir = path.join(REPO, 'fixtures/incidents', name);
  const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return modelOf({ kv, project: dir, logs });
}

/**
 * A create-spec run's subagent `agent` (Task call at line 2, records as agent a1 from line 3): `work` adds its
 * calls, then it says `reply` and returns it as the Task result with `detail` as toolUseResult.
 */
export function subagentRun(
  agent: string,
  reply: string,
  work: (t: Transcript) => Transcript = (t) => t,
  detail: Record<string, unknown> = { status: 'completed', agentId: 'a1', totalToolUseCount: 3 },
): Transcript {
  const t = new Transcript().human('/peer --instruction=create-spec --spec=demo-spec').task('e1', agent).asAgent('a1');
  return work(t).say(reply).asMain().taskResult('e1', reply, detail);
}

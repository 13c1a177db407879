// Shared by the --continue replay tests: a broken run loaded into a real nats-server, repaired or reopened through
// the CLI, read back with `peer-audit snapshot`, then `/peer --continue` replayed on it (test/helpers/peer-continue.ts)
// and the result rescanned through the CLI.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, runCli, type CliResult } from '../helpers/cli.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import {
  continueV1,
  continueV2,
  loadSnapshot,
  writeReplaySnapshot,
  type ContinueResult,
} from '../helpers/peer-continue.js';
import { Bucket, Clock } from '../../scripts/fixtures/real-runs/lib/bucket.js';
import { jqCaptured, setPath, readJson } from '../../scripts/fixtures/real-runs/lib/jq.js';
import * as v2 from '../../scripts/fixtures/real-runs/lib/v2.js';
import type { Finding } from '../../src/model/types.js';

export interface Case {
  name: string;
  generation: 'v1' | 'v2';
  /** Folder copied as the project (spec folders, logs, kv-snapshot.jsonl). */
  fixture: string;
  spec: string;
  /** Flags for the evidence a repair reads besides the bucket. */
  logs: string[];
  /** Replace the project's kv-snapshot.jsonl (a state no fixture holds). */
  snapshot?: () => string;
}

export const V1_SEED: Case = {
  name: 'v1 skipped execute (seed)',
  generation: 'v1',
  fixture: 'fixtures/incidents/wal-operation-handling-fix',
  spec: 'wal-operation-handling-fix',
  logs: ['--logs', 'logs'],
};
export const V1_ERROR: Case = {
  name: 'v1 failed execute',
  generation: 'v1',
  fixture: 'fixtures/real-runs/v1-execute-error',
  spec: 'invoice-csv-export',
  logs: ['--no-logs'],
};
export const V2_SEED: Case = {
  name: 'v2 skipped execute',
  generation: 'v2',
  fixture: 'fixtures/incidents/v2-skipped-execute',
  spec: 'csv-export-endpoint',
  logs: ['--logs', 'logs'],
};
export const V2_STUCK: Case = {
  name: 'v2 failed execute, error write lost (in_progress)',
  generation: 'v2',
  fixture: 'fixtures/real-runs/v2-execute-error',
  spec: 'webhook-retries',
  logs: ['--no-logs'],
};
export const V2_ERROR: Case = {
  name: 'v2 failed execute, error recorded (ERROR)',
  generation: 'v2',
  fixture: 'fixtures/real-runs/v2-execute-error',
  spec: 'webhook-retries',
  logs: ['--no-logs'],
  snapshot: v2RecordedErrorSnapshot,
};
export const CASES = [V1_SEED, V1_ERROR, V2_SEED, V2_STUCK, V2_ERROR];

/**
 * The v2 execute-error run of fixtures/real-runs/v2-execute-error, with the executor's error write landing as its
 * filter intends (peer-executor.md L487-L510: metadata.status ERROR, phases.execute {status: "error", error{…}}).
 * The real script drops the filter's `--arg` values, so this state needs an update-state.sh that passes them.
 */
export function v2RecordedErrorSnapshot(): string {
  const bucket = new Bucket(new Clock('2025-08-18T13:30:05Z'));
  const r: v2.V2Run = {
    bucket,
    instruction: 'execute-tasks',
    specName: 'webhook-retries',
    keyPrefix: 'peer.spec.webhook-retries',
    cycle: 0,
    peerMode: 'new',
    userRequirements: 'Implement the next task of webhook-retries',
  };
  v2.coordinatorDetermineCycleNumber(r);
  v2.coordinatorCreateState(r);
  bucket.clock.tick(1);
  v2.coordinatorPutCurrentCycle(r);
  bucket.clock.tick(52);
  v2.plannerUpdateState(r, {
    instruction: 'execute-tasks',
    type: 'spec-aware',
    spec_name: 'webhook-retries',
    phases: [{ phase: 'execution', description: 'Implement task 1 tests first', steps: [] }],
  });
  bucket.clock.tick(9);
  v2.executorMarkInProgress(r);
  bucket.clock.tick(400);
  const key = v2.stateKey(r);
  const doc = readJson(bucket.get(key))!;
  const ts = bucket.clock.stamp();
  setPath(doc, ['metadata', 'status'], 'ERROR');
  setPath(doc, ['metadata', 'updated_at'], ts);
  setPath(doc, ['phases', 'execute', 'status'], 'error');
  setPath(doc, ['phases', 'execute', 'error'], {
    message: 'go test ./... failed: build constraints exclude all Go files in internal/retry',
    type: 'build_error',
    occurred_at: ts,
    recoverable: true,
  });
  bucket.update(
    key,
    jqCaptured(doc),
    bucket.revisionOf(key)!,
    'executor error write, as its filter intends',
    'd5232a9:claude-code/agents/peer-executor.md:L487-L510',
  );
  return bucket.snapshot('2025-08-18T13:40:00.000Z');
}

export interface Scenario {
  c: Case;
  server: NatsServerHandle;
  project: string;
  prefix: string;
  cli(args: string[]): Promise<CliResult>;
  live(): string[];
  stop(): Promise<void>;
}

/** A real nats-server holding the case's bucket, and a copy of its project. */
export async function scenario(c: Case): Promise<Scenario> {
  const server = await startNatsServer();
  const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-continue-'));
  await fs.cp(path.join(REPO, c.fixture), project, { recursive: true });
  if (c.snapshot) await fs.writeFile(path.join(project, 'kv-snapshot.jsonl'), c.snapshot());
  await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), server.url);
  return {
    c,
    server,
    project,
    prefix: `peer.spec.${c.spec}`,
    cli: (args) => runCli(args, { cwd: project }),
    live: () => ['--server', server.url],
    async stop() {
      await server.stop();
      await fs.rm(project, { recursive: true, force: true });
    },
  };
}

/** `peer-audit repair --apply` of everything it finds for the spec. */
export function repair(s: Scenario): Promise<CliResult> {
  return s.cli([
    'repair',
    ...s.live(),
    ...s.c.logs,
    '--all-runs',
    '--spec',
    s.c.spec,
    '--apply',
    '--yes',
    '--reason',
    'execute did not complete',
  ]);
}

/** `peer-audit reopen <spec> --apply` (the loaded revisions are seconds old: --quiet-for 0s). */
export function reopen(s: Scenario, extra: string[] = []): Promise<CliResult> {
  return s.cli([
    'reopen',
    s.c.spec,
    ...s.live(),
    '--reason',
    'execute did not complete',
    '--quiet-for',
    '0s',
    '--apply',
    '--yes',
    ...extra,
  ]);
}

/** Read the live bucket with `peer-audit snapshot` and replay `/peer --continue --spec=<spec>` on it. */
export async function replayContinue(s: Scenario): Promise<ContinueResult> {
  const file = path.join(s.project, 'before-continue.jsonl');
  const snap = await s.cli(['snapshot', ...s.live(), '-o', file]);
  if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stderr}`);
  const data = await loadSnapshot(file);
  return s.c.generation === 'v1'
    ? continueV1(data, { prefix: s.prefix, specName: s.c.spec })
    : continueV2(data, { prefix: s.prefix });
}

export interface Rescan {
  code: number | null;
  complete: boolean;
  findings: Finding[];
  /** Errors and warnings about the continued run. */
  problems: string[];
  infos: string[];
  stderr: string;
}

/**
 * Scan the bucket after the replayed run, through the CLI. The state alone: the replay re-enacts the KV writes
 * of --continue, not the files its agents would write or the transcript it would leave, so the scan reads the
 * snapshot with --no-logs from an empty project (--all-runs), a minute after the replay's last write.
 */
export async function rescan(s: Scenario, r: ContinueResult): Promise<Rescan> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-rescan-'));
  try {
    const file = path.join(dir, 'after-continue.jsonl');
    await writeReplaySnapshot(r.bucket, file);
    const now = new Date(r.bucket.clock.nowMs() + 60_000).toISOString();
    const res = await runCli(
      ['scan', '--format', 'json', '--kv-snapshot', file, '--no-logs', '--all-runs', '--now', now],
      { cwd: dir },
    );
    const json = JSON.parse(res.stdout) as { complete: boolean; findings: Finding[] };
    const about = (f: Finding) => f.subject.keyPrefix === s.prefix || f.subject.spec === s.c.spec;
    const line = (f: Finding) => `${f.ruleId} ${f.severity} cycle ${f.subject.cycle ?? '-'}: ${f.message}`;
    return {
      code: res.code,
      complete: json.complete,
      findings: json.findings,
      problems: json.findings.filter((f) => about(f) && f.severity !== 'info').map(line),
      infos: json.findings.filter((f) => about(f) && f.severity === 'info').map(line),
      stderr: res.stderr,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One line per decision and write, for a failing assertion's message. */
export function trace(r: ContinueResult): string {
  return [
    `outcome ${r.outcome}${r.message ? `: ${r.message}` : ''}; ran ${r.ran.join(',') || '-'}; skipped ${r.skipped.join(',') || '-'}`,
    `readings ${JSON.stringify(r.readings)}`,
    ...r.decisions,
    ...r.writes.map((w) => `  write ${w.key}@${w.revision} ${w.step}`),
  ].join('\n');
}

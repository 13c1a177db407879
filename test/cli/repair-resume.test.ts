// `repair --apply` on skipped and failed executes, with the real CLI against a real nats-server: the values it
// writes are the ones PEER's own `/peer --continue` resumes at the missing phase, what the phantom or failed
// phases wrote is kept under peer_audit, `undo` puts every byte back, and a rescan finds nothing false.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KV, NatsConnection } from 'nats';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadFixtureCopy } from '../helpers/kv-load.js';
import { resumeNote } from '../../src/model/resume-fixes.js';
import type { Finding } from '../../src/model/types.js';

const PENDING = { status: 'pending' };

let server: Awaited<ReturnType<typeof startNatsServer>> | undefined;
let nc: NatsConnection | undefined;
let kv: KV;
let project: string;

async function fresh(fixture: string) {
  if (server) await server.stop();
  server = await startNatsServer();
  ({ project, nc, kv } = await loadFixtureCopy(fixture, server.url, 'pa-resume-'));
}

afterEach(async () => {
  if (nc && !nc.isClosed()) await nc.close();
});
afterAll(async () => server?.stop());

const cli = (args: string[]) => runCli(args, { cwd: project });

async function value(key: string) {
  const e = (await kv.get(key))!;
  return {
    revision: e.revision,
    bytes: Buffer.from(e.value),
    json: JSON.parse(Buffer.from(e.value).toString()) as Record<string, any>,
  };
}

async function scan(sources: string[], extra: string[] = []) {
  const r = await cli(['scan', '--format', 'json', '--server', server!.url, ...sources, ...extra]);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

async function onlyJournal(): Promise<string> {
  const dir = path.join(project, '.peer-audit/journal');
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
  expect(names).toHaveLength(1);
  return path.join(dir, names[0]);
}

/** The record the repair leaves in a value: who, when, why, and every value it replaced or removed. */
function record(rules: string[], why: string, previous: Record<string, unknown>) {
  return {
    repairs: [{ at: expect.any(String), by: expect.any(String), reason: 'resume', rules, why: [why], previous }],
  };
}

const V1_WHY = (n: number) =>
  `cycle ${n}: execute never completed; reset so /peer --continue (meta current_phase "plan") runs execute, express, review`;
const V2_WHY =
  'cycle 1: execute never completed; reset so /peer --continue (metadata.status EXECUTING) runs execute, express, review';

/** v1 --continue (e903640 instructions/core/peer.md L296-329): current_phase is the last phase done. */
const v1Next = (meta: Record<string, any>) =>
  ({ plan: 'execute', execute: 'express', express: 'review' })[meta.current_phase as string] ?? 'refuses';

describe('repair --apply resumes at execute', () => {
  it('the seed incident (v1, execute skipped): meta current_phase "plan", later phases pending, the phantom phases kept', async () => {
    await fresh('incidents/wal-operation-handling-fix');
    const P = 'peer.spec.wal-operation-handling-fix';
    const metaBefore = await value(`${P}.meta`);
    const cycleBefore = await value(`${P}.cycle.1`);

    const r = await cli([
      'repair',
      '--server',
      server!.url,
      '--logs',
      'logs',
      '--apply',
      '--yes',
      '--reason',
      'resume',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rescan: the repaired findings are gone');

    const meta = await value(`${P}.meta`);
    const b = metaBefore.json;
    expect(meta.json).toEqual({
      spec_name: b.spec_name,
      created_at: b.created_at,
      current_cycle: 1,
      current_phase: 'plan',
      cycles: {
        '1': {
          instruction: 'create-spec',
          status: 'running',
          started_at: b.cycles['1'].started_at,
          notes: resumeNote('execute'),
        },
      },
      peer_audit: record(['false-success', 'missing-execute-phase'], V1_WHY(1), {
        '/current_phase': 'complete',
        '/cycles/1/status': 'complete',
        '/cycles/1/completed_at': b.cycles['1'].completed_at,
        '/cycles/1/notes': 'Execute phase missing - manual completion required',
      }),
    });
    expect(v1Next(meta.json)).toBe('execute');

    const c = cycleBefore.json;
    const cycle = await value(`${P}.cycle.1`);
    expect(cycle.json).toEqual({
      cycle_number: 1,
      instruction: 'create-spec',
      started_at: c.started_at,
      phases: { plan: c.phases.plan, express: PENDING, review: PENDING, execute: PENDING },
      status: { current_phase: 'plan', progress_percent: 25, last_update: c.status.last_update },
      peer_audit: record(['false-success', 'missing-execute-phase'], V1_WHY(1), {
        '/status/current_phase': 'complete',
        '/status/progress_percent': 100,
        '/completed_at': c.completed_at,
        '/phases/execute': null,
        '/phases/express': c.phases.express,
        '/phases/review': c.phases.review,
        '/insights': c.insights,
      }),
    });
    // Compact in, compact out.
    expect(cycleBefore.bytes.toString().includes('\n')).toBe(false);
    expect(cycle.bytes.toString().includes('\n')).toBe(false);

    // The state alone (no transcripts, no spec folders): a run waiting to be continued, nothing to report.
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-nospecs-'));
    const state = await scan(['--no-logs', '--specs', empty]);
    expect(state.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(state.code).toBe(0);
    // Everything: what stays at error level is history outside the state, true whether or not the cycle is
    // continued: the transcript's failed read (kv-read-failure) and the technical spec cut short (truncated-file).
    const all = await scan(['--logs', 'logs']);
    expect(all.findings.filter((f) => f.severity === 'error').map((f) => f.ruleId)).toEqual([
      'truncated-file',
      'kv-read-failure',
    ]);
    expect(
      all.findings
        .filter(
          (f) =>
            f.subject.cycle === 1 &&
            [
              'false-success',
              'missing-execute-phase',
              'stale-cycle',
              'state-inconsistency',
              'lost-update',
              'recorded-failure',
            ].includes(f.ruleId),
        )
        .map((f) => `${f.ruleId} ${f.severity}`),
    ).toEqual(['false-success info']);
    // The order the phantom run went in is history, known from the repair's record; it no longer claims execute ran.
    const order = all.findings.find((f) => f.ruleId === 'phase-order-violation')!;
    expect(order.severity).toBe('info');
    expect(order.message).toContain(
      'revision 5 already had express complete while execute was absent; express is pending now;',
    );

    const u = await cli(['undo', await onlyJournal(), '--server', server!.url, '--yes']);
    expect(u.code).toBe(0);
    expect((await value(`${P}.meta`)).bytes.equals(metaBefore.bytes)).toBe(true);
    expect((await value(`${P}.cycle.1`)).bytes.equals(cycleBefore.bytes)).toBe(true);
  });

  it('v2-skipped-execute: metadata EXECUTING at execute, express and review pending, the review summary kept', async () => {
    await fresh('incidents/v2-skipped-execute');
    const K = 'peer.spec.csv-export-endpoint.cycle.1';
    const before = await value(K);
    const r = await cli([
      'repair',
      '--server',
      server!.url,
      '--logs',
      'logs',
      '--apply',
      '--yes',
      '--reason',
      'resume',
    ]);
    expect(r.code).toBe(0);

    const b = before.json;
    const after = await value(K);
    const { completed_at: _gone, ...metadata } = b.metadata;
    expect(after.json).toEqual({
      version: 1,
      cycle_id: K,
      metadata: { ...metadata, status: 'EXECUTING', current_phase: 'execute' },
      context: b.context,
      phases: { plan: b.phases.plan, execute: PENDING, express: PENDING, review: PENDING },
      peer_audit: record(['false-success', 'missing-execute-phase'], V2_WHY, {
        '/metadata/status': 'COMPLETED',
        '/metadata/current_phase': 'review',
        '/metadata/completed_at': b.metadata.completed_at,
        '/phases/express': b.phases.express,
        '/phases/review': b.phases.review,
        '/cycle_summary': b.cycle_summary,
        '/insights': b.insights,
      }),
    });
    // v2 --continue resumes after the last completed phase; the executor's checks pass (peer-executor.md L97-114).
    expect(after.json.phases.plan.status).toBe('completed');
    expect(['EXECUTING', 'PLANNING']).toContain(after.json.metadata.status);

    // Nothing at error level. What stays is transcript history, true of the run whatever happens next: a state
    // write that failed and succeeded on retry (script-failure), and reads timed against revisions this test
    // server stamped when the snapshot was loaded (read-before-write).
    const rescan = await scan(['--logs', 'logs']);
    expect(rescan.code).toBe(0);
    expect(rescan.findings.filter((f) => f.severity !== 'info').map((f) => `${f.ruleId} ${f.severity}`)).toEqual([
      'read-before-write warning',
      'script-failure warning',
    ]);

    expect((await cli(['undo', await onlyJournal(), '--server', server!.url, '--yes'])).code).toBe(0);
    expect((await value(K)).bytes.equals(before.bytes)).toBe(true);
  });
});

describe('repair --apply resumes a failed execute', () => {
  it('v1-execute-error: recorded-failure repairs it; the meta goes from "execute" (ambiguous to --continue) to "plan"', async () => {
    await fresh('real-runs/v1-execute-error');
    const P = 'peer.spec.invoice-csv-export';
    const metaBefore = await value(`${P}.meta`);
    const cycleBefore = await value(`${P}.cycle.2`);
    const cycle1Before = await value(`${P}.cycle.1`);

    const dry = await cli(['repair', '--server', server!.url, '--no-logs']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`kv   ${P}.cycle.2@22  [recorded-failure]`);
    expect(dry.stdout).toContain(`kv   ${P}.meta@19  [recorded-failure]`);

    const r = await cli(['repair', '--server', server!.url, '--no-logs', '--apply', '--yes', '--reason', 'resume']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('applied 2, conflicts 0, failed 0');
    expect(r.stderr).toContain('rescan: the repaired findings are gone');

    const m = metaBefore.json;
    const meta = await value(`${P}.meta`);
    expect(meta.json).toEqual({
      ...m,
      current_phase: 'plan',
      cycles: { '1': m.cycles['1'], '2': { ...m.cycles['2'], notes: resumeNote('execute') } },
      peer_audit: record(['recorded-failure'], V1_WHY(2), { '/current_phase': 'execute', '/cycles/2/notes': null }),
    });
    expect(v1Next(meta.json)).toBe('execute');

    const c = cycleBefore.json;
    const cycle = await value(`${P}.cycle.2`);
    expect(cycle.json).toEqual({
      ...c,
      phases: { plan: c.phases.plan, execute: PENDING, express: PENDING, review: PENDING },
      status: { ...c.status, progress_percent: 25 },
      peer_audit: record(['recorded-failure'], V1_WHY(2), {
        '/status/progress_percent': 0,
        '/phases/execute': c.phases.execute,
        '/phases/express': null,
        '/phases/review': null,
      }),
    });
    expect(c.phases.execute.error.message).toContain('test database unreachable');
    expect((await value(`${P}.cycle.1`)).bytes.equals(cycle1Before.bytes)).toBe(true);

    // A run waiting to be continued: nothing right after the repair; stale-cycle only once it has waited
    // longer than --stale-after (it counts from the repair's write, the cycle being in progress again).
    const now = await scan(['--no-logs']);
    expect(now.code).toBe(0);
    expect(now.findings.map((f) => `${f.ruleId} ${f.severity}`)).toEqual(['bucket-config info']);
    const later = await scan(['--no-logs'], ['--now', new Date(Date.now() + 7 * 3600_000).toISOString()]);
    expect(later.findings.map((f) => `${f.ruleId} ${f.severity} ${f.subject.cycle ?? ''}`)).toEqual([
      'bucket-config info ',
      'stale-cycle warning 2',
    ]);

    expect((await cli(['undo', await onlyJournal(), '--server', server!.url, '--yes'])).code).toBe(0);
    expect((await value(`${P}.meta`)).bytes.equals(metaBefore.bytes)).toBe(true);
    expect((await value(`${P}.cycle.2`)).bytes.equals(cycleBefore.bytes)).toBe(true);
  });

  it('v2 failed execute (metadata ERROR, phase error object, as the executor error path writes): indented value, EXECUTING', async () => {
    await fresh('real-runs/v2-execute-error');
    const K = 'peer.spec.webhook-retries.cycle.1';
    // The executor's error step (HEAD claude-code/agents/peer-executor.md L487-L499) as it would land if its
    // jq filter compiled: metadata.status ERROR, phases.execute error with an error object.
    const stuck = await value(K);
    const error = {
      message: 'go test ./internal/webhook/... failed: 2 tests failing',
      type: 'test_failure',
      occurred_at: '2025-08-18T13:40:12Z',
      recoverable: true,
    };
    const failed = structuredClone(stuck.json);
    failed.metadata.status = 'ERROR';
    failed.metadata.updated_at = '2025-08-18T13:40:12Z';
    failed.phases.execute = { ...failed.phases.execute, status: 'error', error };
    await kv.put(K, JSON.stringify(failed, null, 2));
    const before = await value(K);

    const pre = await scan(['--no-logs']);
    expect(pre.findings.filter((f) => f.severity === 'error').map((f) => `${f.ruleId} ${f.fix?.length ?? 0}`)).toEqual([
      'recorded-failure 1',
    ]);

    const r = await cli(['repair', '--server', server!.url, '--no-logs', '--apply', '--yes', '--reason', 'resume']);
    expect(r.code).toBe(0);
    const after = await value(K);
    expect(after.json).toEqual({
      ...failed,
      metadata: { ...failed.metadata, status: 'EXECUTING' },
      phases: { ...failed.phases, execute: PENDING },
      peer_audit: record(['recorded-failure'], V2_WHY, {
        '/metadata/status': 'ERROR',
        '/phases/execute': failed.phases.execute,
      }),
    });
    // Indented in, indented out (update-state.sh writes jq's indented output).
    expect(after.bytes.toString()).toBe(JSON.stringify(after.json, null, 2));

    const rescan = await scan(['--no-logs']);
    expect(rescan.code).toBe(0);
    expect(rescan.findings.map((f) => `${f.ruleId} ${f.severity}`)).toEqual(['bucket-config info']);

    expect((await cli(['undo', await onlyJournal(), '--server', server!.url, '--yes'])).code).toBe(0);
    expect((await value(K)).bytes.equals(before.bytes)).toBe(true);
  });
});

describe('repair refuses what --continue cannot resume', () => {
  it('v1 with a failed plan: says why up front, writes nothing', async () => {
    await fresh('real-runs/v1-execute-error');
    const P = 'peer.spec.invoice-csv-export';
    const c = (await value(`${P}.cycle.2`)).json;
    c.phases = {
      plan: { status: 'error', error: { message: 'instruction not found', occurred_at: '2025-08-07T14:03:00Z' } },
    };
    await kv.put(`${P}.cycle.2`, JSON.stringify(c));
    const metaRev = (await value(`${P}.meta`)).revision;

    const r = await cli(['repair', '--server', server!.url, '--no-logs', '--apply', '--yes', '--reason', 'resume']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `not repairable: ${P} cycle 2: v1 --continue never runs the planner (Step 3 skips it on current_phase "plan", and no other value leads to it); start a new cycle [recorded-failure]`,
    );
    expect(r.stdout).toContain('Nothing to repair: what matches is not repairable (said above).');
    expect((await value(`${P}.meta`)).revision).toBe(metaRev);
    await expect(fs.readdir(path.join(project, '.peer-audit/journal'))).rejects.toThrow();

    const f = (await scan(['--no-logs'])).findings.find((x) => x.ruleId === 'recorded-failure')!;
    expect(f.message).toMatch(/ Not repairable: v1 --continue never runs the planner .*; start a new cycle\.$/);
  });
});

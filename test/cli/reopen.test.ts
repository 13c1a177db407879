// reopen and its undo against a real nats-server, with the real CLI, on copies of the bundled incidents and
// re-enacted real runs: the values written (per generation), the --phase values each generation can honour,
// the layout of rewritten values, and undo (created keys deleted, the rest byte-exact, the same findings).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadFixtureCopy, loadSnapshotIntoServer } from '../helpers/kv-load.js';
import type { Finding } from '../../src/model/types.js';

const BUCKET = 'agent-os-peer-state';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let kv: KV;
let project: string;

/** A copy of fixtures/<dir> (project folder + kv-snapshot.jsonl) loaded into a fresh server. */
async function fresh(dir: string) {
  if (nc && !nc.isClosed()) await nc.close();
  if (server) await server.stop();
  server = await startNatsServer();
  ({ project, nc, kv } = await loadFixtureCopy(dir, server.url, 'pa-reopen-'));
}

afterEach(async () => {
  if (nc && !nc.isClosed()) await nc.close();
});
afterAll(async () => server?.stop());

const cli = (args: string[]) => runCli(args, { cwd: project });
const reopen = (spec: string, ...extra: string[]) =>
  cli([
    'reopen',
    spec,
    '--server',
    server.url,
    '--reason',
    'execute never ran',
    '--quiet-for',
    '0s',
    '--apply',
    '--yes',
    ...extra,
  ]);

async function value(key: string) {
  const e = await kv.get(key);
  if (!e) return undefined;
  const bytes = Buffer.from(e.value);
  return {
    revision: e.revision,
    op: e.operation,
    bytes,
    text: bytes.toString(),
    json: e.operation === 'PUT' && bytes.length ? (JSON.parse(bytes.toString()) as Record<string, any>) : undefined,
  };
}

/** The findings of a scan, without what a rewrite moves (revisions): rule, severity, cycle, fingerprint, message. */
async function findings(): Promise<string[]> {
  const out = await scanJson();
  expect(out.complete).toBe(true);
  return out.findings
    .map(
      (f) =>
        `${f.ruleId} ${f.severity} ${f.subject.cycle ?? '-'} ${f.fingerprint} ${f.message.replace(/@\d+|revision \d+/g, '@N')}`,
    )
    .sort();
}

async function scanJson() {
  const logs = await fs.stat(path.join(project, 'logs')).then(
    () => ['--logs', 'logs'],
    () => [] as string[],
  );
  const r = await cli(['scan', '--format', 'json', '--server', server.url, ...logs]);
  return JSON.parse(r.stdout) as { complete: boolean; findings: Finding[] };
}

async function journals() {
  const dir = path.join(project, '.peer-audit/journal');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).map((n) => path.join(dir, n));
}

async function undoAll() {
  const [jf] = await journals();
  const u = await cli(['undo', jf, '--server', server.url, '--yes']);
  expect(u.code).toBe(0);
  return JSON.parse(await fs.readFile(jf, 'utf8'));
}

/** The peer_audit.reopened record: what, by whom, why; `at` is checked to be the reopen time. */
function reopenedRecord(from: number, phase: string) {
  return {
    from,
    at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    by: expect.stringContaining('@'),
    reason: 'execute never ran',
    phase,
  };
}

/** Rules that judge what the state claims: none of them may report a superseded cycle as something new. */
const STATE_RULES = [
  'false-success',
  'missing-execute-phase',
  'state-inconsistency',
  'recorded-failure',
  'unsuccessful-cycle',
  'stale-cycle',
  'lost-update',
  'phase-order-violation',
];
const newStateFindings = (fs: Finding[], cycle: number) =>
  fs
    .filter((f) => f.subject.cycle === cycle && f.severity !== 'info' && STATE_RULES.includes(f.ruleId))
    .map((f) => f.ruleId);

const indented = (json: unknown, nl: boolean) => `${JSON.stringify(json, null, 2)}${nl ? '\n' : ''}`;

describe('reopen, v1 (e903640)', () => {
  const P = 'peer.spec.wal-operation-handling-fix';

  it('seed: cycle 2 resumes at execute; cycle 1 and its meta entry say superseded; compact stays compact; undo deletes cycle 2 and restores the rest', async () => {
    await fresh('incidents/wal-operation-handling-fix');
    const meta0 = (await value(`${P}.meta`))!;
    const c10 = (await value(`${P}.cycle.1`))!;
    const before = await findings();

    const r = await reopen('wal-operation-handling-fix');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Reopen ${P} cycle 1 as cycle 2, resuming at execute.`);
    expect(r.stderr).toContain('run /peer --continue --spec=wal-operation-handling-fix to resume at execute');

    const c2 = (await value(`${P}.cycle.2`))!;
    const at = c2.json!.started_at as string;
    expect(c2.json).toEqual({
      cycle_number: 2,
      instruction: 'create-spec',
      started_at: at,
      phases: {
        plan: c10.json!.phases.plan,
        execute: { status: 'pending' },
        express: { status: 'pending' },
        review: { status: 'pending' },
      },
      status: { current_phase: 'plan', progress_percent: 25, last_update: at },
      reopened_from: 1,
      peer_audit: { reopened: { ...reopenedRecord(1, 'execute'), at } },
    });
    expect(c2.text).toBe(JSON.stringify(c2.json)); // the writer's layout: compact, no newline

    const c1 = (await value(`${P}.cycle.1`))!;
    const expected1 = structuredClone(c10.json!);
    expected1.status.current_phase = 'superseded';
    expected1.superseded_by = 2;
    expected1.peer_audit = {
      superseded: {
        ...reopenedRecord(1, 'execute'),
        at,
        superseded_by: 2,
        previous_status: 'complete',
        previous_meta_status: 'complete',
      },
    };
    expect(c1.json).toEqual(expected1);
    expect(c1.text).toBe(JSON.stringify(c1.json));

    const meta = (await value(`${P}.meta`))!;
    const expectedMeta = structuredClone(meta0.json!);
    expectedMeta.current_cycle = 2;
    expectedMeta.current_phase = 'plan'; // the case: plan → execute (L296-329); Step 3 skips the planner, Step 4 runs the executor
    expectedMeta.cycles['1'].status = 'superseded';
    expectedMeta.cycles['1'].superseded_by = 2;
    expectedMeta.cycles['2'] = { instruction: 'create-spec', status: 'running', started_at: at, reopened_from: 1 };
    expect(meta.json).toEqual(expectedMeta);
    expect(meta.text).toBe(JSON.stringify(meta.json));

    // peer-audit reads cycle 1 as superseded: none of its state findings come back as new.
    const after = await scanJson();
    expect(newStateFindings(after.findings, 1)).toEqual([]);
    expect(newStateFindings(after.findings, 2)).toEqual([]);

    const journal = await undoAll();
    expect(journal.changes.map((c: any) => [c.key, c.status])).toEqual([
      [`${P}.cycle.2`, 'undone'],
      [`${P}.cycle.1`, 'undone'],
      [`${P}.meta`, 'undone'],
    ]);
    const gone = (await value(`${P}.cycle.2`))!;
    expect(gone.op).toBe('DEL'); // the delete marker keeps the evidence that cycle 2 existed
    expect(gone.revision).toBe(journal.changes[0].revisionRestored);
    expect((await value(`${P}.cycle.1`))!.bytes.equals(c10.bytes)).toBe(true);
    expect((await value(`${P}.meta`))!.bytes.equals(meta0.bytes)).toBe(true);
    expect(await findings()).toEqual(before);
  });

  it('--phase express and --phase plan are refused with the fork lines that make them impossible; nothing is written', async () => {
    await fresh('incidents/wal-operation-handling-fix');
    const meta0 = (await value(`${P}.meta`))!;

    const express = await reopen('wal-operation-handling-fix', '--phase', 'express');
    expect(express.code).toBe(2);
    expect(express.stderr).toBe(
      'peer-audit: refusing to reopen: no current_phase makes v1 /peer --continue run express without running the executor again: ' +
        'with "execute", Step 4 (e903640 instructions/core/peer.md L411-432) runs the executor (which has no check for a completed phase), ' +
        'and with "express" the case (L296-329) goes straight to review. Reopen at execute instead (the executor runs again).\n',
    );

    const plan = await reopen('wal-operation-handling-fix', '--phase', 'plan');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe(
      'peer-audit: refusing to reopen: v1 /peer --continue never runs the planner: its case on current_phase (e903640 instructions/core/peer.md L296-329) ' +
        'resumes at execute at the earliest, and Step 3 (L360-376) skips the planner when continuing. ' +
        'Start a new cycle instead: /peer --instruction=create-spec --spec=wal-operation-handling-fix\n',
    );

    // review after an execute that never completed would skip it
    const review = await reopen('wal-operation-handling-fix', '--phase', 'review');
    expect(review.code).toBe(2);
    expect(review.stderr).toBe(
      'peer-audit: refusing to reopen: execute of cycle 1 never completed: a cycle resumed at review would skip it (reopen at execute)\n',
    );

    expect((await value(`${P}.meta`))!.bytes.equals(meta0.bytes)).toBe(true);
    expect(await value(`${P}.cycle.2`)).toBeUndefined();
    expect(await journals()).toEqual([]);
  });

  it('failed execute (v1-execute-error): cycle 3 resumes at execute, cycle 2 superseded, indented values stay indented with their newline', async () => {
    await fresh('real-runs/v1-execute-error');
    const Q = 'peer.spec.invoice-csv-export';
    const meta0 = (await value(`${Q}.meta`))!;
    const c20 = (await value(`${Q}.cycle.2`))!;
    const c10 = (await value(`${Q}.cycle.1`))!;
    expect(meta0.text).toBe(indented(meta0.json, true));
    const before = await findings();
    expect(before.filter((f) => f.startsWith('recorded-failure error 2 '))).toHaveLength(1);

    const r = await reopen('invoice-csv-export');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Reopen ${Q} cycle 2 as cycle 3, resuming at execute.`);

    const c3 = (await value(`${Q}.cycle.3`))!;
    const at = c3.json!.started_at as string;
    expect(c3.json).toEqual({
      cycle_number: 3,
      instruction: 'execute-tasks',
      started_at: at,
      phases: {
        plan: c20.json!.phases.plan,
        execute: { status: 'pending' },
        express: { status: 'pending' },
        review: { status: 'pending' },
      },
      status: { current_phase: 'plan', progress_percent: 25, last_update: at },
      reopened_from: 2,
      peer_audit: { reopened: { ...reopenedRecord(2, 'execute'), at } },
    });
    expect(c3.text).toBe(indented(c3.json, true));

    const c2 = (await value(`${Q}.cycle.2`))!;
    const expected2 = structuredClone(c20.json!);
    expected2.status.current_phase = 'superseded';
    expected2.superseded_by = 3;
    expected2.peer_audit = {
      superseded: {
        ...reopenedRecord(2, 'execute'),
        at,
        superseded_by: 3,
        previous_status: 'plan',
        previous_meta_status: 'running',
      },
    };
    expect(c2.json).toEqual(expected2);
    expect(c2.text).toBe(indented(c2.json, true));

    const meta = (await value(`${Q}.meta`))!;
    expect(meta.json).toEqual({
      ...meta0.json,
      current_cycle: 3,
      current_phase: 'plan',
      cycles: {
        '1': meta0.json!.cycles['1'],
        '2': { ...meta0.json!.cycles['2'], status: 'superseded', superseded_by: 3 },
        '3': { instruction: 'execute-tasks', status: 'running', started_at: at, reopened_from: 2 },
      },
    });
    expect(meta.text).toBe(indented(meta.json, true));
    expect((await value(`${Q}.cycle.1`))!.revision).toBe(c10.revision);

    // The failure cycle 2 recorded is history now: cycle 3 is the one that counts.
    const after = await scanJson();
    expect(newStateFindings(after.findings, 2)).toEqual([]);
    expect(after.findings.filter((f) => f.ruleId === 'recorded-failure')).toEqual([]);
    expect(newStateFindings(after.findings, 3)).toEqual([]);

    await undoAll();
    expect((await value(`${Q}.cycle.3`))!.op).toBe('DEL');
    expect((await value(`${Q}.cycle.2`))!.bytes.equals(c20.bytes)).toBe(true);
    expect((await value(`${Q}.meta`))!.bytes.equals(meta0.bytes)).toBe(true);
    expect(await findings()).toEqual(before);
  });

  it('--phase review on a finished cycle: current_phase "express" with express kept complete (the agent skips it), review pending', async () => {
    await fresh('real-runs/v1-healthy');
    const Q = 'peer.spec.invoice-csv-export';
    const c10 = (await value(`${Q}.cycle.1`))!;
    const all = await reopen('invoice-csv-export');
    expect(all.code).toBe(2);
    expect(all.stderr).toBe(
      'peer-audit: refusing to reopen: every phase of cycle 1 completed; name the phase to reopen at with --phase\n',
    );

    const r = await reopen('invoice-csv-export', '--phase', 'review');
    expect(r.code).toBe(0);
    const meta = (await value(`${Q}.meta`))!.json!;
    expect([meta.current_cycle, meta.current_phase]).toEqual([2, 'express']);
    const c2 = (await value(`${Q}.cycle.2`))!.json!;
    expect(c2.phases).toEqual({
      plan: c10.json!.phases.plan,
      execute: c10.json!.phases.execute,
      express: c10.json!.phases.express,
      review: { status: 'pending' },
    });
    expect(c2.phases.express.status).toBe('complete');
    expect(c2.status).toMatchObject({ current_phase: 'express', progress_percent: 75 });
    const c1 = (await value(`${Q}.cycle.1`))!.json!;
    expect(c1.status.current_phase).toBe('superseded');
    expect(c1.peer_audit.superseded).toMatchObject({
      previous_status: 'complete',
      previous_meta_status: 'complete',
      superseded_by: 2,
      phase: 'review',
    });
  });
});

describe('reopen, v1: --phase review needs what Step 5 and the express agent check', () => {
  it('refuses when express says "completed" (the agent skips only "complete") or execute has no output', async () => {
    await fresh('real-runs/v1-healthy');
    const Q = 'peer.spec.invoice-csv-export';
    const c1 = (await value(`${Q}.cycle.1`))!.json!;
    const other = structuredClone(c1);
    other.phases.express.status = 'completed';
    await kv.put(`${Q}.cycle.1`, JSON.stringify(other, null, 2) + '\n');
    const r = await reopen('invoice-csv-export', '--phase', 'review');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'peer-audit: refusing to reopen: v1 /peer --continue would run express again: resuming at review goes through Step 5 ' +
        '(e903640 instructions/core/peer.md L468-489), and the express agent skips only a phase whose status is exactly "complete" ' +
        '(e903640 claude-code/agents/peer-express.md L43-47); cycle 1 has "completed".\n',
    );
    const noOutput = structuredClone(c1);
    delete noOutput.phases.execute.output;
    await kv.put(`${Q}.cycle.1`, JSON.stringify(noOutput, null, 2) + '\n');
    const r2 = await reopen('invoice-csv-export', '--phase', 'review');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toBe(
      'peer-audit: refusing to reopen: v1 /peer --continue stops at "Cannot express without execution output" (e903640 instructions/core/peer.md L478-483): cycle 1 has no phases.execute.output.\n',
    );
    expect(await value(`${Q}.cycle.2`)).toBeUndefined();
    expect(await journals()).toEqual([]);
  });
});

describe('reopen, v2 (HEAD)', () => {
  it('seed-like skipped execute: cycle 2 EXECUTING at execute, cycle 1 SUPERSEDED; undo deletes cycle 2, then a second reopen takes the number again', async () => {
    await fresh('incidents/v2-skipped-execute');
    const K = 'peer.spec.csv-export-endpoint';
    const c10 = (await value(`${K}.cycle.1`))!;
    const n0 = (await value(`${K}.cycle.current`))!;
    const before = await findings();

    const refused = await reopen('csv-export-endpoint', '--phase', 'review');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'execute of cycle 1 never completed: a cycle resumed at review would skip it (reopen at execute)',
    );

    const r = await reopen('csv-export-endpoint');
    expect(r.code).toBe(0);
    const c2 = (await value(`${K}.cycle.2`))!;
    const at = c2.json!.metadata.created_at as string;
    const { completed_at: _done, ...md } = c10.json!.metadata;
    expect(c2.json).toEqual({
      version: 1,
      cycle_id: `${K}.cycle.2`,
      metadata: {
        ...md,
        cycle_number: 2,
        created_at: at,
        updated_at: at,
        status: 'EXECUTING',
        current_phase: 'execute',
        reopened_from: 1,
      },
      context: { ...c10.json!.context, peer_mode: 'continue' },
      phases: {
        plan: c10.json!.phases.plan,
        execute: { status: 'pending' },
        express: { status: 'pending' },
        review: { status: 'pending' },
      },
      peer_audit: { reopened: { ...reopenedRecord(1, 'execute'), at } },
    });
    expect(c2.text).toBe(JSON.stringify(c2.json));

    const c1 = (await value(`${K}.cycle.1`))!;
    const expected1 = structuredClone(c10.json!);
    expected1.metadata.status = 'SUPERSEDED';
    expected1.metadata.superseded_by = 2;
    expected1.superseded_by = 2;
    expected1.peer_audit = {
      superseded: { ...reopenedRecord(1, 'execute'), at, superseded_by: 2, previous_status: 'COMPLETED' },
    };
    expect(c1.json).toEqual(expected1);
    expect(c1.text).toBe(JSON.stringify(c1.json));
    expect((await value(`${K}.cycle.current`))!.text).toBe('2');

    const after = await scanJson();
    expect(newStateFindings(after.findings, 1)).toEqual([]);
    expect(newStateFindings(after.findings, 2)).toEqual([]);

    const journal = await undoAll();
    expect(journal.changes.map((c: any) => [c.key, c.before_b64 === null, c.status])).toEqual([
      [`${K}.cycle.2`, true, 'undone'],
      [`${K}.cycle.1`, false, 'undone'],
      [`${K}.cycle.current`, false, 'undone'],
    ]);
    expect((await value(`${K}.cycle.2`))!.op).toBe('DEL');
    expect((await value(`${K}.cycle.1`))!.bytes.equals(c10.bytes)).toBe(true);
    expect((await value(`${K}.cycle.current`))!.bytes.equals(n0.bytes)).toBe(true);
    expect(await findings()).toEqual(before);

    // A deleted cycle key is no cycle: the next reopen numbers its cycle 2 again, as PEER would.
    const again = await reopen('csv-export-endpoint');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Reopen ${K} cycle 1 as cycle 2, resuming at execute.`);
    expect((await value(`${K}.cycle.2`))!.json!.metadata.cycle_number).toBe(2);
  });

  it('failed execute in a contract-style cycle (root status): the new cycle keeps a root status the executor accepts; indented without newline stays so', async () => {
    await fresh('real-runs/v2-execute-error');
    const K = 'peer.spec.webhook-retries';
    // The executor's error path as its contract writes it (HEAD claude-code/agents/peer-executor.md L486-495),
    // with the root "status" the agents' output contracts name, written by jq without a final newline.
    const stuck = (await value(`${K}.cycle.1`))!.json!;
    const failed = structuredClone(stuck);
    failed.metadata.status = 'ERROR';
    failed.status = 'ERROR';
    failed.phases.execute = {
      status: 'error',
      started_at: stuck.phases.execute.started_at,
      error: { message: 'go test ./... failed: nats-server not found', occurred_at: '2025-08-18T13:40:00Z' },
    };
    await kv.put(`${K}.cycle.1`, JSON.stringify(failed, null, 2));
    const c10 = (await value(`${K}.cycle.1`))!;
    const n0 = (await value(`${K}.cycle.current`))!;
    expect(n0.text).toBe('1\n');
    const before = await findings();
    expect(before.filter((f) => f.startsWith('recorded-failure error 1 '))).toHaveLength(1);

    const r = await reopen('webhook-retries');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Reopen ${K} cycle 1 as cycle 2, resuming at execute.`);
    const c2 = (await value(`${K}.cycle.2`))!;
    const at = c2.json!.metadata.created_at as string;
    expect(c2.json).toEqual({
      version: 1,
      cycle_id: `${K}.cycle.2`,
      metadata: {
        ...failed.metadata,
        cycle_number: 2,
        created_at: at,
        updated_at: at,
        status: 'EXECUTING',
        current_phase: 'execute',
        reopened_from: 1,
      },
      context: { ...failed.context, peer_mode: 'continue' },
      phases: {
        plan: failed.phases.plan,
        execute: { status: 'pending' },
        express: { status: 'pending' },
        review: { status: 'pending' },
      },
      status: 'EXECUTING', // peer-executor.md L109: EXECUTING or PLANNING
      peer_audit: { reopened: { ...reopenedRecord(1, 'execute'), at } },
    });
    expect(c2.text).toBe(indented(c2.json, false));

    const c1 = (await value(`${K}.cycle.1`))!;
    expect(c1.json!.metadata.status).toBe('SUPERSEDED');
    expect(c1.json!.status).toBe('SUPERSEDED');
    expect(c1.json!.phases.execute).toEqual(failed.phases.execute); // history is not rewritten
    expect(c1.json!.peer_audit.superseded).toEqual({
      ...reopenedRecord(1, 'execute'),
      at,
      superseded_by: 2,
      previous_status: 'ERROR',
      previous_root_status: 'ERROR',
    });
    expect(c1.text).toBe(indented(c1.json, false));
    expect((await value(`${K}.cycle.current`))!.text).toBe('2\n'); // as `echo N | nats kv put` writes it

    const after = await scanJson();
    expect(newStateFindings(after.findings, 1)).toEqual([]);
    expect(after.findings.filter((f) => f.ruleId === 'recorded-failure')).toEqual([]);
    expect(newStateFindings(after.findings, 2)).toEqual([]);

    await undoAll();
    expect((await value(`${K}.cycle.2`))!.op).toBe('DEL');
    expect((await value(`${K}.cycle.1`))!.bytes.equals(c10.bytes)).toBe(true);
    expect((await value(`${K}.cycle.current`))!.bytes.equals(n0.bytes)).toBe(true);
    expect(await findings()).toEqual(before);
  });

  it('--phase review: REVIEWING at review, plan/execute/express kept, review pending; --phase plan: PLANNING with every phase pending', async () => {
    await fresh('real-runs/v2-healthy');
    const K = 'peer.spec.webhook-retries';
    const c10 = (await value(`${K}.cycle.1`))!.json!;
    const r = await reopen('webhook-retries', '--phase', 'review');
    expect(r.code).toBe(0);
    const c2 = (await value(`${K}.cycle.2`))!.json!;
    expect(c2.metadata).toMatchObject({ status: 'REVIEWING', current_phase: 'review', cycle_number: 2 });
    expect(c2.metadata.completed_at).toBeUndefined();
    expect(c2.phases).toEqual({
      plan: c10.phases.plan,
      execute: c10.phases.execute,
      express: c10.phases.express,
      review: { status: 'pending' },
    });
    expect(c2.cycle_summary).toBeUndefined();
    expect((await value(`${K}.cycle.1`))!.json!.metadata.status).toBe('SUPERSEDED');

    const p = await reopen('webhook-retries', '--phase', 'plan', '--cycle', '2');
    expect(p.code).toBe(0);
    const c3 = (await value(`${K}.cycle.3`))!.json!;
    expect(c3.metadata).toMatchObject({ status: 'PLANNING', current_phase: 'plan', reopened_from: 2 });
    expect(Object.values(c3.phases)).toEqual([
      { status: 'pending' },
      { status: 'pending' },
      { status: 'pending' },
      { status: 'pending' },
    ]);
    expect((await value(`${K}.cycle.current`))!.text.trim()).toBe('3');
  });

  it('a run without cycle.current: reopen creates it as PEER writes it ("N\\n"), undo deletes it, the findings are the same again', async () => {
    // The v2-execute-error run, its counter left out of the snapshot.
    if (nc && !nc.isClosed()) await nc.close();
    if (server) await server.stop();
    server = await startNatsServer();
    project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-reopen-'));
    await fs.cp(path.join(REPO, 'fixtures/real-runs/v2-execute-error'), project, { recursive: true });
    const snap = path.join(project, 'kv-snapshot.jsonl');
    const lines = (await fs.readFile(snap, 'utf8'))
      .split('\n')
      .filter((l) => !l.includes('"peer.spec.webhook-retries.cycle.current"'));
    await fs.writeFile(snap, lines.join('\n'));
    await loadSnapshotIntoServer(snap, server.url);
    nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
    kv = await nc.jetstream().views.kv(BUCKET, { bindOnly: true });
    const K = 'peer.spec.webhook-retries';
    expect(await value(`${K}.cycle.current`)).toBeUndefined();
    const before = await findings();
    expect(
      before.filter((f) => f.startsWith('state-inconsistency warning - ')).map((f) => f.replace(/^(\S+ ){4}/, '')),
    ).toEqual([
      `${K} has v2 cycles up to 1 but no ${K}.cycle.current: the next run will start again at cycle 1 and stop at "already exists".`,
    ]);

    expect((await reopen('webhook-retries')).code).toBe(0);
    expect((await value(`${K}.cycle.current`))!.text).toBe('2\n');
    const journal = await undoAll();
    expect(journal.changes.map((c: any) => [c.key, c.before_b64 === null, c.status])).toEqual([
      [`${K}.cycle.2`, true, 'undone'],
      [`${K}.cycle.1`, false, 'undone'],
      [`${K}.cycle.current`, true, 'undone'],
    ]);
    expect((await value(`${K}.cycle.current`))!.op).toBe('DEL');
    expect(await findings()).toEqual(before);
  });
});

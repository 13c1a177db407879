// repair, reopen and undo against a real nats-server, with the real CLI, on copies of the bundled incidents.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KV, NatsConnection } from 'nats';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadFixtureCopy } from '../helpers/kv-load.js';
import type { Finding } from '../../src/model/types.js';

const BUCKET = 'agent-os-peer-state';
const SEED = 'wal-operation-handling-fix';
const P = 'peer.spec.wal-operation-handling-fix';
const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let kv: KV;
let project: string;

async function freshIncident(name: string) {
  if (server) await server.stop();
  server = await startNatsServer();
  ({ project, nc, kv } = await loadFixtureCopy(`incidents/${name}`, server.url, `pa-${name}-`));
}

afterEach(async () => {
  if (nc && !nc.isClosed()) await nc.close();
});
afterAll(async () => server?.stop());

const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args], { cwd: project, env });
const live = () => ['--server', server.url, '--logs', 'logs'];

async function value(key: string) {
  const e = await kv.get(key);
  return e
    ? {
        revision: e.revision,
        op: e.operation,
        bytes: Buffer.from(e.value),
        json: e.operation === 'PUT' ? (JSON.parse(Buffer.from(e.value).toString()) as Record<string, any>) : undefined,
      }
    : undefined;
}

async function scan(extra: string[] = []) {
  const r = await cli(['scan', '--format', 'json', ...live(), ...extra]);
  return JSON.parse(r.stdout) as { complete: boolean; findings: Finding[] };
}

async function journals() {
  const dir = path.join(project, '.peer-audit/journal');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).map((n) => path.join(dir, n));
}

/** What PEER v1's --continue does with a meta (reference: continue maps plan→execute, execute→express, express→review). */
function v1ContinueResumesAt(meta: Record<string, any>): string {
  return (
    ({ plan: 'execute', execute: 'express', express: 'review' } as Record<string, string>)[meta.current_phase] ??
    `refuses (${meta.current_phase})`
  );
}

describe('repair on the seed incident', () => {
  beforeEach(async () => freshIncident(SEED));

  it('dry run by default: shows the diff, writes nothing', async () => {
    const before = await value(`${P}.meta`);
    const r = await cli(['repair', ...live()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kv   ${P}.meta@10  [false-success, missing-execute-phase]`);
    // The last phase that really completed: what v1 --continue reads as "plan done, run execute".
    expect(r.stdout).toContain('-  "current_phase": "complete",\n+  "current_phase": "plan",');
    expect(r.stdout).toContain(`file ${WAL}/spec.md  [heredoc-artifact]`);
    expect(r.stdout).toContain('Dry run: 4 changes (2 KV keys, 2 files) planned; nothing was written.');
    expect((await value(`${P}.meta`))!.revision).toBe(before!.revision);
    expect(await journals()).toEqual([]);
  });

  it('refuses to write without --reason, and without a terminal unless --yes', async () => {
    const noReason = await cli(['repair', ...live(), '--apply', '--yes']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/^peer-audit: --reason is required with --apply/);
    const noTty = await cli(['repair', ...live(), '--apply', '--reason', 'x']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('there is no terminal to ask on; pass --yes');
    expect((await value(`${P}.meta`))!.revision).toBe(10);
    const snap = await cli(['repair', '--kv-snapshot', 'kv-snapshot.jsonl', '--apply', '--yes', '--reason', 'x']);
    expect(snap.code).toBe(2);
  });

  it('--apply: journal first, compare-and-set writes, the state findings gone, idempotent, then undo restores every byte', async () => {
    const metaBefore = await value(`${P}.meta`);
    const cycleBefore = await value(`${P}.cycle.1`);
    const specBefore = await fs.readFile(path.join(project, WAL, 'spec.md'));
    const techBefore = await fs.readFile(path.join(project, WAL, 'sub-specs/technical-spec.md'));

    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'execute never ran']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('applied 4, conflicts 0, failed 0');
    expect(r.stderr).toContain('rescan: the repaired findings are gone');

    const [jf] = await journals();
    const journal = JSON.parse(await fs.readFile(jf, 'utf8'));
    expect(journal).toMatchObject({
      format: 'peer-audit-journal/1',
      command: 'repair',
      reason: 'execute never ran',
      bucket: BUCKET,
    });
    expect(journal.changes.map((c: any) => [c.kind, c.key ?? c.path, c.status])).toEqual([
      ['file', `${WAL}/spec.md`, 'applied'],
      ['file', `${WAL}/sub-specs/technical-spec.md`, 'applied'],
      ['kv', `${P}.cycle.1`, 'applied'],
      ['kv', `${P}.meta`, 'applied'],
    ]);
    const kvCh = journal.changes.find((c: any) => c.key === `${P}.meta`);
    expect(Buffer.from(kvCh.before_b64, 'base64').equals(metaBefore!.bytes)).toBe(true);
    expect(kvCh.revisionSeen).toBe(10);

    const meta = (await value(`${P}.meta`))!;
    expect(meta.revision).toBe(kvCh.revisionWritten);
    expect(meta.json).toMatchObject({ current_phase: 'plan', cycles: { '1': { status: 'running' } } });
    expect(v1ContinueResumesAt(meta.json!)).toBe('execute');
    expect(meta.json!.cycles['1'].completed_at).toBeUndefined();
    expect(meta.json!.peer_audit.repairs[0]).toMatchObject({
      reason: 'execute never ran',
      rules: ['false-success', 'missing-execute-phase'],
      previous: { '/current_phase': 'complete' },
    });
    const cycle = (await value(`${P}.cycle.1`))!.json!;
    expect(cycle.status).toMatchObject({ current_phase: 'plan', progress_percent: 25 });
    expect(cycle.completed_at).toBeUndefined();
    expect(
      (await fs.readFile(path.join(project, WAL, 'spec.md'))).equals(
        specBefore.subarray(0, specBefore.length - 'EOF < /dev/null\n'.length),
      ),
    ).toBe(true);
    expect(
      (await fs.readFile(path.join(project, WAL, 'sub-specs/technical-spec.md'), 'utf8')).endsWith('EOF < /dev/null'),
    ).toBe(false);

    const after = await scan();
    const ids = after.findings.filter((f) => f.severity !== 'info').map((f) => f.ruleId);
    for (const gone of ['false-success', 'heredoc-artifact', 'missing-tasks-md']) expect(ids).not.toContain(gone);
    // The cycle no longer went past execute (express and review are pending again): nothing to report.
    expect(after.findings.filter((f) => f.ruleId === 'missing-execute-phase')).toEqual([]);
    const known = after.findings.find((f) => f.ruleId === 'phase-order-violation')!;
    expect(known.severity).toBe('info');
    expect(known.message).toContain('Known: recorded by peer-audit repair');

    // The same repair again changes nothing.
    const again = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'again']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to repair');
    expect((await value(`${P}.meta`))!.revision).toBe(meta.revision);
    expect(await journals()).toHaveLength(1);

    // undo: byte-identical values, files and all.
    const u = await cli(['undo', jf, '--server', server.url, '--yes']);
    expect(u.code).toBe(0);
    expect(u.stderr).toContain('undone 4, left as they are 0');
    expect((await value(`${P}.meta`))!.bytes.equals(metaBefore!.bytes)).toBe(true);
    expect((await value(`${P}.cycle.1`))!.bytes.equals(cycleBefore!.bytes)).toBe(true);
    expect((await fs.readFile(path.join(project, WAL, 'spec.md'))).equals(specBefore)).toBe(true);
    expect((await fs.readFile(path.join(project, WAL, 'sub-specs/technical-spec.md'))).equals(techBefore)).toBe(true);
    const undone = JSON.parse(await fs.readFile(jf, 'utf8'));
    expect(undone.changes.every((c: any) => c.status === 'undone')).toBe(true);
  });

  it('undo leaves a key alone that someone changed after the repair', async () => {
    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'x', '--rule', 'false-success']);
    expect(r.code).toBe(0);
    const [jf] = await journals();
    const theirs = await kv.put(`${P}.meta`, '{"spec_name":"wal-operation-handling-fix","current_phase":"review"}');
    const u = await cli(['undo', jf, '--server', server.url, '--yes']);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain(`${P}.meta: ${P}.meta changed since the repair wrote revision`);
    const meta = (await value(`${P}.meta`))!;
    expect(meta.revision).toBe(theirs);
    expect(meta.json!.current_phase).toBe('review');
  });
});

describe('reopen', () => {
  it('v1 seed: writes cycle 2 resuming at execute, supersedes cycle 1, and undo puts it all back', async () => {
    await freshIncident(SEED);
    const metaBefore = await value(`${P}.meta`);
    // The loaded revisions are seconds old: a cycle still being written is refused.
    const busy = await cli([
      'reopen',
      'wal-operation-handling-fix',
      '--server',
      server.url,
      '--reason',
      'execute never ran',
      '--apply',
      '--yes',
    ]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/refusing to reopen: cycle 1 was written \d+ s ago; it may still be running/);

    const r = await cli([
      'reopen',
      'wal-operation-handling-fix',
      '--server',
      server.url,
      '--reason',
      'execute never ran',
      '--quiet-for',
      '0s',
      '--apply',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Reopen ${P} cycle 1 as cycle 2, resuming at execute.`);
    expect(r.stderr).toContain('run /peer --continue --spec=wal-operation-handling-fix to resume at execute');

    const meta = (await value(`${P}.meta`))!.json!;
    const c2 = (await value(`${P}.cycle.2`))!.json!;
    const c1 = (await value(`${P}.cycle.1`))!.json!;
    expect(meta.current_cycle).toBe(2);
    expect(meta.current_phase).toBe('plan');
    expect(v1ContinueResumesAt(meta)).toBe('execute');
    expect(meta.cycles['2']).toMatchObject({ instruction: 'create-spec', status: 'running', reopened_from: 1 });
    expect(meta.cycles['1']).toMatchObject({ status: 'superseded', superseded_by: 2 });
    expect(c2).toMatchObject({
      cycle_number: 2,
      instruction: 'create-spec',
      reopened_from: 1,
      status: { current_phase: 'plan', progress_percent: 25 },
    });
    expect(c2.phases.plan.status).toBe('complete');
    expect(c2.phases.plan.output.spec_name).toBe('wal-template-operations-fix');
    expect([c2.phases.execute, c2.phases.express, c2.phases.review]).toEqual([
      { status: 'pending' },
      { status: 'pending' },
      { status: 'pending' },
    ]);
    expect(c2.peer_audit.reopened).toMatchObject({ from: 1, reason: 'execute never ran', phase: 'execute' });
    expect(c1.superseded_by).toBe(2);
    expect(c1.phases.review.status).toBe('complete'); // history is not rewritten

    // The state no longer claims anything false; what the transcript shows (a failed read, …) stays history.
    const after = await scan();
    const stateRules = [
      'false-success',
      'missing-execute-phase',
      'phase-order-violation',
      'state-inconsistency',
      'missing-tasks-md',
      'stale-cycle',
    ];
    expect(
      after.findings
        .filter((f) => stateRules.includes(f.ruleId) && f.severity !== 'info')
        .map((f) => `${f.ruleId} ${f.subject.cycle}`),
    ).toEqual([]);

    const [jf] = await journals();
    const u = await cli(['undo', jf, '--server', server.url, '--yes']);
    expect(u.code).toBe(0);
    expect((await value(`${P}.meta`))!.bytes.equals(metaBefore!.bytes)).toBe(true);
    expect((await value(`${P}.cycle.2`))!.op).toBe('DEL');
  });

  it('v2 incident: cycle.current moves to the new cycle, which resumes at execute', async () => {
    await freshIncident('v2-skipped-execute');
    const K = 'peer.spec.csv-export-endpoint';
    const r = await cli([
      'reopen',
      'csv-export-endpoint',
      '--server',
      server.url,
      '--reason',
      'executor skipped',
      '--quiet-for',
      '0s',
      '--apply',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    expect(Buffer.from((await kv.get(`${K}.cycle.current`))!.value).toString()).toBe('2');
    const c2 = (await value(`${K}.cycle.2`))!.json!;
    expect(c2.cycle_id).toBe(`${K}.cycle.2`);
    expect(c2.metadata).toMatchObject({
      cycle_number: 2,
      status: 'EXECUTING',
      current_phase: 'execute',
      reopened_from: 1,
    });
    expect(c2.metadata.completed_at).toBeUndefined();
    expect(c2.cycle_summary).toBeUndefined();
    // v2 --continue restarts at the first phase that is not completed
    expect(['plan', 'execute', 'express', 'review'].find((p) => c2.phases[p].status !== 'completed')).toBe('execute');
    expect((await value(`${K}.cycle.1`))!.json!.metadata.superseded_by).toBe(2);
  });

  it('refuses a cycle that does not exist, and needs --reason', async () => {
    await freshIncident(SEED);
    const none = await cli([
      'reopen',
      'wal-operation-handling-fix',
      '--server',
      server.url,
      '--reason',
      'x',
      '--cycle',
      '7',
      '--apply',
      '--yes',
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`peer-audit: refusing to reopen: cycle 7 of ${P} does not exist\n`);
    const noReason = await cli(['reopen', 'wal-operation-handling-fix', '--server', server.url]);
    expect(noReason.code).toBe(2);
  });
});

describe('repair on the v2 incidents', () => {
  it('v2-skipped-execute: metadata resumes at execute, the state findings are gone, undo restores the bytes', async () => {
    await freshIncident('v2-skipped-execute');
    const K = 'peer.spec.csv-export-endpoint.cycle.1';
    const before = await value(K);
    const r = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'executor skipped']);
    expect(r.code).toBe(0);
    const c = (await value(K))!.json!;
    expect(c.metadata).toMatchObject({ status: 'EXECUTING', current_phase: 'execute' });
    expect(c.metadata.completed_at).toBeUndefined();
    // The review's summary is the phantom review's: kept under peer_audit, not left claiming anything.
    expect(c.cycle_summary).toBeUndefined();
    expect(c.peer_audit.repairs[0].previous['/cycle_summary']).toMatchObject({ success: true, completion: 100 });
    const after = await scan();
    expect(
      after.findings.filter((f) => ['false-success', 'heredoc-artifact'].includes(f.ruleId) && f.severity !== 'info'),
    ).toEqual([]);
    expect(
      after.findings
        .filter((f) => ['missing-execute-phase', 'phase-order-violation'].includes(f.ruleId))
        .map((f) => `${f.ruleId} ${f.severity}`),
    ).toEqual(['phase-order-violation info']);
    const [jf] = await journals();
    expect((await cli(['undo', jf, '--server', server.url, '--yes'])).code).toBe(0);
    expect((await value(K))!.bytes.equals(before!.bytes)).toBe(true);
  });

  it('v2-review-rewrite: cycle.current is set to the highest cycle', async () => {
    await freshIncident('v2-review-rewrite');
    const C = 'peer.spec.search-api-pagination.cycle.current';
    const r = await cli([
      'repair',
      ...live(),
      '--rule',
      'state-inconsistency',
      '--apply',
      '--yes',
      '--reason',
      'counter stuck',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kv   ${C}@13  [state-inconsistency]`);
    expect(Buffer.from((await kv.get(C))!.value).toString()).toBe('2');
    const after = await scan(['--now', '2025-08-10T00:00:00Z']);
    expect(after.findings.filter((f) => f.ruleId === 'state-inconsistency').map((f) => f.message)).toEqual([]);
  });
});

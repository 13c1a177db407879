// End to end: verdicts drawn from cycle state values, on evidence written the way the real agents write it
// (v1: the inline bash of peer.md and the agents; v2: update-state.sh with the agents' jq filters).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, Location } from '../../src/model/types.js';
import { runCli } from '../helpers/cli.js';
import { kvData, type Put } from '../helpers/evidence.js';
import { Transcript } from '../helpers/transcript.js';

const P = 'peer.spec.demo-spec';
const C1 = `${P}.cycle.1`;
const M = `${P}.meta`;
const T0 = '2025-08-05T15:56:53Z';

const loc = (l: Location) =>
  l.kind === 'kv'
    ? `kv ${l.key}@${l.revision}${l.pointer ?? ''}`
    : l.kind === 'log'
      ? `log ${l.path}:${l.line}`
      : l.kind === 'file'
        ? `file ${l.path}`
        : `bucket ${l.bucket}`;

/** Writes a temp project with a kv snapshot (and a transcript under logs/), scans it with the real CLI. */
async function scan(puts: Put[], opts: { transcript?: Transcript; now?: string; args?: string[] } = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-verdict-'));
  await writeSnapshot(kvData(puts), path.join(dir, 'kv.jsonl'));
  const logs = opts.transcript ? ['--logs', 'logs'] : ['--no-default-logs'];
  if (opts.transcript) await opts.transcript.write(path.join(dir, 'logs'));
  const r = await runCli(
    [
      'scan',
      '--format',
      'json',
      '--kv-snapshot',
      'kv.jsonl',
      ...logs,
      '--now',
      opts.now ?? '2025-08-05T16:30:00Z',
      ...(opts.args ?? []),
    ],
    { cwd: dir },
  );
  expect(r.stderr).toBe('');
  const json = JSON.parse(r.stdout) as { complete: boolean; findings: Finding[] };
  return { code: r.code, findings: json.findings, ids: json.findings.map((f) => `${f.ruleId} ${f.severity}`) };
}

// State written an hour before the transcripts (which Transcript times from 16:00).
const at = (s: number) => ({ created: new Date(Date.parse('2025-08-05T15:00:00Z') + s * 1000).toISOString() });
const stamp = (s: number) => new Date(Date.parse('2025-08-05T15:00:00Z') + s * 1000).toISOString().replace('.000', '');

// ------------------------------------------------------------ v1, as the inline bash and the e903640 agents write it

const v1Meta = (phase: string, cycle: Record<string, unknown> = {}) => ({
  spec_name: 'demo-spec',
  created_at: T0,
  current_cycle: 1,
  current_phase: phase,
  cycles: { '1': { instruction: 'create-spec', status: 'running', started_at: T0, ...cycle } },
});
const v1Cycle = (phases: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  cycle_number: 1,
  instruction: 'create-spec',
  started_at: T0,
  phases,
  status: { current_phase: 'plan', progress_percent: 0, last_update: T0 },
  ...over,
});
const plan1 = {
  status: 'complete',
  completed_at: stamp(60),
  output: { instruction: 'create-spec', type: 'spec-aware' },
};
const exec1 = {
  status: 'complete',
  started_at: stamp(70),
  completed_at: stamp(600),
  output: { instruction_executed: 'create-spec', execution_status: 'success', outputs: { files_created: [] } },
};
const express1 = { status: 'complete', completed_at: stamp(700), output: { summary: 'Spec created' } };
const result1 = { success: true, instruction: 'create-spec', summary: 'Spec created', highlights: ['x'] };

/** init, plan, execute, express (with its result.success), the coordinator moving the meta along. */
const v1UpToReview = (): Put[] => [
  [M, v1Meta('plan'), at(0)],
  [C1, v1Cycle({}), at(1)],
  [C1, v1Cycle({ plan: plan1 }), at(60)],
  [M, v1Meta('execute'), at(61)],
  [C1, v1Cycle({ plan: plan1, execute: { status: 'running', started_at: stamp(70) } }), at(70)],
  [C1, v1Cycle({ plan: plan1, execute: exec1 }), at(600)],
  [M, v1Meta('express'), at(601)],
  [C1, { ...v1Cycle({ plan: plan1, execute: exec1, express: express1 }), result: result1 }, at(700)],
  [M, v1Meta('review'), at(701)],
];

/** The review agent: the cycle, then (separately, its own `date`) the meta. */
const v1Review = (cycleAt: number, metaAt: number): Put[] => {
  const review = {
    status: 'complete',
    completed_at: stamp(cycleAt),
    output: { quality_score: 'high', completeness: true },
  };
  return [
    [
      C1,
      {
        ...v1Cycle(
          { plan: plan1, execute: exec1, express: express1, review },
          {
            status: { current_phase: 'complete', progress_percent: 100, last_update: T0 },
            completed_at: stamp(cycleAt),
          },
        ),
        result: result1,
        insights: { learnings: [] },
      },
      at(cycleAt),
    ],
    [M, v1Meta('complete', { status: 'complete', completed_at: stamp(metaAt) }), at(metaAt)],
  ];
};

// ------------------------------------------------------------ v2, as update-state.sh applies the agents' jq filters

type V2 = Record<string, unknown> & {
  metadata: Record<string, unknown>;
  phases: Record<string, Record<string, unknown>>;
};
const v2Init = (): V2 => ({
  version: 1,
  cycle_id: C1,
  metadata: {
    instruction_name: 'create-spec',
    spec_name: 'demo-spec',
    key_prefix: P,
    cycle_number: 1,
    created_at: stamp(0),
    updated_at: stamp(0),
    status: 'INITIALIZED',
    current_phase: 'planning',
  },
  context: { peer_mode: 'new', spec_aware: true, user_requirements: 'a demo spec' },
  phases: {
    plan: { status: 'pending' },
    execute: { status: 'pending' },
    express: { status: 'pending' },
    review: { status: 'pending' },
  },
});
const step = (
  v: V2,
  md: Record<string, unknown>,
  phases: Record<string, Record<string, unknown>> = {},
  root: Record<string, unknown> = {},
): V2 => ({
  ...v,
  ...root,
  metadata: { ...v.metadata, ...md },
  phases: { ...v.phases, ...Object.fromEntries(Object.entries(phases).map(([p, e]) => [p, { ...v.phases[p], ...e }])) },
});
const v2Planned = () =>
  step(
    v2Init(),
    { status: 'EXECUTING', updated_at: stamp(60) },
    {
      plan: {
        status: 'completed',
        started_at: stamp(5),
        completed_at: stamp(60),
        output: { instruction: 'create-spec' },
      },
    },
  );
const v2Executing = () =>
  step(
    v2Planned(),
    { status: 'EXECUTING', current_phase: 'execute', updated_at: stamp(70) },
    { execute: { status: 'in_progress', started_at: stamp(70) } },
  );

/** A whole v2 cycle, each write as one revision; `execStatus` is the executor output's execution_status. */
function v2Run(
  execStatus: 'success' | 'cancelled',
  summary: Record<string, unknown>,
  extra: { planRoot?: Record<string, unknown>; reviewRoot?: Record<string, unknown>; summaryKey?: string } = {},
): Put[] {
  const s1 = step(
    v2Init(),
    { status: 'EXECUTING', updated_at: stamp(60) },
    {
      plan: {
        status: 'completed',
        started_at: stamp(5),
        completed_at: stamp(60),
        output: { instruction: 'create-spec' },
      },
    },
    extra.planRoot,
  );
  const s2 = step(
    s1,
    { current_phase: 'execute', updated_at: stamp(70) },
    { execute: { status: 'in_progress', started_at: stamp(70) } },
  );
  const execOut = {
    instruction_executed: 'create-spec',
    execution_status: execStatus,
    execution_time: '9 minutes',
    outputs: { files_created: [], files_modified: [], decisions_made: [], user_interactions: [], tasks_completed: [] },
    validation_context: null,
    errors: [],
    notes: execStatus === 'cancelled' ? 'The user cancelled at the review gate' : '',
  };
  const s3 = step(
    s2,
    { status: 'EXPRESSING', current_phase: 'express', updated_at: stamp(600) },
    { execute: { status: 'completed', completed_at: stamp(600), output: execOut } },
  );
  const s4 = step(
    s3,
    { status: 'REVIEWING', current_phase: 'review', updated_at: stamp(700) },
    { express: { status: 'completed', started_at: stamp(650), completed_at: stamp(700), output: { summary: 'done' } } },
  );
  const s5 = step(
    s4,
    { status: 'COMPLETE', completed_at: stamp(800), updated_at: stamp(800) },
    {
      review: {
        status: 'completed',
        started_at: stamp(750),
        completed_at: stamp(800),
        output: { quality_score: 'MEDIUM', completeness: execStatus === 'success' },
      },
    },
    { insights: { learnings: [] }, [extra.summaryKey ?? 'cycle_summary']: summary, ...extra.reviewRoot },
  );
  const s6 = step(s5, { status: 'COMPLETED', completed_at: stamp(805) });
  return [
    [C1, v2Init(), at(0)],
    [`${P}.cycle.current`, '1', at(1)],
    [C1, s1, at(60)],
    [C1, s2, at(70)],
    [C1, s3, at(600)],
    [C1, s4, at(700)],
    [C1, s5, at(800)],
    [C1, s6, at(805)],
  ];
}

describe('failures the state records are reported', () => {
  it('v1: the executor error path (phases.execute.status "error" with its error object), never a stale cycle', async () => {
    const failed = v1Cycle({
      plan: plan1,
      execute: {
        status: 'error',
        started_at: stamp(70),
        error: { message: 'Failed to execute instruction: permission denied', occurred_at: stamp(200) },
      },
    });
    const puts: Put[] = [...v1UpToReview().slice(0, 5), [C1, failed, at(200)]];
    const r = await scan(puts, { now: '2025-08-20T00:00:00Z' });
    expect(r.ids).toEqual(['recorded-failure error']);
    expect(r.code).toBe(1);
    const [f] = r.findings;
    expect(f.evidence.map((e) => loc(e.location))).toEqual([`kv ${C1}@6/phases/execute/error/message`]);
    expect(f.evidence[0].excerpt).toBe(
      `"message": "Failed to execute instruction: permission denied", "occurred_at": "${stamp(200)}"`,
    );
    expect(f.message).toBe(
      'Cycle 1 recorded a failure in execute (execute error: "Failed to execute instruction: permission denied").',
    );
  });

  it('v1: the meta at current_phase "error"', async () => {
    const r = await scan([...v1UpToReview().slice(0, 5), [M, v1Meta('error'), at(200)]], {
      now: '2025-08-05T16:10:00Z',
    });
    expect(r.ids).toEqual(['recorded-failure error']);
    expect(r.code).toBe(1);
    expect(r.findings[0].evidence.map((e) => loc(e.location))).toEqual([`kv ${M}@6/current_phase`]);
  });

  it('v2: the executor error path (metadata.status ERROR, phases.execute.status "error", an error object)', async () => {
    const err = step(
      v2Executing(),
      { status: 'ERROR', updated_at: stamp(300) },
      {
        execute: {
          status: 'error',
          error: {
            message: 'instruction create-spec not found',
            type: 'not_found',
            occurred_at: stamp(300),
            recoverable: false,
          },
        },
      },
    );
    const r = await scan(
      [
        [C1, v2Init(), at(0)],
        [`${P}.cycle.current`, '1', at(1)],
        [C1, v2Planned(), at(60)],
        [C1, v2Executing(), at(70)],
        [C1, err, at(300)],
      ],
      { now: '2025-08-20T00:00:00Z' },
    );
    expect(r.ids).toEqual(['recorded-failure error']);
    expect(r.code).toBe(1);
    const [f] = r.findings;
    expect(f.evidence.map((e) => loc(e.location))).toEqual([
      `kv ${C1}@5/phases/execute/error/message`,
      `kv ${C1}@5/metadata/status`,
    ]);
    expect(f.message).toBe(
      'Cycle 1 recorded a failure in execute (execute error: "instruction create-spec not found"; metadata.status is ERROR).',
    );
  });

  it('v2: a phase "failed" with a string error, and metadata.status FAILED (the schema document\'s words)', async () => {
    const failed = step(
      v2Executing(),
      { status: 'FAILED' },
      { execute: { status: 'failed', error: 'tests did not pass' } },
    );
    const r = await scan([
      [C1, v2Init(), at(0)],
      [`${P}.cycle.current`, '1', at(1)],
      [C1, v2Planned(), at(60)],
      [C1, v2Executing(), at(70)],
      [C1, failed, at(300)],
    ]);
    expect(r.ids).toEqual(['recorded-failure error']);
    expect(r.findings[0].evidence.map((e) => loc(e.location))).toEqual([
      `kv ${C1}@5/phases/execute/error`,
      `kv ${C1}@5/metadata/status`,
    ]);
    expect(r.findings[0].message).toContain('execute failed: "tests did not pass"');
  });
});

describe('lifecycle is not outcome', () => {
  it('v2 user cancel: COMPLETED with execution_status "cancelled" and cycle_summary.success false is unsuccessful, not false-success', async () => {
    const r = await scan(
      v2Run('cancelled', {
        success: false,
        instruction: 'create-spec',
        summary: 'Cancelled by the user',
        highlights: [],
        completion: 40,
        next_action: 'Run again',
      }),
    );
    expect(r.ids).toEqual(['unsuccessful-cycle warning']);
    expect(r.code).toBe(0);
    const [f] = r.findings;
    expect(f.evidence.map((e) => loc(e.location))).toEqual([
      `kv ${C1}@8/cycle_summary/success`,
      `kv ${C1}@8/phases/execute/output/execution_status`,
      `kv ${C1}@8/metadata/status`,
    ]);
    expect(f.message).toBe(
      'Cycle 1 finished unsuccessfully: cycle_summary.success is false; the executor reported cancelled (the user cancelled). "status": "COMPLETED" says its lifecycle ended, not that it succeeded.',
    );
    const strict = await scan(v2Run('cancelled', { success: false, completion: 40 }), {
      args: ['--fail-on', 'warning'],
    });
    expect(strict.code).toBe(1);
  });

  it('a cycle whose summary says success false (root result, no cancel) is unsuccessful too', async () => {
    // the live run of 2025-08-06 still wrote a v1-style root "result" where later agents write cycle_summary
    const r = await scan(v2Run('success', { success: false, summary: 'tests fail' }, { summaryKey: 'result' }));
    expect(r.ids).toEqual(['unsuccessful-cycle warning']);
    expect(r.findings[0].evidence.map((e) => loc(e.location))[0]).toBe(`kv ${C1}@8/result/success`);
  });

  it('a success claim that the cancel contradicts stays false-success', async () => {
    const r = await scan(v2Run('cancelled', { success: true, completion: 100 }));
    expect(r.ids.sort()).toEqual(['false-success error', 'unsuccessful-cycle warning']);
    expect(r.code).toBe(1);
  });

  it('v2 healthy run: no finding', async () => {
    const r = await scan(
      v2Run('success', { success: true, instruction: 'create-spec', summary: 'ok', highlights: [], completion: 100 }),
    );
    expect(r.ids).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe('healthy runs in progress are not errors', () => {
  it('v1 in review: express wrote result.success true, review has not run yet', async () => {
    const r = await scan(v1UpToReview(), { now: '2025-08-05T16:15:00Z' });
    expect(r.ids).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('v1 before finalize: review stamped the cycle and the meta seconds apart', async () => {
    const r = await scan([...v1UpToReview(), ...v1Review(800, 804)], { now: '2025-08-05T16:15:00Z' });
    expect(r.ids).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('v1 completion times more than a minute apart are still reported (warning)', async () => {
    const r = await scan([...v1UpToReview(), ...v1Review(800, 897)], { now: '2025-08-05T16:20:00Z' });
    expect(r.ids).toEqual(['state-inconsistency warning']);
    expect(r.findings[0].message).toContain('(1 min 37 s apart)');
    expect(r.code).toBe(0);
  });

  it('v2 agents that write the root status/completed_at their output contracts name: no lost-update, no inconsistency', async () => {
    const r = await scan(
      v2Run(
        'success',
        { success: true, completion: 100 },
        { planRoot: { status: 'EXECUTING' }, reviewRoot: { status: 'COMPLETE', completed_at: stamp(800) } },
      ),
    );
    expect(r.ids).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe('a claim of success from a run that never spawned the later phases', () => {
  const plannerOnly = () =>
    new Transcript()
      .human('/peer --instruction=create-spec --spec=demo-spec')
      .task('p1', 'peer-planner', 'Plan ready.')
      .say('✅ PEER cycle 1 completed successfully');

  it('with no state for the run: false-success from the transcript alone', async () => {
    const r = await scan([], { transcript: plannerOnly() });
    expect(r.ids).toEqual(['false-success error', 'stateless-run error']);
    const f = r.findings.find((x) => x.ruleId === 'false-success')!;
    expect(f.evidence.map((e) => loc(e.location))).toEqual(['log logs/session.jsonl:2', 'log logs/session.jsonl:4']);
    expect(f.evidence[1].excerpt).toBe('✅ PEER cycle 1 completed successfully');
    expect(f.message).toContain(
      'peer-executor, peer-express and peer-review were never spawned (the run spawned only peer-planner)',
    );
    expect(r.code).toBe(1);
  });

  it('with state that says every phase completed: still false-success, with the spawns that did happen', async () => {
    const r = await scan([...v1UpToReview(), ...v1Review(800, 800)], { transcript: plannerOnly() });
    expect(r.ids).toEqual(['false-success error']);
    expect(r.findings[0].evidence.map((e) => loc(e.location))).toEqual([
      'log logs/session.jsonl:2',
      'log logs/session.jsonl:4',
    ]);
    expect(r.code).toBe(1);
  });

  it('a --continue run that starts at execute and spawns every phase after it is not asked for the plan', async () => {
    const t = new Transcript()
      .human('/peer --continue --spec=demo-spec')
      .task('e1', 'peer-executor', 'Executed.')
      .task('x1', 'peer-express', 'Summary ready.')
      .task('r1', 'peer-review', 'Review done.')
      .say('✅ PEER cycle 1 completed successfully');
    const r = await scan([...v1UpToReview(), ...v1Review(800, 800)], { transcript: t });
    expect(r.ids).toEqual([]);
    expect(r.code).toBe(0);
  });
});

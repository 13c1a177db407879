// What a run cost, from its transcripts: the seed incident's figures against a hand count of its JSONL, each API
// response counted once across content-block records and agent_progress copies, and money from configured prices.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit.js';
import { runCost, type Prices } from '../../src/model/run-cost.js';
import { readLogs } from '../../src/sources/logs.js';
import { loadConfigFile } from '../../src/config/config-file.js';
import { ConfigError } from '../../src/errors.js';
import { costSummary } from '../../src/report/cost-format.js';
import { Transcript } from '../helpers/transcript.js';

const SEED = path.resolve('fixtures/incidents/wal-operation-handling-fix');
const LOG = 'logs/output-peer-test-2.jsonl';

async function seedCost(prices?: Prices) {
  const result = await audit({
    project: SEED,
    kvSnapshot: path.join(SEED, 'kv-snapshot.jsonl'),
    logs: [path.join(SEED, 'logs')],
    now: '2026-01-01T00:00:00Z',
    prices,
  });
  return result.runs!.items.find((r) => r.id === 'peer.spec.wal-operation-handling-fix')!.cost!;
}

describe('the seed incident costs what a hand count of its transcript says', () => {
  // Hand count: the assistant records of lines 1-187 (188 is cut off), grouped by message.id, each count the
  // largest of its records (the content blocks of one message carry the output so far: 51 then 85), summed:
  //   head -187 logs/output-peer-test-2.jsonl | jq -s '[.[] | select(.type=="assistant")] | group_by(.message.id)
  //     | map({i: (map(.message.usage.input_tokens) | max), o: …output_tokens…, r: …cache_read_input_tokens…,
  //            w: …cache_creation_input_tokens…})'
  // per phase over the line ranges of each inline sidechain (planner 24-43, express 71-103, review 109-180) and the
  // records with isSidechain false (the coordinator). Tool calls: distinct tool_use ids (77 in all). Wall time: the
  // spawn's line to its tool_result's line (23 → 44, 70 → 104, 108 → 181); the run: line 1 (15:56:07.429) to line
  // 187 (16:11:34.487) = 927,058 ms; the coordinator: that minus the three subagents = 374,284 ms.
  it('per phase, per subagent, in total, and the waste of the skipped execute phase', async () => {
    const cost = await seedCost();
    const planner = { input: 34, output: 2363, cacheRead: 319810, cacheWrite: 19041 };
    const express = { input: 79, output: 1715, cacheRead: 390176, cacheWrite: 29973 };
    const review = { input: 145, output: 3643, cacheRead: 970800, cacheWrite: 71316 };
    const coordinator = { input: 112, output: 2636, cacheRead: 738846, cacheWrite: 55006 };
    const spawnAt = (line: number, uuid: string, timestamp: string) => ({
      kind: 'log',
      path: LOG,
      line,
      uuid,
      timestamp,
    });
    expect(cost).toEqual({
      tokens: { input: 370, output: 10357, cacheRead: 2419632, cacheWrite: 175336 },
      wallMs: 927058,
      toolCalls: 77,
      responses: 81,
      phases: [
        { phase: 'plan', agents: 1, tokens: planner, wallMs: 192799, toolCalls: 8 },
        { phase: 'express', agents: 1, tokens: express, wallMs: 124729, toolCalls: 13 },
        { phase: 'review', agents: 1, tokens: review, wallMs: 235246, toolCalls: 32 },
        { phase: 'coordinator', agents: 0, tokens: coordinator, wallMs: 374284, toolCalls: 24 },
      ],
      subagents: [
        {
          agentType: 'peer-planner',
          phase: 'plan',
          location: spawnAt(23, '33e5b2fa-0b42-4b9d-ac93-8ee936596c37', '2025-08-05T15:57:02.118Z'),
          tokens: planner,
          wallMs: 192799,
          toolCalls: 8,
        },
        {
          agentType: 'peer-express',
          phase: 'express',
          location: spawnAt(70, 'fc5bc523-9878-4d11-b02d-798b3040e4db', '2025-08-05T16:04:10.335Z'),
          tokens: express,
          wallMs: 124729,
          toolCalls: 13,
        },
        {
          agentType: 'peer-review',
          phase: 'review',
          location: spawnAt(108, '6c803d5a-a233-4f08-86cf-85ece63c28b4', '2025-08-05T16:06:25.142Z'),
          tokens: review,
          wallMs: 235246,
          toolCalls: 32,
        },
      ],
      // Express and review ran without execute: their cost (summed) is what must be spent again.
      waste: {
        tokens: { input: 224, output: 5358, cacheRead: 1360976, cacheWrite: 101289 },
        wallMs: 124729 + 235246,
        toolCalls: 45,
        why: [
          'peer-executor was never spawned, yet peer-express and peer-review ran without it (lines 70, 108): ' +
            'their work must be done again once execute has run',
        ],
      },
    });
  });

  it('with prices configured: money per line, in the currency given, from the price per million tokens', async () => {
    // A price under a shorter name applies to the dated model id (claude-sonnet-4 → claude-sonnet-4-20250514).
    const prices: Prices = {
      currency: 'USD',
      models: { 'claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } },
    };
    const cost = await seedCost(prices);
    expect(cost.currency).toBe('USD');
    expect(cost.unpriced).toBeUndefined();
    // (370 × 3 + 10,357 × 15 + 2,419,632 × 0.3 + 175,336 × 3.75) / 1,000,000
    expect(cost.money).toBe(1.539865);
    expect(cost.phases.map((p) => [p.phase, p.money])).toEqual([
      ['plan', 0.202894], // (34 × 3 + 2,363 × 15 + 319,810 × 0.3 + 19,041 × 3.75) / 1e6 = 0.20289375
      ['express', 0.255414], // (79 × 3 + 1,715 × 15 + 390,176 × 0.3 + 29,973 × 3.75) / 1e6 = 0.25541355
      ['review', 0.613755], // (145 × 3 + 3,643 × 15 + 970,800 × 0.3 + 71,316 × 3.75) / 1e6
      ['coordinator', 0.467802], // (112 × 3 + 2,636 × 15 + 738,846 × 0.3 + 55,006 × 3.75) / 1e6 = 0.4678023
    ]);
    expect(cost.subagents.map((s) => s.money)).toEqual([0.202894, 0.255414, 0.613755]);
    expect(cost.waste?.money).toBe(0.869169); // express + review: 0.86916855
  });

  it('a model with no price: no money on the lines that used it, and the model named', async () => {
    const cost = await seedCost({
      currency: 'EUR',
      models: { 'claude-opus-4': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 } },
    });
    expect(cost.currency).toBe('EUR');
    expect(cost.unpriced).toEqual(['claude-sonnet-4-20250514']);
    expect(cost.money).toBeUndefined();
    expect(cost.phases.every((p) => p.money === undefined)).toBe(true);
    // Tokens, time and calls are the same with or without prices.
    expect(cost.tokens).toEqual({ input: 370, output: 10357, cacheRead: 2419632, cacheWrite: 175336 });
  });
});

// ---------------------------------------------------------------- each response once

const SESSION = '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35';
let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  dirs = [];
});

const usage = (input: number, output: number, cacheRead: number, cacheWrite: number) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_input_tokens: cacheRead,
  cache_creation_input_tokens: cacheWrite,
});
let n = 0;
function envelope(extra: object, second: number): object {
  n++;
  return {
    parentUuid: null,
    isSidechain: false,
    userType: 'external',
    cwd: '/home/dev/demo',
    sessionId: SESSION,
    version: '2.1.39',
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    timestamp: `2026-02-12T10:00:${String(second).padStart(2, '0')}.000Z`,
    ...extra,
  };
}
function assistant(id: string, requestId: string, block: object, u: object, second: number, extra: object = {}) {
  return envelope(
    {
      type: 'assistant',
      requestId,
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id,
        type: 'message',
        role: 'assistant',
        content: [block],
        usage: u,
      },
      ...extra,
    },
    second,
  );
}
function toolResult(toolUseId: string, text: string, second: number, extra: object = {}) {
  const content = [{ type: 'tool_result', tool_use_id: toolUseId, content: text }];
  return envelope({ type: 'user', message: { role: 'user', content }, ...extra }, second);
}
/** An agent_progress copy of a subagent's assistant message, as the main file holds it (partial output count). */
function mirror(spawnId: string, agentId: string, id: string, block: object, u: object, second: number) {
  return envelope(
    {
      type: 'progress',
      data: {
        type: 'agent_progress',
        agentId,
        message: {
          type: 'assistant',
          timestamp: `2026-02-12T10:00:${String(second).padStart(2, '0')}.000Z`,
          message: {
            model: 'claude-sonnet-4-5-20250929',
            id,
            type: 'message',
            role: 'assistant',
            content: [block],
            usage: u,
          },
        },
      },
      toolUseID: `agent_${id}`,
      parentToolUseID: spawnId,
    },
    second,
  );
}
const task = (id: string, agent: string) => ({
  type: 'tool_use',
  id,
  name: 'Task',
  input: { description: `Run ${agent}`, subagent_type: agent, prompt: `${agent} for peer.spec.x.cycle.1` },
});
const bash = (id: string) => ({
  type: 'tool_use',
  id,
  name: 'Bash',
  input: { command: 'nats kv get agent-os-peer-state x' },
});

/**
 * A 2.1.x session: the coordinator's first message written as two content-block records (output 9, then 164);
 * peer-planner with its own subagent file and agent_progress copies of its two messages in the main file (the
 * copies carry output 1); peer-executor with no file, only copies, its first message copied twice (two blocks).
 */
async function writeSession(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-cost-'));
  dirs.push(dir);
  const main = [
    envelope({ type: 'user', message: { role: 'user', content: '/peer --instruction=create-spec' } }, 0),
    assistant('msg_main_1', 'req_main_1', { type: 'text', text: 'Planning.' }, usage(3, 9, 18000, 4000), 1),
    assistant('msg_main_1', 'req_main_1', task('toolu_plan', 'peer-planner'), usage(3, 164, 18000, 4000), 2),
    mirror('toolu_plan', 'a4f09c2', 'msg_sub_1', bash('toolu_b1'), usage(3, 1, 0, 9000), 4),
    mirror('toolu_plan', 'a4f09c2', 'msg_sub_2', { type: 'text', text: 'Plan stored.' }, usage(6, 1, 9000, 400), 6),
    toolResult('toolu_plan', 'Plan stored.', 8, { toolUseResult: { status: 'completed', agentId: 'a4f09c2' } }),
    assistant('msg_main_2', 'req_main_2', task('toolu_exec', 'peer-executor'), usage(1, 50, 22000, 300), 10),
    mirror('toolu_exec', 'b5e1', 'msg_ex_1', { type: 'text', text: 'Executing.' }, usage(2, 1, 5000, 100), 12),
    mirror('toolu_exec', 'b5e1', 'msg_ex_1', bash('toolu_b2'), usage(2, 30, 5000, 100), 13),
    mirror('toolu_exec', 'b5e1', 'msg_ex_2', { type: 'text', text: 'Done.' }, usage(4, 20, 6000, 50), 15),
    toolResult('toolu_exec', 'Done.', 20, { toolUseResult: { status: 'completed', agentId: 'b5e1' } }),
    assistant('msg_main_3', 'req_main_3', { type: 'text', text: 'Finished.' }, usage(1, 10, 23000, 200), 21),
  ];
  const sub = [
    envelope({ isSidechain: true, agentId: 'a4f09c2', type: 'user', message: { role: 'user', content: 'plan' } }, 3),
    assistant('msg_sub_1', 'req_sub_1', bash('toolu_b1'), usage(3, 87, 0, 9120), 4, {
      isSidechain: true,
      agentId: 'a4f09c2',
    }),
    toolResult('toolu_b1', 'ok', 5, { isSidechain: true, agentId: 'a4f09c2' }),
    assistant('msg_sub_2', 'req_sub_2', { type: 'text', text: 'Plan stored.' }, usage(6, 252, 9120, 412), 6, {
      isSidechain: true,
      agentId: 'a4f09c2',
    }),
  ];
  const lines = (recs: object[]) => `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`;
  await fs.writeFile(path.join(dir, `${SESSION}.jsonl`), lines(main));
  await fs.mkdir(path.join(dir, SESSION, 'subagents'), { recursive: true });
  await fs.writeFile(path.join(dir, SESSION, 'subagents', 'agent-a4f09c2.jsonl'), lines(sub));
  return dir;
}

describe('each API response is counted once', () => {
  const expected = {
    // Coordinator: msg_main_1 (output 164, not 9 + 164), msg_main_2, msg_main_3.
    coordinator: { input: 5, output: 224, cacheRead: 63000, cacheWrite: 4500 },
    // Planner: its own file's counts (87 and 252), not the copies' (1 and 1), and not both.
    plan: { input: 9, output: 339, cacheRead: 9120, cacheWrite: 9532 },
    // Executor: only copies; msg_ex_1 copied twice counts once, with its larger output (30).
    execute: { input: 6, output: 50, cacheRead: 11000, cacheWrite: 150 },
  };

  for (const [name, env] of [
    ['fast path', {}],
    ['every line parsed whole (PEER_AUDIT_LOG_FAST_PATH=0)', { PEER_AUDIT_LOG_FAST_PATH: '0' }],
  ] as const) {
    it(`across content-block records, agent_progress copies and subagent files (${name})`, async () => {
      const dir = await writeSession();
      const before = process.env.PEER_AUDIT_LOG_FAST_PATH;
      Object.assign(process.env, env);
      try {
        const { data } = await readLogs([dir], dir);
        expect(data.sessions).toHaveLength(1);
        const cost = runCost(data.sessions)!;
        const byPhase = Object.fromEntries(cost.phases.map((p) => [p.phase, p.tokens]));
        expect(byPhase).toEqual(expected);
        expect(cost.responses).toBe(7);
        expect(cost.tokens).toEqual({ input: 20, output: 613, cacheRead: 83120, cacheWrite: 14182 });
        // Tool calls: two spawns by the coordinator, one Bash each by the subagents (the planner's copy not again).
        expect(cost.phases.map((p) => [p.phase, p.toolCalls])).toEqual([
          ['plan', 1],
          ['execute', 1],
          ['coordinator', 2],
        ]);
        // Spawn to result: 2 → 8 s and 10 → 20 s; the run 0 → 21 s, the coordinator the rest.
        expect(cost.phases.map((p) => [p.phase, p.wallMs])).toEqual([
          ['plan', 6000],
          ['execute', 10000],
          ['coordinator', 5000],
        ]);
        expect(cost.wallMs).toBe(21000);
        expect(cost.waste).toBeUndefined();
      } finally {
        if (before === undefined) delete process.env.PEER_AUDIT_LOG_FAST_PATH;
        else process.env.PEER_AUDIT_LOG_FAST_PATH = before;
      }
    });
  }

  it('a phase spawned again with no answer from the user between is waste; after an answer it is a continuation', () => {
    const spawn = (id: string, type: string, line: number, from: number, to: number) => ({
      kind: 'spawn' as const,
      id,
      toolName: 'Task' as const,
      subagentType: type,
      actor: 'main' as const,
      ref: { path: 'a.jsonl', line, timestamp: new Date(from * 1000).toISOString() },
      result: {
        isError: false,
        text: 'ok',
        ref: { path: 'a.jsonl', line: line + 1, timestamp: new Date(to * 1000).toISOString() },
      },
    });
    const human = (line: number, at: number) => ({
      kind: 'text' as const,
      role: 'user' as const,
      human: true,
      text: 'yes',
      actor: 'main' as const,
      ref: { path: 'a.jsonl', line, timestamp: new Date(at * 1000).toISOString() },
    });
    const use = (spawnId: string, output: number) => ({
      actor: { spawnId },
      input: 0,
      output,
      cacheRead: 0,
      cacheWrite: 0,
      responses: 1,
    });
    const session = (answered: boolean) => ({
      sessionId: 's',
      format: 'transcript' as const,
      mainFile: 'a.jsonl',
      files: ['a.jsonl'],
      corrupt: [],
      firstTimestamp: new Date(0).toISOString(),
      lastTimestamp: new Date(100_000).toISOString(),
      events: [
        spawn('p', 'peer-planner', 1, 1, 10),
        spawn('e1', 'peer-executor', 3, 11, 20),
        ...(answered ? [human(5, 25)] : []),
        spawn('e2', 'peer-executor', 6, 30, 40),
        spawn('x', 'peer-express', 8, 41, 50),
        spawn('r', 'peer-review', 10, 51, 60),
      ],
      usage: [use('p', 100), use('e1', 200), use('e2', 300), use('x', 50), use('r', 70)],
    });
    const repeated = runCost([session(false)])!;
    expect(repeated.waste).toEqual({
      tokens: { input: 0, output: 300, cacheRead: 0, cacheWrite: 0 },
      wallMs: 10_000,
      toolCalls: 0,
      why: [
        'peer-executor was spawned 2 times for one cycle (lines 3, 6) with no answer from the user between: ' +
          'the repeat at line 6',
      ],
    });
    expect(repeated.phases.find((p) => p.phase === 'execute')).toMatchObject({ agents: 2, wallMs: 19_000 });
    expect(runCost([session(true)])!.waste).toBeUndefined();
  });

  it('transcripts with no token counts: time and tool calls, and the tokens said to be unknown', async () => {
    const dir = await new Transcript()
      .human('/peer --instruction=create-spec')
      .task('t1', 'peer-planner', 'planned')
      .bash('b1', 'ls', 'ok')
      .write();
    dirs.push(dir);
    const { data } = await readLogs([dir], dir);
    const cost = runCost(data.sessions)!;
    expect(cost).toMatchObject({ responses: 0, toolCalls: 2, wallMs: 4000 }); // records 1 s apart, 5 of them
    expect(cost.tokens).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
    expect(costSummary(cost)).toBe('no token counts in the transcripts, 4 s, 2 tool calls');
  });

  it('a run with no transcripts has no cost', () => {
    expect(runCost([])).toBeUndefined();
  });
});

describe('prices in the config file', () => {
  it('are read as a currency and a price per million tokens per model; a bad one is said with its place', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-cost-config-'));
    dirs.push(dir);
    const file = path.join(dir, 'peer-audit.config.json');
    const prices = {
      currency: 'USD',
      models: { 'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } },
    };
    await fs.writeFile(file, JSON.stringify({ prices }));
    expect((await loadConfigFile(file, [])).prices).toEqual(prices);
    await fs.writeFile(
      file,
      JSON.stringify({
        prices: { currency: 'USD', models: { m: { input: -1, output: 15, cacheRead: 0, cacheWrite: 0, x: 1 } } },
      }),
    );
    const err = await loadConfigFile(file, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/prices\.models\.m\.input: expected at least 0/);
    expect((err as Error).message).toMatch(/prices\.models\.m\.x: unknown setting/);
  });
});

import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent, LogSession, Spawn, TextEvent, ToolCall } from '../../src/model/types.js';
import { defaultLogDirs, readLogs } from '../../src/sources/logs.js';

type Rec = Record<string, any>;

const COMPOSED = fileURLToPath(new URL('../fixtures-logs/composed/', import.meta.url));
const SID = '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35';
const TASK = 'toolu_01PlannerTask0001';
const BASH = 'toolu_01NatsGet0001';
const AGENT = 'a4f09c2';
const NATS_GET = 'nats kv get agent-os-peer-state "peer.spec.x.cycle.1" --raw';
const PLAN_TEXT = 'Plan for cycle 1 created (3 phases) and stored at peer.spec.x.cycle.1.';
const PROMPT =
  'STATE_KEY: peer.spec.x.cycle.1\nRead the unified state from NATS KV at STATE_KEY, build the execution plan and write it back.';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'peer-audit-logs-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function composed(name: string): Promise<Rec[]> {
  const text = await readFile(path.join(COMPOSED, name), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
}

function jsonl(records: Rec[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

async function put(rel: string, content: string | Buffer): Promise<string> {
  const abs = path.join(root, rel);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, content);
  return abs;
}

/** Compact view of an event: kind, actor and where it came from. */
function brief(e: LogEvent): string {
  const kind = e.kind === 'text' ? `text:${e.role}` : e.kind;
  const actor = e.kind === 'result' ? '-' : e.actor === 'main' ? 'main' : `spawn:${e.actor.spawnId}`;
  return `${kind} ${actor} ${e.ref.path}:${e.ref.line}`;
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0];
}

const spawnsOf = (s: LogSession): Spawn[] => s.events.filter((e): e is Spawn => e.kind === 'spawn');
const callsOf = (s: LogSession): ToolCall[] => s.events.filter((e): e is ToolCall => e.kind === 'tool');
const textsOf = (s: LogSession): TextEvent[] => s.events.filter((e): e is TextEvent => e.kind === 'text');

function withoutAgentIdInResult(rec: Rec): Rec {
  const copy = structuredClone(rec);
  copy.message.content[0].content = copy.message.content[0].content.slice(0, 1);
  delete copy.toolUseResult.agentId;
  return copy;
}

// ---------------------------------------------------------------- the composed run in every layout

describe('readLogs: composed PEER planning run', () => {
  it('2.1.2+ layout: <session>/subagents/agent-<id>.jsonl, progress mirror counted once', async () => {
    await put(`proj/${SID}.jsonl`, await readFile(path.join(COMPOSED, 'main.jsonl')));
    await put(`proj/${SID}/subagents/agent-${AGENT}.jsonl`, await readFile(path.join(COMPOSED, 'agent-a4f09c2.jsonl')));
    await put(
      `proj/${SID}/subagents/agent-acompact-fffbd0.jsonl`,
      jsonl([{ type: 'user', sessionId: SID, parentUuid: 'x' }]),
    );

    const { data, report } = await readLogs([path.join(root, 'proj')], root);

    expect(report).toMatchObject({ kind: 'logs', ref: path.join(root, 'proj'), ok: true, problems: [] });
    expect(report.error).toBeUndefined();
    expect(report.stats).toMatchObject({
      files: 3,
      lines: 12,
      records: 12,
      corruptLines: 0,
      sessions: 1,
      ignoredFiles: 1,
    });
    const session = only(data.sessions);
    const mainFile = `proj/${SID}.jsonl`;
    const agentFile = `proj/${SID}/subagents/agent-${AGENT}.jsonl`;
    expect(session).toMatchObject({
      sessionId: SID,
      format: 'transcript',
      mainFile,
      files: [mainFile, agentFile],
      version: '2.1.39',
      cwd: '/home/dev/agent-os-demo',
      firstTimestamp: '2026-02-12T10:00:00.120Z',
      lastTimestamp: '2026-02-12T10:00:15.040Z',
      corrupt: [],
    });
    expect(session.truncatedTail).toBeUndefined();
    expect(session.events.map(brief)).toEqual([
      `text:user main ${mainFile}:2`,
      `text:assistant main ${mainFile}:3`,
      `spawn main ${mainFile}:4`,
      `text:user spawn:${TASK} ${agentFile}:1`,
      `tool spawn:${TASK} ${agentFile}:2`,
      `text:assistant spawn:${TASK} ${agentFile}:4`,
      `text:assistant main ${mainFile}:7`,
    ]);

    const texts = textsOf(session);
    expect(texts[0]).toMatchObject({
      human: true,
      text: 'Run the PEER cycle for spec x: plan it with peer-planner, then report.',
    });
    expect(texts[2]).toMatchObject({ human: false, text: PROMPT });

    expect(only(spawnsOf(session))).toEqual({
      kind: 'spawn',
      id: TASK,
      toolName: 'Task',
      subagentType: 'peer-planner',
      description: 'Plan PEER cycle 1',
      prompt: PROMPT,
      agentId: AGENT,
      actor: 'main',
      ref: {
        path: mainFile,
        line: 4,
        uuid: '1c2d3e4f-0000-4a00-8000-000000000004',
        timestamp: '2026-02-12T10:00:05.220Z',
      },
      result: {
        isError: false,
        text: PLAN_TEXT,
        ref: {
          path: mainFile,
          line: 6,
          uuid: '1c2d3e4f-0000-4a00-8000-000000000006',
          timestamp: '2026-02-12T10:00:12.700Z',
        },
      },
      resultDetail: { status: 'completed', totalToolUseCount: 1 },
      finalText: {
        text: PLAN_TEXT,
        ref: {
          path: agentFile,
          line: 4,
          uuid: '2d3e4f50-0000-4b00-8000-000000000004',
          timestamp: '2026-02-12T10:00:12.600Z',
        },
      },
      transcript: 'subagents-dir',
    });

    expect(only(callsOf(session))).toEqual({
      kind: 'tool',
      id: BASH,
      name: 'Bash',
      command: NATS_GET,
      input: { description: 'Read PEER cycle state' },
      actor: { spawnId: TASK },
      ref: {
        path: agentFile,
        line: 2,
        uuid: '2d3e4f50-0000-4b00-8000-000000000002',
        timestamp: '2026-02-12T10:00:08.400Z',
      },
      result: {
        isError: true,
        text: 'Exit code 1\nnats: error: nats: key not found',
        ref: {
          path: agentFile,
          line: 3,
          uuid: '2d3e4f50-0000-4b00-8000-000000000003',
          timestamp: '2026-02-12T10:00:09.150Z',
        },
      },
    });
  });

  it('2.0.28–2.1.1 layout: sibling agent-<id>.jsonl; Warmup agents and compaction files are ignored but counted', async () => {
    const main = await composed('main.jsonl');
    await put(`proj/${SID}.jsonl`, jsonl(main.filter((r) => r.type !== 'progress')));
    await put(`proj/agent-${AGENT}.jsonl`, await readFile(path.join(COMPOSED, 'agent-a4f09c2.jsonl')));
    const warmup = {
      parentUuid: null,
      isSidechain: true,
      sessionId: SID,
      agentId: 'deadbee',
      type: 'user',
      message: { role: 'user', content: 'Warmup' },
      uuid: 'w1',
      timestamp: '2026-02-12T09:59:59.000Z',
    };
    await put('proj/agent-deadbee.jsonl', jsonl([warmup]));
    await put('proj/agent-acompact-e1f845.jsonl', jsonl([{ type: 'user', sessionId: SID }]));

    const { data, report } = await readLogs([path.join(root, 'proj/*.jsonl')], root);

    expect(report.ok).toBe(true);
    expect(report.stats).toMatchObject({ files: 4, records: 12, sessions: 1, ignoredFiles: 2 });
    const session = only(data.sessions);
    expect(session.files).toEqual([`proj/${SID}.jsonl`, `proj/agent-${AGENT}.jsonl`]);
    expect(session.firstTimestamp).toBe('2026-02-12T10:00:00.120Z');
    const spawn = only(spawnsOf(session));
    expect(spawn).toMatchObject({ agentId: AGENT, transcript: 'sibling-file', finalText: { text: PLAN_TEXT } });
    expect(only(callsOf(session))).toMatchObject({
      id: BASH,
      actor: { spawnId: TASK },
      ref: { path: `proj/agent-${AGENT}.jsonl`, line: 2 },
    });
    expect(session.events.some((e) => e.kind === 'text' && e.text === 'Warmup')).toBe(false);
  });

  it('≤2.0.27 layout: inline sidechain linked to its Task by prompt', async () => {
    const main = await composed('main.jsonl');
    const sidechain = (await composed('agent-a4f09c2.jsonl')).map((r) => {
      const { agentId: _drop, ...rest } = r;
      return { ...rest, version: '1.0.89' };
    });
    const records = [...main.slice(0, 4), ...sidechain, withoutAgentIdInResult(main[5]), ...main.slice(6)];
    await put(`proj/${SID}.jsonl`, jsonl(records));

    const { data } = await readLogs([path.join(root, 'proj')], root);

    const session = only(data.sessions);
    const f = `proj/${SID}.jsonl`;
    expect(session.files).toEqual([f]);
    expect(session.events.map(brief)).toEqual([
      `text:user main ${f}:2`,
      `text:assistant main ${f}:3`,
      `spawn main ${f}:4`,
      `text:user spawn:${TASK} ${f}:5`,
      `tool spawn:${TASK} ${f}:6`,
      `text:assistant spawn:${TASK} ${f}:8`,
      `text:assistant main ${f}:10`,
    ]);
    const spawn = only(spawnsOf(session));
    expect(spawn.agentId).toBeUndefined();
    expect(spawn).toMatchObject({
      transcript: 'inline',
      result: { isError: false, text: PLAN_TEXT, ref: { line: 9 } },
      finalText: { text: PLAN_TEXT, ref: { path: f, line: 8 } },
    });
    expect(only(callsOf(session)).result).toMatchObject({ isError: true, ref: { line: 7 } });
    expect(textsOf(session)[2]).toMatchObject({ role: 'user', human: false });
  });

  it('inline sidechain without a prompt match goes to the spawn running at the time; one before any spawn is dropped', async () => {
    const main = await composed('main.jsonl');
    const sidechain = (await composed('agent-a4f09c2.jsonl')).map((r) => {
      const { agentId: _drop, ...rest } = r;
      return rest;
    });
    sidechain[0].message.content = 'A prompt the Task input does not repeat';
    const early = {
      parentUuid: null,
      isSidechain: true,
      type: 'user',
      sessionId: SID,
      message: { role: 'user', content: 'stray' },
      uuid: 'early-1',
      timestamp: '2026-02-12T09:00:00.000Z',
    };
    const earlyCall = {
      parentUuid: 'early-1',
      isSidechain: true,
      type: 'assistant',
      sessionId: SID,
      message: {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_stray', name: 'Read', input: { file_path: '/x' } }],
      },
      uuid: 'early-2',
      timestamp: '2026-02-12T09:00:01.000Z',
    };
    await put(
      `proj/${SID}.jsonl`,
      jsonl([early, earlyCall, ...main.slice(0, 4), ...sidechain, main[5], ...main.slice(6)]),
    );

    const { data } = await readLogs([path.join(root, 'proj')], root);

    const session = only(data.sessions);
    expect(callsOf(session).map((c) => [c.id, c.actor])).toEqual([[BASH, { spawnId: TASK }]]);
    expect(only(spawnsOf(session))).toMatchObject({ transcript: 'inline', agentId: AGENT });
    expect(session.events.some((e) => e.kind === 'text' && e.text === 'stray')).toBe(false);
  });

  it('Agent tool name with a meta.json sidecar as the only link (2.1.63+)', async () => {
    const main = await composed('main.jsonl');
    const spawnRec = structuredClone(main[3]);
    spawnRec.message.content[0].name = 'Agent';
    spawnRec.message.content[0].input.subagent_type = 'agent-os:peer-planner';
    const records = [main[0], main[1], main[2], spawnRec, withoutAgentIdInResult(main[5]), main[6], main[7]];
    await put(`proj/${SID}.jsonl`, jsonl(records));
    const dir = `proj/${SID}/subagents/workflows/run-1`;
    await put(`${dir}/agent-${AGENT}.jsonl`, await readFile(path.join(COMPOSED, 'agent-a4f09c2.jsonl')));
    await put(
      `${dir}/agent-${AGENT}.meta.json`,
      JSON.stringify({ agentType: 'peer-planner', description: 'Plan PEER cycle 1', toolUseId: TASK }),
    );
    await put(`${dir}/journal.jsonl`, jsonl([{ type: 'step', runId: 'run-1' }]));

    const { data, report } = await readLogs([path.join(root, 'proj')], root);

    expect(report.stats).toMatchObject({ files: 3, sessions: 1, ignoredFiles: 1 });
    const session = only(data.sessions);
    expect(only(spawnsOf(session))).toMatchObject({
      id: TASK,
      toolName: 'Agent',
      subagentType: 'peer-planner',
      agentId: AGENT,
      transcript: 'subagents-dir',
      result: { isError: false, text: PLAN_TEXT },
    });
    expect(only(callsOf(session))).toMatchObject({ actor: { spawnId: TASK }, result: { isError: true } });
  });

  it('nested subagents: a spawn inside a subagent belongs to it, and its own file links through it', async () => {
    await put(`proj/${SID}.jsonl`, await readFile(path.join(COMPOSED, 'main.jsonl')));
    const sub = await composed('agent-a4f09c2.jsonl');
    const nestedCall = {
      ...sub[1],
      uuid: 'n-1',
      timestamp: '2026-02-12T10:00:10.000Z',
      message: {
        role: 'assistant',
        content: [
          {
            type: 'tool_use',
            id: 'toolu_nested',
            name: 'Task',
            input: { description: 'Look around', subagent_type: 'Explore', prompt: 'find the state script' },
          },
        ],
      },
    };
    const nestedResult = {
      ...sub[2],
      uuid: 'n-2',
      timestamp: '2026-02-12T10:00:11.000Z',
      message: {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_nested', content: [{ type: 'text', text: 'found it' }] }],
      },
      toolUseResult: { status: 'completed', agentId: 'bb11' },
    };
    await put(
      `proj/${SID}/subagents/agent-${AGENT}.jsonl`,
      jsonl([...sub.slice(0, 3), nestedCall, nestedResult, sub[3]]),
    );
    const inner = {
      parentUuid: null,
      isSidechain: true,
      sessionId: SID,
      agentId: 'bb11',
      type: 'assistant',
      uuid: 'i-1',
      timestamp: '2026-02-12T10:00:10.500Z',
      message: {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_ls', name: 'Bash', input: { command: 'ls scripts/peer' } }],
      },
    };
    await put(`proj/${SID}/subagents/agent-bb11.jsonl`, jsonl([inner]));

    const { data } = await readLogs([path.join(root, 'proj')], root);

    const session = only(data.sessions);
    expect(session.files).toHaveLength(3);
    expect(spawnsOf(session).map((s) => [s.id, s.actor, s.agentId, s.transcript, s.result?.text])).toEqual([
      [TASK, 'main', AGENT, 'subagents-dir', PLAN_TEXT],
      ['toolu_nested', { spawnId: TASK }, 'bb11', 'subagents-dir', 'found it'],
    ]);
    expect(callsOf(session).map((c) => [c.id, c.actor])).toEqual([
      [BASH, { spawnId: TASK }],
      ['toolu_ls', { spawnId: 'toolu_nested' }],
    ]);
  });

  it('stream-json output: parent_tool_use_id actors and the result record', async () => {
    await put('output-peer-test-2.jsonl', await readFile(path.join(COMPOSED, 'stream-json.jsonl')));

    const { data, report } = await readLogs([path.join(root, 'output-peer-test-2.jsonl')], root);

    expect(report.stats).toMatchObject({ files: 1, lines: 5, records: 5, sessions: 1 });
    const session = only(data.sessions);
    expect(session).toMatchObject({
      sessionId: SID,
      format: 'stream-json',
      mainFile: 'output-peer-test-2.jsonl',
      cwd: '/home/dev/agent-os-demo',
    });
    expect(session.version).toBeUndefined();
    expect(session.firstTimestamp).toBeUndefined();
    expect(session.events.map(brief)).toEqual([
      'spawn main output-peer-test-2.jsonl:2',
      `tool spawn:${TASK} output-peer-test-2.jsonl:3`,
      'result - output-peer-test-2.jsonl:5',
    ]);
    const spawn = only(spawnsOf(session));
    expect(spawn).toMatchObject({ subagentType: 'peer-planner', transcript: 'stream-json' });
    expect(spawn.result).toBeUndefined();
    expect(only(callsOf(session)).result).toMatchObject({
      isError: true,
      text: 'Exit code 1\nnats: error: nats: key not found',
      ref: { line: 4 },
    });
    expect(session.events[2]).toEqual({
      kind: 'result',
      subtype: 'success',
      isError: false,
      text: 'PEER cycle 1 planning completed successfully: the plan is stored in NATS KV at peer.spec.x.cycle.1.',
      ref: { path: 'output-peer-test-2.jsonl', line: 5, uuid: '3e4f5061-0000-4c00-8000-000000000005' },
    });
  });
});

// ---------------------------------------------------------------- agent_progress mirrors

describe('readLogs: agent_progress mirrors', () => {
  it('stand in for a missing subagent file, de-duplicated by tool_use id', async () => {
    const main = await composed('main.jsonl');
    const repeat = structuredClone(main[4]);
    repeat.uuid = '1c2d3e4f-0000-4a00-8000-0000000000a1';
    const resultMirror = structuredClone(main[4]);
    resultMirror.uuid = '1c2d3e4f-0000-4a00-8000-0000000000a2';
    resultMirror.timestamp = '2026-02-12T10:00:09.160Z';
    resultMirror.data.message = {
      type: 'user',
      timestamp: '2026-02-12T10:00:09.150Z',
      message: {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            content: 'Exit code 1\nnats: error: nats: key not found',
            is_error: true,
            tool_use_id: BASH,
          },
        ],
      },
      toolUseResult: 'Error: Exit code 1\nnats: error: nats: key not found',
    };
    await put(`proj/${SID}.jsonl`, jsonl([...main.slice(0, 5), repeat, resultMirror, ...main.slice(5)]));

    const { data } = await readLogs([path.join(root, 'proj')], root);

    const session = only(data.sessions);
    const call = only(callsOf(session));
    expect(call).toMatchObject({
      id: BASH,
      command: NATS_GET,
      actor: { spawnId: TASK },
      ref: {
        path: `proj/${SID}.jsonl`,
        line: 5,
        uuid: '1c2d3e4f-0000-4a00-8000-000000000005',
        timestamp: '2026-02-12T10:00:08.400Z',
      },
      result: { isError: true, ref: { line: 7, timestamp: '2026-02-12T10:00:09.150Z' } },
    });
    expect(only(spawnsOf(session))).toMatchObject({ agentId: AGENT, transcript: 'progress-mirror' });
  });
});

// ---------------------------------------------------------------- tool results

function envelope(uuid: string, second: number, extra: Rec): Rec {
  return {
    parentUuid: null,
    isSidechain: false,
    sessionId: 'sess-results',
    version: '1.0.89',
    cwd: '/w',
    uuid,
    timestamp: `2026-01-01T00:00:${String(second).padStart(2, '0')}.000Z`,
    ...extra,
  };
}
const toolUse = (uuid: string, s: number, id: string, name: string, input: Rec): Rec =>
  envelope(uuid, s, {
    type: 'assistant',
    message: { role: 'assistant', content: [{ type: 'tool_use', id, name, input }] },
  });
const toolResult = (uuid: string, s: number, block: Rec, toolUseResult?: unknown): Rec =>
  envelope(uuid, s, {
    type: 'user',
    message: { role: 'user', content: [{ type: 'tool_result', ...block }] },
    ...(toolUseResult === undefined ? {} : { toolUseResult }),
  });

describe('readLogs: tool results', () => {
  it('detects failing calls from is_error, a string toolUseResult and an "Exit code N" prefix', async () => {
    await put(
      'sess-results.jsonl',
      jsonl([
        toolUse('u1', 1, 'b1', 'Bash', { command: 'false', description: 'fail' }),
        toolResult(
          'u2',
          2,
          { tool_use_id: 'b1', content: 'Exit code 1\nboom', is_error: true },
          'Error: Exit code 1\nboom',
        ),
        toolUse('u3', 3, 'r1', 'Read', { file_path: '/nope' }),
        toolResult(
          'u4',
          4,
          { tool_use_id: 'r1', content: 'Path "/nope" does not exist' },
          'Error: Path "/nope" does not exist',
        ),
        toolUse('u5', 5, 'b2', 'Bash', { command: 'exit 2' }),
        toolResult('u6', 6, { tool_use_id: 'b2', content: [{ type: 'text', text: 'Exit code 2\nfoo' }] }),
        toolUse('u7', 7, 'b3', 'Bash', { command: 'echo ok' }),
        toolResult(
          'u8',
          8,
          { tool_use_id: 'b3', content: 'ok', is_error: false },
          { stdout: 'ok', stderr: '', interrupted: false, isImage: false },
        ),
        toolUse('u9', 9, 'b4', 'Bash', { command: 'true' }),
        toolResult('u10', 10, { tool_use_id: 'b4', content: 'Exit code 0' }),
        toolUse('u11', 11, 't1', 'Task', { description: 'Review', subagent_type: 'peer-review', prompt: 'review it' }),
      ]),
    );

    const { data } = await readLogs([path.join(root, 'sess-results.jsonl')], root);

    const session = only(data.sessions);
    expect(session).toMatchObject({ sessionId: 'sess-results', version: '1.0.89', cwd: '/w' });
    expect(callsOf(session).map((c) => [c.id, c.result?.isError, c.result?.ref.line])).toEqual([
      ['b1', true, 2],
      ['r1', true, 4],
      ['b2', true, 6],
      ['b3', false, 8],
      ['b4', false, 10],
    ]);
    expect(callsOf(session)[1]).toMatchObject({ filePath: '/nope', input: {} });
    const spawn = only(spawnsOf(session));
    expect(spawn).toMatchObject({ id: 't1', subagentType: 'peer-review', transcript: 'none' });
    expect(spawn.result).toBeUndefined();
  });
});

describe('readLogs: what is kept of a call', () => {
  it('keeps 400 characters of what a view tool showed, 4000 of a command result, 300 of other input', async () => {
    const body = (c: string) => Array.from({ length: 6000 }, (_, i) => (i % 80 === 79 ? '\n' : c)).join('');
    await put(
      'sess-kept.jsonl',
      jsonl([
        toolUse('u1', 1, 'r1', 'Read', { file_path: '/w/src/a.ts' }),
        toolResult('u2', 2, { tool_use_id: 'r1', content: body('r') }),
        toolUse('u3', 3, 'g1', 'Grep', { pattern: 'x' }),
        toolResult('u4', 4, { tool_use_id: 'g1', content: [{ type: 'text', text: body('g') }] }),
        toolUse('u5', 5, 'b1', 'Bash', { command: 'cat big' }),
        toolResult('u6', 6, { tool_use_id: 'b1', content: body('b') }),
        toolUse('u7', 7, 'w1', 'Write', { file_path: '/w/spec.md', content: body('w') }),
        toolResult('u8', 8, { tool_use_id: 'w1', content: 'File created' }),
      ]),
    );
    const { data } = await readLogs([path.join(root, 'sess-kept.jsonl')], root);
    const calls = callsOf(only(data.sessions));
    expect(calls.map((c) => [c.name, c.result?.text.length])).toEqual([
      ['Read', 401],
      ['Grep', 401],
      ['Bash', 4001],
      ['Write', 12],
    ]);
    expect(calls[0].result?.text.endsWith('…')).toBe(true);
    expect((calls[3].input.content as string).length).toBe(301);
  });
});

describe('readLogs: user turns', () => {
  it('marks human turns; meta text, interrupts and compact summaries are not human', async () => {
    const user = (uuid: string, s: number, content: unknown, extra: Rec = {}): Rec =>
      envelope(uuid, s, { type: 'user', message: { role: 'user', content }, ...extra });
    await put(
      'sess.jsonl',
      jsonl([
        user('h1', 1, 'Caveat: the messages below were generated by the user while running local commands.', {
          isMeta: true,
        }),
        user('h2', 2, '<command-name>/peer</command-name>\n<command-args>--spec x</command-args>'),
        user('h3', 3, [{ type: 'text', text: 'Base directory for this skill: /x' }], { isMeta: true }),
        user('h4', 4, [{ type: 'text', text: '[Request interrupted by user]' }]),
        user('h5', 5, 'This session is being continued from a previous conversation.', { isCompactSummary: true }),
        envelope('h6', 6, {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 's' },
              { type: 'text', text: 'On it.' },
            ],
          },
        }),
      ]),
    );

    const { data } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(textsOf(only(data.sessions)).map((t) => [t.ref.line, t.role, t.human])).toEqual([
      [1, 'user', false],
      [2, 'user', true],
      [3, 'user', false],
      [4, 'user', false],
      [5, 'user', false],
      [6, 'assistant', undefined],
    ]);
  });
});

// ---------------------------------------------------------------- damaged files

const rec = (uuid: string, text: string, second = 1): Rec =>
  envelope(uuid, second, { type: 'user', message: { role: 'user', content: text } });

describe('readLogs: damaged lines', () => {
  it('recovers the record after a splice and reports the line', async () => {
    const first = JSON.stringify(rec('s1', 'first'));
    const partial = '{"parentUuid":"s1","isSidechain":false,"type":"user","message":{"role":"user","content":"prNu';
    const spliced = JSON.stringify(toolUse('s2', 2, 'b1', 'Bash', { command: 'nats kv put b k v' }));
    const last = JSON.stringify(rec('s3', 'third', 3));
    await put('sess.jsonl', `${first}\n${partial}${spliced}\n${last}\n`);

    const { data, report } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(report.ok).toBe(true);
    expect(report.stats).toMatchObject({ lines: 3, records: 3, corruptLines: 1 });
    const reason = `spliced record, recovered the record at column ${partial.length + 1}`;
    expect(report.problems).toEqual([{ where: 'sess.jsonl', line: 2, reason }]);
    const session = only(data.sessions);
    expect(session.corrupt).toEqual([
      { path: 'sess.jsonl', line: 2, byteOffset: first.length + 1, reason, excerpt: (partial + spliced).slice(0, 120) },
    ]);
    expect(session.events.map(brief)).toEqual([
      'text:user main sess.jsonl:1',
      'tool main sess.jsonl:2',
      'text:user main sess.jsonl:3',
    ]);
    expect(only(callsOf(session))).toMatchObject({ id: 'b1', command: 'nats kv put b k v', ref: { uuid: 's2' } });
  });

  it('names NUL runs and invalid UTF-8, keeping what can be read', async () => {
    const good = Buffer.from(JSON.stringify(rec('n1', 'ok')) + '\n');
    const nulRun = Buffer.concat([Buffer.alloc(40, 0), Buffer.from('\n')]);
    const nulPrefixed = Buffer.concat([
      Buffer.alloc(8, 0),
      Buffer.from(JSON.stringify(rec('n2', 'after nuls')) + '\n'),
    ]);
    const [pre, post] = JSON.stringify({ note: 'XX', ...rec('n3', 'bad utf-8 before this') }).split('XX');
    const badUtf8 = Buffer.concat([Buffer.from(pre), Buffer.from([0xff, 0xfe]), Buffer.from(post + '\n')]);
    const badNotJson = Buffer.concat([Buffer.from('{"type":"user"'), Buffer.from([0xc3]), Buffer.from('\n')]);
    await put('sess.jsonl', Buffer.concat([good, nulRun, nulPrefixed, badUtf8, badNotJson]));

    const { data, report } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(report.stats).toMatchObject({ lines: 5, records: 3, corruptLines: 4 });
    const session = only(data.sessions);
    // The JSON.parse message varies between Node versions: compare its prefix only.
    const reasonHead = (r: string): string => r.replace(/(invalid JSON: ).*/, '$1');
    expect(session.corrupt.map((c) => [c.line, c.byteOffset, reasonHead(c.reason)])).toEqual([
      [2, good.length, 'NUL bytes'],
      [3, good.length + nulRun.length, 'NUL bytes; record recovered after removing them'],
      [4, good.length + nulRun.length + nulPrefixed.length, 'invalid UTF-8; record kept with U+FFFD replacements'],
      [5, good.length + nulRun.length + nulPrefixed.length + badUtf8.length, 'invalid UTF-8; invalid JSON: '],
    ]);
    expect(session.corrupt[0].excerpt).toBe('\\x00'.repeat(40));
    expect(session.corrupt[2].excerpt.startsWith('{"note":"\\ufffd\\ufffd","parentUuid"')).toBe(true);
    expect(textsOf(session).map((t) => [t.ref.line, t.text])).toEqual([
      [1, 'ok'],
      [3, 'after nuls'],
      [4, 'bad utf-8 before this'],
    ]);
  });

  it('reads CRLF lines and a BOM; blank lines count as lines only', async () => {
    const lines = [JSON.stringify(rec('c1', 'one')), '', '   ', JSON.stringify(rec('c2', 'two'))];
    await put('sess.jsonl', '\uFEFF' + lines.join('\r\n') + '\r\n');

    const { data, report } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(report.stats).toMatchObject({ lines: 4, records: 2, corruptLines: 0 });
    const session = only(data.sessions);
    expect(textsOf(session).map((t) => [t.ref.line, t.text])).toEqual([
      [1, 'one'],
      [4, 'two'],
    ]);
  });

  it('an empty file is a session without events', async () => {
    await put('empty.jsonl', '');

    const { data, report } = await readLogs([path.join(root, 'empty.jsonl')], root);

    expect(report).toMatchObject({ ok: true, stats: { files: 1, bytes: 0, lines: 0, records: 0, sessions: 1 } });
    expect(only(data.sessions)).toMatchObject({ sessionId: 'empty', mainFile: 'empty.jsonl', events: [], corrupt: [] });
  });

  it('marks a cut-off last line', async () => {
    const first = JSON.stringify(rec('t1', 'complete'));
    const cutOff = JSON.stringify(rec('t2', 'never finished')).slice(0, 60);
    await put('sess.jsonl', `${first}\n${cutOff}`);

    const { data, report } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(report.ok).toBe(true);
    const session = only(data.sessions);
    expect(session.truncatedTail).toBe(true);
    expect(session.corrupt).toEqual([
      { path: 'sess.jsonl', line: 2, byteOffset: first.length + 1, reason: 'cut-off last line', excerpt: cutOff },
    ]);
    expect(textsOf(session)).toHaveLength(1);
  });

  it('reports JSON values that are not objects', async () => {
    await put('sess.jsonl', `[1,2]\n"text"\n${JSON.stringify(rec('o1', 'ok'))}\n`);

    const { data } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(only(data.sessions).corrupt.map((c) => [c.line, c.reason])).toEqual([
      [1, 'not a JSON object (array)'],
      [2, 'not a JSON object (string)'],
    ]);
  });

  it('a binary file named .jsonl gives corrupt lines, never an exception, and makes the source partial', async () => {
    const bytes = Buffer.alloc(256 * 1024);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      bytes[i] = x >>> 24;
    }
    await put('blob.jsonl', bytes);
    let newlines = 0;
    for (const b of bytes) if (b === 0x0a) newlines++;
    const lines = newlines + (bytes[bytes.length - 1] === 0x0a ? 0 : 1);

    const { data, report } = await readLogs([path.join(root, 'blob.jsonl')], root);

    // Not one line is a record: the file could not be read, which is said with its real line count; it is no session.
    expect(report.ok).toBe(false);
    expect(report.error).toBe(
      `cannot read blob.jsonl: none of its ${lines} lines is a JSON record (compressed, binary or damaged throughout)`,
    );
    expect(report.stats).toMatchObject({ files: 1, bytes: bytes.length, lines, records: 0, sessions: 0 });
    expect(report.stats.corruptLines).toBeGreaterThan(200);
    expect(data.sessions).toEqual([]);
    const listed = report.problems.filter((p) => p.line !== undefined);
    expect(listed.length).toBe(200);
    for (const c of listed)
      expect(c.reason).toMatch(/^(NUL bytes|invalid UTF-8|invalid JSON|not a JSON object|cut-off last line)/);
    expect(report.problems).toContainEqual({
      where: 'blob.jsonl',
      reason: `${report.stats.corruptLines - 200} more corrupt lines not listed`,
    });
    expect(report.problems.at(-1)).toEqual({ where: 'blob.jsonl', reason: report.error });
  });

  it('parses a 20 MB single line, keeping only a bounded result text', async () => {
    const big = 'x'.repeat(20 * 1024 * 1024);
    const call = JSON.stringify(toolUse('g1', 1, 'b1', 'Bash', { command: 'cat big' }));
    const result = JSON.stringify(toolResult('g2', 2, { tool_use_id: 'b1', content: big, is_error: false }));
    await put('sess.jsonl', `${call}\n${result}\n`);

    const { data, report } = await readLogs([path.join(root, 'sess.jsonl')], root);

    expect(report.stats).toMatchObject({ lines: 2, records: 2, corruptLines: 0 });
    const text = only(callsOf(only(data.sessions))).result!.text;
    expect(text).toBe('x'.repeat(4000) + '…');
  });
});

// ---------------------------------------------------------------- files and sessions

describe('readLogs: inputs', () => {
  it('a missing literal path or an empty glob makes the source not ok', async () => {
    const missing = path.join(root, 'nope', `${SID}.jsonl`);
    const glob = path.join(root, 'logs', '**', '*.jsonl');

    const { data, report } = await readLogs([missing, glob], root);

    expect(data.sessions).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.ref).toBe(`${missing}, ${glob}`);
    expect(report.error).toBe(`log path not found: ${missing} (and 1 more)`);
    expect(report.problems).toEqual([
      { where: missing, reason: `log path not found: ${missing}` },
      { where: glob, reason: `no log files matched ${glob}` },
    ]);
  });

  it('resolves relative patterns against the working directory', async () => {
    const abs = await put('rel/one.jsonl', jsonl([rec('r1', 'hello')]));

    const { data, report } = await readLogs([path.relative(process.cwd(), abs)], root);

    expect(report.ok).toBe(true);
    expect(only(data.sessions)).toMatchObject({ sessionId: 'sess-results', mainFile: 'rel/one.jsonl' });
  });

  it('de-duplicates records a resumed session copied from an earlier file', async () => {
    const original = [rec('d1', 'first question'), toolUse('d2', 2, 'b1', 'Bash', { command: 'ls' })].map((r) => ({
      ...r,
      sessionId: 'old',
    }));
    const resumed = [
      ...original,
      { ...rec('d3', 'follow-up'), sessionId: 'new', timestamp: '2026-01-01T00:10:00.000Z' },
    ];
    const oldFile = await put('zz-old.jsonl', jsonl(original));
    await put('aa-new.jsonl', jsonl(resumed));
    await utimes(oldFile, new Date('2026-01-01T00:05:00Z'), new Date('2026-01-01T00:05:00Z'));

    const { data, report } = await readLogs([root], root);

    expect(report.stats.duplicateRecords).toBe(2);
    const byFile = Object.fromEntries(data.sessions.map((s) => [s.mainFile, s.events.map(brief)]));
    expect(byFile).toEqual({
      'zz-old.jsonl': ['text:user main zz-old.jsonl:1', 'tool main zz-old.jsonl:2'],
      'aa-new.jsonl': ['text:user main aa-new.jsonl:3'],
    });
  });

  it('an agent file given without its session is read as a session of its own', async () => {
    await put(`proj/${SID}/subagents/agent-${AGENT}.jsonl`, await readFile(path.join(COMPOSED, 'agent-a4f09c2.jsonl')));

    const { data } = await readLogs([path.join(root, `proj/${SID}/subagents/agent-${AGENT}.jsonl`)], root);

    const session = only(data.sessions);
    const f = `proj/${SID}/subagents/agent-${AGENT}.jsonl`;
    expect(session).toMatchObject({ sessionId: SID, format: 'transcript', mainFile: f, files: [f] });
    expect(session.events.map(brief)).toEqual([
      `text:user main ${f}:1`,
      `tool main ${f}:2`,
      `text:assistant main ${f}:4`,
    ]);
    expect(textsOf(session)[0].human).toBe(false);
    expect(only(callsOf(session)).result?.isError).toBe(true);
  });
});

describe('defaultLogDirs', () => {
  it('returns the existing project folder under CLAUDE_CONFIG_DIR', async () => {
    const saved = process.env.CLAUDE_CONFIG_DIR;
    process.env.CLAUDE_CONFIG_DIR = path.join(root, 'claude');
    try {
      const dir = path.join(root, 'claude', 'projects', '-home-dev-agent-os-demo');
      expect(defaultLogDirs('/home/dev/agent-os-demo')).not.toContain(dir);
      await mkdir(dir, { recursive: true });
      expect(defaultLogDirs('/home/dev/agent-os-demo')[0]).toBe(dir);
      expect(defaultLogDirs('/home/dev/agent.os_demo')[0]).toBe(dir);
    } finally {
      if (saved === undefined) delete process.env.CLAUDE_CONFIG_DIR;
      else process.env.CLAUDE_CONFIG_DIR = saved;
    }
  });
});

// What a Task result's toolUseResult says of its subagent (status, totalToolUseCount) reaches Spawn.resultDetail,
// the same on the fast path and when every line is parsed whole.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import type { Spawn } from '../../src/model/types.js';

const rec = (n: number, type: string, content: unknown, extra: object = {}) => ({
  parentUuid: n > 1 ? `u${n - 1}` : null,
  isSidechain: false,
  sessionId: 's-1',
  version: '2.1.70',
  cwd: '/home/dev/app',
  type,
  message: { role: type, content },
  uuid: `u${n}`,
  timestamp: `2025-08-21T14:20:0${n}.000Z`,
  ...extra,
});
const task = (n: number, id: string) =>
  rec(n, 'assistant', [
    { type: 'tool_use', id, name: 'Task', input: { subagent_type: 'peer-executor', description: 'x', prompt: 'p' } },
  ]);
const result = (n: number, id: string, detail: unknown) =>
  rec(n, 'user', [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'r' }] }], {
    toolUseResult: detail,
  });

async function spawns(lines: object[], fast: boolean): Promise<Spawn[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pa-detail-'));
  await writeFile(path.join(dir, 's-1.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  if (!fast) process.env.PEER_AUDIT_LOG_FAST_PATH = '0';
  try {
    const { data } = await readLogs([dir], dir);
    return data.sessions.flatMap((s) => s.events.filter((e): e is Spawn => e.kind === 'spawn'));
  } finally {
    delete process.env.PEER_AUDIT_LOG_FAST_PATH;
  }
}

describe('Spawn.resultDetail', () => {
  const lines = [
    task(1, 't1'),
    result(2, 't1', {
      status: 'async_launched',
      agentId: 'a1',
      description: 'x',
      usage: { input_tokens: 3 },
      totalToolUseCount: 0,
    }),
    task(3, 't2'),
    result(4, 't2', { status: 'completed', agentId: 'a2', content: [], totalToolUseCount: 13, totalTokens: 9 }),
    task(5, 't3'),
    result(6, 't3', 'Error: agent crashed'),
    task(7, 't4'),
    result(8, 't4', { agentId: 'a4', totalToolUseCount: 2.5 }),
  ];

  for (const fast of [true, false]) {
    it(`keeps status and totalToolUseCount (${fast ? 'fast path' : 'whole lines'})`, async () => {
      const got = await spawns(lines, fast);
      expect(got.map((s) => [s.id, s.agentId, s.resultDetail])).toEqual([
        ['t1', 'a1', { status: 'async_launched', totalToolUseCount: 0 }],
        ['t2', 'a2', { status: 'completed', totalToolUseCount: 13 }],
        ['t3', undefined, undefined],
        // Not a count: left out.
        ['t4', 'a4', undefined],
      ]);
      expect(got[2].result?.isError).toBe(true);
    });
  }

  it('reads tool_use_result of stream-json output the same way', async () => {
    const stream = [
      { type: 'system', subtype: 'init', session_id: 's-2', claude_code_version: '2.1.70' },
      {
        type: 'assistant',
        parent_tool_use_id: null,
        session_id: 's-2',
        message: { role: 'assistant', content: task(1, 't1').message.content },
      },
      {
        type: 'user',
        parent_tool_use_id: null,
        session_id: 's-2',
        message: { role: 'user', content: result(2, 't1', {}).message.content },
        tool_use_result: { status: 'async_launched', agentId: 'a1', totalToolUseCount: 0 },
      },
    ];
    for (const fast of [true, false]) {
      const got = await spawns(stream, fast);
      expect(got.map((sp) => sp.resultDetail)).toEqual([{ status: 'async_launched', totalToolUseCount: 0 }]);
    }
  });
});

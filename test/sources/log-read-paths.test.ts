// The transcript reader's fast path (records located by byte scanning; only the members the parser uses are
// decoded; long strings decoded only as far as they are read; agent_progress copies decoded only when needed)
// must give exactly what parsing every line whole gives. So must parsing in worker threads (the built CLI).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { runCli } from '../helpers/cli.js';
import { fileBytes, jsonlFile, transcriptRecord } from '../fuzz/gen.js';
import { params } from '../fuzz/runs.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const INCIDENTS = path.join(REPO, 'fixtures', 'incidents');
const COMPOSED = path.join(REPO, 'test', 'fixtures-logs', 'composed');

let base: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'pa-log-paths-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** readLogs with the fast path on, then off (every line parsed whole). */
async function bothPaths(patterns: string[], root: string): Promise<[unknown, unknown]> {
  const fast = await readLogs(patterns, root);
  process.env.PEER_AUDIT_LOG_FAST_PATH = '0';
  try {
    return [fast, await readLogs(patterns, root)];
  } finally {
    delete process.env.PEER_AUDIT_LOG_FAST_PATH;
  }
}

let n = 0;
async function writeCase(files: Record<string, string | Buffer>): Promise<string> {
  const dir = path.join(base, `case-${n++}`);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}

const SID = '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35';
const env = (uuid: string, second: number, extra: Record<string, unknown>) => ({
  parentUuid: null,
  isSidechain: false,
  userType: 'external',
  cwd: '/home/dev/app',
  sessionId: SID,
  version: '2.1.70',
  ...extra,
  uuid,
  timestamp: `2025-08-21T14:20:${String(second).padStart(2, '0')}.000Z`,
});

describe('fast path = whole-line parsing', () => {
  it('on the bundled incidents, the composed layouts and the corrupt corpus', async () => {
    const corrupt = path.join(REPO, 'fixtures', 'corrupt', 'logs');
    for (const dir of [
      COMPOSED,
      corrupt,
      ...['wal-operation-handling-fix', 'v2-skipped-execute', 'v2-review-rewrite', 'healthy-v1', 'healthy-v2'].map(
        (d) => path.join(INCIDENTS, d, 'logs'),
      ),
    ]) {
      const [fast, whole] = await bothPaths([dir], dir);
      expect(fast).toEqual(whole);
    }
  });

  it('on long strings cut short (escapes, wide characters, blank starts), awkward keys and spacing', async () => {
    const long = (unit: string, n: number) => unit.repeat(n);
    const texts = [
      long('plain ascii text ', 900),
      long('→ wide ✓ characters 日本語 ', 700),
      long('line with "quotes" and \\ backslashes\n', 600),
      long('\u0001\u0002 control escapes ', 800),
      `${' '.repeat(9000)}starts blank`,
      `${'\n'.repeat(9000)}after newlines`,
      long('😀 astral ', 2000),
      `${'x'.repeat(3999)}😀${'y'.repeat(9000)}`,
      `❌ Error: far in${' …'.repeat(5000)}`,
    ];
    const lines: string[] = [];
    let s = 0;
    for (const t of texts) {
      const id = `toolu_${s}`;
      lines.push(
        JSON.stringify(
          env(`a${s}`, s % 60, {
            type: 'assistant',
            message: {
              role: 'assistant',
              content: [
                { type: 'text', text: t },
                { type: 'tool_use', id, name: 'Bash', input: { command: t, description: t, other: [t, { deep: t }] } },
              ],
            },
          }),
        ),
      );
      lines.push(
        JSON.stringify(
          env(`u${s}`, s % 60, {
            type: 'user',
            message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: t }] },
            toolUseResult: { stdout: t, agentId: 'x' },
          }),
        ),
      );
      lines.push(JSON.stringify(env(`h${s}`, s % 60, { type: 'user', message: { role: 'user', content: t } })));
      lines.push(
        JSON.stringify(
          env(`w${s}`, s % 60, {
            type: 'assistant',
            message: {
              role: 'assistant',
              content: [
                { type: 'tool_use', id: `w${id}`, name: 'Write', input: { file_path: t.slice(0, 9000), content: t } },
              ],
            },
          }),
        ),
      );
      s++;
    }
    // Spacing, escaped and repeated keys, keys the parser reads written with escapes.
    lines.push(
      `  { "type" : "user" , "message" : { "role" : "user" , "content" : "spaced ${'z'.repeat(9000)}" } , "uuid" : "sp1" , "sessionId" : "${SID}" }  `,
    );
    lines.push(
      `{"type":"assistant","type":"user","message":{"role":"user","content":"second type wins"},"uuid":"dup1","sessionId":"${SID}"}`,
    );
    lines.push(
      `{"\\u0074ype":"user","message":{"role":"user","content":"escaped key"},"uuid":"esc1","sessionId":"${SID}"}`,
    );
    lines.push(
      `{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_0","content":"x"}]},"toolUseResult":[1,2],"tool_use_result":"Error: stream","uuid":"tur1","sessionId":"${SID}"}`,
    );
    lines.push(`{"type":"user","message":{"role":"user","content":"a\\u0000b"},"uuid":"nul1","sessionId":"${SID}"}`);
    lines.push(
      `{"type":"progress","data":{"type":"bash_progress","output":"${'o'.repeat(8000)}"},"uuid":"bp1","sessionId":"${SID}","timestamp":"2025-08-21T14:21:00.000Z"}`,
    );
    lines.push(
      `{"type":"progress","data":{"type":"agent\\u005fprogress","agentId":"zz","message":{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"escaped type"}]}}},"parentToolUseID":"toolu_1","uuid":"ap1","sessionId":"${SID}"}`,
    );
    lines.push(
      `{"type":"user","message":{"role":"user","content":"nested bad [tru]"},"extra":{"k":[1,2,{"a":null}]},"uuid":"nb1","sessionId":"${SID}"}`,
    );
    lines.push(`{"type":"user","message":{"role":"user","content":"trailing"},"uuid":"tr1"}x`);
    lines.push(`{"type":"user","isSidechain":tru,"uuid":"bad-literal"}`);
    const dir = await writeCase({ 'sess.jsonl': `${lines.join('\n')}\n` });
    const [fast, whole] = await bothPaths([dir], dir);
    expect(fast).toEqual(whole);
  });

  it('on agent_progress copies: used where the subagent file is missing, their results where a call has none', async () => {
    const spawn = (id: string, agentId: string, second: number) => [
      env(`sp-${id}`, second, {
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id,
              name: 'Agent',
              input: { subagent_type: 'peer-planner', prompt: `plan ${id}`, description: 'Plan' },
            },
          ],
        },
      }),
      // The copies: a call, its result, a text.
      env(`p1-${id}`, second + 1, {
        type: 'progress',
        parentToolUseID: id,
        data: {
          type: 'agent_progress',
          agentId,
          prompt: `plan ${id}`,
          message: {
            type: 'assistant',
            timestamp: `2025-08-21T14:20:${second + 1}.500Z`,
            message: {
              role: 'assistant',
              content: [{ type: 'tool_use', id: `${id}-bash`, name: 'Bash', input: { command: 'nats kv get b k' } }],
            },
          },
        },
      }),
      env(`p2-${id}`, second + 2, {
        type: 'progress',
        parentToolUseID: id,
        data: {
          type: 'agent_progress',
          agentId,
          message: {
            type: 'user',
            message: {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: `${id}-bash`, content: 'Exit code 1\nnats: error: key not found' },
              ],
            },
          },
        },
      }),
      env(`p3-${id}`, second + 3, {
        type: 'progress',
        parentToolUseID: id,
        data: {
          type: 'agent_progress',
          agentId,
          message: {
            type: 'assistant',
            message: { role: 'assistant', content: [{ type: 'text', text: `done ${id}` }] },
          },
        },
      }),
    ];
    const main = [...spawn('toolu_A', 'aaa111', 1), ...spawn('toolu_B', 'bbb222', 10)]
      .map((r) => JSON.stringify(r))
      .join('\n');
    // Agent A has its own file, whose call never got a result (the file was cut): the copy's result stands in.
    const agentA = [
      {
        ...env('a1', 2, {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_A-bash', name: 'Bash', input: { command: 'nats kv get b k' } }],
          },
        }),
        isSidechain: true,
        agentId: 'aaa111',
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const dir = await writeCase({
      [`${SID}.jsonl`]: `${main}\n`,
      [`${SID}/subagents/agent-aaa111.jsonl`]: `${agentA}\n`,
      [`${SID}/subagents/agent-aaa111.meta.json`]: JSON.stringify({ agentType: 'peer-planner', toolUseId: 'toolu_A' }),
    });
    const [fast, whole] = await bothPaths([dir], dir);
    expect(fast).toEqual(whole);
    const session = (
      fast as { data: { sessions: Array<{ events: Array<{ kind: string; id?: string; result?: { text: string } }> }> } }
    ).data.sessions[0];
    expect(session.events.find((e) => e.id === 'toolu_A-bash')?.result?.text).toContain('key not found');
    expect(session.events.find((e) => e.id === 'toolu_B-bash')?.result?.text).toContain('key not found');
  });

  it('on generated files, damaged lines included', async () => {
    const longRecord = fc
      .tuple(
        transcriptRecord,
        fc.constantFrom('x', '→', '\\', '"', '\n', ' ', '😀'),
        fc.integer({ min: 5000, max: 12000 }),
      )
      .map(([r, unit, count]) => {
        const text = unit.repeat(count);
        const msg = (r.message ?? { role: 'user', content: text }) as Record<string, unknown>;
        return Buffer.from(
          JSON.stringify({
            ...r,
            message: {
              ...msg,
              content: [
                { type: 'text', text },
                { type: 'tool_result', tool_use_id: 'toolu_1', content: text },
              ],
            },
          }),
        );
      });
    const file = fc
      .record({ base: jsonlFile, extra: fc.array(longRecord, { maxLength: 3 }) })
      .map(({ base, extra }) => fileBytes({ ...base, lines: [...base.lines, ...extra] }));
    await fc.assert(
      fc.asyncProperty(file, async (bytes) => {
        const dir = await writeCase({ 'sess.jsonl': bytes });
        const [fast, whole] = await bothPaths([dir], dir);
        expect(fast).toEqual(whole);
        await rm(dir, { recursive: true, force: true });
      }),
      params(150),
    );
  });
});

describe('worker threads = one thread (built CLI)', () => {
  it('gives the same report on every bundled incident', async () => {
    for (const name of ['wal-operation-handling-fix', 'v2-skipped-execute', 'v2-review-rewrite', 'healthy-v2']) {
      const cwd = path.join(INCIDENTS, name);
      const args = [
        'scan',
        '--kv-snapshot',
        'kv-snapshot.jsonl',
        '--logs',
        'logs',
        '--no-default-logs',
        '--now',
        '2026-01-01T00:00:00Z',
        '--format',
        'json',
      ];
      const one = await runCli(args, { cwd, env: { PEER_AUDIT_LOG_THREADS: '0' } });
      const two = await runCli(args, { cwd, env: { PEER_AUDIT_LOG_THREADS: '2' } });
      const strip = (out: string) => ({ ...JSON.parse(out), generatedAt: undefined });
      expect(two.code).toBe(one.code);
      expect(strip(two.stdout)).toEqual(strip(one.stdout));
    }
  });
});

describe('line splitting across read chunks', () => {
  it('reads lines that straddle the 1 MiB reads, with their byte offsets', async () => {
    const recs: string[] = [];
    for (let i = 0; i < 400; i++)
      recs.push(
        JSON.stringify(
          env(`c${i}`, i % 60, {
            type: 'user',
            message: { role: 'user', content: `${i} ${'y'.repeat((i * 7919) % 20000)}` },
          }),
        ),
      );
    const text = `\uFEFF${recs.join('\r\n')}\n`;
    const dir = await writeCase({ 'big.jsonl': text });
    const { data, report } = await readLogs([dir], dir);
    expect(report.stats).toMatchObject({ lines: 400, records: 400, corruptLines: 0 });
    const events = data.sessions[0].events;
    expect(events).toHaveLength(400);
    expect(events.map((e) => e.ref.line).sort((a, b) => a - b)).toEqual(recs.map((_, i) => i + 1));
    for (const e of events)
      if (e.kind === 'text')
        expect(e.text.startsWith(`${e.ref.line - 1} y`) || e.text === `${e.ref.line - 1} `).toBe(true);
    const raw = await readFile(path.join(dir, 'big.jsonl'));
    expect(raw.length).toBe(report.stats.bytes);
  });
});

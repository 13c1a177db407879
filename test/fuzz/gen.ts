// Generators for the property tests: transcript records and the ways files really get damaged,
// PEER state values of every generation (and mutations of them), KV data, and spec Markdown.
import fc from 'fast-check';
import type { KvData, KvRevision } from '../../src/model/types.js';
import { done, v1Cycle, v1Meta, v2Cycle } from '../rules/state-fixtures.js';

// ---------------------------------------------------------------- bytes

/** Byte sequences that are not valid UTF-8: a stray continuation, a cut sequence, overlong, a surrogate, 0xFF. */
export const invalidUtf8 = fc.constantFrom(
  Buffer.from([0x80]),
  Buffer.from([0xc3]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
);

export const bytes = (maxLength = 64) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));

/** Text of every kind: ASCII, full Unicode (lone surrogates included), and the characters parsers trip on. */
export const anyText = (maxLength = 40) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({
      unit: fc.constantFrom(
        '\0',
        '\r',
        '\n',
        '\t',
        '\u001b',
        '\u2028',
        '\ufeff',
        '\ufffd',
        '"',
        '\\',
        '{',
        '}',
        'x',
        ' ',
      ),
      maxLength,
    }),
  );

// ---------------------------------------------------------------- transcript records

const SESSION_IDS = ['s-1', 's-2', '7f3c2a10-5b8e-4c1d-9a6f-2e4b8c0d1f35'];
const SPEC = 'fuzz-target-spec';
const PREFIX = `peer.spec.${SPEC}`;
const AGENTS = ['peer-planner', 'peer-executor', 'peer-express', 'peer-review', 'general-purpose', ''];
const COMMANDS = [
  `nats kv get agent-os-peer-state "${PREFIX}.cycle.1" --raw`,
  `nats kv put agent-os-peer-state "${PREFIX}.meta" '{"current_phase":"complete"}'`,
  `~/.agent-os/scripts/peer/read-state.sh "${PREFIX}.cycle.1"`,
  `jq '.phases.execute.status = "complete"' state.json | nats kv put agent-os-peer-state ${PREFIX}.cycle.1`,
  "cat > spec.md << 'EOF'\n# Spec\nEOF < /dev/null",
  'echo key_prefix=peer.spec.fuzz-target-spec; echo current_cycle=1',
  'ls',
];
const RESULTS = [
  'Exit code 1\nnats: error: nats: key not found',
  '❌ Error: Could not retrieve cycle data',
  '✅ PEER cycle 1 completed successfully',
  'key_prefix=peer.spec.fuzz-target-spec\ncurrent_cycle=1',
  'ok',
  '',
];
const TEXTS = [
  'Now invoking the peer-executor subagent to execute the create-spec instruction',
  '✅ PEER cycle 1 completed successfully',
  'Planning phase complete.',
  'Please review the spec and tell me if it is right.',
  'yes, looks good',
  '[Request interrupted by user]',
];

const time = fc
  .integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 11, 31) })
  .map((ms) => new Date(ms).toISOString());
const toolId = fc.constantFrom('toolu_1', 'toolu_2', 'toolu_3', 'toolu_4');
const text = fc.oneof(fc.constantFrom(...TEXTS), anyText(60));

const contentBlock = fc.oneof(
  fc.record({ type: fc.constant('text'), text }),
  fc.record({
    type: fc.constant('tool_use'),
    id: toolId,
    name: fc.constantFrom('Bash', 'Task', 'Agent', 'Write', 'Read'),
    input: fc.record(
      {
        command: fc.constantFrom(...COMMANDS),
        subagent_type: fc.constantFrom(...AGENTS),
        description: text,
        prompt: fc.constantFrom(`STATE_KEY: ${PREFIX}.cycle.1`, `do work for ${PREFIX}`, 'x'),
        file_path: fc.constantFrom('.agent-os/specs/2025-08-05-fuzz-target-spec/tasks.md', '/tmp/x'),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record(
    {
      type: fc.constant('tool_result'),
      tool_use_id: toolId,
      content: fc.oneof(
        fc.constantFrom(...RESULTS),
        fc.array(fc.record({ type: fc.constant('text'), text: fc.constantFrom(...RESULTS, 'agentId: a4f09c2') }), {
          maxLength: 3,
        }),
      ),
      is_error: fc.boolean(),
    },
    { requiredKeys: ['type', 'tool_use_id'] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const message = fc.record({
  role: fc.constantFrom('user', 'assistant'),
  content: fc.oneof(text, fc.array(contentBlock, { maxLength: 4 })),
});

/** A transcript record of the shapes Claude Code writes, with optional fields dropped and odd values mixed in. */
export const transcriptRecord: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        parentUuid: fc.option(fc.constantFrom('u1', 'u2', 'u3', 'u4'), { nil: null }),
        isSidechain: fc.boolean(),
        sessionId: fc.constantFrom(...SESSION_IDS),
        version: fc.constantFrom('1.0.69', '2.0.27', '2.1.39'),
        cwd: fc.constant('/home/dev/app'),
        type: fc.constantFrom('user', 'assistant', 'system', 'summary', 'attachment'),
        message,
        uuid: fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'),
        timestamp: fc.oneof(time, fc.constant('not a time')),
        isMeta: fc.boolean(),
        agentId: fc.constantFrom('a4f09c2', 'b1'),
        toolUseResult: fc.oneof(fc.constant('Error: failed'), fc.record({ agentId: fc.constantFrom('a4f09c2', 'b1') })),
      },
      { requiredKeys: ['type', 'uuid', 'sessionId'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('progress'),
      parentToolUseID: toolId,
      sessionId: fc.constantFrom(...SESSION_IDS),
      uuid: fc.constantFrom('p1', 'p2'),
      timestamp: time,
      data: fc.record({
        type: fc.constant('agent_progress'),
        agentId: fc.constantFrom('a4f09c2', 'b1'),
        message: fc.record({ type: fc.constantFrom('user', 'assistant'), message, timestamp: time }),
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        type: fc.constantFrom('system', 'result', 'assistant', 'user'),
        subtype: fc.constantFrom('init', 'success', 'error_during_execution', 'task_started'),
        session_id: fc.constantFrom(...SESSION_IDS),
        parent_tool_use_id: fc.option(toolId, { nil: null }),
        tool_use_id: toolId,
        task_id: fc.constantFrom('a4f09c2', 'b1'),
        is_error: fc.boolean(),
        result: text,
        message,
      },
      { requiredKeys: ['type', 'session_id'] },
    ),
  },
);

// ---------------------------------------------------------------- damage to lines and files

/** One physical line's bytes (no newline), as it might be found in a transcript. */
export type LineSpec = Buffer;

const line = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');

/** A good line, or one of the ways a line gets damaged. */
export const damagedLine: fc.Arbitrary<LineSpec> = fc.oneof(
  { weight: 8, arbitrary: transcriptRecord.map(line) },
  // spliced: a record cut somewhere, then another record glued on (`…"prNu{"parentUuid"…`)
  {
    weight: 2,
    arbitrary: fc.tuple(transcriptRecord, transcriptRecord, fc.nat()).map(([a, b, at]) => {
      const s = JSON.stringify(a);
      return Buffer.from(s.slice(0, at % (s.length + 1)) + JSON.stringify({ parentUuid: 'u9', ...b }), 'utf8');
    }),
  },
  // cut short
  {
    weight: 2,
    arbitrary: fc.tuple(transcriptRecord, fc.nat()).map(([r, at]) => {
      const b = line(r);
      return b.subarray(0, at % (b.length + 1));
    }),
  },
  // a run of NUL bytes, alone or inside a record
  {
    weight: 1,
    arbitrary: fc
      .tuple(transcriptRecord, fc.nat(), fc.integer({ min: 1, max: 64 }), fc.boolean())
      .map(([r, at, n, alone]) => {
        if (alone) return Buffer.alloc(n);
        const b = line(r);
        const i = at % (b.length + 1);
        return Buffer.concat([b.subarray(0, i), Buffer.alloc(n), b.subarray(i)]);
      }),
  },
  // invalid UTF-8 somewhere
  {
    weight: 1,
    arbitrary: fc.tuple(transcriptRecord, fc.nat(), invalidUtf8).map(([r, at, bad]) => {
      const b = line(r);
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), bad, b.subarray(i)]);
    }),
  },
  // any JSON value (arrays, numbers, strings, null…)
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(line) },
  // garbage and whitespace
  { weight: 1, arbitrary: bytes(80).map((b) => Buffer.from(b.filter((x) => x !== 0x0a))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Buffer.from(''),
      Buffer.from('   '),
      Buffer.from('\t'),
      Buffer.from('\u00a0'),
      Buffer.from('}'),
      Buffer.from('{"type":"user"}}'),
      Buffer.from('EOF'),
    ),
  },
  // a record with an extra field full of awkward text
  { weight: 1, arbitrary: fc.tuple(transcriptRecord, anyText(30)).map(([r, t]) => line({ ...r, note: t })) },
);

export interface FileSpec {
  lines: LineSpec[];
  crlf: boolean;
  bom: boolean;
  /** Newline after the last line. */
  finalNewline: boolean;
}

export const jsonlFile: fc.Arbitrary<FileSpec> = fc.record({
  lines: fc.array(damagedLine, { maxLength: 24 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean(),
});

export function fileBytes(f: FileSpec): Buffer {
  const nl = Buffer.from(f.crlf ? '\r\n' : '\n');
  const parts: Buffer[] = [];
  if (f.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  f.lines.forEach((l, i) => {
    parts.push(l);
    if (i < f.lines.length - 1 || f.finalNewline) parts.push(nl);
  });
  return Buffer.concat(parts);
}

/** Physical lines of a file as peer-audit defines them: split on 0x0A, no phantom line after a final newline. */
export function physicalLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
    out.push(buf.subarray(start, i));
    start = i + 1;
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

// ---------------------------------------------------------------- PEER state values

const statusWord = fc.constantFrom(
  'complete',
  'completed',
  'COMPLETE',
  'COMPLETED',
  'ERROR',
  'planning',
  'in_progress',
  'pending',
  'running',
  'failed',
  'INITIALIZED',
  'EXECUTING',
  'REVIEWING',
  '',
  'weird',
);
const phaseEntry = fc.oneof(
  fc.constant(done()),
  fc.record(
    { status: statusWord, started_at: time, completed_at: time, output: fc.jsonValue({ maxDepth: 2 }) },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const phases = fc.dictionary(fc.constantFrom('plan', 'execute', 'express', 'review', 'other'), phaseEntry, {
  maxKeys: 5,
});

/** v1 meta, v1 cycle, v2 cycle values: well-formed ones and ones with fields of the wrong type. */
export const stateValue: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(SPEC, 'x', ''),
      fc.record(
        {
          current_cycle: fc.oneof(fc.nat(5), fc.constant('2'), fc.jsonValue({ maxDepth: 1 })),
          current_phase: statusWord,
        },
        { requiredKeys: [] },
      ),
    )
    .map(([s, over]) => v1Meta(s, over)),
  fc
    .tuple(
      phases,
      fc.record(
        {
          status: fc.oneof(
            fc.record({
              current_phase: statusWord,
              progress_percent: fc.oneof(fc.integer({ min: -10, max: 200 }), fc.constant('100')),
            }),
            statusWord,
          ),
          completed_at: time,
          result: fc.record({ success: fc.boolean() }),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([p, over]) => v1Cycle(p, over)),
  fc
    .tuple(
      fc.constantFrom(PREFIX, 'peer.global', 'peer.instruction.plan-product'),
      fc.nat(4),
      statusWord,
      fc.dictionary(
        fc.constantFrom('plan', 'execute', 'express', 'review'),
        fc.constantFrom('completed', 'pending', 'running', 'failed'),
      ),
    )
    .map(([prefix, n, status, ph]) => v2Cycle(prefix, n, status, ph)),
);

/** Replace the value at a random path with another value (or delete it): the drift agents really produce. */
export const mutatedStateValue: fc.Arbitrary<unknown> = fc
  .tuple(
    stateValue,
    fc.array(fc.tuple(fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined))), { maxLength: 4 }),
  )
  .map(([value, edits]) => {
    const copy = structuredClone(value) as unknown;
    for (const [pick, replacement] of edits) {
      const holders: Array<[Record<string, unknown>, string]> = [];
      const walk = (v: unknown): void => {
        if (typeof v !== 'object' || v === null) return;
        for (const [k, child] of Object.entries(v)) {
          holders.push([v as Record<string, unknown>, k]);
          walk(child);
        }
      };
      walk(copy);
      if (holders.length === 0) continue;
      const [obj, k] = holders[pick % holders.length];
      if (replacement === undefined) delete obj[k];
      else obj[k] = replacement;
    }
    return copy;
  });

/** Bytes of a state value: well-formed JSON, JSON damaged the ways values really get damaged, or anything. */
export const valueBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: mutatedStateValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: stateValue.map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 1, arbitrary: bytes(48) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(stateValue, fc.constantFrom('\nEOF', '}', ' EOF < /dev/null', '\u0000', '\u0001', '\n', ''), fc.boolean())
      .map(([v, tail, raw]) => {
        const s = JSON.stringify(v);
        // raw control characters inside the text, or junk after it
        return Buffer.from(raw ? s.replace('"', `"${tail}`) : s + tail);
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(stateValue, fc.nat()).map(([v, at]) => {
      const b = Buffer.from(JSON.stringify(v));
      return b.subarray(0, at % (b.length + 1));
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(stateValue, fc.nat(), invalidUtf8).map(([v, at, bad]) => {
      const b = Buffer.from(JSON.stringify(v));
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), bad, b.subarray(i)]);
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', ' ', '1', '"2"', 'null', '3\n', 'x', '-1', '1e400', '{}', '[]')
      .map((s) => Buffer.from(s)),
  },
);

/** KV keys: every generation's layout, the malformed ones agents wrote, and anything at all (1,000 characters too). */
export const kvKey: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      `${PREFIX}.meta`,
      `${PREFIX}.cycle.1`,
      `${PREFIX}.cycle.2`,
      `${PREFIX}.cycle.current`,
      'peer.global.cycle.1',
      'peer.global.cycle.current',
      'peer.instruction.plan-product.meta',
      'peer.instruction.plan-product.cycle.1',
      'peer.spec..cycle.1',
      'peer:spec:x:cycle:1',
      'peer.spec.x.cycle.007',
      'peer.spec.x.cycle.99999999999999999999',
      'peer.meta',
      'other.key',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('peer.spec.', 'peer.instruction.', 'peer.', ''),
        anyText(20),
        fc.constantFrom('.meta', '.cycle.1', '.cycle.current', ''),
      )
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: fc.constantFrom(`peer.spec.${'l'.repeat(1000 - 18)}.cycle.1`, 'k'.repeat(1000)) },
);

export interface RevSpec {
  key: string;
  op: 'PUT' | 'DEL' | 'PURGE';
  value: Buffer;
  /** Milliseconds added to the previous revision's time (may be 0). */
  gap: number;
}

export const revSpec: fc.Arbitrary<RevSpec> = fc.record({
  key: kvKey,
  op: fc.oneof(
    { weight: 8, arbitrary: fc.constant('PUT' as const) },
    { weight: 1, arbitrary: fc.constantFrom('DEL' as const, 'PURGE' as const) },
  ),
  value: valueBytes,
  gap: fc.integer({ min: 0, max: 3_600_000 }),
});

/** A bucket: revisions numbered in order (with gaps, like a bucket whose history dropped some), a config, maybe none. */
export const kvDataArb: fc.Arbitrary<KvData> = fc
  .record({
    revs: fc.array(revSpec, { maxLength: 14 }),
    gaps: fc.array(fc.nat(3), { maxLength: 14 }),
    start: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 0, 1) }),
    config: fc.option(
      fc.record({ history: fc.integer({ min: 1, max: 64 }), replicas: fc.integer({ min: 1, max: 5 }) }),
      { nil: undefined },
    ),
  })
  .map(({ revs, gaps, start, config }) => {
    const keys = new Map<string, KvRevision[]>();
    let revision = 0;
    let t = start;
    revs.forEach((r, i) => {
      revision += 1 + (gaps[i] ?? 0);
      t += r.gap;
      const rev: KvRevision = {
        key: r.key,
        revision,
        operation: r.op,
        created: new Date(t).toISOString(),
        value: r.op === 'PUT' ? new Uint8Array(r.value) : new Uint8Array(0),
      };
      keys.set(r.key, [...(keys.get(r.key) ?? []), rev]);
    });
    const data: KvData = {
      bucket: 'agent-os-peer-state',
      origin: 'snapshot',
      originRef: 'fuzz',
      takenAt: new Date(t + 1000).toISOString(),
      keys,
    };
    if (config) data.config = config;
    return data;
  });

// ---------------------------------------------------------------- Markdown

const mdLine = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '# Spec Requirements Document',
      '## Overview',
      '## User Stories',
      '## Spec Scope',
      '## Out of Scope',
      '## Expected Deliverable',
      '# Spec Tasks',
      '## Tasks',
      '',
      '',
      'A sentence that ends.',
      'A sentence that stops mid',
      '```',
      '```bash',
      'EOF < /dev/null',
      'EOF',
      "cat > spec.md << 'EOF'",
      '> Created: 2025-08-05',
      '⚠️ Blocking issue: the executor never ran',
      '- Not a task',
      '1. Numbered',
    ),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '  ', '    ', '\t', ' \t'),
        fc.constantFrom('-', '*', '+'),
        fc.constantFrom('[ ]', '[x]', '[X]', '[]', '[-]'),
        fc.constantFrom('1.', '1.1', '2.', '2.3', '10.', '', 'x.'),
        anyText(20),
      )
      .map(([indent, bullet, box, num, t]) => `${indent}${bullet} ${box} ${num} ${t}`),
  },
  { weight: 2, arbitrary: anyText(50) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(5000)) },
);

export interface MdSpec {
  lines: string[];
  crlf: boolean;
  bom: boolean;
  finalNewline: boolean;
  /** Raw bytes spliced in (NUL runs, invalid UTF-8), at a position. */
  junk?: { at: number; bytes: Buffer };
}

export const markdown: fc.Arbitrary<MdSpec> = fc.record(
  {
    lines: fc.array(mdLine, { maxLength: 30 }),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    finalNewline: fc.boolean(),
    junk: fc.record({
      at: fc.nat(),
      bytes: fc.oneof(
        invalidUtf8,
        fc.integer({ min: 1, max: 8 }).map((n) => Buffer.alloc(n)),
      ),
    }),
  },
  { requiredKeys: ['lines', 'crlf', 'bom', 'finalNewline'] },
);

export function markdownBytes(m: MdSpec): Buffer {
  const nl = m.crlf ? '\r\n' : '\n';
  const body = Buffer.from(m.lines.join(nl) + (m.finalNewline && m.lines.length ? nl : ''), 'utf8');
  let out = m.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
  if (m.junk) {
    const i = m.junk.at % (out.length + 1);
    out = Buffer.concat([out.subarray(0, i), m.junk.bytes, out.subarray(i)]);
  }
  return out;
}

export { SPEC as FUZZ_SPEC, PREFIX as FUZZ_PREFIX };

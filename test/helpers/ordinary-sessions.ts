// Ordinary Claude Code sessions of a project, none of them a PEER run, in the shapes Claude Code wrote them from
// 1.0.51 to 2.1.x (see the transcript format notes): inline sidechains, sibling agent files, subagents/ folders
// with agent_progress mirrors and meta.json sidecars, the Agent tool name, stream-json output. They hold what a
// project's log folder is full of: sessions the user stopped ("[Request interrupted by user]"), failing Bash
// calls, tool errors, hook warnings, slash commands, a project that uses NATS KV for itself.
import { promises as fs } from 'node:fs';
import path from 'node:path';

type Rec = Record<string, unknown>;

let files = 0;

/** One file of a session's records, written one per line with a chained envelope like Claude Code's. */
class Session {
  /** Records of different files never share a uuid. */
  private readonly file = String(++files % 10000).padStart(4, '0');
  readonly lines: Rec[] = [];
  private n = 0;
  private last: string | null = null;
  private clock: number;
  constructor(
    readonly id: string,
    readonly version: string,
    start: string,
    private readonly cwd = '/home/dev/shop',
  ) {
    this.clock = Date.parse(start);
  }
  private env(extra: Rec, sidechain = false, agentId?: string): Rec {
    this.n++;
    this.clock += 2000;
    const uuid = `${this.id.slice(0, 8)}-${this.file}-4000-8000-${String(this.n).padStart(12, '0')}`;
    const rec: Rec = {
      parentUuid: this.last,
      isSidechain: sidechain,
      userType: 'external',
      cwd: this.cwd,
      sessionId: this.id,
      version: this.version,
      gitBranch: 'main',
      ...(agentId ? { agentId } : {}),
      ...extra,
      uuid,
      timestamp: new Date(this.clock).toISOString(),
    };
    this.last = uuid;
    return rec;
  }
  push(extra: Rec, sidechain = false, agentId?: string): this {
    this.lines.push(this.env(extra, sidechain, agentId));
    return this;
  }
  /** A sidechain root: a new chain with no parent. */
  root(prompt: string, agentId?: string): this {
    this.last = null;
    return this.push({ type: 'user', message: { role: 'user', content: prompt } }, true, agentId);
  }
  human(text: string, extra: Rec = {}): this {
    return this.push({ type: 'user', message: { role: 'user', content: text }, ...extra });
  }
  meta(text: string): this {
    return this.push({ type: 'user', isMeta: true, message: { role: 'user', content: text } });
  }
  say(text: string, sidechain = false, agentId?: string): this {
    return this.push(
      {
        type: 'assistant',
        requestId: `req_${this.n}`,
        message: {
          id: `msg_${this.id.slice(0, 6)}_${this.n}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5-20250929',
          content: [{ type: 'text', text }],
          stop_reason: null,
          usage: { input_tokens: 3, output_tokens: 40 },
        },
      },
      sidechain,
      agentId,
    );
  }
  use(id: string, name: string, input: Rec, sidechain = false, agentId?: string): this {
    return this.push(
      {
        type: 'assistant',
        requestId: `req_${this.n}`,
        message: {
          id: `msg_${this.id.slice(0, 6)}_${this.n}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5-20250929',
          content: [{ type: 'tool_use', id, name, input }],
          stop_reason: null,
          usage: { input_tokens: 3, output_tokens: 60 },
        },
      },
      sidechain,
      agentId,
    );
  }
  result(
    id: string,
    content: unknown,
    opts: { isError?: boolean; toolUseResult?: unknown } = {},
    sidechain = false,
    agentId?: string,
  ): this {
    const block: Rec = { tool_use_id: id, type: 'tool_result', content };
    if (opts.isError !== undefined) block.is_error = opts.isError;
    return this.push(
      {
        type: 'user',
        message: { role: 'user', content: [block] },
        ...(opts.toolUseResult !== undefined ? { toolUseResult: opts.toolUseResult } : {}),
      },
      sidechain,
      agentId,
    );
  }
  /** A Bash call and its result; a failure is written the way Claude Code writes one (string toolUseResult). */
  bash(id: string, command: string, out: string, code = 0, sidechain = false, agentId?: string): this {
    this.use(id, 'Bash', { command, description: command.slice(0, 30) }, sidechain, agentId);
    return code === 0
      ? this.result(
          id,
          out,
          { isError: false, toolUseResult: { stdout: out, stderr: '', interrupted: false, isImage: false } },
          sidechain,
          agentId,
        )
      : this.result(
          id,
          `Exit code ${code}\n${out}`,
          { isError: true, toolUseResult: `Error: Exit code ${code}\n${out}` },
          sidechain,
          agentId,
        );
  }
  other(rec: Rec): this {
    this.lines.push(rec);
    return this;
  }
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  }
}

export interface WrittenSessions {
  /** Every file written, relative to the log folder. */
  files: string[];
  /** Main sessions (what the scan counts as sessions). */
  sessions: number;
}

/**
 * Writes the ordinary sessions into `dir` (a Claude Code project folder, or any log folder). `peerCommand` turns
 * the first session into a PEER run (its first turn is a `/peer` command) and leaves everything else as it is.
 */
export async function writeOrdinarySessions(
  dir: string,
  opts: { peerCommand?: boolean } = {},
): Promise<WrittenSessions> {
  files = 0;
  const written = new Map<string, string>();

  // 1.0.51: a summary line, a failing test run, a Task (no subagent_type yet) whose sidechain is inline,
  // then the user stops an Edit: the call never gets a result.
  const a = new Session('1a5e0c51-2b4d-4c6e-8f10-aa0000000001', '1.0.51', '2025-07-02T09:00:00.000Z');
  a.other({
    type: 'summary',
    summary: 'Fixing the cart total rounding',
    leafUuid: '1a5e0c51-0000-4000-8000-000000000009',
  });
  if (opts.peerCommand)
    a.human(
      '<command-message>peer is running…</command-message>\n<command-name>/peer</command-name>\n<command-args>--instruction=execute-tasks</command-args>',
    );
  else a.human('The cart total is off by a cent for some discounts. Can you find out why?');
  a.say('I will run the tests first to see what fails.')
    .bash(
      'toolu_a1',
      'npm test -- cart',
      'FAIL src/cart.test.ts\n  ● total › applies percentage discount\n    expected 19.99, received 19.98',
      1,
    )
    .say('One test fails. Let me search the code for the rounding.')
    .use('toolu_a2', 'Task', {
      description: 'Find rounding code',
      prompt: 'Find every place the cart rounds money amounts.',
    })
    .root('Find every place the cart rounds money amounts.')
    .use('toolu_a2s', 'Grep', { pattern: 'Math.round', path: 'src' }, true)
    .result('toolu_a2s', 'src/cart.ts\nsrc/price.ts', {}, true)
    .say('Rounding happens in src/cart.ts:41 and src/price.ts:12.', true);
  a.result('toolu_a2', [{ type: 'text', text: 'Rounding happens in src/cart.ts:41 and src/price.ts:12.' }])
    .say('The discount is rounded before the tax. I will change src/cart.ts.')
    .use('toolu_a3', 'Edit', {
      file_path: '/home/dev/shop/src/cart.ts',
      old_string: 'Math.round(x * 100) / 100',
      new_string: 'roundHalfEven(x)',
    })
    .human('[Request interrupted by user for tool use]');
  written.set('1a5e0c51-2b4d-4c6e-8f10-aa0000000001.jsonl', a.text());

  // 1.0.89: command caveats, a local command, a hook warning, the project's own NATS KV (not PEER's) failing,
  // a person asking for a "peer review", a mention of the /peer command in a sentence, and a stop mid-call.
  const b = new Session('2b6f1d89-3c5e-4d7f-9021-bb0000000002', '1.0.89', '2025-08-20T14:00:00.000Z');
  b.meta(
    'Caveat: The messages below were generated by the user while running local commands. DO NOT respond to these messages or otherwise consider them in your response unless the user explicitly asks you to.',
  )
    .human(
      '<command-name>/clear</command-name>\n<command-message>clear</command-message>\n<command-args></command-args>',
    )
    .human('<bash-input>git status</bash-input>')
    .human(
      '<bash-stdout>On branch main\nnothing to commit, working tree clean</bash-stdout><bash-stderr></bash-stderr>',
    )
    .human(
      'Settings are not loaded at start. They live in NATS KV. Check the settings key; also I rewrote the docs of the /peer command yesterday, ignore those.',
    )
    .bash(
      'toolu_b1',
      'nats --server nats://127.0.0.1:4222 kv get config app.settings --raw',
      'nats: error: nats: key not found',
      1,
    )
    .push({
      type: 'system',
      content: 'PostToolUse:Bash [./hooks/lint.sh] failed with non-blocking status code 1: lint not configured',
      level: 'warning',
      toolUseID: 'toolu_b1',
    })
    .bash('toolu_b2', 'nats -s nats://127.0.0.1:4222 kv ls config', 'app.defaults\napp.flags')
    .say('The key is app.defaults, not app.settings. I will update the loader.')
    .bash(
      'toolu_b3',
      'npx tsc --noEmit',
      "src/settings.ts(12,7): error TS2322: Type 'string' is not assignable to type 'number'.",
      2,
    )
    .human('Also, can you do a peer review of my last commit?')
    .use('toolu_b4', 'Bash', { command: 'git show --stat HEAD', description: 'Show last commit' })
    .human('[Request interrupted by user]');
  written.set('2b6f1d89-3c5e-4d7f-9021-bb0000000002.jsonl', b.text());

  // 2.0.30: an Explore subagent in a sibling agent-<id>.jsonl whose Bash fails (exit 127), a Warmup agent file no
  // Task spawned, and a session that ends with a call still running (the terminal was closed).
  const c = new Session('3c7a2e30-4d6f-4e80-a132-cc0000000003', '2.0.30', '2025-10-29T08:30:00.000Z');
  c.human('Where do we send the order confirmation e-mail?')
    .use('toolu_c1', 'Task', {
      description: 'Explore mail code',
      subagent_type: 'Explore',
      prompt: 'Find where order confirmation e-mails are sent.',
    })
    .result('toolu_c1', [{ type: 'text', text: 'Sent from src/mail/confirm.ts via the queue worker.' }], {
      toolUseResult: {
        status: 'completed',
        agentId: 'e1d0c0f3',
        content: [{ type: 'text', text: 'Sent from src/mail/confirm.ts via the queue worker.' }],
      },
    })
    .say('It is sent from src/mail/confirm.ts by the queue worker. Let me check the worker is running.')
    .use('toolu_c2', 'Bash', { command: 'docker compose logs -f worker', description: 'Follow worker logs' });
  written.set('3c7a2e30-4d6f-4e80-a132-cc0000000003.jsonl', c.text());
  const cAgent = new Session('3c7a2e30-4d6f-4e80-a132-cc0000000003', '2.0.30', '2025-10-29T08:30:03.000Z');
  cAgent
    .push(
      { type: 'user', message: { role: 'user', content: 'Find where order confirmation e-mails are sent.' } },
      true,
      'e1d0c0f3',
    )
    .bash('toolu_c1a', 'rg -n "confirmation" src', 'bash: rg: command not found', 127, true, 'e1d0c0f3')
    .use('toolu_c1b', 'Grep', { pattern: 'confirmation', path: 'src' }, true, 'e1d0c0f3')
    .result('toolu_c1b', 'src/mail/confirm.ts', {}, true, 'e1d0c0f3')
    .say('Sent from src/mail/confirm.ts via the queue worker.', true, 'e1d0c0f3');
  written.set('agent-e1d0c0f3.jsonl', cAgent.text());
  const warm = new Session('3c7a2e30-4d6f-4e80-a132-cc0000000003', '2.0.30', '2025-10-29T08:29:58.000Z');
  warm
    .push({ type: 'user', message: { role: 'user', content: 'Warmup' } }, true, 'a0a0b1b1')
    .say('Ready.', true, 'a0a0b1b1');
  written.set('agent-a0a0b1b1.jsonl', warm.text());

  // 2.1.39: snapshots and queue operations, a Plan subagent in <session>/subagents/ mirrored by agent_progress
  // records, a compaction agent file, and a session the user stopped after a tool result (nothing said after it).
  const d = new Session('4d8b3f39-5e70-4f91-b243-dd0000000004', '2.1.39', '2026-01-15T16:00:00.000Z');
  d.other({
    type: 'file-history-snapshot',
    messageId: 'snap-1',
    snapshot: { messageId: 'snap-1', trackedFileBackups: {}, timestamp: '2026-01-15T16:00:00.500Z' },
    isSnapshotUpdate: false,
  })
    .other({
      type: 'queue-operation',
      operation: 'enqueue',
      timestamp: '2026-01-15T16:00:01.000Z',
      sessionId: d.id,
      content: 'plan the checkout refactor',
    })
    .human('Plan the checkout refactor before we start.', {
      thinkingMetadata: { maxThinkingTokens: 31999 },
      todos: [],
      permissionMode: 'plan',
    })
    .use('toolu_d1', 'Task', {
      description: 'Plan checkout refactor',
      subagent_type: 'Plan',
      prompt: 'Plan a refactor of src/checkout into smaller modules.',
    })
    .push({
      type: 'progress',
      data: {
        type: 'agent_progress',
        agentId: 'a7c1e22',
        prompt: 'Plan a refactor of src/checkout into smaller modules.',
        message: {
          type: 'assistant',
          timestamp: '2026-01-15T16:00:09.000Z',
          message: {
            id: 'msg_sub_1',
            type: 'message',
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_d1a', name: 'Bash', input: { command: 'ls src/checkout' } }],
          },
        },
      },
      toolUseID: 'agent_msg_sub_1',
      parentToolUseID: 'toolu_d1',
    })
    .result(
      'toolu_d1',
      [
        { type: 'text', text: 'Plan: split pricing, payment and shipping into three modules.' },
        {
          type: 'text',
          text: "agentId: a7c1e22 (for resuming to continue this agent's work if needed)\n<usage>total_tokens: 9000\ntool_uses: 1\nduration_ms: 7000</usage>",
        },
      ],
      {
        toolUseResult: {
          status: 'completed',
          agentId: 'a7c1e22',
          content: [{ type: 'text', text: 'Plan: split pricing, payment and shipping into three modules.' }],
        },
      },
    )
    .say('Here is the plan: pricing, payment and shipping become three modules. Shall I start with pricing?')
    .push({ type: 'system', subtype: 'turn_duration', durationMs: 21000, isMeta: false })
    .human('yes')
    .bash('toolu_d2', 'git switch -c refactor/checkout', "Switched to a new branch 'refactor/checkout'")
    .human('[Request interrupted by user]');
  written.set('4d8b3f39-5e70-4f91-b243-dd0000000004.jsonl', d.text());
  const dAgent = new Session('4d8b3f39-5e70-4f91-b243-dd0000000004', '2.1.39', '2026-01-15T16:00:06.000Z');
  dAgent
    .push(
      { type: 'user', message: { role: 'user', content: 'Plan a refactor of src/checkout into smaller modules.' } },
      true,
      'a7c1e22',
    )
    .use('toolu_d1a', 'Bash', { command: 'ls src/checkout' }, true, 'a7c1e22')
    .result('toolu_d1a', 'index.ts\npricing.ts\npayment.ts', {}, true, 'a7c1e22')
    .say('Plan: split pricing, payment and shipping into three modules.', true, 'a7c1e22');
  written.set('4d8b3f39-5e70-4f91-b243-dd0000000004/subagents/agent-a7c1e22.jsonl', dAgent.text());
  const compact = new Session('4d8b3f39-5e70-4f91-b243-dd0000000004', '2.1.39', '2026-01-15T16:20:00.000Z');
  compact
    .push(
      { type: 'user', message: { role: 'user', content: 'Summarise the conversation so far.' } },
      true,
      'acompact-f1e2d3',
    )
    .say('Summary: planned the checkout refactor.', true, 'acompact-f1e2d3');
  written.set('4d8b3f39-5e70-4f91-b243-dd0000000004/subagents/agent-acompact-f1e2d3.jsonl', compact.text());

  // 2.1.70: the spawn tool is named Agent, with a meta.json sidecar; two parallel calls where one fails and the
  // other is cancelled ("Sibling tool call errored"); a /review slash command; the session ends normally.
  const e = new Session('5e9c4a70-6f81-4aa2-8354-ee0000000005', '2.1.70', '2026-03-02T11:00:00.000Z');
  e.human(
    '<command-message>review is running…</command-message>\n<command-name>/review</command-name>\n<command-args>12</command-args>',
  )
    .use('toolu_e1', 'Agent', {
      description: 'Review PR 12',
      subagent_type: 'general-purpose',
      prompt: 'Review pull request 12 for bugs.',
    })
    .result(
      'toolu_e1',
      [{ type: 'text', text: 'Two issues: an unchecked null in api/orders.ts and a missing await in jobs/sync.ts.' }],
      { toolUseResult: { status: 'completed', agentId: 'b3c4d5e6f7a8b9c0d', content: [] } },
    )
    .use('toolu_e2', 'Bash', { command: 'gh pr checks 12' })
    .use('toolu_e3', 'Read', { file_path: '/home/dev/shop/api/orders.ts' })
    .result('toolu_e2', 'Exit code 8\nlint\tfail\t1m2s', {
      isError: true,
      toolUseResult: 'Error: Exit code 8\nlint\tfail\t1m2s',
    })
    .result('toolu_e3', '<tool_use_error>Sibling tool call errored</tool_use_error>', { isError: true })
    .say('The review found two issues and the lint check fails. Details are above.');
  written.set('5e9c4a70-6f81-4aa2-8354-ee0000000005.jsonl', e.text());
  const eAgent = new Session('5e9c4a70-6f81-4aa2-8354-ee0000000005', '2.1.70', '2026-03-02T11:00:03.000Z');
  eAgent
    .push(
      { type: 'user', message: { role: 'user', content: 'Review pull request 12 for bugs.' } },
      true,
      'b3c4d5e6f7a8b9c0d',
    )
    .bash('toolu_e1a', 'gh pr diff 12', 'diff --git a/api/orders.ts b/api/orders.ts', 0, true, 'b3c4d5e6f7a8b9c0d')
    .say(
      'Two issues: an unchecked null in api/orders.ts and a missing await in jobs/sync.ts.',
      true,
      'b3c4d5e6f7a8b9c0d',
    );
  written.set('5e9c4a70-6f81-4aa2-8354-ee0000000005/subagents/agent-b3c4d5e6f7a8b9c0d.jsonl', eAgent.text());
  written.set(
    '5e9c4a70-6f81-4aa2-8354-ee0000000005/subagents/agent-b3c4d5e6f7a8b9c0d.meta.json',
    JSON.stringify({ agentType: 'general-purpose', description: 'Review PR 12', toolUseId: 'toolu_e1' }),
  );

  // claude -p --output-format stream-json, saved by a script: the run hit its turn limit.
  const sid = '6fad5b10-7092-4bb3-9465-ff0000000006';
  written.set(
    `${sid}.jsonl`,
    [
      {
        type: 'system',
        subtype: 'init',
        cwd: '/home/dev/shop',
        session_id: sid,
        tools: ['Task', 'Bash', 'Read'],
        model: 'claude-sonnet-4-5-20250929',
        permissionMode: 'default',
        uuid: `${sid}-1`,
      },
      {
        type: 'assistant',
        message: {
          id: 'msg_s1',
          type: 'message',
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_s1', name: 'Bash', input: { command: 'npm run build' } }],
        },
        parent_tool_use_id: null,
        session_id: sid,
        uuid: `${sid}-2`,
      },
      {
        type: 'user',
        message: {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_s1',
              content: 'Exit code 1\nERROR: Could not resolve "./missing"',
              is_error: true,
            },
          ],
        },
        parent_tool_use_id: null,
        session_id: sid,
        uuid: `${sid}-3`,
      },
      {
        type: 'result',
        subtype: 'error_max_turns',
        is_error: true,
        duration_ms: 40000,
        num_turns: 2,
        session_id: sid,
        uuid: `${sid}-4`,
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );

  for (const [rel, text] of written) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  return { files: [...written.keys()].filter((f) => f.endsWith('.jsonl')).sort(), sessions: 6 };
}

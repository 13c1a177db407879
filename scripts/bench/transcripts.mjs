// Deterministic Claude Code transcripts for the benchmark: PEER runs in the layouts Claude Code has written
// (2.1.x <session>/subagents/ with .meta.json sidecars and agent_progress mirrors, 2.0.x sibling agent files,
// `claude -p --output-format stream-json` captures), with the bulk real transcripts have: file contents
// returned twice (tool_result and toolUseResult), Edit's originalFile, bash/hook progress records,
// file-history snapshots, and a few damaged lines (spliced records, NUL runs, a cut-off tail).
// The `progress` variant has the shape of long real sessions instead: most bytes are `progress` records, long
// commands whose `bash_progress` repeats the whole output so far every second, and `agent_progress` copies of
// subagent messages carrying large tool results.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Rng, codeText, numbered, paragraph, sentence } from './rng.mjs';

const PHASE_AGENTS = ['peer-planner', 'peer-executor', 'peer-express', 'peer-review'];
const BUCKET = 'agent-os-peer-state';

class JsonlWriter {
  constructor(file) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'w');
    this.parts = [];
    this.pending = 0;
    this.bytes = 0;
    this.progressBytes = 0;
  }
  /** One record; `progress` counts its bytes as those of a progress record. */
  line(obj, progress = false) {
    const s = typeof obj === 'string' ? obj : JSON.stringify(obj);
    if (progress) this.progressBytes += Buffer.byteLength(s) + 1;
    this.raw(s, true);
  }
  raw(text, newline) {
    const s = newline ? `${text}\n` : text;
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending > 1 << 20) this.flush();
  }
  flush() {
    if (!this.parts.length) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, buf);
    this.bytes += buf.length;
    this.parts = [];
    this.pending = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
    return this.bytes;
  }
}

/** Shared pools of file contents, so generating a gigabyte does not spend its time making text. */
class Pools {
  constructor(rng) {
    this.files = [];
    for (let i = 0; i < 48; i++) {
      const size = Math.round(1500 * Math.pow(24, rng.next())); // 1.5 KB … 36 KB, skewed small
      const text = codeText(rng, size);
      // Numbered from 2: each use puts a line of its own first, so no two reads return the same text.
      this.files.push({
        path: `/home/dev/app/src/${['api', 'core', 'db', 'ui'][i % 4]}/module-${i}.ts`,
        text,
        numbered: numbered(text, 2),
        lines: text.split('\n').length,
      });
    }
    this.outputs = [];
    for (let i = 0; i < 32; i++) {
      const lines = [];
      const n = Math.round(3 * Math.pow(60, rng.next()));
      for (let j = 0; j < n; j++) lines.push(`${rng.chance(0.05) ? '✓ ' : ''}${sentence(rng)}`);
      this.outputs.push(lines.join('\n'));
    }
  }
}

class Clock {
  constructor(ms) {
    this.ms = ms;
  }
  tick(rng, lo = 300, hi = 9000) {
    this.ms += rng.int(lo, hi);
    return new Date(this.ms).toISOString();
  }
}

/**
 * Writes transcripts under `dir` until about `targetBytes` are on disk. `specs` names the spec of each
 * session in turn (they refer to the same specs as the KV and spec-folder corpora). `variant`: 'default' (the
 * mix above) or 'progress' (longer sessions whose bytes are mostly progress records).
 * Returns { bytes, files, sessions, lines, progressBytes }.
 */
export function generateTranscripts(dir, targetBytes, specs, seed = 1, { variant = 'default' } = {}) {
  if (variant !== 'default' && variant !== 'progress') throw new Error(`unknown transcript variant ${variant}`);
  const heavy = variant === 'progress';
  const rng = new Rng(seed);
  const pools = new Pools(new Rng(seed + 7));
  const stats = { bytes: 0, files: 0, sessions: 0, lines: 0, progressBytes: 0 };
  mkdirSync(dir, { recursive: true });
  let i = 0;
  while (stats.bytes < targetBytes) {
    const spec = specs[(i * 7919) % specs.length];
    const left = targetBytes - stats.bytes;
    // Sessions of 0.3–6 MB (progress variant: 1–20 MB before the main file's copies): a corpus grows by holding
    // more sessions, as a real log folder does.
    const base = heavy ? 1_000_000 : 300_000;
    const size = Math.min(left + 50_000, Math.round(base * Math.pow(20, rng.next())));
    const r = rng.next();
    // Progress records are what 2.x writes; stream-json captures have none.
    const layout = heavy
      ? r < 0.85
        ? 'subagents-dir'
        : 'sibling-file'
      : r < 0.75
        ? 'subagents-dir'
        : r < 0.93
          ? 'sibling-file'
          : 'stream-json';
    const s = new SessionGen(rng, pools, dir, i, spec, layout, size, heavy);
    s.run();
    stats.bytes += s.bytes;
    stats.files += s.files;
    stats.lines += s.lines;
    stats.progressBytes += s.progressBytes;
    stats.sessions++;
    i++;
  }
  return stats;
}

class SessionGen {
  constructor(rng, pools, dir, index, spec, layout, size, heavy = false) {
    this.rng = rng;
    this.pools = pools;
    this.dir = dir;
    this.index = index;
    this.spec = spec;
    this.layout = layout;
    this.size = size;
    this.sid = rng.uuid();
    this.clock = new Clock(Date.UTC(2025, 7, 1) + index * 3_600_000 + rng.int(0, 3_000_000));
    this.version = layout === 'subagents-dir' ? '2.1.70' : layout === 'sibling-file' ? '2.0.50' : '2.1.70';
    this.slug = `brisk-${spec.split('-')[0]}-harbor`;
    this.heavy = heavy;
    this.bytes = 0;
    this.progressBytes = 0;
    this.files = 0;
    this.lines = 0;
    this.prefix = `peer.spec.${spec}`;
    this.v2 = index % 2 === 1;
  }

  run() {
    const stream = this.layout === 'stream-json';
    const file = path.join(this.dir, stream ? `run-${this.index}.stream.jsonl` : `${this.sid}.jsonl`);
    this.main = new JsonlWriter(file);
    this.mainParent = null;
    this.mainCtx = { w: this.main, agentId: undefined, sidechain: false, parent: null, spawnId: undefined };
    const m = this.mainCtx;
    if (stream)
      this.main.line({
        type: 'system',
        subtype: 'init',
        cwd: '/home/dev/app',
        session_id: this.sid,
        tools: ['Bash', 'Read', 'Write', 'Edit', 'Task'],
        model: 'claude-sonnet-4-20250514',
        claude_code_version: this.version,
      });
    else
      this.main.line({
        type: 'queue-operation',
        operation: 'enqueue',
        timestamp: this.clock.tick(this.rng),
        sessionId: this.sid,
        content: '/peer',
      });
    this.user(
      m,
      `<command-message>peer is running…</command-message>\n<command-name>/peer</command-name>\n<command-args>--instruction=create-spec ${this.spec.replace(/-/g, ' ')}: ${sentence(this.rng)}</command-args>`,
    );
    this.user(
      m,
      [
        {
          type: 'text',
          text: `# PEER Pattern Execution\n\n${paragraph(this.rng, 12)}\n\nARGUMENTS: --instruction=create-spec ${this.spec}`,
        },
      ],
      { isMeta: true },
    );
    this.snapshot();
    this.say(m, `I'll run the create-spec instruction through the PEER pattern for ${this.spec}.`);
    this.bash(m, '~/.agent-os/scripts/peer/check-nats-health.sh', '✅ NATS server is healthy\nJetStream: enabled');
    this.bash(
      m,
      '~/.agent-os/scripts/peer/determine-context.sh --instruction create-spec',
      `spec_name=${this.spec}\nkey_prefix=${this.prefix}\ncurrent_cycle=1\nPEER_MODE=new`,
    );
    this.bash(
      m,
      `nats kv get ${BUCKET} "${this.prefix}.${this.v2 ? 'cycle.current' : 'meta'}" --raw`,
      this.v2 ? '1' : JSON.stringify({ spec_name: this.spec, current_cycle: 1, current_phase: 'plan' }),
    );
    const perAgent = Math.max(20_000, this.size / PHASE_AGENTS.length);
    // Some runs never reach the executor: the failure PEER audits for.
    // (The progress variant has few, long sessions: more of them fail, so that it has findings to compare.)
    const skipExecute = this.heavy ? this.index % 3 === 1 : this.index % 5 === 3;
    for (const agent of PHASE_AGENTS) {
      if (skipExecute && agent === 'peer-executor') {
        this.say(
          m,
          'Planning phase complete. Now invoking the peer-executor subagent to execute the create-spec instruction.',
        );
        continue;
      }
      this.spawn(agent, perAgent);
      this.bash(
        m,
        `~/.agent-os/scripts/peer/read-state.sh "${this.prefix}.cycle.1"`,
        JSON.stringify({ cycle_number: 1, phases: { [agent.slice(5)]: { status: 'complete' } } }),
      );
      if (this.rng.chance(0.3)) this.snapshot();
    }
    const fail = this.heavy ? this.index % 4 === 2 : this.index % 11 === 4;
    this.bash(
      m,
      `~/.agent-os/scripts/peer/finalize-cycle.sh "${this.prefix}" 1`,
      fail ? 'Exit code 1\n❌ Error: Could not retrieve cycle data' : '✅ PEER cycle 1 completed successfully',
      fail,
    );
    this.say(m, `✨ PEER Cycle Complete\n\n${paragraph(this.rng, 4)}`);
    if (stream)
      this.main.line({
        type: 'result',
        subtype: 'success',
        is_error: false,
        duration_ms: 600000,
        num_turns: 40,
        result: 'PEER cycle 1 completed successfully',
        session_id: this.sid,
        total_cost_usd: 1.23,
      });
    else this.main.line(this.envelope(m, 'system', { subtype: 'turn_duration', durationMs: 612345, isMeta: false }));
    // Damage a few files the way real ones get damaged.
    if (this.index % 13 === 5)
      this.main.raw(
        '{"parentUuid":"x","isSidechain":false,"type":"assistant","message":{"role":"assistant","content":[{"type":"te',
        false,
      );
    this.bytes += this.main.close();
    this.progressBytes += this.main.progressBytes;
    this.files++;
  }

  envelope(ctx, type, body) {
    const uuid = this.rng.uuid();
    const rec = {
      parentUuid: ctx.parent,
      isSidechain: ctx.sidechain,
      userType: 'external',
      cwd: '/home/dev/app',
      sessionId: this.sid,
      version: this.version,
      gitBranch: 'main',
    };
    if (ctx.agentId) rec.agentId = ctx.agentId;
    rec.slug = this.slug;
    if (type === 'assistant') Object.assign(rec, body, { type, uuid, timestamp: this.clock.tick(this.rng) });
    else Object.assign(rec, { type }, body, { uuid, timestamp: this.clock.tick(this.rng) });
    ctx.parent = uuid;
    this.lines++;
    return rec;
  }

  /** One record, in the writer's own format (stream-json has no envelope). */
  emit(ctx, type, body) {
    if (this.layout === 'stream-json') {
      const rec = {
        type,
        ...body,
        parent_tool_use_id: ctx.spawnId ?? null,
        session_id: this.sid,
        uuid: this.rng.uuid(),
      };
      this.lines++;
      ctx.w.line(rec);
      return rec;
    }
    const rec = this.envelope(ctx, type, body);
    ctx.w.line(rec);
    // 2.1.x mirrors a subagent's traffic into the main file.
    if (ctx.mirror && (type === 'assistant' || type === 'user')) {
      this.main.line(
        this.envelope(this.mainCtx, 'progress', {
          data: {
            message: { type, message: body.message, uuid: rec.uuid, timestamp: rec.timestamp },
            type: 'agent_progress',
            prompt: ctx.prompt,
            agentId: ctx.agentId,
          },
          toolUseID: `agent_msg_${this.rng.id(24)}`,
          parentToolUseID: ctx.spawnId,
        }),
        true,
      );
    }
    return rec;
  }

  user(ctx, content, extra = {}) {
    return this.emit(ctx, 'user', { message: { role: 'user', content }, ...extra });
  }

  assistantMsg(ctx, content) {
    return {
      message: {
        model: 'claude-sonnet-4-20250514',
        id: `msg_01${this.rng.id(22)}`,
        type: 'message',
        role: 'assistant',
        content,
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: this.rng.int(3, 12),
          cache_creation_input_tokens: this.rng.int(100, 5000),
          cache_read_input_tokens: this.rng.int(10000, 90000),
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1140 },
          output_tokens: this.rng.int(20, 900),
          service_tier: 'standard',
        },
      },
      requestId: `req_011C${this.rng.id(20)}`,
    };
  }

  say(ctx, text) {
    this.emit(ctx, 'assistant', this.assistantMsg(ctx, [{ type: 'text', text }]));
  }

  hook(ctx, event, toolId) {
    if (this.layout === 'stream-json') return;
    ctx.w.line(
      this.envelope(ctx, 'progress', {
        data: {
          type: 'hook_progress',
          hookEvent: event,
          hookName: `${event}:Bash`,
          command: '$CLAUDE_PROJECT_DIR/.claude/hooks/guard.sh',
        },
        parentToolUseID: toolId,
        toolUseID: toolId,
      }),
      true,
    );
  }

  tool(ctx, name, input, resultText, toolUseResult, isError = false, longOutput = undefined) {
    const id = `toolu_01${this.rng.id(22)}`;
    this.emit(ctx, 'assistant', this.assistantMsg(ctx, [{ type: 'tool_use', id, name, input }]));
    this.hook(ctx, 'PreToolUse', id);
    if (longOutput !== undefined && this.layout !== 'stream-json') this.longProgress(ctx, id, longOutput);
    else if (name === 'Bash' && this.layout !== 'stream-json') {
      // bash_progress: the output so far, twice (output and fullOutput), every second or so.
      const n = this.rng.int(1, 6);
      let acc = '';
      for (let i = 0; i < n; i++) {
        acc += `${sentence(this.rng)}\n`;
        this.bashProgress(ctx, id, acc, i, i + 1);
      }
    }
    this.hook(ctx, 'PostToolUse', id);
    const block = { tool_use_id: id, type: 'tool_result', content: resultText };
    if (isError) block.is_error = true;
    // Recent subagent files keep toolUseResult for failures only (the progress variant is that recent).
    const bare = this.heavy && ctx.mirror && !isError;
    const extra =
      toolUseResult === undefined || bare
        ? {}
        : this.layout === 'stream-json'
          ? { tool_use_result: toolUseResult }
          : { toolUseResult };
    this.user(ctx, [block], extra);
    return id;
  }

  /**
   * A long command's bash_progress: one record a second or so while it runs, each with the last lines (`output`)
   * and everything printed so far (`fullOutput`), so its bytes grow with the square of the output.
   */
  longProgress(ctx, id, out) {
    const lines = out.split('\n');
    const n = this.rng.int(3, 12);
    for (let i = 1; i <= n; i++) {
      const acc = lines.slice(0, Math.ceil((lines.length * i) / n)).join('\n');
      this.bashProgress(ctx, id, acc, i - 1, acc.split('\n').length);
    }
  }

  /** One bash_progress record, the `step`-th (from 0) of call `id`: the last lines and all of `acc` so far. */
  bashProgress(ctx, id, acc, step, totalLines) {
    ctx.w.line(
      this.envelope(ctx, 'progress', {
        data: {
          type: 'bash_progress',
          output: acc.slice(-2000),
          fullOutput: acc,
          elapsedTimeSeconds: step + 1,
          totalLines,
        },
        toolUseID: `bash-progress-${step}`,
        parentToolUseID: id,
      }),
      true,
    );
  }

  /** `longOutput`: the text a long command printed, streamed as bash_progress while it ran. */
  bash(ctx, command, out, isError = false, longOutput = undefined) {
    this.tool(
      ctx,
      'Bash',
      { command, description: 'Run PEER step' },
      out,
      isError ? `Error: ${out}` : { stdout: out, stderr: '', interrupted: false, isImage: false },
      isError,
      longOutput,
    );
  }

  snapshot() {
    if (this.layout === 'stream-json') return;
    const backups = {};
    const n = this.rng.int(1, 12);
    for (let i = 0; i < n; i++) {
      const f = this.rng.pick(this.pools.files);
      backups[f.path] = {
        backupFileName: `${this.rng.hex(16)}@v${i + 1}`,
        version: i + 1,
        backupTime: new Date(this.clock.ms).toISOString(),
      };
    }
    const id = this.rng.uuid();
    this.main.line({
      type: 'file-history-snapshot',
      messageId: id,
      snapshot: { messageId: id, trackedFileBackups: backups, timestamp: new Date(this.clock.ms).toISOString() },
      isSnapshotUpdate: this.rng.chance(0.5),
    });
    this.lines++;
  }

  /** A Task/Agent call, the subagent's own transcript, and the tool_result carrying its agent id. */
  spawn(agent, budget) {
    const m = this.mainCtx;
    const id = `toolu_01${this.rng.id(22)}`;
    const agentId = `a${this.rng.hex(16)}`;
    const prompt = `STATE_KEY: ${this.prefix}.cycle.1\nCYCLE_NUMBER: 1\nINSTRUCTION: create-spec\nSPEC_NAME: ${this.spec}\nUSER_REQUIREMENTS: ${paragraph(this.rng, 3)}\n\nRun the ${agent.slice(5)} phase and write phases.${agent.slice(5)}.`;
    const toolName = this.layout === 'subagents-dir' ? 'Agent' : 'Task';
    this.emit(
      m,
      'assistant',
      this.assistantMsg(m, [
        { type: 'tool_use', id, name: toolName, input: { description: `Run ${agent}`, subagent_type: agent, prompt } },
      ]),
    );

    let ctx;
    if (this.layout === 'stream-json') ctx = { w: this.main, spawnId: id, parent: null, sidechain: true };
    else {
      const file =
        this.layout === 'subagents-dir'
          ? path.join(this.dir, this.sid, 'subagents', `agent-${agentId}.jsonl`)
          : path.join(this.dir, `agent-${agentId}.jsonl`);
      ctx = {
        w: new JsonlWriter(file),
        agentId,
        sidechain: true,
        parent: null,
        spawnId: id,
        mirror: this.layout === 'subagents-dir',
        prompt,
      };
      if (this.layout === 'subagents-dir') {
        writeFileSync(
          path.join(path.dirname(file), `agent-${agentId}.meta.json`),
          JSON.stringify({ agentType: agent, description: `Run ${agent}`, toolUseId: id }),
        );
      }
    }
    const start = ctx.w.bytes + ctx.w.pending;
    this.user(ctx, prompt);
    const used = () => ctx.w.bytes + ctx.w.pending - start;
    this.say(ctx, `Reading the cycle state for ${this.spec}.`);
    this.bash(
      ctx,
      `~/.agent-os/scripts/peer/read-state.sh "${this.prefix}.cycle.1"`,
      JSON.stringify({ cycle_number: 1, instruction: 'create-spec' }),
    );
    while (used() < budget) this.turn(ctx);
    this.bash(
      ctx,
      `nats kv get ${BUCKET} ${this.prefix}.cycle.1 --raw | jq '.phases.${agent.slice(5)}.status = "complete"' | nats kv put ${BUCKET} ${this.prefix}.cycle.1`,
      '',
    );
    const final = `${agent.slice(5)} phase complete for ${this.spec}. ${paragraph(this.rng, 2)}`;
    this.say(ctx, final);
    if (ctx.w !== this.main) {
      this.bytes += ctx.w.close();
      this.progressBytes += ctx.w.progressBytes;
      this.files++;
    }
    const resultContent = [
      { type: 'text', text: final },
      { type: 'text', text: `agentId: ${agentId} (for resuming to continue this agent's work if needed)` },
    ];
    this.user(
      m,
      [{ tool_use_id: id, type: 'tool_result', content: resultContent }],
      this.layout === 'stream-json'
        ? {}
        : {
            toolUseResult: {
              status: 'completed',
              prompt,
              agentId,
              content: [{ type: 'text', text: final }],
              totalDurationMs: 123456,
              totalTokens: 54321,
            },
          },
    );
  }

  /** A turn of a long session: long test and build runs, big files read (the main file copies both). */
  heavyTurn(ctx) {
    const rng = this.rng;
    const r = rng.next();
    if (rng.chance(0.2)) this.say(ctx, paragraph(rng, rng.int(1, 3)));
    if (r < 0.45) {
      const parts = [`> app@1.0.0 ${rng.pick(['test', 'build', 'test:e2e'])} ${rng.hex(12)}`];
      // Now and then a very long one: its progress lines are hundreds of kilobytes, a few over a megabyte.
      const long = rng.chance(0.02) ? rng.int(40, 150) : rng.chance(0.08) ? rng.int(15, 40) : rng.int(2, 10);
      for (let k = long; k > 0; k--) parts.push(rng.pick(this.pools.outputs));
      const out = parts.join('\n');
      const fail = rng.chance(0.04);
      const command = `cd /home/dev/app && npm run ${rng.pick(['test', 'build', 'test:e2e'])}`;
      this.bash(ctx, command, fail ? `Exit code 1\n${out}` : out, fail, out);
    }
    // Otherwise mostly a Read (its result is copied into the main file), else an Edit, a Write or a Grep.
    else this.turn(ctx, r < 0.85 ? 0.1 : 0.65 + ((r - 0.85) / 0.15) * 0.35);
  }

  turn(ctx, pick = undefined) {
    if (this.heavy && pick === undefined) return this.heavyTurn(ctx);
    const rng = this.rng;
    const r = pick ?? rng.next();
    if (rng.chance(0.3)) this.say(ctx, paragraph(rng, rng.int(1, 5)));
    if (r < 0.35) {
      const f = rng.pick(this.pools.files);
      const head = `// ${f.path} at revision ${rng.hex(16)}`;
      const text = `${head}\n${f.text}`;
      const lines = f.lines + 1;
      this.tool(ctx, 'Read', { file_path: f.path }, `${numbered(head)}\n${f.numbered}`, {
        type: 'text',
        file: { filePath: f.path, content: text, numLines: lines, startLine: 1, totalLines: lines },
      });
    } else if (r < 0.65) {
      const out = `> app@1.0.0 test ${rng.hex(12)}\n${rng.pick(this.pools.outputs)}`;
      const fail = rng.chance(0.04);
      this.bash(
        ctx,
        `cd /home/dev/app && npm test -- --grep "${rng.pick(['ledger', 'export', 'retry'])}"`,
        fail ? `Exit code 1\n${out}` : out,
        fail,
      );
    } else if (r < 0.8) {
      const f = rng.pick(this.pools.files);
      const at = rng.int(0, Math.max(0, f.text.length - 200));
      const oldString = f.text.slice(at, at + rng.int(40, 200));
      const newString = `${oldString}\n// ${sentence(rng)}`;
      this.tool(
        ctx,
        'Edit',
        { file_path: f.path, old_string: oldString, new_string: newString },
        `The file ${f.path} has been updated.`,
        {
          filePath: f.path,
          oldString,
          newString,
          originalFile: `// ${f.path} at revision ${rng.hex(16)}\n${f.text}`,
          structuredPatch: [
            {
              oldStart: 10,
              oldLines: 3,
              newStart: 10,
              newLines: 4,
              lines: [` ${oldString.slice(0, 60)}`, `+// ${sentence(rng)}`],
            },
          ],
          userModified: false,
          replaceAll: false,
        },
      );
    } else if (r < 0.9) {
      const f = rng.pick(this.pools.files);
      const doc = `.agent-os/specs/2025-08-0${(this.index % 9) + 1}-${this.spec}/${rng.pick(['spec.md', 'spec-lite.md', 'sub-specs/technical-spec.md'])}`;
      const content = `# Spec Requirements Document\n\n> Spec: ${this.spec} (${rng.hex(12)})\n\n${paragraph(rng, 20)}\n\n${f.text.slice(0, 3000)}`;
      this.tool(
        ctx,
        'Write',
        { file_path: `/home/dev/app/${doc}`, content },
        `File created successfully at: /home/dev/app/${doc}`,
        { type: 'create', filePath: `/home/dev/app/${doc}`, content, structuredPatch: [] },
      );
    } else {
      const out = this.pools.files
        .slice(0, rng.int(3, 40))
        .map((f) => `${f.path}:${rng.int(1, 400)}:  const ${rng.pick(['ledger', 'retry'])} = …`)
        .join('\n');
      this.tool(
        ctx,
        'Grep',
        { pattern: rng.pick(['ledger', 'retry', 'export']), path: '/home/dev/app/src', output_mode: 'content' },
        out,
        { mode: 'content', numFiles: 12, filenames: [], content: out, numLines: 20 },
      );
    }
    // Rare damage inside the run: a record spliced onto a cut-off one, or a run of NUL bytes.
    if (rng.chance(0.0004))
      ctx.w.raw(
        `{"parentUuid":"${rng.uuid()}","isSidechain":true,"type":"user","message":{"role":"user","content":"cut of{"parentUuid":null,"type":"summary","summary":"x"}`,
        true,
      );
    if (rng.chance(0.0002)) ctx.w.raw('\0'.repeat(rng.int(8, 200)), true);
  }
}

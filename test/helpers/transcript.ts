// Builds small Claude Code transcripts (1.0.x shape: one record per line) as real files for rule tests.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A small transcript, one record per line, in the Claude Code 1.0.x shape. */
export class Transcript {
  // Records, or raw lines written as given (`raw`: broken JSON, blank lines).
  private recs: (object | string)[] = [];
  private n = 0;
  /** The agent id the records that follow belong to (an inline sidechain), or undefined for the main agent. */
  private agent?: string;
  private rec(type: 'user' | 'assistant', content: unknown, extra: object = {}) {
    this.n++;
    this.recs.push({
      parentUuid: this.n > 1 ? `u${this.n - 1}` : null,
      isSidechain: false,
      userType: 'external',
      cwd: '/home/dev/app',
      sessionId: 's-1',
      version: '1.0.69',
      type,
      message: { role: type, content },
      uuid: `u${this.n}`,
      timestamp: new Date(Date.UTC(2025, 7, 5, 16, 0, this.n)).toISOString(),
      ...(this.agent !== undefined ? { isSidechain: true, agentId: this.agent } : {}),
      ...extra,
    });
    return this;
  }
  human(text: string) {
    return this.rec('user', text);
  }
  say(text: string) {
    return this.rec('assistant', [{ type: 'text', text }]);
  }
  bash(id: string, command: string, out: string, isError = false) {
    this.rec('assistant', [{ type: 'tool_use', id, name: 'Bash', input: { command } }]);
    return this.rec('user', [
      { type: 'tool_result', tool_use_id: id, content: isError ? `Exit code 1\n${out}` : out, is_error: isError },
    ]);
  }
  /** The records that follow are the subagent `agentId`'s (inline sidechain records naming it), until asMain(). */
  asAgent(agentId: string) {
    this.agent = agentId;
    return this;
  }
  asMain() {
    this.agent = undefined;
    return this;
  }
  /** Any tool call and its result (Write, Edit, …). */
  tool(id: string, name: string, input: Record<string, unknown>, out = 'ok', isError = false) {
    this.rec('assistant', [{ type: 'tool_use', id, name, input }]);
    return this.rec('user', [{ type: 'tool_result', tool_use_id: id, content: out, is_error: isError }]);
  }
  /**
   * A Task call and its result; `detail` is the result record's toolUseResult (agentId, status, totalToolUseCount),
   * which links the subagent's sidechain records to the spawn.
   */
  task(id: string, agent: string, result?: string, detail?: Record<string, unknown>) {
    this.rec('assistant', [
      {
        type: 'tool_use',
        id,
        name: 'Task',
        input: {
          description: `Run ${agent}`,
          subagent_type: agent,
          prompt: `do ${agent} work for peer.spec.demo-spec`,
        },
      },
    ]);
    return result === undefined ? this : this.taskResult(id, result, detail);
  }
  /** The result of Task call `id` (after the subagent's records, when it has some). */
  taskResult(id: string, result: string, detail?: Record<string, unknown>) {
    return this.rec(
      'user',
      [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: result }] }],
      detail === undefined ? {} : { toolUseResult: detail },
    );
  }
  raw(line: string) {
    this.recs.push(line);
    return this;
  }
  /** Writes session.jsonl into a new temporary folder (or `dir`) and returns the folder. */
  async write(dir?: string): Promise<string> {
    dir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'pa-log-'));
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'session.jsonl');
    await fs.writeFile(file, this.recs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
    return dir;
  }
}

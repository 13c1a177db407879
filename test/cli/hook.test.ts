// End to end: `peer-audit hook` as Claude Code runs it, one recorded event on stdin, over copies of the bundled
// incidents (taken at the moment of the run's claim of success) and healthy runs; `hook install` / `uninstall` on
// real settings files.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, type CliResult } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { readKvLive } from '../../src/sources/kv.js';
import { connect } from 'nats';

const INCIDENTS = path.join(REPO, 'fixtures/incidents');
const SEED_SESSION = '4b8f1c2e-7d3a-4e59-9a61-0c5d2e8f7a13';
const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';
const KEY = 'peer.spec.wal-operation-handling-fix';

/** The built CLI's `hook` with `input` on stdin, in `cwd`, with no NATS settings or config of the machine's. */
function hook(input: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['hook', ...args], { cwd, env, input });
}

const tempDir = tempDirs();

/**
 * A copy of an incident as its project folder; `upToLine` cuts the main transcript after that line (the moment of
 * the claim: the lines after it were written later).
 */
async function incident(name: string, upToLine?: number): Promise<{ dir: string; transcript: string }> {
  const dir = await tempDir(`pa-hook-${name}-`);
  await fs.cp(path.join(INCIDENTS, name), dir, { recursive: true });
  const main = (await fs.readdir(path.join(dir, 'logs'))).find((f) => f.endsWith('.jsonl'))!;
  const transcript = path.join(dir, 'logs', main);
  if (upToLine !== undefined) {
    const lines = (await fs.readFile(transcript, 'utf8')).split('\n');
    await fs.writeFile(transcript, lines.slice(0, upToLine).join('\n') + '\n');
  }
  return { dir, transcript };
}

function stopEvent(dir: string, transcript: string, session: string, more: Record<string, unknown> = {}): string {
  return JSON.stringify({
    session_id: session,
    transcript_path: transcript,
    cwd: dir,
    permission_mode: 'default',
    hook_event_name: 'Stop',
    stop_hook_active: false,
    ...more,
  });
}

const SNAPSHOT = ['--kv-snapshot', 'kv-snapshot.jsonl'];

function decision(r: CliResult): { decision?: string; reason?: string; systemMessage?: string } {
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { decision?: string; reason?: string; systemMessage?: string };
}

/** The seed incident's transcript ends at line 187: "✅ PEER cycle 1 completed successfully". */
const CLAIM_LINE = 187;

const SEED_REASON_START = [
  'peer-audit: this run has 7 errors to fix before the session finishes:',
  '1. execute never ran: Cycle 1 went past the execute phase but execute is absent: express and review ran, and ' +
    'the cycle claims to be finished. The transcript spawns peer-planner, peer-express, peer-review but never ' +
    `peer-executor (${KEY}.cycle.1@9, ${KEY}.cycle.1@5, logs/output-peer-test-2.jsonl:23); run the executor ` +
    '(peer-executor) for cycle 1 before finalizing. [missing-execute-phase]',
  `2. a state read failed and was never retried: nats kv get of ${KEY}.cycle.1 by the main agent failed at ` +
    'logs/output-peer-test-2.jsonl:51 ("❌ Error: Could not retrieve cycle data") and no identical read succeeded ' +
    'afterwards: the state it wanted was never read (logs/output-peer-test-2.jsonl:50); read the state again and ' +
    'go on from what it holds, not from what was expected. [kv-read-failure]',
];

describe('peer-audit hook: Stop', () => {
  it('blocks the seed incident at its false claim, naming the missing execute phase and the failed read', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    const r = await hook(stopEvent(dir, transcript, SEED_SESSION), SNAPSHOT, dir);
    const d = decision(r);
    expect(d.decision).toBe('block');
    const lines = d.reason!.split('\n');
    expect(lines.slice(0, 3)).toEqual(SEED_REASON_START);
    expect(lines[3]).toMatch(
      /^3\. the state contradicts the claim of completion: Cycle 1 is marked complete .*\[false-success\]$/,
    );
    expect(lines[4]).toBe(
      `4. heredoc residue in a written file: ${WAL}/spec.md:42 contains the heredoc residue "EOF < /dev/null" as ` +
        'the last line (logs/output-peer-test-2.jsonl:35); delete the residue line (the text before it is the end ' +
        'of the file) and check what precedes it. [heredoc-artifact]',
    );
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe('… and 2 more (peer-audit scan shows them all).');
    // The block is counted, in a folder that ignores itself.
    const state = JSON.parse(await fs.readFile(path.join(dir, '.peer-audit/hook-state.json'), 'utf8'));
    expect(state.sessions[SEED_SESSION].blocks).toBe(1);
    expect(state.sessions[SEED_SESSION].fingerprints).toHaveLength(7);
    expect(await fs.readFile(path.join(dir, '.peer-audit/.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it.each([
    ['healthy-v1', '9d2e4a17-3c5b-4f80-b1d6-7a8e2c9f0b34'],
    ['healthy-v2', 'c3a91f5e-2b7d-4e18-8f06-5d9e1b7a4c22'],
  ])('lets the healthy run %s finish: no output, exit 0', async (name, session) => {
    const { dir, transcript } = await incident(name);
    const r = await hook(stopEvent(dir, transcript, session), SNAPSHOT, dir);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    await expect(fs.stat(path.join(dir, '.peer-audit'))).rejects.toThrow(/ENOENT/);
  });

  it('lets a healthy v2 subagent finish (SubagentStop with its own transcript)', async () => {
    const { dir, transcript } = await incident('healthy-v2');
    const session = 'c3a91f5e-2b7d-4e18-8f06-5d9e1b7a4c22';
    const agent = path.join(dir, 'logs', session, 'subagents', 'agent-a891e03.jsonl');
    const event = stopEvent(dir, transcript, session, {
      hook_event_name: 'SubagentStop',
      agent_id: 'a891e03',
      agent_type: 'peer-executor',
      agent_transcript_path: agent,
      last_assistant_message: 'Execution complete.',
    });
    expect(await hook(event, SNAPSHOT, dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('blocks a subagent only for what it can fix itself: the residue in the spec files, not the missing phase', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    const event = stopEvent(dir, transcript, SEED_SESSION, { hook_event_name: 'SubagentStop', agent_id: 'a1' });
    const d = decision(await hook(event, SNAPSHOT, dir));
    expect(d.decision).toBe('block');
    const rules = [...d.reason!.matchAll(/\[([a-z-]+)\]$/gm)].map((m) => m[1]);
    expect(rules).toEqual(['heredoc-artifact', 'heredoc-artifact', 'truncated-file', 'missing-tasks-md']);
    expect(d.reason!.split('\n')[0]).toBe('peer-audit: this run has 4 errors to fix before the subagent finishes:');
  });

  it('says nothing about a session that names no PEER run', async () => {
    const dir = await tempDir('pa-hook-plain-');
    const transcript = path.join(dir, 'plain.jsonl');
    const rec = (type: string, content: unknown, uuid: string) =>
      JSON.stringify({
        type,
        uuid,
        sessionId: 'plain-1',
        timestamp: '2026-01-01T10:00:00.000Z',
        message: { role: type, content },
      });
    await fs.writeFile(
      transcript,
      [rec('user', 'fix the README typo', 'u1'), rec('assistant', [{ type: 'text', text: 'Done.' }], 'a1')].join('\n') +
        '\n',
    );
    const r = await hook(stopEvent(dir, transcript, 'plain-1'), ['--server', 'nats://127.0.0.1:1'], dir);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('never traps the agent: the same errors are not blocked again, and at most --max-blocks times', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    const first = decision(await hook(stopEvent(dir, transcript, SEED_SESSION), SNAPSHOT, dir));
    expect(first.decision).toBe('block');
    // The agent went on and stops again with the same errors: not blocked again.
    const again = stopEvent(dir, transcript, SEED_SESSION, { stop_hook_active: true });
    const same = decision(await hook(again, SNAPSHOT, dir));
    expect(same).toEqual({
      systemMessage:
        'peer-audit hook: not blocking again for the same errors; still open: execute never ran; a state read ' +
        'failed and was never retried; the state contradicts the claim of completion; heredoc residue in a ' +
        'written file; a written file is cut short; tasks.md was never written. Run peer-audit scan for the evidence.',
    });
    // It fixed the residue of spec.md: a different set of errors, blocked once more (the second block).
    const spec = path.join(dir, WAL, 'spec.md');
    const text = await fs.readFile(spec, 'utf8');
    await fs.writeFile(spec, text.replace(/EOF < \/dev\/null\n?$/, ''));
    const second = decision(await hook(again, SNAPSHOT, dir));
    expect(second.decision).toBe('block');
    expect(second.reason!.split('\n')[0]).toBe('peer-audit: this run has 6 errors to fix before the session finishes:');
    // A third, different set: the limit (2) is reached, so the hook only says what is still open.
    const tech = path.join(dir, WAL, 'sub-specs/technical-spec.md');
    await fs.writeFile(tech, (await fs.readFile(tech, 'utf8')).replace(/EOF < \/dev\/null\n?$/, '\n'));
    const third = decision(await hook(again, SNAPSHOT, dir));
    expect(third.decision).toBeUndefined();
    expect(third.systemMessage).toMatch(
      /^peer-audit hook: not blocking again \(2 blocks in this session, --max-blocks 2\); still open: execute never ran;/,
    );
    // --max-blocks 3 would have allowed it.
    const more = decision(await hook(again, [...SNAPSHOT, '--max-blocks', '3'], dir));
    expect(more.decision).toBe('block');
  });
});

describe('peer-audit hook: its own failures never block', () => {
  it.each([
    ['malformed stdin', '{"hook_event_name": "Stop", ', /^peer-audit hook: stdin is not JSON \(/],
    ['an empty stdin', '', /^peer-audit hook: no hook event on stdin$/],
    [
      'an event without cwd',
      '{"hook_event_name":"Stop","session_id":"s"}',
      /^peer-audit hook: stdin is not a hook event: cwd: /,
    ],
  ])('%s: exit 0 with a systemMessage', async (_name, input, message) => {
    const dir = await tempDir('pa-hook-bad-');
    const d = decision(await hook(input, SNAPSHOT, dir));
    expect(Object.keys(d)).toEqual(['systemMessage']);
    expect(d.systemMessage).toMatch(message);
  });

  it('a missing transcript: exit 0 with a systemMessage', async () => {
    const { dir } = await incident('wal-operation-handling-fix');
    const d = decision(await hook(stopEvent(dir, path.join(dir, 'gone.jsonl'), SEED_SESSION), SNAPSHOT, dir));
    expect(d).toEqual({
      systemMessage: `peer-audit hook: cannot read the transcript ${path.join(dir, 'gone.jsonl')}: ENOENT`,
    });
  });

  it('an unreachable NATS (a closed port): exit 0 with a systemMessage, quickly', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    const started = Date.now();
    const d = decision(await hook(stopEvent(dir, transcript, SEED_SESSION), ['--server', 'nats://127.0.0.1:1'], dir));
    expect(d).toEqual({
      systemMessage:
        'peer-audit hook: not judged: cannot reach NATS at nats://127.0.0.1:1: connection refused ' +
        '(is nats-server running? set --server or NATS_URL)',
    });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a config file that cannot be read: exit 0 with a systemMessage, not exit 2 (which would block)', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    await fs.writeFile(path.join(dir, 'peer-audit.config.json'), '{ not json');
    const d = decision(await hook(stopEvent(dir, transcript, SEED_SESSION), SNAPSHOT, dir));
    expect(Object.keys(d)).toEqual(['systemMessage']);
    expect(d.systemMessage).toMatch(/^peer-audit hook: .*peer-audit\.config\.json/);
  });
});

describe('peer-audit hook: live KV', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
    await loadSnapshotIntoServer(path.join(INCIDENTS, 'wal-operation-handling-fix/kv-snapshot.jsonl'), server.url);
  });
  afterAll(async () => server?.stop());

  it('reads only the keys of the subjects asked for, one history per subject', async () => {
    const nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
    const kv = await nc.jetstream().views.kv('agent-os-peer-state', { bindOnly: true });
    await kv.put('peer.spec.other-run.meta', '{"spec_name":"other-run"}');
    await kv.put('peer.spec.wal-operation-handling-fix-2.meta', '{}');
    await nc.close();
    const opts = { servers: server.url, bucket: 'agent-os-peer-state', timeoutMs: 2000 };
    const all = await readKvLive(opts);
    expect([...all.data.keys.keys()]).toHaveLength(4);
    const one = await readKvLive(opts, undefined, [`${KEY}.>`, `${KEY}.>`]);
    expect(one.report.ok).toBe(true);
    expect([...one.data.keys.keys()]).toEqual([`${KEY}.cycle.1`, `${KEY}.meta`]);
    expect(one.data.keys.get(`${KEY}.cycle.1`)!.map((r) => r.revision)).toEqual([2, 3, 5, 7, 9]);
  });

  it('reads the keys of the run from a real nats-server and blocks as from the snapshot', async () => {
    const { dir, transcript } = await incident('wal-operation-handling-fix', CLAIM_LINE);
    const d = decision(await hook(stopEvent(dir, transcript, SEED_SESSION), ['--server', server.url], dir));
    expect(d.decision).toBe('block');
    expect(d.reason!.split('\n').slice(0, 3)).toEqual(SEED_REASON_START);
  });
});

describe('peer-audit hook: PostToolUse', () => {
  const toolEvent = (dir: string, tool: string, input: Record<string, unknown>, response: unknown) =>
    JSON.stringify({
      session_id: 's1',
      transcript_path: path.join(dir, 'none.jsonl'),
      cwd: dir,
      hook_event_name: 'PostToolUse',
      tool_name: tool,
      tool_input: input,
      tool_response: response,
    });

  it('blocks a Write of a file under .agent-os/ that ends in the heredoc residue, with its path and line', async () => {
    const dir = await tempDir('pa-hook-write-');
    const rel = '.agent-os/specs/2026-01-01-x/spec.md';
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    const content = '# Spec\n\n## Overview\n\nThe endpoint.\nEOF < /dev/null\n';
    await fs.writeFile(path.join(dir, rel), content);
    const event = toolEvent(dir, 'Write', { file_path: path.join(dir, rel), content }, { type: 'create' });
    expect(decision(await hook(event, [], dir))).toEqual({
      decision: 'block',
      reason:
        'peer-audit: fix what was just written:\n' +
        `${rel}:6 holds the heredoc residue "EOF < /dev/null" as its last line: the heredoc's end marker was ` +
        'written into the file. Delete that line and check that the text before it is complete.',
    });
  });

  it('blocks a Bash heredoc write whose file kept the residue', async () => {
    const dir = await tempDir('pa-hook-bash-');
    const rel = '.agent-os/specs/2026-01-01-x/tasks.md';
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), '# Tasks\n\n- [ ] 1. Do it\nEOF < /dev/null');
    const command = `cat > ${rel} << 'EOF'\n# Tasks\n\n- [ ] 1. Do it\nEOF`;
    const d = decision(await hook(toolEvent(dir, 'Bash', { command }, { stdout: '', stderr: '' }), [], dir));
    expect(d.decision).toBe('block');
    expect(d.reason).toContain(`${rel}:4 holds the heredoc residue "EOF < /dev/null" as its last line`);
  });

  it('blocks a state write that failed, quoting the command and its error', async () => {
    const dir = await tempDir('pa-hook-state-');
    const command = `nats kv put agent-os-peer-state ${KEY}.cycle.1 "$state"`;
    const response = { stdout: '', stderr: 'nats: error: nats: no responders available for request' };
    expect(decision(await hook(toolEvent(dir, 'Bash', { command }, response), [], dir))).toEqual({
      decision: 'block',
      reason:
        'peer-audit: fix what was just written:\n' +
        `the state write failed: \`${command}\` answered "nats: error: nats: no responders available for request" ` +
        `(key ${KEY}.cycle.1); the state was not written: fix the cause and run it again before going on.`,
    });
  });

  it.each([
    ['a clean file under .agent-os/', 'Write', '.agent-os/specs/2026-01-01-x/spec.md', '# Spec\n\nDone.\n'],
    ['residue outside .agent-os/', 'Write', 'notes/draft.md', 'Text\nEOF < /dev/null\n'],
    ['a state read that failed (not a write)', 'Bash', '', ''],
  ])('says nothing about %s', async (_name, tool, rel, content) => {
    const dir = await tempDir('pa-hook-quiet-');
    let event: string;
    if (tool === 'Write') {
      await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await fs.writeFile(path.join(dir, rel), content);
      event = toolEvent(dir, tool, { file_path: path.join(dir, rel), content }, { type: 'create' });
    } else {
      event = toolEvent(
        dir,
        tool,
        { command: `nats kv get agent-os-peer-state ${KEY}.cycle.1` },
        { stdout: '', stderr: 'nats: error: nats: key not found' },
      );
    }
    expect(await hook(event, [], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('peer-audit hook install / uninstall', () => {
  const USER_SETTINGS =
    '{\n    "permissions": {"allow": ["Bash(ls)"]},\n    "hooks": {\n' +
    '        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],\n' +
    '        "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write"}]}]\n' +
    '    }\n}';

  it('adds the entries once, shows the diff, keeps a backup; uninstall gives the file back byte for byte', async () => {
    const project = await tempDir('pa-hook-install-');
    const file = path.join(project, '.claude/settings.json');
    await fs.mkdir(path.dirname(file));
    await fs.writeFile(file, USER_SETTINGS);
    const cmd = ['hook', 'install', '--project', project, '--command', 'npx peer-audit hook'];
    const first = await runCli(cmd, { cwd: project });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+                        "command": "npx peer-audit hook"');
    expect(first.stderr).toContain(`installed: ${file} (previous file kept as ${file}.peer-audit.bak)`);
    expect(await fs.readFile(`${file}.peer-audit.bak`, 'utf8')).toBe(USER_SETTINGS);
    const installed = await fs.readFile(file, 'utf8');
    const json = JSON.parse(installed);
    const ours = { type: 'command', command: 'npx peer-audit hook' };
    expect(json.hooks).toEqual({
      Stop: [{ hooks: [{ type: 'command', command: 'say done' }] }, { hooks: [ours] }],
      PostToolUse: [
        { matcher: 'Write', hooks: [{ type: 'command', command: 'prettier --write' }] },
        { matcher: 'Write|Edit|MultiEdit|Bash', hooks: [ours] },
      ],
      SubagentStop: [{ hooks: [ours] }],
    });
    expect(json.permissions).toEqual({ allow: ['Bash(ls)'] });
    expect(installed).toMatch(/^\{\n {4}"permissions"/); // the file's own indentation
    expect(installed.endsWith('}')).toBe(true); // and no final newline, as before

    const second = await runCli(cmd, { cwd: project });
    expect(second).toMatchObject({ code: 0, stdout: '' });
    expect(second.stderr).toContain('nothing to change (already installed)');
    expect(await fs.readFile(file, 'utf8')).toBe(installed);

    const un = await runCli(['hook', 'uninstall', '--project', project], { cwd: project });
    expect(un.code).toBe(0);
    expect(un.stdout).toContain('-                        "command": "npx peer-audit hook"');
    expect(await fs.readFile(file, 'utf8')).toBe(USER_SETTINGS);
    const again = await runCli(['hook', 'uninstall', '--project', project], { cwd: project });
    expect(again.stderr).toContain('nothing to change (no peer-audit hooks)');
    expect(await fs.readFile(file, 'utf8')).toBe(USER_SETTINGS);
  });

  it('uninstall keeps a hook the user added after install, and takes out only peer-audit entries', async () => {
    const project = await tempDir('pa-hook-keep-');
    const file = path.join(project, '.claude/settings.json');
    expect((await runCli(['hook', 'install', '--project', project, '--events', 'stop'], { cwd: project })).code).toBe(
      0,
    );
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(json).toEqual({
      hooks: { Stop: [{ hooks: [{ type: 'command', command: `node ${BIN} hook` }] }] },
    });
    json.hooks.Stop[0].hooks.push({ type: 'command', command: 'notify-send done' });
    await fs.writeFile(file, JSON.stringify(json, null, 2) + '\n');
    expect((await runCli(['hook', 'uninstall', '--project', project], { cwd: project })).code).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toBe(
      JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'notify-send done' }] }] } }, null, 2) +
        '\n',
    );
  });

  it('creates a missing settings file; uninstall then leaves {}', async () => {
    const project = await tempDir('pa-hook-new-');
    const file = path.join(project, '.claude/settings.json');
    const r = await runCli(['hook', 'install', '--project', project], { cwd: project });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`installed: ${file}`);
    expect(r.stderr).not.toContain('previous file kept');
    expect(Object.keys(JSON.parse(await fs.readFile(file, 'utf8')).hooks)).toEqual([
      'Stop',
      'SubagentStop',
      'PostToolUse',
    ]);
    expect((await runCli(['hook', 'uninstall', '--project', project], { cwd: project })).code).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toBe('{}\n');
  });

  it('--scope user writes $HOME/.claude/settings.json', async () => {
    const home = await tempDir('pa-hook-home-');
    const r = await runCli(['hook', 'install', '--scope', 'user', '--events', 'post-tool-use'], {
      cwd: home,
      env: { HOME: home },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(await fs.readFile(path.join(home, '.claude/settings.json'), 'utf8'))).toEqual({
      hooks: {
        PostToolUse: [
          { matcher: 'Write|Edit|MultiEdit|Bash', hooks: [{ type: 'command', command: `node ${BIN} hook` }] },
        ],
      },
    });
  });

  it('invalid JSON in settings.json: a clear error, exit 2, nothing written', async () => {
    const project = await tempDir('pa-hook-bad-json-');
    const file = path.join(project, '.claude/settings.json');
    await fs.mkdir(path.dirname(file));
    await fs.writeFile(file, '{"hooks": {,}}');
    for (const cmd of [['install'], ['uninstall']]) {
      const r = await runCli(['hook', ...cmd, '--project', project], { cwd: project });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(`^peer-audit: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`),
      );
      expect(await fs.readFile(file, 'utf8')).toBe('{"hooks": {,}}');
      await expect(fs.stat(`${file}.peer-audit.bak`)).rejects.toThrow(/ENOENT/);
    }
  });

  it('an unknown event is a usage error', async () => {
    const project = await tempDir('pa-hook-events-');
    const r = await runCli(['hook', 'install', '--project', project, '--events', 'stop,pre-tool-use'], {
      cwd: project,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--events: unknown event "pre-tool-use" (choose from stop, subagent-stop, post-tool-use)',
    );
  });
});

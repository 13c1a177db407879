// Every command's terminal output over evidence with hostile names and contents: escape sequences (OSC title,
// clear screen, C1 CSI, BEL) in spec folder names, file names, file lines a repair diff shows, and KV values.
// No raw ESC, BEL or C1 CSI may reach stdout or stderr; JSON and SARIF carry them as \u001b, which is text.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, type CliResult } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';

const BUCKET = 'agent-os-peer-state';
const P = 'peer.spec.wal-operation-handling-fix';
const WAL = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';
/** An OSC window title, a clear screen, a C1 CSI and a BEL. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u009b31m';
const EVIL_FOLDER = `.agent-os/specs/2025-08-06-evil${HOSTILE}`;
const EVIL_FILE = `${WAL}/notes${HOSTILE}.md`;
const RAW = /[\u001b\u0007\u009b]/;

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let project: string;

function expectNoRawControls(r: CliResult, what: string) {
  for (const [stream, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    const at = text.search(RAW);
    expect(
      at,
      `${what}: raw control byte in ${stream}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 20))}`,
    ).toBe(-1);
  }
}

beforeAll(async () => {
  server = await startNatsServer();
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-hostile-'));
  await fs.cp(path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix'), project, { recursive: true });
  await loadSnapshotIntoServer(path.join(project, 'kv-snapshot.jsonl'), server.url);
  // A line the heredoc-artifact diff shows as context, a spec folder and a file named with escape sequences,
  // each holding a heredoc artifact so that repair plans a change with that name in its header.
  const spec = path.join(project, WAL, 'spec.md');
  const text = await fs.readFile(spec, 'utf8');
  const hostileSpec = text.replace('\nEOF < /dev/null', `\n4. Says ${HOSTILE} to the terminal.\nEOF < /dev/null`);
  expect(hostileSpec).not.toBe(text);
  await fs.writeFile(spec, hostileSpec);
  await fs.mkdir(path.join(project, EVIL_FOLDER, 'sub-specs'), { recursive: true });
  await fs.writeFile(path.join(project, EVIL_FOLDER, 'spec.md'), hostileSpec);
  await fs.writeFile(path.join(project, EVIL_FILE), hostileSpec);
  // A KV value with the same bytes, shown by scan's evidence and the reopen diff.
  nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
  const kv = await nc.jetstream().views.kv(BUCKET, { bindOnly: true });
  await kv.put(`${P}.notes`, new TextEncoder().encode(`not json ${HOSTILE}`));
}, 60_000);

afterAll(async () => {
  if (nc && !nc.isClosed()) await nc.close();
  await server?.stop();
});

const cli = (args: string[]) => runCli(args, { cwd: project, timeoutMs: 60_000 });
const live = () => ['--server', server.url, '--logs', 'logs', '--allow-unknown-keys'];

describe('no command prints a raw escape sequence from the evidence', () => {
  it('scan in every format, to stdout', async () => {
    for (const format of ['stylish', 'json', 'sarif', 'markdown', 'html']) {
      const r = await cli(['scan', ...live(), '--format', format]);
      expect(r.code, `${format}: ${r.stderr}`).toBe(1);
      expectNoRawControls(r, `scan --format ${format}`);
      // The hostile text is shown, escaped: visible, not acted on.
      if (format === 'stylish') expect(r.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m');
    }
  });

  it('report in every format', async () => {
    for (const format of ['markdown', 'html', 'json', 'sarif']) {
      const r = await cli(['report', ...live(), '--format', format]);
      expect([0, 1], `${format}: ${r.stderr}`).toContain(r.code);
      expectNoRawControls(r, `report --format ${format}`);
    }
  });

  it('repair dry run, repair --apply, undo', async () => {
    const dry = await cli(['repair', ...live()]);
    expect(dry.code, dry.stderr).toBe(0);
    expectNoRawControls(dry, 'repair');
    // The file headers and the diff lines name the hostile file and folder, escaped.
    expect(dry.stdout).toContain(`file ${WAL}/notes\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m.md  [heredoc-artifact]`);
    expect(dry.stdout).toContain(
      `file .agent-os/specs/2025-08-06-evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m/spec.md  [heredoc-artifact]`,
    );
    expect(dry.stdout).toContain(' 4. Says \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m to the terminal.\n');

    const applied = await cli(['repair', ...live(), '--apply', '--yes', '--reason', 'hostile names']);
    expect(applied.code, applied.stderr).toBe(0);
    expectNoRawControls(applied, 'repair --apply');
    expect(await fs.readFile(path.join(project, EVIL_FILE), 'utf8')).not.toContain('EOF < /dev/null');

    const dir = path.join(project, '.peer-audit/journal');
    const [journal] = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
    const undo = await cli(['undo', path.join(dir, journal), '--server', server.url, '--yes']);
    expect(undo.code, undo.stderr).toBe(0);
    expectNoRawControls(undo, 'undo');
    expect(await fs.readFile(path.join(project, EVIL_FILE), 'utf8')).toContain('EOF < /dev/null');
  });

  it('reopen dry run', async () => {
    const r = await cli([
      'reopen',
      'wal-operation-handling-fix',
      '--server',
      server.url,
      '--reason',
      `why ${HOSTILE}`,
      '--force',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expectNoRawControls(r, 'reopen');
  });

  it('rules, doctor, snapshot', async () => {
    for (const args of [
      ['rules'],
      ['rules', '--format', 'json'],
      ['doctor', '--server', server.url, '--logs', 'logs'],
      ['snapshot', '--server', server.url, '-o', 'snap.jsonl'],
    ]) {
      const r = await cli(args);
      expect([0, 1], `${args[0]}: ${r.stderr}`).toContain(r.code);
      expectNoRawControls(r, args.join(' '));
    }
  });

  it('usage errors that quote what was typed: an unknown flag, an unknown command, a bad value', async () => {
    for (const args of [
      ['scan', `--x${HOSTILE}`],
      [`sc${HOSTILE}an`],
      ['scan', '--format', HOSTILE],
      ['repair', '--rule', HOSTILE],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/\\(x1b|u001b)/);
      expectNoRawControls(r, args.join(' '));
    }
  });

  it('watch, briefly', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'watch', '--server', server.url, '--project', project, '--initial', '--settle', '0'],
      {
        cwd: project,
        env: { ...process.env, NO_COLOR: '1', NATS_URL: undefined, NATS_CONTEXT: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const end = Date.now() + 20_000;
    while (!/watching/.test(stderr) && Date.now() < end && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    // --initial prints what is already true as it starts; Ctrl-C ends it, and once it has closed all it printed is in.
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(stderr).toMatch(/watching/);
    expect(stdout).toContain('notes');
    expectNoRawControls({ code: 0, stdout, stderr }, 'watch');
  });
});

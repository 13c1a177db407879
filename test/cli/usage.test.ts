// The command line itself: strict flags (exit 2), help with examples, version, colour per stream, completion.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { loadRules } from '../../src/engine/registry.js';
import { VERSION } from '../../src/version.js';
import { seedProject } from '../config/seed-project.js';

const COMMANDS = ['scan', 'watch', 'repair', 'reopen', 'undo', 'snapshot', 'doctor', 'rules', 'completion'];
/** What each command needs to get past its own required arguments. */
const REQUIRED: Record<string, string[]> = {
  reopen: ['some-spec'],
  undo: ['journal.json'],
  snapshot: ['-o', 'out.jsonl'],
};

let cwd: string;
beforeAll(async () => {
  cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-usage-'));
  await fs.mkdir(path.join(cwd, '.git'));
});

describe('usage errors exit 2 with one message, for every command', () => {
  it.each(COMMANDS)('%s: an unknown flag', async (cmd) => {
    const r = await runCli([cmd, ...(REQUIRED[cmd] ?? []), '--bogus-flag'], { cwd });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`peer-audit: Unknown argument: bogus-flag\nRun "peer-audit ${cmd} --help" for usage.\n`);
  });

  it.each(COMMANDS)('%s: an extra positional', async (cmd) => {
    const r = await runCli([cmd, ...(REQUIRED[cmd] ?? []), 'stray'], { cwd });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^peer-audit: Unknown argument: stray\n/);
  });

  it('a misspelled flag names the one meant', async () => {
    const cases: Array<[string[], string]> = [
      [['scan', '--formt', 'json'], 'Unknown argument: formt (did you mean --format?)'],
      [['scan', '--max-warning', '3'], 'Unknown argument: max-warning (did you mean --max-warnings?)'],
      [['watch', '--spce', 'x'], 'Unknown argument: spce (did you mean --spec?)'],
      [['reopen', 'x', '--reasn', 'why'], 'Unknown argument: reasn (did you mean --reason?)'],
      [['repair', '--rules', 'false-success'], 'Unknown argument: rules (did you mean --rule?)'],
      [['undo', 'j.json', '--yse'], 'Unknown argument: yse (did you mean --yes?)'],
      [['scan', '--colr'], 'Unknown argument: colr (did you mean --color?)'],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(args, { cwd });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0], args.join(' ')).toBe(`peer-audit: ${msg}`);
    }
  });

  it('bad values, missing positionals and no command at all', async () => {
    for (const args of [
      ['scan', '--format', 'xml'],
      ['watch', '--format', 'xml'],
      ['reopen'],
      ['undo'],
      ['snapshot'],
      [],
      ['scna'],
      ['watch', '--spec', 'a b'],
      ['watch', '--settle', 'soon'],
      ['scan', '--max-warnings', '-1'],
    ]) {
      const r = await runCli(args, { cwd, env: { NATS_URL: 'nats://127.0.0.1:1' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^peer-audit: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('help and version', () => {
  it.each(['', ...COMMANDS])('%s --help: usage, options and examples, exit 0', async (cmd) => {
    const r = await runCli([...(cmd ? [cmd] : []), '--help'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^peer-audit/);
    expect(r.stdout).toContain('Options:');
    expect(r.stdout).toMatch(/Examples:\n {2}peer-audit /);
  });

  it('--version', async () => {
    const r = await runCli(['--version'], { cwd });
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});

describe('colour is decided per stream', () => {
  // An unreachable server: stdout gets the (yellow) INCOMPLETE report, stderr a notice with a dimmed prefix.
  const args = ['scan', '--server', 'nats://127.0.0.1:1', '--no-default-logs'];
  const ESC = '\u001b[';
  const colours = async (extra: string[], env: Record<string, string | undefined>) => {
    const r = await runCli([...args, ...extra], {
      cwd,
      env: { NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...env },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/peer-audit:.* incomplete: cannot reach NATS/);
    return { out: r.stdout.includes(ESC), err: r.stderr.includes(ESC) };
  };

  it.each([
    ['pipes, nothing set', [], {}, false, false],
    ['FORCE_COLOR=1', [], { FORCE_COLOR: '1' }, true, true],
    ['FORCE_COLOR=0', [], { FORCE_COLOR: '0' }, false, false],
    ['NO_COLOR beats FORCE_COLOR', [], { NO_COLOR: '1', FORCE_COLOR: '1' }, false, false],
    ['an empty NO_COLOR is not set', [], { NO_COLOR: '', FORCE_COLOR: '1' }, true, true],
    ['--color beats NO_COLOR', ['--color'], { NO_COLOR: '1' }, true, true],
    ['--no-color beats FORCE_COLOR', ['--no-color'], { FORCE_COLOR: '1' }, false, false],
  ] as const)('%s', async (_name, extra, env, out, err) => {
    expect(await colours([...extra], env)).toEqual({ out, err });
  });

  it('a report written to a file has no colour unless --color; stderr still decides for itself', async () => {
    const file = path.join(cwd, 'report.txt');
    const r = await runCli([...args, '-o', file], { cwd, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(r.stderr).toContain(ESC);
    expect(await fs.readFile(file, 'utf8')).not.toContain(ESC);
    await runCli([...args, '-o', file, '--color'], { cwd, env: { NO_COLOR: undefined } });
    expect(await fs.readFile(file, 'utf8')).toContain(ESC);
  });

  // A real terminal on one stream and a file on the other, with util-linux `script`. Its stdin stays open
  // until the command is done: at end of input, `script` may stop before the command has written anything.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  const inTerminal = async (redirect: string, env: Record<string, string> = {}) => {
    const other = path.join(cwd, `other-${Math.random().toString(36).slice(2)}.txt`);
    const cmd = `${process.execPath} ${BIN} ${args.join(' ')} ${redirect}${other}`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let terminal = '';
    child.stdout.on('data', (d) => (terminal += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.destroy();
    expect(code).toBe(2);
    return { terminal, other: readFileSync(other, 'utf8') };
  };

  it.skipIf(!hasScript)('stdout on a terminal, stderr to a file: colour on stdout only', async () => {
    const { terminal, other } = await inTerminal('2>');
    expect(terminal).toContain('INCOMPLETE SCAN');
    expect(terminal).toContain(ESC);
    expect(other).toMatch(/^peer-audit: incomplete: /);
    expect(other).not.toContain(ESC);
  });

  it.skipIf(!hasScript)('stderr on a terminal, stdout to a file: colour on stderr only', async () => {
    const { terminal, other } = await inTerminal('>');
    expect(terminal).toContain('incomplete: cannot reach NATS');
    expect(terminal).toContain(ESC);
    expect(other).toContain('INCOMPLETE SCAN');
    expect(other).not.toContain(ESC);
  });

  it.skipIf(!hasScript)('TERM=dumb or NO_COLOR on a terminal: no colour', async () => {
    expect((await inTerminal('2>', { TERM: 'dumb' })).terminal).not.toContain(ESC);
    expect((await inTerminal('2>', { NO_COLOR: '1' })).terminal).not.toContain(ESC);
  });
});

describe('shell completion', () => {
  let project: string;
  beforeAll(async () => {
    project = await seedProject();
  });
  const complete = async (words: string[], where = project) => {
    const r = await runCli(['--get-yargs-completions', 'peer-audit', ...words], { cwd: where });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    return r.stdout.trim().split('\n');
  };

  it('`peer-audit completion` prints a bash script that asks peer-audit for completions (zsh when $SHELL is zsh)', async () => {
    const r = await runCli(['completion'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('###-begin-peer-audit-completions-###');
    expect(r.stdout).toContain('peer-audit --get-yargs-completions');
    expect(r.stdout).toContain('# Installation: peer-audit completion >> ~/.bashrc');
    expect(r.stdout).toContain('complete -o bashdefault -o default -F _peer-audit_yargs_completions peer-audit');
    const z = await runCli(['completion'], { cwd, env: { SHELL: '/usr/bin/zsh' } });
    expect(z.stdout).toMatch(/^#compdef peer-audit\n/);
  });

  it('--rule completes rule ids', async () => {
    const all = await complete(['repair', '--rule', '']);
    expect([...all].sort()).toEqual((await loadRules()).map((r) => r.meta.id).sort());
    expect(all).toEqual(
      expect.arrayContaining(['false-success', 'missing-execute-phase', 'heredoc-artifact', 'stale-cycle']),
    );
    expect(await complete(['repair', '--rule', 'missing-'])).toEqual([
      'missing-execute-phase',
      'missing-spec-file',
      'missing-tasks-md',
      'missing-user-review',
    ]);
  });

  it('--spec and reopen <spec> complete the spec names of the project', async () => {
    await fs.mkdir(path.join(project, '.agent-os/specs/2025-09-01-new-thing'), { recursive: true });
    expect(await complete(['watch', '--spec', ''])).toEqual([
      'meilisearch-search-endpoint',
      'new-thing',
      'wal-operation-handling-fix',
    ]);
    expect(await complete(['repair', '--spec', 'w'])).toEqual(['wal-operation-handling-fix']);
    expect(await complete(['reopen', ''])).toEqual([
      'meilisearch-search-endpoint',
      'new-thing',
      'wal-operation-handling-fix',
    ]);
    // From a subfolder, through the config's folder; and with --project.
    await fs.writeFile(path.join(project, 'peer-audit.config.json'), '{}');
    await fs.mkdir(path.join(project, 'sub'), { recursive: true });
    expect(await complete(['reopen', ''], path.join(project, 'sub'))).toEqual([
      'meilisearch-search-endpoint',
      'new-thing',
      'wal-operation-handling-fix',
    ]);
    expect(await complete(['reopen', '--project', project, ''], cwd)).toEqual([
      'meilisearch-search-endpoint',
      'new-thing',
      'wal-operation-handling-fix',
    ]);
  });

  it('commands, flags and choices come from yargs', async () => {
    expect(await complete(['w'])).toContain('watch');
    expect(await complete(['scan', '--max'])).toContain('--max-warnings');
    expect(await complete(['watch', '--format', ''])).toEqual(['stylish', 'json']);
  });
});

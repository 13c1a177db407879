// Every flag value is checked before a command runs: empty paths, fixed sets of values, numbers, one-value flags
// given twice. Each is a usage error (exit 2) that names the flag and points at the command's help.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let cwd: string;
beforeAll(async () => {
  cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-flags-'));
  await fs.mkdir(path.join(cwd, '.git'));
});

/** Which commands take each path flag, and what else they need to get past their required arguments. */
const PATH_FLAG_COMMANDS: Record<string, string[][]> = {
  'kv-snapshot': [['scan'], ['report'], ['repair'], ['repair', '--apply', '--reason', 'x', '--yes']],
  logs: [['scan'], ['report'], ['repair'], ['doctor']],
  project: [['scan'], ['report'], ['repair'], ['reopen', 'some-spec'], ['doctor'], ['watch']],
  specs: [['scan'], ['report'], ['repair'], ['doctor']],
  output: [['scan'], ['report'], ['snapshot']],
  config: [
    ['scan'],
    ['report'],
    ['repair'],
    ['reopen', 'some-spec'],
    ['undo', 'j.json'],
    ['snapshot', '-o', 'x'],
    ['doctor'],
    ['rules'],
    ['watch'],
  ],
  baseline: [['scan'], ['watch']],
  from: [['report']],
  journal: [['report']],
};

const pathCases: Array<[string, string[]]> = [];
for (const [flag, commands] of Object.entries(PATH_FLAG_COMMANDS)) {
  for (const cmd of commands) {
    pathCases.push([`${cmd[0]} --${flag} ""`, [...cmd, `--${flag}`, '']]);
    // The flag last with no value at all, or followed by another flag.
    pathCases.push([`${cmd[0]} --${flag} (no value)`, [...cmd, `--${flag}`]]);
    pathCases.push([`${cmd[0]} --${flag} --no-color`, [...cmd, `--${flag}`, '--no-color']]);
  }
}

describe('an empty or missing path is a usage error, on every command that takes the flag', () => {
  it.each(pathCases)('%s', async (_name, args) => {
    // A reachable-looking server that is not there: nothing may fall back to it.
    const r = await runCli(args, { cwd, env: { NATS_URL: 'nats://127.0.0.1:1' } });
    const flag = args.find((a) => a.startsWith('--') && !['--apply', '--reason', '--yes', '--no-color'].includes(a))!;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `peer-audit: ${flag} needs a path; an empty value is not "the default"${flag === '--kv-snapshot' ? ' (leave the flag out to read the live server)' : ''}\n` +
        `Run "peer-audit ${args[0]} --help" for usage.\n`,
    );
  });

  it.each([
    [['undo', ''], '<journal> needs a path; an empty value is not "the default"'],
    [['reopen', '', '--reason', 'x'], '<spec> needs a value; an empty one is not "every spec"'],
    [
      ['repair', '--spec', '', '--apply', '--reason', 'x', '--yes'],
      '--spec needs a value; an empty one is not "every spec"',
    ],
    [['watch', '--spec'], '--spec needs a value; an empty one is not "every spec"'],
    [['scan', '--server', ''], '--server needs a value; an empty one is not "the default"'],
    [['snapshot', '-o', 'x', '-s', ''], '--server needs a value; an empty one is not "the default"'],
    [['doctor', '--bucket', ''], '--bucket needs a value; an empty one is not "the default"'],
  ])('%j: an empty value that would widen what is touched', async (args, message) => {
    const r = await runCli(args, { cwd, env: { NATS_URL: 'nats://127.0.0.1:1' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`peer-audit: ${message}\nRun "peer-audit ${args[0]} --help" for usage.\n`);
  });

  it('-o with an empty value (short alias) is refused too', async () => {
    const r = await runCli(['scan', '-o', ''], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('peer-audit: --output needs a path; an empty value is not "the default"');
  });
});

const valueCases: Array<[string[], string]> = [
  // Fixed sets of values, with the one meant.
  [
    ['scan', '--format', 'jsno'],
    '--format "jsno" is not one of stylish, json, sarif, markdown, html (did you mean json?)',
  ],
  [
    ['report', '--format', 'markdwn'],
    '--format "markdwn" is not one of stylish, json, sarif, markdown, html (did you mean markdown?)',
  ],
  [['watch', '--format', 'jsn'], '--format "jsn" is not one of stylish, json (did you mean json?)'],
  [['rules', '--format', 'xml'], '--format "xml" is not one of stylish, json'],
  [['scan', '--fail-on', 'erorr'], '--fail-on "erorr" is not one of info, warning, error (did you mean error?)'],
  [['report', '--fail-on', 'warn'], '--fail-on "warn" is not one of info, warning, error (did you mean warning?)'],
  [
    ['reopen', 'x', '--phase', 'exec'],
    '--phase "exec" is not one of plan, execute, express, review (did you mean execute?)',
  ],
  [
    ['reopen', 'x', '--phase', 'reveiw'],
    '--phase "reveiw" is not one of plan, execute, express, review (did you mean review?)',
  ],
  [
    ['repair', '--rule', 'false-sucess'],
    '--rule "false-sucess" is not a rule (did you mean false-success?); `peer-audit rules` lists them',
  ],
  [
    ['repair', '--rule', 'false-success', '--rule', 'no-such-rule-at-all'],
    '--rule "no-such-rule-at-all" is not a rule; `peer-audit rules` lists them',
  ],
  [['repair', '--rule', ''], '--rule needs a rule id (see `peer-audit rules`)'],
  // Numbers are numbers, in range.
  [['scan', '--timeout', 'abc'], '--timeout must be a whole number of at least 1 (ms), not "abc"'],
  [['scan', '--timeout', '-5'], '--timeout must be a whole number of at least 1 (ms), not -5'],
  [['scan', '--timeout', '0'], '--timeout must be a whole number of at least 1 (ms), not 0'],
  [['undo', 'j.json', '--timeout=1.5'], '--timeout must be a whole number of at least 1 (ms), not 1.5'],
  [['snapshot', '-o', 'x', '--timeout', 'soon'], '--timeout must be a whole number of at least 1 (ms), not "soon"'],
  [['repair', '--cycle', 'abc'], '--cycle must be a whole number of at least 1, not "abc"'],
  [['repair', '--cycle', '-1'], '--cycle must be a whole number of at least 1, not -1'],
  [['reopen', 'x', '--cycle', '0'], '--cycle must be a whole number of at least 1, not 0'],
  [['scan', '--max-warnings', 'many'], '--max-warnings must be a whole number of at least 0, not "many"'],
  [['scan', '--max-warnings', '-1'], '--max-warnings must be a whole number of at least 0, not -1'],
  [['scan', '--expect-replicas', '0'], '--expect-replicas must be a whole number from 1 to 5, not 0'],
  [['doctor', '--expect-replicas', 'three'], '--expect-replicas must be a whole number from 1 to 5, not "three"'],
  [['watch', '--expect-history', '65'], '--expect-history must be a whole number from 1 to 64, not 65'],
  [['report', '--expect-history', 'x'], '--expect-history must be a whole number from 1 to 64, not "x"'],
  [['reopen', 'x', '--quiet-for', 'abc'], '--quiet-for "abc" is not a duration (use e.g. 6h, 90m, 2d)'],
  [['scan', '--stale-after', '6 hours'], '--stale-after "6 hours" is not a duration (use e.g. 6h, 90m, 2d)'],
  // One-value flags given twice.
  [['scan', '--format', 'json', '--format', 'sarif'], '--format was given 2 times; it takes one value'],
  [['scan', '-f', 'json', '--format', 'json'], '--format was given 2 times; it takes one value'],
  [['repair', '--spec', 'a', '--spec', 'b'], '--spec was given 2 times; it takes one value'],
  [['scan', '--timeout', '1', '--timeout', '2'], '--timeout was given 2 times; it takes one value'],
  [['reopen', 'x', '--reason', 'a', '--reason', 'b'], '--reason was given 2 times; it takes one value'],
  [['rules', '--format', 'json', '--format', 'json'], '--format was given 2 times; it takes one value'],
  [
    ['scan', '--kv-snapshot', 'a.jsonl', '--kv-snapshot', 'b.jsonl'],
    '--kv-snapshot was given 2 times; it takes one value',
  ],
];

describe('flag values are checked before anything runs', () => {
  it.each(valueCases)('%j', async (args, message) => {
    const r = await runCli(args, { cwd, env: { NATS_URL: 'nats://127.0.0.1:1' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`peer-audit: ${message}\nRun "peer-audit ${args[0]} --help" for usage.\n`);
  });

  it('good values pass: repeatable flags may repeat, a 0s quiet time and a rule id are accepted', async () => {
    const r = await runCli(
      [
        'repair',
        '--rule',
        'false-success',
        '--rule',
        'heredoc-artifact',
        '--cycle',
        '1',
        '--no-kv',
        '--no-default-logs',
        '--timeout',
        '100',
      ],
      { cwd },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Nothing to repair: no fixable finding matches.\n');
  });
});

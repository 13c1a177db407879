// What the seed incident cost, through the command line: prices from the config file reach the JSON, the
// terminal summary's cost line and the incident report's Cost table.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
let tmp: string;
let args: string[];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-cost-cli-'));
  const config = path.join(tmp, 'peer-audit.config.json');
  const sonnet = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
  await fs.writeFile(config, JSON.stringify({ prices: { currency: 'USD', models: { 'claude-sonnet-4': sonnet } } }));
  args = ['--config', config, '--project', SEED, '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'];
  args.push('--now', '2026-01-01T00:00:00Z', '--color', 'false');
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('prices in the config file', () => {
  it('give the JSON cost its money and currency', async () => {
    const r = await runCli(['scan', ...args, '--format', 'json'], { cwd: SEED });
    expect(r.code).toBe(1);
    const run = JSON.parse(r.stdout).runs.items.find(
      (x: { id: string }) => x.id === 'peer.spec.wal-operation-handling-fix',
    );
    expect(run.cost).toMatchObject({ currency: 'USD', money: 1.539865, toolCalls: 77, wallMs: 927058 });
    expect(run.cost.tokens).toEqual({ input: 370, output: 10357, cacheRead: 2419632, cacheWrite: 175336 });
  });

  it('put money on the terminal cost line', async () => {
    const r = await runCli(['scan', ...args], { cwd: SEED });
    expect(r.stdout.split('\n')).toContain(
      'Cost: 2.6M tokens (in 370, out 10.4k, cache read 2.4M, cache write 175k), 15 min 27 s, 77 tool calls, ' +
        '1.54 USD; waste 1.5M tokens, 0.87 USD',
    );
  });

  it('add a money column to the report, and without prices there is none', async () => {
    const r = await runCli(['report', ...args], { cwd: SEED });
    expect(r.stdout).toContain(
      '| Phase | Agents | Input | Output | Cache read | Cache write | Tokens | Wall time | Tool calls | Money (USD) |',
    );
    expect(r.stdout).toContain(
      '| **Total** | 3 | 370 | 10,357 | 2,419,632 | 175,336 | 2,605,695 | 15 min 27 s | 77 | 1.54 |',
    );
    const plain = await runCli(['report', ...args.slice(2), '--no-config'], { cwd: SEED });
    expect(plain.stdout).toContain(
      '| **Total** | 3 | 370 | 10,357 | 2,419,632 | 175,336 | 2,605,695 | 15 min 27 s | 77 |\n',
    );
    expect(plain.stdout).not.toContain('Money');
  });
});

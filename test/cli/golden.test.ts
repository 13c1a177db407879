// Golden files: the whole `scan --format json` of every bundled evidence set, compared byte for byte (after masking
// the scan time, the project path and the tool version). A change of any finding, message, evidence or run
// description shows up here as a diff; when it is intended, refresh with `PEER_AUDIT_UPDATE_GOLDEN=1 npm run
// test:e2e -- test/cli/golden.test.ts` and review the diff of test/golden/ like code.
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';

const GOLDEN = path.join(REPO, 'test/golden');
const UPDATE = process.env.PEER_AUDIT_UPDATE_GOLDEN === '1';
const SETS = ['fixtures/incidents', 'fixtures/real-runs'].flatMap((parent) =>
  readdirSync(path.join(REPO, parent), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(parent, d.name)),
);

function normalise(exitCode: number | null, json: string, dir: string): string {
  const scan = JSON.parse(json) as Record<string, unknown> & { tool: { version: string } };
  scan.generatedAt = '<scan time>';
  scan.projectRoot = '<project>';
  scan.tool.version = '<version>';
  return `${JSON.stringify({ exitCode, scan }, null, 2).split(dir).join('<project>')}\n`;
}

describe('scan JSON of every bundled evidence set matches its golden file', () => {
  it('covers every evidence set', () => {
    expect(SETS.length).toBeGreaterThanOrEqual(17);
  });
  for (const set of SETS) {
    const name = path.basename(set);
    it(name, async () => {
      const dir = path.join(REPO, set);
      const logs = existsSync(path.join(dir, 'logs')) ? ['--logs', 'logs'] : ['--no-logs'];
      const r = await runCli(
        ['scan', '--format', 'json', '--kv-snapshot', 'kv-snapshot.jsonl', ...logs, '--now', '2025-08-25T00:00:00Z'],
        { cwd: dir },
      );
      expect(r.stderr).toBe('');
      const actual = normalise(r.code, r.stdout, dir);
      const file = path.join(GOLDEN, `${name}.json`);
      if (UPDATE) await fs.writeFile(file, actual);
      expect(actual).toBe(await fs.readFile(file, 'utf8'));
    });
  }
});

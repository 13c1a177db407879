// What a new user sees first: what to run next after a scan, the Sources line in words, durations, scan -o,
// and --help at every terminal width. The real CLI on copies of the bundled incidents.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';

const SEED = 'wal-operation-handling-fix';
let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-first-'));
  for (const name of [SEED, 'healthy-v2'])
    await fs.cp(path.join(REPO, 'fixtures/incidents', name), path.join(work, name), { recursive: true });
});
afterAll(async () => fs.rm(work, { recursive: true, force: true }));

const offline = ['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'];
const inSeed = (args: string[]) => runCli(args, { cwd: path.join(work, SEED) });

describe('scan says what to run next', () => {
  it('ends with the repair and report command lines for the run, which run as written', async () => {
    const r = await inSeed(['scan', ...offline]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    const next = lines.indexOf('Next:');
    expect(next).toBeGreaterThan(0);
    expect(lines.slice(next + 1).map((l) => l.split('   # ')[0].trim())).toEqual([
      'peer-audit repair --spec wal-operation-handling-fix --logs logs --kv-snapshot kv-snapshot.jsonl',
      'peer-audit report --logs logs --kv-snapshot kv-snapshot.jsonl -o incident.md',
    ]);
    expect(lines[next + 1]).toMatch(
      /# see the changes that fix 4 findings \(a dry run; to write them, load the snapshot with snapshot --restore/,
    );
    // The suggested lines work.
    const repair = await inSeed(['repair', '--spec', SEED, '--logs', 'logs', '--kv-snapshot', 'kv-snapshot.jsonl']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain('Dry run: 4 changes');
    const report = await inSeed([
      'report',
      '--logs',
      'logs',
      '--kv-snapshot',
      'kv-snapshot.jsonl',
      '-o',
      'incident.md',
    ]);
    expect(report.code).toBe(1);
    expect(await fs.readFile(path.join(work, SEED, 'incident.md'), 'utf8')).toMatch(
      /^# Incident report: wal-operation-handling-fix/,
    );
  });

  it('says nothing more for a clean scan', async () => {
    const r = await runCli(['scan', ...offline], { cwd: path.join(work, 'healthy-v2') });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Next:');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Sources: /);
  });

  it("puts the run's own findings before those about other folders and sessions", async () => {
    const r = await inSeed(['scan', ...offline]);
    const titles = r.stdout.split('\n').filter((l) => /^(peer\.|folder |session )/.test(l));
    expect(titles).toEqual([
      'peer.spec.wal-operation-handling-fix · spec wal-operation-handling-fix',
      'peer.spec.wal-operation-handling-fix · cycle 1 · spec wal-operation-handling-fix',
      'folder .agent-os/specs/2025-07-30-meilisearch-search-endpoint',
      'session 4b8f1c2e-7d3a-4e59-9a61-0c5d2e8f7a13',
    ]);
  });
});

describe('the Sources line in words', () => {
  it('counts in singular and plural, names the unreadable part by file and line, no field names', async () => {
    const r = await inSeed(['scan', ...offline]);
    const sources = r.stdout.split('\n').find((l) => l.startsWith('Sources: '));
    expect(sources).toBe(
      'Sources: kv-snapshot kv-snapshot.jsonl ok (2 keys, 10 revisions, 17171 bytes, 1 run) · specs .agent-os/specs ok (2 folders, 9 files, 8491 bytes) · ' +
        'logs logs ok (1 file, 199958 bytes, 188 lines, 187 records, 1 corrupt line, 1 session, 1 of them a PEER run; 1 part left out: logs/output-peer-test-2.jsonl:188, cut-off last line)',
    );
    expect(sources).not.toMatch(/corruptLines|duplicateRecords|ignoredFiles|problem|\(\)/);
    // The JSON keeps its stats keys.
    const json = JSON.parse((await inSeed(['scan', ...offline, '--format', 'json'])).stdout) as {
      sources: Array<{ stats: Record<string, number> }>;
    };
    expect(Object.keys(json.sources[2].stats)).toEqual([
      'files',
      'bytes',
      'lines',
      'records',
      'corruptLines',
      'sessions',
      'ignoredFiles',
      'duplicateRecords',
      'peerRuns',
    ]);
  });

  it('a source that failed has no empty ()', async () => {
    const r = await inSeed(['scan', '--kv-snapshot', 'nope.jsonl', '--logs', 'logs']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Sources: kv-snapshot nope\.jsonl FAILED: cannot read snapshot nope\.jsonl: ENOENT · /);
    expect(r.stdout).not.toContain('()');
  });
});

describe('durations and scan -o', () => {
  it('a gap of days reads "8 d 2 h"', async () => {
    const dir = path.join(work, 'days');
    await fs.cp(path.join(work, SEED), dir, { recursive: true });
    const file = path.join(dir, 'kv-snapshot.jsonl');
    const lines = (await fs.readFile(file, 'utf8')).split('\n').map((l) => {
      if (!l) return l;
      const j = JSON.parse(l) as { revision?: number; created?: string };
      if (j.revision === 3) j.created = '2025-08-13T18:00:48.902Z';
      return JSON.stringify(j);
    });
    await fs.writeFile(file, lines.join('\n'));
    const r = await runCli(['scan', ...offline], { cwd: dir });
    expect(r.stdout).toContain(
      '(logs/output-peer-test-2.jsonl:50), 8 d 2 h before revision 3 (2025-08-13T18:00:48.902Z)',
    );
    expect(r.stdout).not.toMatch(/\d{3,} min/);
  });

  it('scan -o FILE says on stderr what it wrote', async () => {
    const r = await inSeed(['scan', ...offline, '--format', 'json', '-o', 'scan.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('peer-audit: wrote scan.json');
    expect(JSON.parse(await fs.readFile(path.join(work, SEED, 'scan.json'), 'utf8')).version).toBe(1);
  });
});

describe('--help wraps at word boundaries', () => {
  const commands = [
    [],
    ['scan'],
    ['report'],
    ['repair'],
    ['reopen'],
    ['undo'],
    ['snapshot'],
    ['doctor'],
    ['watch'],
    ['rules'],
  ];
  const help = async (cmd: string[], columns: number) => {
    const r = await runCli([...cmd, '--help'], { env: { COLUMNS: String(columns) } });
    expect(r.code).toBe(0);
    return r.stdout;
  };
  // A type annotation set right after a description that fills the column ("JetStream)[string]") is two words.
  const words = (t: string) =>
    t.split(/\s+|(?=\[(?:string|boolean|number|array|required|default|choices)\b)/).filter(Boolean);

  it.each(commands.map((c) => [c.join(' ') || '(top)', c] as const))(
    '%s: no word is cut at 40, 80 or 120 columns',
    async (_, cmd) => {
      // At 40 columns lines are left whole: its words are the words of the help.
      const narrow = await help([...cmd], 40);
      const known = new Set(words(narrow));
      for (const width of [80, 120]) {
        const text = await help([...cmd], width);
        expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(Math.min(width, 110));
        const cut = words(text).filter((w) => !known.has(w));
        expect(cut, `at ${width} columns`).toEqual([]);
      }
    },
  );

  it('keeps the words the issue saw cut', async () => {
    const text = (await help(['scan'], 80)) + (await help(['scan'], 120)) + (await help(['scan'], 40));
    expect(text).toContain("Claude Code's");
    expect(text).toContain('--no-config');
    expect(text).not.toMatch(/Cod\s+e|-\s+-no-config/);
  });
});

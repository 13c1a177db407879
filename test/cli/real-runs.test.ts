// End to end over fixtures/real-runs/: re-enactments of what the real PEER scripts and agents write (fork
// olpie101/agent-os: v1 e903640, v2 d5232a9, the multi-key draft 671b019). Each fixture is scanned through the
// CLI from its snapshot, and some live from a real nats-server the snapshot was loaded into. This file also checks
// the bytes the re-enacted writes produce; real-runs-verdicts.test.ts holds the verdicts on the failure modes.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import { REAL_RUNS, scanFixture, verdict } from './real-runs.helpers.js';

const run = promisify(execFile);

describe('real-run fixtures: verdicts from the snapshot', () => {
  it('v1-healthy: a complete v1 cycle is clean, exit 0', async () => {
    const s = await scanFixture('v1-healthy');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('v1-literal-empty-meta: the 0-byte meta the literal init writes is an error, exit 1', async () => {
    const s = await scanFixture('v1-literal-empty-meta');
    expect([verdict(s), s.code, s.complete]).toEqual([['invalid-state-value error'], 1, true]);
    const [f] = s.findings;
    expect(f.evidence[0].location).toMatchObject({ kind: 'kv', key: 'peer.spec.invoice-csv-export.meta' });
  });

  it('v2-healthy: a complete v2 cycle (COMPLETE, then COMPLETED) is clean, exit 0', async () => {
    const s = await scanFixture('v2-healthy');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('v2-two-cycles: create-spec then execute-tasks under one counter is clean, exit 0', async () => {
    const s = await scanFixture('v2-two-cycles');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('v2-execute-error: the error write never lands, so the stuck phase is stale-cycle (a warning, exit 0)', async () => {
    const s = await scanFixture('v2-execute-error');
    expect([verdict(s), s.code, s.complete]).toEqual([['stale-cycle warning'], 0, true]);
    expect(s.findings[0].evidence.map((e) => e.location)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'kv', key: 'peer.spec.webhook-retries.cycle.1', revision: 4 }),
      ]),
    );
  });

  it('v2-execute-error scanned right after the last write is a healthy run in progress', async () => {
    const s = await scanFixture('v2-execute-error');
    // The last write (execute in_progress) is at 13:31:07Z; a quarter of an hour later nothing is wrong yet.
    const early = await import('../helpers/cli.js').then(({ runCli }) =>
      runCli(
        [
          'scan',
          '--format',
          'json',
          '--kv-snapshot',
          'kv-snapshot.jsonl',
          '--no-logs',
          '--now',
          '2025-08-18T13:45:00Z',
        ],
        {
          cwd: path.join(REAL_RUNS, 'v2-execute-error'),
        },
      ),
    );
    expect(s.code).toBe(0);
    expect(early.code).toBe(0);
    expect(JSON.parse(early.stdout).findings).toEqual([]);
  });
});

describe('real-run fixtures: the bytes the real scripts write', () => {
  const value = async (fixture: string, key: string, revision: number) => {
    const { data } = await readSnapshot(path.join(REAL_RUNS, fixture, 'kv-snapshot.jsonl'));
    const r = data.keys.get(key)!.find((x) => x.revision === revision)!;
    return Buffer.from(r.value).toString('utf8');
  };

  it('v1: heredoc and jq writes end with a newline; the literal init puts 0 bytes', async () => {
    expect(await value('v1-healthy', 'peer.spec.invoice-csv-export.meta', 1)).toMatch(
      /^\{\n  "spec_name": "invoice-csv-export",[\s\S]*\}\n$/,
    );
    expect(await value('v1-healthy', 'peer.spec.invoice-csv-export.cycle.1', 3)).toMatch(
      /\n  "phases": \{\n    "plan": \{\n      "status": "complete",/,
    );
    expect(await value('v1-literal-empty-meta', 'peer.spec.invoice-csv-export.meta', 1)).toBe('');
  });

  it('v1: express writes result.success true before review; review stamps cycle then meta; finalize re-stamps both', async () => {
    const { data } = await readSnapshot(path.join(REAL_RUNS, 'v1-healthy', 'kv-snapshot.jsonl'));
    const order = [...data.keys.values()]
      .flat()
      .sort((a, b) => a.revision - b.revision)
      .map((r) => `${r.revision} ${r.key.replace('peer.spec.invoice-csv-export.', '')}`);
    expect(order).toEqual([
      '1 meta',
      '2 cycle.1',
      '3 cycle.1',
      '4 meta',
      '5 cycle.1',
      '6 cycle.1',
      '7 cycle.1',
      '8 meta',
      '9 cycle.1',
      '10 cycle.1',
      '11 meta',
      '12 cycle.1',
      '13 meta',
      '14 meta',
      '15 cycle.1',
    ]);
    const afterExpress = JSON.parse(await value('v1-healthy', 'peer.spec.invoice-csv-export.cycle.1', 10));
    expect([afterExpress.result.success, afterExpress.phases.review, afterExpress.status.current_phase]).toEqual([
      true,
      undefined,
      'plan',
    ]);
    const review = JSON.parse(await value('v1-healthy', 'peer.spec.invoice-csv-export.cycle.1', 12));
    const final = JSON.parse(await value('v1-healthy', 'peer.spec.invoice-csv-export.cycle.1', 15));
    expect(review.completed_at).toBe('2025-08-05T09:39:22Z');
    expect(final.completed_at).toBe('2025-08-05T09:39:36Z');
  });

  it('v2: create-state stores the JSON plus a newline, update-state stores it without, the counter is "1\\n"', async () => {
    expect((await value('v2-healthy', 'peer.spec.webhook-retries.cycle.1', 1)).endsWith('}\n')).toBe(true);
    expect(await value('v2-healthy', 'peer.spec.webhook-retries.cycle.current', 2)).toBe('1\n');
    const planned = await value('v2-healthy', 'peer.spec.webhook-retries.cycle.1', 3);
    expect(planned.endsWith('}')).toBe(true);
    expect(JSON.parse(planned).metadata).toMatchObject({ status: 'EXECUTING', current_phase: 'planning' });
  });

  it('v2 execute error: nothing lands after the in_progress write', async () => {
    const { data } = await readSnapshot(path.join(REAL_RUNS, 'v2-execute-error', 'kv-snapshot.jsonl'));
    const last = data.keys.get('peer.spec.webhook-retries.cycle.1')!.at(-1)!;
    expect(last.revision).toBe(4);
    expect(JSON.parse(Buffer.from(last.value).toString('utf8')).phases.execute.status).toBe('in_progress');
  });

  it('rebuilding writes the same bytes (the fixtures are derived, not edited)', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-real-runs-'));
    try {
      await run(
        process.execPath,
        [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'scripts/fixtures/real-runs/tsconfig.json'],
        { cwd: REPO },
      );
      await run(process.execPath, ['dist/fixtures-real-runs/build.js'], {
        cwd: REPO,
        env: { ...process.env, REAL_RUNS_OUT: tmp },
      });
      const list = async (root: string): Promise<string[]> =>
        (await fs.readdir(root, { recursive: true, withFileTypes: true }))
          .filter((d) => d.isFile())
          .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
          .sort();
      const built = await list(tmp);
      expect(built).toEqual(await list(REAL_RUNS));
      for (const f of built)
        expect(await fs.readFile(path.join(tmp, f), 'utf8'), f).toBe(
          await fs.readFile(path.join(REAL_RUNS, f), 'utf8'),
        );
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

// Live revisions carry the time they were loaded, not the run's, so age-based verdicts (stale-cycle) are
// checked from the snapshot only.
describe.each(['v1-healthy', 'v2-two-cycles', 'v1-literal-empty-meta'])(
  'real-run fixture %s, loaded into a real nats-server',
  (fixture) => {
    let server: Awaited<ReturnType<typeof startNatsServer>>;
    beforeAll(async () => {
      server = await startNatsServer();
      await loadSnapshotIntoServer(path.join(REAL_RUNS, fixture, 'kv-snapshot.jsonl'), server.url);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('the live scan gives the verdict the snapshot gives', async () => {
      const snap = await scanFixture(fixture);
      const live = await scanFixture(fixture, server.url);
      expect([verdict(live), live.code, live.complete]).toEqual([verdict(snap), snap.code, snap.complete]);
      expect(live.findings.map((f) => f.fingerprint)).toEqual(snap.findings.map((f) => f.fingerprint));
    });
  },
);

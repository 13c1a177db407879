// The verdicts real PEER runs must get (recorded failures, lifecycle vs
// outcome, healthy runs in progress, the multi-key layout, shared buckets, dated names). Fixtures under
// fixtures/real-runs/, scanned through the CLI from their snapshots and, for some, live from a real
// nats-server. Each case states the exact rule ids, severities and exit code.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { REAL_RUNS, scanFixture, verdict } from './real-runs.helpers.js';

describe('real-run fixtures: verdicts from the snapshot', () => {
  it('v1-in-review: express wrote result.success before review ran; a healthy run in progress, exit 0', async () => {
    const s = await scanFixture('v1-in-review');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('v1-before-finalize: review stamped cycle and meta seconds apart, finalize not yet run; exit 0', async () => {
    const s = await scanFixture('v1-before-finalize');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('v1-execute-error: the recorded execute error is reported with its text, exit 1; the failed cycle is not stale', async () => {
    const s = await scanFixture('v1-execute-error');
    expect([verdict(s), s.code, s.complete]).toEqual([['recorded-failure error'], 1, true]);
    const [f] = s.findings;
    expect(f.message).toContain('test database unreachable');
    expect(f.evidence[0].location).toMatchObject({
      kind: 'kv',
      key: 'peer.spec.invoice-csv-export.cycle.2',
      revision: 22,
    });
  });

  it('v2-cancelled: COMPLETED with cycle_summary.success false is an unsuccessful cycle (warning), never false-success', async () => {
    const s = await scanFixture('v2-cancelled');
    expect([verdict(s), s.code, s.complete]).toEqual([['unsuccessful-cycle warning'], 0, true]);
    expect(s.findings[0].evidence.map((e) => e.location)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'kv', key: 'peer.global.cycle.1', revision: 8 })]),
    );
  });

  it('v2-dated-spec-name: keys peer.spec.2026-12-03-foo.* belong to folder 2026-12-03-foo; exit 0', async () => {
    const s = await scanFixture('v2-dated-spec-name');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
  });

  it('multikey-execute-skipped: the per-field layout is read; the skipped execute is missing-execute-phase and false-success', async () => {
    const s = await scanFixture('multikey-execute-skipped');
    expect([verdict(s), s.code, s.complete]).toEqual([
      ['false-success error', 'missing-execute-phase error', 'phase-order-violation error'],
      1,
      true,
    ]);
  });

  it("shared-bucket: only this project's run is audited; the others are counted, non-PEER keys are no finding; exit 0", async () => {
    const s = await scanFixture('shared-bucket');
    expect([verdict(s), s.code, s.complete]).toEqual([[], 0, true]);
    const stylish = await import('../helpers/cli.js').then(({ runCli }) =>
      runCli(['scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--no-logs', '--now', '2025-08-15T09:00:00Z'], {
        cwd: path.join(REAL_RUNS, 'shared-bucket'),
      }),
    );
    expect(stylish.stdout).toMatch(/2 runs? not in this project/);
  });

  it('shared-bucket with --all-runs audits the abandoned run of the other project', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const r = await runCli(
      [
        'scan',
        '--format',
        'json',
        '--kv-snapshot',
        'kv-snapshot.jsonl',
        '--no-logs',
        '--now',
        '2025-08-15T09:00:00Z',
        '--all-runs',
      ],
      {
        cwd: path.join(REAL_RUNS, 'shared-bucket'),
      },
    );
    const findings = JSON.parse(r.stdout).findings as {
      ruleId: string;
      severity: string;
      subject?: { keyPrefix?: string };
    }[];
    expect(
      findings
        .filter((f) => f.subject?.keyPrefix === 'peer.spec.rate-limit-middleware')
        .map((f) => `${f.ruleId} ${f.severity}`),
    ).toEqual(['stale-cycle warning']);
  });
});

describe.each(['v1-in-review', 'multikey-execute-skipped', 'shared-bucket'])(
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

    it('the live scan gives the same verdict', async () => {
      const want: Record<string, [string[], number]> = {
        'v1-in-review': [[], 0],
        'multikey-execute-skipped': [
          ['false-success error', 'missing-execute-phase error', 'phase-order-violation error'],
          1,
        ],
        'shared-bucket': [[], 0],
      };
      const live = await scanFixture(fixture, server.url);
      expect([verdict(live), live.code, live.complete]).toEqual([...want[fixture], true]);
    });
  },
);

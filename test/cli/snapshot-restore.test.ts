// snapshot --restore: a bundled incident loaded into a live bucket with one command, against a real nats-server.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { startNatsServer } from '../helpers/nats-server.js';
import type { Finding } from '../../src/model/types.js';

const SEED = 'wal-operation-handling-fix';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let project: string;

beforeAll(async () => {
  server = await startNatsServer();
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-restore-'));
  await fs.cp(path.join(REPO, 'fixtures/incidents', SEED), project, { recursive: true });
});
afterAll(async () => {
  await server?.stop();
  await fs.rm(project, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { cwd: project });
// Both scans judge with the same clock and replicas (a single test server keeps 1 replica).
const judged = ['--format', 'json', '--logs', 'logs', '--now', '2025-08-05T16:42:18Z', '--expect-replicas', '1'];
const ruleIds = (stdout: string) =>
  [...new Set((JSON.parse(stdout) as { findings: Finding[] }).findings.map((f) => f.ruleId))].sort();

describe('snapshot --restore', () => {
  it('loads the bundled incident into a new bucket, and a live scan finds what the snapshot scan finds', async () => {
    const r = await cli(['snapshot', '--restore', 'kv-snapshot.jsonl', '--bucket', 'demo', '--server', server.url]);
    expect(r.stderr).toMatch(
      /restored \d+ keys, \d+ revisions from kv-snapshot\.jsonl into new bucket demo on nats:\/\/127\.0\.0\.1:\d+ \(new revision numbers and times/,
    );
    expect(r.code).toBe(0);

    const nc = await connect({ servers: server.url.replace('nats://', ''), reconnect: false });
    try {
      const st = await (await nc.jetstream().views.kv('demo', { bindOnly: true })).status();
      expect(st.history).toBe(50); // the snapshot's config
      expect(st.description).toBe('PEER pattern state storage for Agent OS');
    } finally {
      await nc.close();
    }

    const offline = await cli(['scan', '--kv-snapshot', 'kv-snapshot.jsonl', ...judged]);
    const live = await cli(['scan', '--server', server.url, '--bucket', 'demo', ...judged]);
    expect(offline.code).toBe(1);
    expect(live.code).toBe(1);
    expect(ruleIds(live.stdout)).toEqual(ruleIds(offline.stdout));
    // The live scan's next steps name this server and bucket, and the reopen line runs as written (a dry run).
    const stylish = await cli([
      'scan',
      '--server',
      server.url,
      '--bucket',
      'demo',
      '--logs',
      'logs',
      '--expect-replicas',
      '1',
    ]);
    const next = stylish.stdout
      .split('\n')
      .slice(stylish.stdout.split('\n').indexOf('Next:') + 1)
      .map((l) => l.split('   # ')[0].trim())
      .filter(Boolean);
    expect(next).toEqual([
      `peer-audit repair --spec ${SEED} --logs logs --server ${server.url} --bucket demo`,
      `peer-audit reopen ${SEED} --server ${server.url} --bucket demo --reason '…'`,
      `peer-audit report --logs logs --server ${server.url} --bucket demo -o incident.md`,
    ]);
    // Restored revisions are new writes: reopen's guard against a cycle still running holds them back for a while.
    const reopen = await cli(['reopen', SEED, '--server', server.url, '--bucket', 'demo', '--reason', '…']);
    expect(reopen.code).toBe(2);
    expect(reopen.stderr).toMatch(/refusing to reopen: cycle 1 was written \d+ s ago; .*--force/);
    const forced = await cli(['reopen', SEED, '--server', server.url, '--bucket', 'demo', '--reason', '…', '--force']);
    expect(forced.stderr).not.toMatch(/internal error/);
    expect(forced.code).toBe(0);
    expect(ruleIds(live.stdout)).toEqual(
      expect.arrayContaining(['missing-execute-phase', 'false-success', 'state-inconsistency']),
    );
  });

  it('refuses a bucket that already holds keys (exit 2) unless --force', async () => {
    const again = await cli(['snapshot', '--restore', 'kv-snapshot.jsonl', '--bucket', 'demo', '--server', server.url]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/bucket demo on .* is not empty .*--force/);
    const forced = await cli([
      'snapshot',
      '--restore',
      'kv-snapshot.jsonl',
      '--bucket',
      'demo',
      '--server',
      server.url,
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/restored \d+ keys, \d+ revisions from kv-snapshot\.jsonl into bucket demo/);
  });

  it('needs -o or --restore, not both', async () => {
    expect((await cli(['snapshot', '--server', server.url])).code).toBe(2);
    expect(
      (await cli(['snapshot', '-o', 'x.jsonl', '--restore', 'kv-snapshot.jsonl', '--server', server.url])).code,
    ).toBe(2);
  });
});

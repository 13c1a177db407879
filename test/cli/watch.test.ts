// `peer-audit watch` against a live bucket being written to: a real nats-server, the built CLI as a subprocess,
// a v2 cycle written step by step, a server restart in the middle, and Ctrl-C at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KV, type NatsConnection } from 'nats';
import { BIN, runCli } from '../helpers/cli.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const BUCKET = 'agent-os-peer-state';

interface Line {
  event: string;
  key?: string;
  revision?: number;
  operation?: string;
  ruleId?: string;
  severity?: string;
  fingerprint?: string;
  initial?: boolean;
  message?: string;
  present?: number;
  keys?: number;
}

/** A running `peer-audit watch`, with everything it printed so far. */
class Watcher {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [BIN, 'watch', ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, NATS_URL: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.stdout += d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }
  get lines(): Line[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Line);
  }
  get findings(): Line[] {
    return this.lines.filter((l) => l.event === 'finding');
  }
  async until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end)
        throw new Error(`watch: no ${what} within ${ms} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (this.child.exitCode !== null)
        throw new Error(`watch exited (${this.child.exitCode}) waiting for ${what}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** A v2 unified cycle value as the PEER agents write it, times from now. */
function v2(
  prefix: string,
  n: number,
  status: string,
  currentPhase: string,
  phases: Record<string, 'pending' | 'completed'>,
  extra: Record<string, unknown> = {},
) {
  const now = new Date().toISOString();
  return JSON.stringify({
    version: 1,
    cycle_id: `${prefix}.cycle.${n}`,
    metadata: {
      instruction_name: 'create-spec',
      spec_name: prefix.replace(/^peer\.spec\./, ''),
      key_prefix: prefix,
      cycle_number: n,
      created_at: now,
      updated_at: now,
      status,
      current_phase: currentPhase,
      ...extra,
    },
    context: { peer_mode: 'new', spec_aware: true, user_requirements: 'Add an audit log' },
    phases: Object.fromEntries(
      Object.entries(phases).map(([p, s]) => [
        p,
        s === 'completed'
          ? { status: s, started_at: now, completed_at: now, output: { summary: `${p} done` } }
          : { status: s },
      ]),
    ),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch: a live bucket being written to', () => {
  let storeDir: string;
  let cwd: string;
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let kv: KV;
  // Started before the tests and left running through all of them (a server restart included).
  let json: Watcher;
  let stylish: Watcher;
  const watchers: Watcher[] = [];
  const PREFIX = 'peer.spec.audit-log';
  const KEY = `${PREFIX}.cycle.1`;
  const MARKER = 'peer.spec.marker-';
  let markers = 0;

  const client = async () => {
    nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, timeout: 5_000 });
    kv = await nc.jetstream().views.kv(BUCKET, { history: 50, replicas: 1 });
  };

  /**
   * Waits until `w` has printed everything the writes so far make it print: a later write that is surely
   * reported (an unreadable value) is printed after them, since writes are judged in order and settle timers of
   * equal length fire in order. This is how a test sees that nothing (more) was printed, without sleeping.
   */
  const settled = async (w: Watcher) => {
    const key = `${MARKER}${++markers}.cycle.1`;
    await kv.put(key, 'not json');
    await w.until(`the marker write ${key}`, () => w.findings.some((l) => l.key === key));
  };
  /** The findings `json` printed, less those about marker writes. */
  const reported = () => json.findings.filter((l) => !l.key?.startsWith(MARKER));

  beforeAll(async () => {
    storeDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-watch-store-'));
    cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-watch-'));
    await fs.mkdir(path.join(cwd, '.git'));
    server = await startNatsServer({ storeDir });
    await client();
    // A run that went wrong before the watch started: already true, so not reported as new.
    await kv.put(
      'peer.spec.old-run.cycle.1',
      v2('peer.spec.old-run', 1, 'COMPLETED', 'review', {
        plan: 'completed',
        execute: 'pending',
        express: 'completed',
        review: 'completed',
      }),
    );
    await kv.put('peer.spec.old-run.cycle.current', '1');
    json = new Watcher(['--server', server.url, '--format', 'json'], cwd);
    stylish = new Watcher(['--server', server.url, '--spec', 'audit-log', '--settle', '0'], cwd);
    watchers.push(json, stylish);
    await json.until('start notice', () => /watching/.test(json.stderr));
    await stylish.until('start notice', () => /watching/.test(stylish.stderr));
  });

  afterAll(async () => {
    for (const w of watchers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    if (nc && !nc.isClosed()) await nc.close();
    await server?.stop();
    await fs.rm(storeDir, { recursive: true, force: true });
  });

  it('starts from the current values: what is already true is counted, not printed', async () => {
    await json.until('watching line', () => json.lines.some((l) => l.event === 'watching'));
    const w = json.lines[0];
    expect(w).toMatchObject({ event: 'watching', keys: 2, revision: 2 });
    expect(w.present).toBeGreaterThanOrEqual(3); // false-success, missing-execute-phase, phase-order-violation, …
    expect(json.stderr).toMatch(
      /^peer-audit: watching agent-os-peer-state on nats:\/\/127\.0\.0\.1:\d+: 2 keys at revision 2, \d+ findings already true/,
    );
    expect(stylish.stderr).toMatch(/\(peer\.spec\.audit-log\.>\): 0 keys at revision 2, 0 findings already true\./);
    await settled(json);
    expect(reported()).toEqual([]);
  });

  it('one cycle written step by step: nothing for a healthy start, each finding once with the write that made it true', async () => {
    // A healthy start: INITIALIZED, the counter, plan completed (the settle time hides the moment in between).
    const init = await kv.put(
      KEY,
      v2(PREFIX, 1, 'INITIALIZED', 'plan', {
        plan: 'pending',
        execute: 'pending',
        express: 'pending',
        review: 'pending',
      }),
    );
    await kv.put(`${PREFIX}.cycle.current`, '1');
    await kv.put(
      KEY,
      v2(PREFIX, 1, 'EXECUTING', 'execute', {
        plan: 'completed',
        execute: 'pending',
        express: 'pending',
        review: 'pending',
      }),
    );
    await settled(json);
    expect(reported()).toEqual([]);
    // With --settle 0 the moment between the cycle write and the counter write is printed: what settling is for.
    await stylish.until('the moment before the counter', () => /state-inconsistency/.test(stylish.stdout));
    expect(stylish.stdout).toContain(`${KEY}@${init}\n`);

    // Express completed while execute is pending: missing-execute-phase and phase-order-violation, with that key
    // and revision.
    const express = await kv.put(
      KEY,
      v2(PREFIX, 1, 'REVIEWING', 'review', {
        plan: 'completed',
        execute: 'pending',
        express: 'completed',
        review: 'pending',
      }),
    );
    await json.until('findings for the express write', () => reported().length >= 2);
    await settled(json);
    expect(reported().map((l) => [l.ruleId, l.key, l.revision, l.severity])).toEqual([
      ['missing-execute-phase', KEY, express, 'error'],
      ['phase-order-violation', KEY, express, 'error'],
    ]);
    expect(reported()[0].message).toMatch(/^Cycle 1 went past the execute phase but execute is pending: express ran/);
    // The same in stylish, for one spec, printed at once (--settle 0); before it, only the healthy start's moment.
    await stylish.until('stylish findings', () => /phase-order-violation/.test(stylish.stdout));
    expect(stylish.stdout.match(/^ {2}(error|warning|info) +\S+/gm)).toEqual([
      '  warning  state-inconsistency',
      '  error    missing-execute-phase',
      '  error    phase-order-violation',
    ]);
    expect(stylish.stdout).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d  ${KEY.replace(/\./g, '\\.')}@${express}\\n  error    missing-execute-phase  Cycle 1 went past`,
        'm',
      ),
    );
    expect(stylish.stdout).toContain(`${KEY}@${express}/phases/execute — execute is pending`);

    // The cycle marked COMPLETED with execute missing: false-success, once; the earlier findings are not repeated.
    const completed = await kv.put(
      KEY,
      v2(
        PREFIX,
        1,
        'COMPLETED',
        'review',
        { plan: 'completed', execute: 'pending', express: 'completed', review: 'pending' },
        { completed_at: new Date().toISOString() },
      ),
    );
    await json.until('false-success', () => reported().some((l) => l.ruleId === 'false-success'));
    await settled(json);
    expect(
      reported()
        .slice(2)
        .map((l) => [l.ruleId, l.key, l.revision]),
    ).toEqual([['false-success', KEY, completed]]);
    expect(reported().filter((l) => l.ruleId === 'missing-execute-phase')).toHaveLength(1);
    // Nothing about the run that was already broken at start.
    expect(reported().filter((l) => l.key?.startsWith('peer.spec.old-run'))).toEqual([]);
  });

  it('stays up across a server restart on the same port and store: reconnecting…, reconnected, and still reports', async () => {
    const lastBefore = (await kv.status()).streamInfo.state.last_seq;
    await nc.close();
    const port = server.port;
    await server.stop();
    await json.until('reconnecting notice', () =>
      /lost the connection to nats:\/\/127\.0\.0\.1:\d+; reconnecting…/.test(json.stderr),
    );
    await sleep(500); // the server stays down a moment while the watch retries
    server = await startNatsServer({ storeDir, port });
    await json.until('reconnected notice', () => /reconnected to nats:\/\/127\.0\.0\.1:\d+/.test(json.stderr));
    await stylish.until('reconnected notice', () => /reconnected to/.test(stylish.stderr));
    await client();

    const after = 'peer.spec.after-restart';
    const after1 = await kv.put(
      `${after}.cycle.1`,
      v2(after, 1, 'INITIALIZED', 'plan', {
        plan: 'pending',
        execute: 'pending',
        express: 'pending',
        review: 'pending',
      }),
    );
    await kv.put(`${after}.cycle.current`, '1');
    const after2 = await kv.put(
      `${after}.cycle.1`,
      v2(
        after,
        1,
        'COMPLETED',
        'review',
        { plan: 'completed', execute: 'pending', express: 'pending', review: 'pending' },
        { completed_at: new Date().toISOString() },
      ),
    );
    expect(after1).toBeGreaterThan(lastBefore); // the same store: revisions go on
    await json.until(
      'findings after the restart',
      () => json.findings.some((l) => l.key === `${after}.cycle.1`),
      30_000,
    );
    await settled(json);
    const late = json.findings.filter((l) => l.key?.startsWith(after));
    expect(late.map((l) => l.ruleId)).toContain('false-success');
    expect(late.every((l) => l.revision === after2)).toBe(true);
    // Every line is JSON, and each finding was printed once.
    const fps = json.findings.map((l) => l.fingerprint);
    expect(new Set(fps).size).toBe(fps.length);
    // The --spec watcher saw none of it.
    expect(stylish.stdout).not.toContain(after);
  });

  it('--initial prints what is already true, marked as such; SIGTERM ends it with 0', async () => {
    const prefix = 'peer.spec.initial-demo';
    const key = `${prefix}.cycle.1`;
    await kv.put(`${prefix}.cycle.current`, '1');
    const rev = await kv.put(
      key,
      v2(
        prefix,
        1,
        'COMPLETED',
        'review',
        { plan: 'completed', execute: 'pending', express: 'completed', review: 'pending' },
        { completed_at: new Date().toISOString() },
      ),
    );
    const w = new Watcher(['--server', server.url, '--format', 'json', '--spec', 'initial-demo', '--initial'], cwd);
    watchers.push(w);
    await w.until(
      'watching line and initial findings',
      () => w.lines.some((l) => l.event === 'watching') && w.findings.length >= 3,
    );
    // The `watching` event comes first, then the findings already true.
    expect(w.lines[0].event).toBe('watching');
    expect(w.findings.map((l) => l.ruleId).sort()).toEqual([
      'false-success',
      'missing-execute-phase',
      'phase-order-violation',
    ]);
    expect(w.findings.every((l) => l.initial === true && l.key === key && l.revision === rev)).toBe(true);
    expect(await w.stop('SIGTERM')).toBe(0);
  });

  it('many keys at start: the initial values are told apart from the updates that follow', async () => {
    const broken = (p: string) =>
      v2(p, 1, 'COMPLETED', 'review', {
        plan: 'completed',
        execute: 'pending',
        express: 'completed',
        review: 'completed',
      });
    await Promise.all(
      Array.from({ length: 150 }, (_, i) => kv.put(`peer.spec.bulk-${i}.cycle.1`, broken(`peer.spec.bulk-${i}`))),
    );
    const w = new Watcher(['--server', server.url, '--format', 'json', '--settle', '0'], cwd);
    watchers.push(w);
    await w.until('watching line', () => w.lines.some((l) => l.event === 'watching'));
    expect(w.lines[0].keys).toBeGreaterThanOrEqual(150);
    expect(w.lines[0].present).toBeGreaterThanOrEqual(450);
    const late = await kv.put('peer.spec.bulk-late.cycle.1', broken('peer.spec.bulk-late'));
    await w.until('the late write', () => w.findings.length >= 3);
    await settled(w);
    const updates = w.findings.filter((l) => !l.key?.startsWith(MARKER));
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.every((l) => l.key === 'peer.spec.bulk-late.cycle.1' && l.revision === late)).toBe(true);
    expect(await w.stop('SIGINT')).toBe(0);
  });

  it('Ctrl-C (SIGINT) ends the watch with exit code 0', async () => {
    const a = new Watcher(['--server', server.url, '--format', 'json'], cwd);
    const b = new Watcher(['--server', server.url, '--spec', 'audit-log', '--settle', '0'], cwd);
    watchers.push(a, b);
    await a.until('start notice', () => /watching/.test(a.stderr));
    await b.until('start notice', () => /watching/.test(b.stderr));
    const started = Date.now();
    expect(await a.stop('SIGINT')).toBe(0);
    expect(await b.stop('SIGINT')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a bucket that does not exist, or no server: exit 2 with one line', async () => {
    const missing = await runCli(['watch', '--server', server.url, '--bucket', 'no-such-bucket'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^peer-audit: bucket "no-such-bucket" does not exist on nats:\/\/127\.0\.0\.1:\d+ \(create it with: nats kv add no-such-bucket --history=50\)\n$/,
    );
    const down = await runCli(['watch', '--server', 'nats://127.0.0.1:1'], { cwd });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^peer-audit: cannot reach NATS at nats:\/\/127\.0\.0\.1:1: connection refused/);
  });
});

describe('watch: secrets in what it prints', () => {
  let server: NatsServerHandle;
  let cwd: string;
  const SECRET = 's3cretValue-9f8e7d6c5b';
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-watch-secret-'));
    await fs.mkdir(path.join(cwd, '.git'));
    server = await startNatsServer();
    const nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, timeout: 5_000 });
    const kv = await nc.jetstream().views.kv(BUCKET, { history: 50, replicas: 1 });
    // An unreadable cycle value that quotes a credential: invalid-state-value shows its first characters.
    await kv.put('peer.spec.leaky.cycle.1', `not json: NATS_PASSWORD=${SECRET} exported`);
    await nc.close();
  });

  afterAll(async () => {
    for (const w of watchers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await server?.stop();
  });

  it('masks them in JSON lines and in the terminal form', async () => {
    const json = new Watcher(['--server', server.url, '--format', 'json', '--initial'], cwd);
    const stylish = new Watcher(['--server', server.url, '--initial'], cwd);
    watchers.push(json, stylish);
    await json.until('the invalid value', () => json.findings.some((l) => l.ruleId === 'invalid-state-value'));
    await stylish.until(
      'the invalid value',
      () => /invalid-state-value/.test(stylish.stdout) && /REDACTED/.test(stylish.stdout),
    );
    expect(json.stdout).not.toContain(SECRET);
    expect(stylish.stdout).not.toContain(SECRET);
    const line = JSON.parse(json.stdout.split('\n').find((l) => l.includes('invalid-state-value'))!) as {
      evidence: Array<{ excerpt: string; redacted?: boolean }>;
    };
    expect(line.evidence[0].excerpt).toContain('NATS_PASSWORD=[REDACTED:secret]');
    expect(line.evidence[0].redacted).toBe(true);
    expect(stylish.stdout).toContain('NATS_PASSWORD=[REDACTED:secret]');
    await Promise.all([json.stop(), stylish.stop()]);
  });
});

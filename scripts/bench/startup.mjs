#!/usr/bin/env node
// Start-up cost of the built CLI, the whole process counted (spawn to exit): `peer-audit --version`,
// `peer-audit rules`, and a scan of the bundled seed incident (its snapshot and transcripts, offline). Each is run
// once to warm the file cache, then `runs` times; the figures are the median, the 95th percentile and the best.
//
// As a module: `measureStartup({ bin, repo, runs })` (npm run bench puts the figures in its table).
// As a command: `node scripts/bench/startup.mjs [--runs N]` prints the three against their targets (pass: the
// median is under the target), with the floor (a bare `node -e 0`) and the load average for context.
// PEER_AUDIT_BENCH_BIN names another peer-audit to measure.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Targets in milliseconds, compared with the median. */
export const STARTUP_TARGETS_MS = { version: 120, rules: 120, seedScan: 300 };

/** The bundled incident the seed scan reads, relative to the repository. */
const SEED = path.join('fixtures', 'incidents', 'wal-operation-handling-fix');

/** Wall time of one run in ms; throws when the exit code is not one of `okCodes`. */
function timeRun(args, cwd, okCodes) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (okCodes.includes(code)) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} (in ${cwd}) exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Median, 95th percentile and best of a list of times in ms, to 0.1 ms. */
export function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 10) / 10;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs: round(median), p95Ms: round(percentile(sorted, 95)), bestMs: round(sorted[0]) };
}

/**
 * Spawns `node <bin> --version`, `node <bin> rules` and the seed scan (in the incident's folder:
 * `scan --kv-snapshot kv-snapshot.jsonl --logs logs`, which exits 1 with its findings) `runs` times each, after
 * one warm-up run of each. The three are interleaved, so that a change in the machine's load touches all of them.
 */
export async function measureStartup({ bin, repo, runs = 15 }) {
  const binPath = path.resolve(bin);
  const seedDir = path.resolve(repo, SEED);
  const cases = {
    version: { args: [binPath, '--version'], cwd: path.resolve(repo), ok: [0] },
    rules: { args: [binPath, 'rules'], cwd: path.resolve(repo), ok: [0] },
    seedScan: {
      args: [binPath, 'scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'],
      cwd: seedDir,
      ok: [0, 1],
    },
  };
  const times = { version: [], rules: [], seedScan: [] };
  for (const c of Object.values(cases)) await timeRun(c.args, c.cwd, c.ok);
  for (let i = 0; i < runs; i++) {
    for (const [name, c] of Object.entries(cases)) times[name].push(await timeRun(c.args, c.cwd, c.ok));
  }
  return { version: summary(times.version), rules: summary(times.rules), seedScan: summary(times.seedScan) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const bin = process.env.PEER_AUDIT_BENCH_BIN ?? path.join(repo, 'bin', 'peer-audit.js');
  const i = process.argv.indexOf('--runs');
  const runs = i === -1 ? 15 : Number(process.argv[i + 1]);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('--runs takes a whole number of at least 1');
    process.exit(2);
  }
  const load = os.loadavg()[0];
  const result = await measureStartup({ bin, repo, runs });
  const floor = [];
  for (let i = 0; i <= runs; i++) floor.push(await timeRun(['-e', '0'], repo, [0]));
  const node = summary(floor.slice(1));
  const labels = { version: 'peer-audit --version', rules: 'peer-audit rules', seedScan: 'scan of the seed incident' };
  console.log(
    `Start-up, ${runs} runs each (${bin}); load average ${load.toFixed(2)} on ${os.availableParallelism()} cores`,
  );
  for (const [name, r] of Object.entries(result)) {
    const target = STARTUP_TARGETS_MS[name];
    const mark = r.medianMs < target ? 'pass' : 'miss';
    console.log(
      `  ${labels[name].padEnd(26)} median ${String(r.medianMs).padStart(6)} ms  p95 ${String(r.p95Ms).padStart(6)} ms` +
        `  best ${String(r.bestMs).padStart(6)} ms  target < ${target} ms  ${mark}`,
    );
  }
  console.log(`  (floor: node -e 0, median ${node.medianMs} ms, best ${node.bestMs} ms)`);
}

#!/usr/bin/env node
// `npm run bench`: generates deterministic corpora of three sizes in a temporary folder, runs the built
// `peer-audit scan` on each (as a subprocess, as users run it), and measures on the same data, in the same run:
// transcript throughput against Node readline + JSON.parse and against `jq -c .`; KV keys/s against one get per key
// in turn and against a bare kv.history() consumer; spec folders/s; peak RSS; wall time of all three sources.
// Figures go to scripts/bench/results/bench-results.json and a table on stdout.
//
// Environment:
//   PEER_AUDIT_BENCH_LARGE_MB   transcript megabytes of the large corpus (default 1024; medium 1/10, small 1/100)
//   PEER_AUDIT_BENCH_SIZES      which corpora, e.g. "small,medium" (default all three)
//   PEER_AUDIT_BENCH_REPEAT     runs per measurement, best one kept (default 1)
//   PEER_AUDIT_BENCH_DIR        where to build the corpora (default a new folder in the system temp folder)
//   PEER_AUDIT_BENCH_KEEP       1: keep the corpora afterwards
//   PEER_AUDIT_BENCH_GET_SAMPLE keys fetched one by one for the per-key baseline (default 3000)
//   PEER_AUDIT_BENCH_TIMEOUT_S  a scan still running after this long is stopped and reported as such (default 120)
//   PEER_AUDIT_BENCH_BIN        the peer-audit to measure (default bin/peer-audit.js of this checkout)
//   PEER_AUDIT_BENCH_OUT        where to write the figures (default scripts/bench/results/bench-results.json)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { BUCKET, loadKv, peerWrites, startNats } from './kv.mjs';
import { generateSpecs, specNames } from './specs.mjs';
import { generateTranscripts } from './transcripts.mjs';

const env = process.env;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const BIN = env.PEER_AUDIT_BENCH_BIN ? path.resolve(env.PEER_AUDIT_BENCH_BIN) : path.join(REPO, 'bin', 'peer-audit.js');
const RESULTS = env.PEER_AUDIT_BENCH_OUT
  ? path.resolve(env.PEER_AUDIT_BENCH_OUT)
  : path.join(HERE, 'results', 'bench-results.json');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const JQ =
  ['/usr/bin/jq', '/usr/local/bin/jq'].find((p) => existsSync(p)) ??
  (spawnSync('jq', ['--version']).status === 0 ? 'jq' : undefined);
const NOW = '2025-09-01T00:00:00Z';

const LARGE_MB = Number(env.PEER_AUDIT_BENCH_LARGE_MB ?? 1024);
const REPEAT = Math.max(1, Number(env.PEER_AUDIT_BENCH_REPEAT ?? 1));
const GET_SAMPLE = Number(env.PEER_AUDIT_BENCH_GET_SAMPLE ?? 3000);
const TIMEOUT_MS = Number(env.PEER_AUDIT_BENCH_TIMEOUT_S ?? 120) * 1000;
const SIZES = [
  { name: 'small', logMB: LARGE_MB / 100, keys: 1_000, folders: 100 },
  { name: 'medium', logMB: LARGE_MB / 10, keys: 10_000, folders: 1_000 },
  { name: 'large', logMB: LARGE_MB, keys: 100_000, folders: 10_000 },
].filter((s) => !env.PEER_AUDIT_BENCH_SIZES || env.PEER_AUDIT_BENCH_SIZES.split(',').includes(s.name));

if (!env.PEER_AUDIT_BENCH_BIN && !existsSync(path.join(REPO, 'dist', 'src', 'cli.js'))) {
  console.error('dist/ is missing: run `npm run build` first (npm run bench does).');
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * Runs a command as a child process: wall time from spawn to exit, peak RSS of the child (from /usr/bin/time,
 * else from a preloaded hook when the child is node), stdout, stderr.
 */
function measure(cmd, args, { cwd, childEnv, stdoutFile, timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const rssFile = path.join(
      os.tmpdir(),
      `peer-audit-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`,
    );
    let argv = [cmd, ...args];
    const e = { ...env, ...childEnv, NO_COLOR: '1' };
    if (TIME) argv = [TIME, '-f', '@@rss %M @@cpu %U %S', '-o', rssFile, ...argv];
    else if (cmd === process.execPath)
      e.NODE_OPTIONS = `${e.NODE_OPTIONS ?? ''} --import=${path.join(HERE, 'rss-hook.mjs')}`.trim();
    e.PEER_AUDIT_BENCH_RSS_FILE = rssFile;
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: e,
      stdio: ['ignore', stdoutFile ? 'ignore' : 'pipe', 'pipe'],
      detached: Boolean(timeoutMs),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          // The measured process is the child of /usr/bin/time when that is used: stop the whole group.
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, timeoutMs)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      let rssKb;
      let cpuMs;
      try {
        const text = readFileSync(rssFile, 'utf8');
        const m = /@@rss (\d+)/.exec(text);
        rssKb = m ? Number(m[1]) : undefined;
        const c = /@@cpu ([\d.]+) ([\d.]+)/.exec(text);
        cpuMs = c ? Math.round((Number(c[1]) + Number(c[2])) * 1000) : undefined;
      } catch {
        /* no figure */
      }
      spawnSync('rm', ['-f', rssFile]);
      resolve({ code, ms, rssKb, cpuMs, stdout, stderr, timedOut });
    });
  });
}

async function best(times, fn) {
  let top;
  for (let i = 0; i < times; i++) {
    const r = await fn();
    if (!top || r.ms < top.ms) top = r;
  }
  return top;
}

/** Flags the built CLI knows, so the bench works while options come and go. */
const HELP = spawnSync(process.execPath, [BIN, 'scan', '--help'], { encoding: 'utf8' }).stdout;
const ISOLATE = ['--no-config', '--no-context', '--no-baseline'].filter((f) => HELP.includes(`--${f.slice(5)}`));

async function scan(label, cwd, args, outFile) {
  const r = await best(REPEAT, () =>
    measure(
      process.execPath,
      [BIN, 'scan', ...ISOLATE, '--no-default-logs', '--now', NOW, '--format', 'json', '-o', outFile, ...args],
      {
        cwd,
        childEnv: { PEER_AUDIT_TIMINGS: '1' },
        timeoutMs: TIMEOUT_MS,
      },
    ),
  );
  if (r.timedOut) {
    log(`${label}: stopped after ${TIMEOUT_MS / 1000} s`);
    return { ms: Math.round(r.ms), timedOut: true, rssKb: r.rssKb, findings: undefined, sources: [] };
  }
  if (r.code !== 0 && r.code !== 1) throw new Error(`${label}: peer-audit exited ${r.code}\n${r.stderr}`);
  const m = /peer-audit timings (\{.*\})/.exec(r.stderr);
  const report = JSON.parse(readFileSync(outFile, 'utf8'));
  const summary = report.summary;
  return {
    ms: Math.round(r.ms),
    cpuMs: r.cpuMs,
    rssKb: r.rssKb,
    phases: m ? JSON.parse(m[1]) : undefined,
    findings: summary.errors + summary.warnings + summary.infos,
    complete: report.complete,
    sources: report.sources,
  };
}

async function jqBaseline(files, damaged) {
  // jq stops at the first line it cannot parse: clean files go in batches, damaged ones one by one.
  const clean = files.filter((f) => !damaged.has(f));
  const batches = [];
  for (let i = 0; i < clean.length;) {
    let len = 0;
    const batch = [];
    while (i < clean.length && batch.length < 500 && len < 100_000) {
      batch.push(clean[i]);
      len += clean[i].length + 1;
      i++;
    }
    batches.push(batch);
  }
  for (const f of damaged) batches.push([f]);
  return best(REPEAT, async () => {
    let ms = 0;
    let cpuMs = 0;
    let rssKb = 0;
    for (const batch of batches) {
      const r = await measure(JQ, ['-c', '.', ...batch], { stdoutFile: true });
      ms += r.ms;
      cpuMs += r.cpuMs ?? 0;
      rssKb = Math.max(rssKb, r.rssKb ?? 0);
    }
    return { ms, cpuMs, rssKb };
  });
}

const mb = (bytes) => bytes / 1e6;
const fmt = (n, d = 0) =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main() {
  const root = env.PEER_AUDIT_BENCH_DIR
    ? path.resolve(env.PEER_AUDIT_BENCH_DIR)
    : await mkdtemp(path.join(os.tmpdir(), 'peer-audit-bench-'));
  mkdirSync(root, { recursive: true });
  log(`corpora in ${root}`);
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    natsServer: spawnSync(
      existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server',
      ['--version'],
      { encoding: 'utf8' },
    ).stdout.trim(),
    jq: JQ ? spawnSync(JQ, ['--version'], { encoding: 'utf8' }).stdout.trim() : undefined,
    loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
  };
  const nats = await startNats(root);
  const results = { generatedAt: new Date().toISOString(), machine, repeat: REPEAT, sizes: [] };
  try {
    for (const size of SIZES) {
      const t0 = performance.now();
      const dir = path.join(root, size.name);
      const project = path.join(dir, 'project');
      const logsDir = path.join(dir, 'logs');
      const empty = path.join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      mkdirSync(project, { recursive: true });

      // ---------------------------------------------------------------- corpora
      const kvRuns = Math.ceil(size.keys / 2.5);
      const names = specNames(Math.max(size.folders, kvRuns));
      log(
        `${size.name}: generating ${fmt(size.logMB)} MB of transcripts, ${fmt(size.folders)} spec folders, ${fmt(size.keys)} keys`,
      );
      const logs = generateTranscripts(logsDir, size.logMB * 1e6, names.slice(0, size.folders), 11);
      const specs = generateSpecs(project, names.slice(0, size.folders));
      const kv = await loadKv(nats.url, peerWrites(names, size.keys));
      const genMs = performance.now() - t0;
      log(
        `${size.name}: ${fmt(mb(logs.bytes))} MB in ${logs.files} files, ${specs.files} spec files, ${kv.keys} keys / ${kv.revisions} revisions (${fmt(genMs / 1000, 1)} s)`,
      );
      const files = (await fg('**/*.jsonl', { cwd: logsDir, absolute: true, dot: true })).sort();
      const listFile = path.join(dir, 'files.txt');
      writeFileSync(listFile, files.join('\n'));

      // ---------------------------------------------------------------- peer-audit
      log(`${size.name}: scans`);
      const out = (n) => path.join(dir, `scan-${n}.json`);
      const logScan = await scan('logs', empty, ['--project', empty, '--no-kv', '--logs', logsDir], out('logs'));
      const kvScan = await scan('kv', empty, ['--project', empty, '--server', nats.url, '--bucket', BUCKET], out('kv'));
      const specScan = await scan('specs', project, ['--project', project, '--no-kv'], out('specs'));
      const allScan = await scan(
        'all',
        project,
        ['--project', project, '--server', nats.url, '--bucket', BUCKET, '--logs', logsDir],
        out('all'),
      );

      // ---------------------------------------------------------------- baselines, same data
      log(`${size.name}: baselines`);
      const readline = await best(REPEAT, () =>
        measure(process.execPath, [path.join(HERE, 'baseline-readline.mjs'), listFile]),
      );
      const logsSource = logScan.sources.find((s) => s.kind === 'logs');
      const damaged = new Set(
        (logsSource?.problems ?? [])
          .filter((p) => p.line !== undefined)
          .map((p) => (path.isAbsolute(p.where) ? p.where : path.resolve(empty, p.where))),
      );
      const jq = JQ ? await jqBaseline(files, damaged) : undefined;
      const floor = await best(REPEAT, () =>
        measure(process.execPath, [path.join(HERE, 'kv-baselines.mjs'), 'floor', nats.url, BUCKET]),
      );
      const floorOut = JSON.parse(floor.stdout);
      const sample = Math.min(GET_SAMPLE, kv.keys);
      const gets = await measure(process.execPath, [
        path.join(HERE, 'kv-baselines.mjs'),
        'gets',
        nats.url,
        BUCKET,
        String(sample),
      ]);
      const getsOut = JSON.parse(gets.stdout);
      // Listing once, then one get per key in turn: the sample's rate carried over to every key.
      const getsAllMs = getsOut.listMs + (getsOut.getMs / getsOut.sampled) * getsOut.keys;

      const row = {
        size: size.name,
        corpus: {
          logBytes: logs.bytes,
          logFiles: files.length,
          logLines: logsSource?.stats.lines,
          sessions: logsSource?.stats.sessions,
          specFolders: specs.folders,
          specFiles: specs.files,
          kvKeys: kv.keys,
          kvRevisions: kv.revisions,
          generateMs: Math.round(genMs),
        },
        logs: {
          timedOut: logScan.timedOut,
          scanMs: logScan.ms,
          cpuMs: logScan.cpuMs,
          readMs: logScan.phases?.logs,
          mbPerS: mb(logs.bytes) / (logScan.ms / 1000),
          rssKb: logScan.rssKb,
          findings: logScan.findings,
          readlineMs: Math.round(readline.ms),
          readlineCpuMs: readline.cpuMs,
          cpuVsReadline: readline.cpuMs / logScan.cpuMs,
          readlineRssKb: readline.rssKb,
          vsReadline: readline.ms / logScan.ms,
          jqMs: jq ? Math.round(jq.ms) : undefined,
          jqCpuMs: jq?.cpuMs,
          vsJq: jq ? jq.ms / logScan.ms : undefined,
          jqDamagedFiles: damaged.size,
        },
        kv: {
          timedOut: kvScan.timedOut,
          scanMs: kvScan.ms,
          readMs: kvScan.phases?.kv,
          keysPerS: kv.keys / (kvScan.ms / 1000),
          rssKb: kvScan.rssKb,
          floorMs: floorOut.ms,
          floorProcessMs: Math.round(floor.ms),
          readVsFloor: kvScan.phases?.kv / floorOut.ms,
          getsSampled: getsOut.sampled,
          getsSampleMs: getsOut.getMs,
          getsListMs: getsOut.listMs,
          getsAllMs: Math.round(getsAllMs),
          getsExtrapolated: getsOut.sampled < getsOut.keys,
          readVsGets: getsAllMs / kvScan.phases?.kv,
          scanVsGets: getsAllMs / kvScan.ms,
          findings: kvScan.findings,
        },
        specs: {
          timedOut: specScan.timedOut,
          scanMs: specScan.ms,
          readMs: specScan.phases?.specs,
          foldersPerS: specs.folders / (specScan.ms / 1000),
          rssKb: specScan.rssKb,
          findings: specScan.findings,
        },
        all: {
          timedOut: allScan.timedOut,
          scanMs: allScan.ms,
          phases: allScan.phases,
          rssKb: allScan.rssKb,
          findings: allScan.findings,
          complete: allScan.complete,
        },
      };
      results.sizes.push(row);
      log(`${size.name}: done in ${fmt((performance.now() - t0) / 1000, 1)} s`);
      printRow(row);
      if (!env.PEER_AUDIT_BENCH_KEEP) await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await nats.stop();
    if (!env.PEER_AUDIT_BENCH_KEEP && !env.PEER_AUDIT_BENCH_DIR) await rm(root, { recursive: true, force: true });
  }
  results.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 10) / 10);
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(results));
  log(`figures written to ${path.relative(process.cwd(), RESULTS)}`);
}

function printRow(r) {
  log(
    `${r.size}: logs ${fmt(r.logs.mbPerS)} MB/s (${fmt(r.logs.vsReadline, 1)}× readline, ${fmt(r.logs.vsJq, 1)}× jq), ` +
      `kv ${fmt(r.kv.keysPerS)} keys/s (read ${fmt(r.kv.readVsFloor, 2)}× floor), specs ${fmt(r.specs.foldersPerS)} folders/s, all ${fmt(r.all.scanMs / 1000, 1)} s`,
  );
}

const over = (m) => (m.timedOut ? '> ' : '');

export function table(results) {
  const rows = results.sizes;
  const col = (title, f) => [title, ...rows.map(f)];
  const cols = [
    col('', (r) => r.size),
    col('transcripts', (r) => `${fmt(mb(r.corpus.logBytes))} MB, ${fmt(r.corpus.logFiles)} files`),
    col(
      'logs scan',
      (r) =>
        `${over(r.logs)}${fmt(r.logs.scanMs / 1000, 2)} s = ${fmt(r.logs.mbPerS)} MB/s (cpu ${fmt(r.logs.cpuMs / 1000, 1)} s)`,
    ),
    col(
      'vs readline+JSON.parse',
      (r) =>
        `${fmt(r.logs.readlineMs / 1000, 2)} s → ${fmt(r.logs.vsReadline, 2)}× (cpu ${fmt(r.logs.cpuVsReadline, 2)}×)`,
    ),
    col('vs jq -c .', (r) =>
      r.logs.jqMs === undefined ? 'no jq' : `${fmt(r.logs.jqMs / 1000, 2)} s → ${fmt(r.logs.vsJq, 2)}×`,
    ),
    col('logs RSS', (r) => `${fmt(r.logs.rssKb / 1024)} MB`),
    col('KV keys (revisions)', (r) => `${fmt(r.corpus.kvKeys)} (${fmt(r.corpus.kvRevisions)})`),
    col('kv scan', (r) => `${over(r.kv)}${fmt(r.kv.scanMs / 1000, 2)} s = ${fmt(r.kv.keysPerS)} keys/s`),
    col(
      'kv read vs floor',
      (r) => `${fmt(r.kv.readMs / 1000, 2)} s vs ${fmt(r.kv.floorMs / 1000, 2)} s → ${fmt(r.kv.readVsFloor, 2)}×`,
    ),
    col(
      'per-key gets',
      (r) =>
        `${fmt(r.kv.getsAllMs / 1000, 1)} s${r.kv.getsExtrapolated ? '*' : ''} → read ${fmt(r.kv.readVsGets, 1)}× faster`,
    ),
    col(
      'spec folders',
      (r) =>
        `${fmt(r.corpus.specFolders)}: ${over(r.specs)}${fmt(r.specs.scanMs / 1000, 2)} s = ${fmt(r.specs.foldersPerS)}/s`,
    ),
    col('all three', (r) => `${over(r.all)}${fmt(r.all.scanMs / 1000, 2)} s, ${fmt(r.all.rssKb / 1024)} MB`),
  ];
  const widths = cols.map((c) => Math.max(...c.map((x) => String(x).length)));
  const line = (i) => `| ${cols.map((c, k) => String(c[i]).padEnd(widths[k])).join(' | ')} |`;
  const out = [line(0), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (let i = 1; i <= rows.length; i++) out.push(line(i));
  const m = results.machine;
  out.push('');
  out.push(
    `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}, ${m.natsServer}${m.jq ? `, ${m.jq}` : ''}; load average at start ${m.loadAverage.join(' ')}, at end ${(results.loadAverageAtEnd ?? []).join(' ')}.`,
  );
  out.push(
    'Times are wall clock from spawn to exit of each process, best of the runs; cpu is user + system time of the process (all its threads).',
  );
  if (rows.some((r) => r.kv.getsExtrapolated))
    out.push(
      `* per-key gets timed on ${rows.map((r) => r.kv.getsSampled).join('/')} keys (after one key listing) and carried over to every key; a get reads only the latest revision, the scan reads all of them.`,
    );
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('run.mjs')) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

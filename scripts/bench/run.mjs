#!/usr/bin/env node
// `npm run bench`: generates deterministic corpora in a temporary folder, runs the built `peer-audit scan` on each
// (as a subprocess, as users run it), and measures on the same data, in the same run: transcript throughput against
// Node readline + JSON.parse and against `jq -c .`, on the usual mix and on progress-heavy transcripts; KV keys/s
// against one get per key in turn and against a bare kv.history() consumer; spec folders/s; peak RSS; wall time of
// all three sources; start-up; `report --from` of the all-three scan. It checks that the findings do not depend on
// the transcript reader's fast path or threads (and, with PEER_AUDIT_BENCH_COMPARE_BIN, on the build), and ends
// with the targets table: each target, the measured value, the limit, PASS or MISS (or why it was not measured).
// Figures go to scripts/bench/results/bench-results.json and the tables to stdout.
//
// Sizes: small (1 % of the large transcripts, 1k keys, 100 spec folders), medium (10 %, 10k keys, 1,000 folders),
// mid (300/1024 of the large transcripts, transcripts only: the memory target's 300 MB point), large (100 %,
// 100k keys, 10,000 folders). Each size also gets a progress-heavy transcript corpus of the same size. The sizes
// with spec folders also get a repository tree of text files as large as their transcripts (1 GB at large), where
// `scan --files '**/*'` is measured against `grep -rn 'EOF < /dev/null'` over the same tree.
// Run time on 2 cores: small alone about a minute; all sizes about 10 minutes and up to ~4 GB of temporary files.
//
// Environment:
//   PEER_AUDIT_BENCH_LARGE_MB   transcript megabytes of the large corpus (default 1024; medium 1/10, small 1/100,
//                               mid 300/1024)
//   PEER_AUDIT_BENCH_SIZES      which corpora, e.g. "small" (a smoke run) or "small,medium" (default all four)
//   PEER_AUDIT_BENCH_PROGRESS   0: leave out the progress-heavy transcript corpora
//   PEER_AUDIT_BENCH_FILES      0: leave out the repository tree (--files against grep -rn)
//   PEER_AUDIT_BENCH_CHECKS     0: leave out the same-findings scans (fast path off, threads off, other build)
//   PEER_AUDIT_BENCH_COMPARE_BIN another build's bin/peer-audit.js: its findings must equal these on every corpus
//   PEER_AUDIT_BENCH_STARTUP_RUNS runs of each start-up case, median kept (default 15; 0: not measured)
//   PEER_AUDIT_BENCH_HOOK_RUNS  runs of the hook's Stop event (10 MB session, 10k keys), p95 kept (default 20; 0: not
//                               measured)
//   PEER_AUDIT_BENCH_REPEAT     runs per measurement, best one kept (default 1)
//   PEER_AUDIT_BENCH_DIR        where to build the corpora (default a new folder in the system temp folder)
//   PEER_AUDIT_BENCH_KEEP       1: keep the corpora afterwards
//   PEER_AUDIT_BENCH_GET_SAMPLE keys fetched one by one for the per-key baseline (default 3000)
//   PEER_AUDIT_BENCH_TIMEOUT_S  a scan still running after this long is stopped and reported as such (default 120)
//   PEER_AUDIT_BENCH_BIN        the peer-audit to measure (default bin/peer-audit.js of this checkout)
//   PEER_AUDIT_BENCH_OUT        where to write the figures (default scripts/bench/results/bench-results.json)
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import { BUCKET, loadKv, peerWrites, startNats } from './kv.mjs';
import { generateSpecs, specNames } from './specs.mjs';
import { generateRepoTree, RESIDUE } from './files.mjs';
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
const PROGRESS = env.PEER_AUDIT_BENCH_PROGRESS !== '0';
const FILES = env.PEER_AUDIT_BENCH_FILES !== '0';
const GREP = ['/usr/bin/grep', '/bin/grep'].find((p) => existsSync(p)) ?? 'grep';
const CHECKS = env.PEER_AUDIT_BENCH_CHECKS !== '0';
const COMPARE_BIN = env.PEER_AUDIT_BENCH_COMPARE_BIN ? path.resolve(env.PEER_AUDIT_BENCH_COMPARE_BIN) : undefined;
const STARTUP_RUNS = Number(env.PEER_AUDIT_BENCH_STARTUP_RUNS ?? 15);
const HOOK_RUNS = Number(env.PEER_AUDIT_BENCH_HOOK_RUNS ?? 20);
const ALL_SIZES = [
  { name: 'small', logMB: LARGE_MB / 100, keys: 1_000, folders: 100, checks: true },
  { name: 'medium', logMB: LARGE_MB / 10, keys: 10_000, folders: 1_000, checks: true },
  // Transcripts only: the memory target's middle point.
  { name: 'mid', logMB: (LARGE_MB * 300) / 1024, transcriptsOnly: true },
  { name: 'large', logMB: LARGE_MB, keys: 100_000, folders: 10_000 },
];
const SIZES = ALL_SIZES.filter(
  (s) => !env.PEER_AUDIT_BENCH_SIZES || env.PEER_AUDIT_BENCH_SIZES.split(',').includes(s.name),
);
if (!SIZES.length) {
  console.error(`PEER_AUDIT_BENCH_SIZES names none of ${ALL_SIZES.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

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

/** Flags a built CLI knows, so the bench works while options come and go (and with an older build to compare). */
const isolateFlags = (bin) => {
  const help = spawnSync(process.execPath, [bin, 'scan', '--help'], { encoding: 'utf8' }).stdout;
  return ['--no-config', '--no-context', '--no-baseline'].filter((f) => help.includes(`--${f.slice(5)}`));
};
const ISOLATE = new Map([[BIN, isolateFlags(BIN)]]);

/**
 * One `peer-audit scan --format json -o outFile` (best of REPEAT). `bin` and `childEnv` select another build or
 * reader switches; `repeat` 1 for scans that are only there for their findings.
 */
async function scan(label, cwd, args, outFile, { bin = BIN, childEnv = {}, repeat = REPEAT } = {}) {
  if (!ISOLATE.has(bin)) ISOLATE.set(bin, isolateFlags(bin));
  const r = await best(repeat, () =>
    measure(
      process.execPath,
      [bin, 'scan', ...ISOLATE.get(bin), '--no-default-logs', '--now', NOW, '--format', 'json', '-o', outFile, ...args],
      {
        cwd,
        childEnv: { PEER_AUDIT_TIMINGS: '1', ...childEnv },
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
  const report = await reportHead(outFile);
  const summary = report.summary;
  return {
    ms: Math.round(r.ms),
    cpuMs: r.cpuMs,
    rssKb: r.rssKb,
    phases: m ? JSON.parse(m[1]) : undefined,
    findings: summary.errors + summary.warnings + summary.infos,
    complete: report.complete,
    sources: report.sources,
    file: outFile,
  };
}

/** Lines of a file, streamed (a large scan's JSON report is hundreds of megabytes). */
const linesOf = (file) => readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });

// The JSON report is written with two-space indentation: its top-level members start with two spaces, the
// findings with four and their members with six. The readers below rely on that and fall back to parsing the
// whole file when it is written otherwise.
const FINDINGS_OPEN = '  "findings": [';

/** The report's members before its findings (summary, sources, complete), without reading the findings. */
async function reportHead(file) {
  const head = [];
  for await (const line of linesOf(file)) {
    if (line.startsWith(FINDINGS_OPEN)) return JSON.parse(`${head.join('\n')}\n"findings": []}`);
    head.push(line);
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Every finding of a JSON report as "fingerprint<TAB>message", sorted. */
export async function findingKeys(file) {
  const keys = [];
  let open = false;
  let fp;
  let msg;
  const value = (line, key) => JSON.parse(line.slice(key.length).replace(/,$/, ''));
  for await (const line of linesOf(file)) {
    if (!open) {
      if (line === FINDINGS_OPEN) open = true;
      else if (line === `${FINDINGS_OPEN}],` || line === `${FINDINGS_OPEN}]`) return keys;
      continue;
    }
    if (line.startsWith('  ]')) return keys.sort();
    if (line.startsWith('      "fingerprint": ')) fp = value(line, '      "fingerprint": ');
    else if (line.startsWith('      "message": ')) msg = value(line, '      "message": ');
    else if (line === '    }' || line === '    },') {
      keys.push(`${fp}\t${msg}`);
      fp = msg = undefined;
    }
  }
  if (open) throw new Error(`${file}: the findings array does not end`);
  return JSON.parse(readFileSync(file, 'utf8'))
    .findings.map((f) => `${f.fingerprint}\t${f.message}`)
    .sort();
}

/** Compares two scans' findings; a mismatch keeps a few examples of each side. */
async function sameFindings(label, fileA, fileB) {
  const [a, b] = [await findingKeys(fileA), await findingKeys(fileB)];
  const inB = new Set(b);
  const inA = new Set(a);
  const onlyA = a.filter((k) => !inB.has(k));
  const onlyB = b.filter((k) => !inA.has(k));
  const same = a.length === b.length && onlyA.length === 0 && onlyB.length === 0;
  if (!same) log(`${label}: findings differ (${a.length} vs ${b.length}); e.g. ${[...onlyA, ...onlyB][0] ?? ''}`);
  return {
    corpus: label,
    same,
    findings: a.length,
    otherFindings: b.length,
    onlyHere: onlyA.slice(0, 3),
    onlyThere: onlyB.slice(0, 3),
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

/** How the scans of a size are named in the checks. */
const CORPUS = { logs: 'mix', 'logs-progress': 'progress-heavy', kv: 'KV', specs: 'spec folders', all: 'all three' };

/** Imports `fn` from a measuring module beside this one (start-up, report --from) when that module exists. */
async function optional(file, fn) {
  const full = path.join(HERE, file);
  if (!existsSync(full)) return undefined;
  const mod = await import(pathToFileURL(full).href);
  return typeof mod[fn] === 'function' ? mod[fn] : undefined;
}

/** A measurement that failed is reported in its row ({ error }) instead of ending the run. */
async function attempt(label, fn) {
  try {
    return await fn();
  } catch (err) {
    log(`${label} failed: ${err.message}`);
    return { error: String(err.message).split('\n')[0].slice(0, 200) };
  }
}

const ratio = (a, b) => (a === undefined || b === undefined || !b ? undefined : a / b);

/** Transcripts alone: the scan and, on the same files, the readline + JSON.parse baseline (and jq if asked). */
async function transcripts(label, dir, logsDir, empty, gen, { withJq, doScan }) {
  const files = (await fg('**/*.jsonl', { cwd: logsDir, absolute: true, dot: true })).sort();
  const listFile = path.join(dir, `files-${label}.txt`);
  writeFileSync(listFile, files.join('\n'));
  const s = await doScan(label, empty, ['--project', empty, '--no-kv', '--logs', logsDir]);
  const rl = await best(REPEAT, () => measure(process.execPath, [path.join(HERE, 'baseline-readline.mjs'), listFile]));
  const source = s.sources.find((x) => x.kind === 'logs');
  const damaged = new Set(
    (source?.problems ?? [])
      .filter((p) => p.line !== undefined)
      .map((p) => (path.isAbsolute(p.where) ? p.where : path.resolve(empty, p.where))),
  );
  const jq = withJq && JQ ? await jqBaseline(files, damaged) : undefined;
  return {
    source,
    row: {
      bytes: gen.bytes,
      files: files.length,
      lines: source?.stats.lines,
      sessions: source?.stats.sessions,
      progressShare: gen.progressBytes / gen.bytes,
      timedOut: s.timedOut,
      scanMs: s.ms,
      cpuMs: s.cpuMs,
      readMs: s.phases?.logs,
      mbPerS: mb(gen.bytes) / (s.ms / 1000),
      rssKb: s.rssKb,
      findings: s.findings,
      readlineMs: Math.round(rl.ms),
      readlineCpuMs: rl.cpuMs,
      cpuVsReadline: ratio(rl.cpuMs, s.cpuMs),
      readlineRssKb: rl.rssKb,
      vsReadline: s.timedOut ? undefined : rl.ms / s.ms,
      jqMs: jq ? Math.round(jq.ms) : undefined,
      jqCpuMs: jq?.cpuMs,
      vsJq: jq && !s.timedOut ? jq.ms / s.ms : undefined,
      jqDamagedFiles: withJq ? damaged.size : undefined,
    },
  };
}

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
  const results = {
    generatedAt: new Date().toISOString(),
    machine,
    repeat: REPEAT,
    sizesRun: SIZES.map((s) => s.name),
    progressCorpora: PROGRESS,
    compareBin: COMPARE_BIN,
    sizes: [],
    checks: { fastPathOff: [], threadsOff: [], compareBin: [] },
  };
  const started = performance.now();

  // Start-up first, before the corpora fill the page cache and the nats-server runs.
  const measureStartup = STARTUP_RUNS > 0 ? await optional('startup.mjs', 'measureStartup') : undefined;
  if (measureStartup) {
    log(`start-up: ${STARTUP_RUNS} runs of each case`);
    results.startup = await attempt('start-up', () => measureStartup({ bin: BIN, repo: REPO, runs: STARTUP_RUNS }));
  }
  const measureReportFrom = await optional('report-from.mjs', 'measureReportFrom');

  const nats = await startNats(root);
  try {
    // The hook on its own bucket, before the corpora: its latency is what an agent waits for at every stop.
    const measureHook = HOOK_RUNS > 0 ? await optional('hook.mjs', 'measureHook') : undefined;
    if (measureHook) {
      log(`hook: ${HOOK_RUNS} runs of a Stop event (10 MB session, 10k keys)`);
      results.hook = await attempt('hook', () =>
        measureHook({ bin: BIN, repo: REPO, natsUrl: nats.url, root, runs: HOOK_RUNS }),
      );
    }
    for (const size of SIZES) {
      const t0 = performance.now();
      const dir = path.join(root, size.name);
      const project = path.join(dir, 'project');
      const logsDir = path.join(dir, 'logs');
      const progressDir = path.join(dir, 'logs-progress');
      const empty = path.join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      mkdirSync(project, { recursive: true });
      const full = !size.transcriptsOnly;

      // ---------------------------------------------------------------- corpora
      const kvRuns = full ? Math.ceil(size.keys / 2.5) : 0;
      const folders = size.folders ?? 1_000;
      const names = specNames(Math.max(folders, kvRuns));
      log(
        `${size.name}: generating ${fmt(size.logMB)} MB of transcripts${PROGRESS ? ' (twice: mix, progress-heavy)' : ''}` +
          (full ? `, ${fmt(size.folders)} spec folders, ${fmt(size.keys)} keys` : ''),
      );
      const logs = generateTranscripts(logsDir, size.logMB * 1e6, names.slice(0, folders), 11);
      const progressLogs = PROGRESS
        ? generateTranscripts(progressDir, size.logMB * 1e6, names.slice(0, folders), 13, { variant: 'progress' })
        : undefined;
      const specs = full ? generateSpecs(project, names.slice(0, size.folders)) : undefined;
      const kv = full ? await loadKv(nats.url, peerWrites(names, size.keys)) : undefined;
      const genMs = performance.now() - t0;
      log(
        `${size.name}: ${fmt(mb(logs.bytes))} MB in ${logs.files} files` +
          (progressLogs ? `, progress-heavy ${fmt(mb(progressLogs.bytes))} MB in ${progressLogs.files} files` : '') +
          (full ? `, ${specs.files} spec files, ${kv.keys} keys / ${kv.revisions} revisions` : '') +
          ` (${fmt(genMs / 1000, 1)} s)`,
      );

      // ---------------------------------------------------------------- peer-audit and baselines, same data
      log(`${size.name}: scans and baselines`);
      const done = [];
      const doScan = async (name, cwd, args) => {
        const r = await scan(name, cwd, args, path.join(dir, `scan-${name}.json`));
        done.push({ name, cwd, args, result: r });
        return r;
      };
      const mix = await transcripts('logs', dir, logsDir, empty, logs, { withJq: true, doScan });
      const heavy = progressLogs
        ? await transcripts('logs-progress', dir, progressDir, empty, progressLogs, { withJq: false, doScan })
        : undefined;
      let kvRow;
      let specsRow;
      let allRow;
      if (full) {
        const kvScan = await doScan('kv', empty, ['--project', empty, '--server', nats.url, '--bucket', BUCKET]);
        const specScan = await doScan('specs', project, ['--project', project, '--no-kv']);
        const allScan = await doScan('all', project, [
          '--project',
          project,
          '--server',
          nats.url,
          '--bucket',
          BUCKET,
          '--logs',
          logsDir,
        ]);
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
        kvRow = {
          timedOut: kvScan.timedOut,
          scanMs: kvScan.ms,
          readMs: kvScan.phases?.kv,
          keysPerS: kv.keys / (kvScan.ms / 1000),
          rssKb: kvScan.rssKb,
          floorMs: floorOut.ms,
          floorProcessMs: Math.round(floor.ms),
          readVsFloor: ratio(kvScan.phases?.kv, floorOut.ms),
          getsSampled: getsOut.sampled,
          getsSampleMs: getsOut.getMs,
          getsListMs: getsOut.listMs,
          getsAllMs: Math.round(getsAllMs),
          getsExtrapolated: getsOut.sampled < getsOut.keys,
          readVsGets: ratio(getsAllMs, kvScan.phases?.kv),
          scanVsGets: getsAllMs / kvScan.ms,
          findings: kvScan.findings,
        };
        specsRow = {
          timedOut: specScan.timedOut,
          scanMs: specScan.ms,
          readMs: specScan.phases?.specs,
          foldersPerS: specs.folders / (specScan.ms / 1000),
          rssKb: specScan.rssKb,
          findings: specScan.findings,
        };
        allRow = {
          timedOut: allScan.timedOut,
          scanMs: allScan.ms,
          phases: allScan.phases,
          rssKb: allScan.rssKb,
          findings: allScan.findings,
          complete: allScan.complete,
        };
        // `report --from` of the all-three scan's JSON, kept in the corpus folder.
        if (measureReportFrom && !allScan.timedOut) {
          log(`${size.name}: report --from`);
          allRow.reportFrom = await attempt('report --from', () =>
            measureReportFrom({ bin: BIN, scanJson: allScan.file, cwd: project, format: 'markdown' }),
          );
        }
      }

      // ---------------------------------------------------------------- repository files against grep -rn
      let filesRow;
      if (full && FILES) {
        log(`${size.name}: generating a ${fmt(size.logMB)} MB repository tree`);
        filesRow = await attempt('files', () => filesCase(dir, size.logMB * 1e6));
        if (filesRow.error === undefined)
          log(
            `${size.name}: files ${fmt(filesRow.scanMs / 1000, 2)} s vs grep -rn ${fmt(filesRow.grepMs / 1000, 2)} s ` +
              `→ ${fmt(filesRow.vsGrep, 2)}×`,
          );
      }

      // ---------------------------------------------------------------- same findings
      /** Scans again with other switches or another build; the findings must equal the first scan's. */
      const recheck = async (list, { name, cwd, args, result }, suffix, opts) => {
        if (result.timedOut) return;
        const other = path.join(dir, `scan-${name}-${suffix}.json`);
        const corpus = CORPUS[name] ?? name;
        const r = await scan(`${name} ${suffix}`, cwd, args, other, { ...opts, repeat: 1 });
        list.push(
          r.timedOut
            ? { size: size.name, corpus, same: undefined, timedOut: true }
            : {
                ...(await sameFindings(`${size.name} ${corpus}`, result.file, other)),
                size: size.name,
                corpus,
                ms: r.ms,
              },
        );
        await rm(other, { force: true });
      };
      if (CHECKS && size.checks) {
        log(`${size.name}: same findings with the fast path off and with threads off`);
        for (const d of done.filter((x) => x.name.startsWith('logs'))) {
          await recheck(results.checks.fastPathOff, d, 'fast-path-off', {
            childEnv: { PEER_AUDIT_LOG_FAST_PATH: '0' },
          });
          await recheck(results.checks.threadsOff, d, 'threads-off', { childEnv: { PEER_AUDIT_LOG_THREADS: '0' } });
        }
      }
      if (CHECKS && COMPARE_BIN) {
        log(`${size.name}: same findings as ${COMPARE_BIN}`);
        for (const d of done) await recheck(results.checks.compareBin, d, 'compared', { bin: COMPARE_BIN });
      }

      const row = {
        size: size.name,
        transcriptsOnly: !full,
        corpus: {
          logBytes: logs.bytes,
          logFiles: mix.row.files,
          logLines: mix.source?.stats.lines,
          sessions: mix.source?.stats.sessions,
          progressLogBytes: progressLogs?.bytes,
          specFolders: specs?.folders,
          specFiles: specs?.files,
          kvKeys: kv?.keys,
          kvRevisions: kv?.revisions,
          generateMs: Math.round(genMs),
        },
        logs: mix.row,
        progressLogs: heavy?.row,
        kv: kvRow,
        specs: specsRow,
        files: filesRow,
        all: allRow,
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
  results.benchSeconds = Math.round((performance.now() - started) / 1000);
  results.targets = targets(results, {
    startupModule: existsSync(path.join(HERE, 'startup.mjs')),
    reportFromModule: Boolean(measureReportFrom),
    hookModule: existsSync(path.join(HERE, 'hook.mjs')),
  });
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(results));
  console.log('');
  console.log(targetsTable(results));
  log(`figures written to ${path.relative(process.cwd(), RESULTS)} (bench ran ${fmt(results.benchSeconds)} s)`);
}

/**
 * The repository tree case: a tree of about `bytes` of text files, `grep -rn` over it (after one unmeasured run
 * that brings the tree into the page cache, so both read from memory), and `scan --files '**' + '/*'` without
 * transcripts or KV. grep writes to a pipe: with its output on /dev/null GNU grep stops at the first match.
 */
async function filesCase(dir, bytes) {
  const tree = path.join(dir, 'repo');
  const gen = generateRepoTree(tree, bytes);
  const grepArgs = ['-rn', RESIDUE, '.'];
  await measure(GREP, grepArgs, { cwd: tree });
  const grep = await best(REPEAT, () => measure(GREP, grepArgs, { cwd: tree }));
  const s = await scan(
    'files',
    tree,
    ['--project', tree, '--files', '**/*', '--no-logs', '--no-kv'],
    path.join(dir, 'scan-files.json'),
  );
  const expected = new Set(gen.residue.map((r) => `${r.path}:${r.line}`));
  // Residue lines found where they were written, and findings anywhere else (look-alikes must stay quiet).
  let findings = 0;
  let extra = 0;
  if (!s.timedOut) {
    for (const f of JSON.parse(readFileSync(s.file, 'utf8')).findings) {
      const l = f.evidence[0].location;
      if (f.ruleId === 'heredoc-artifact' && expected.has(`${l.path}:${l.line}`)) findings++;
      else extra++;
    }
  }
  const row = {
    bytes: gen.bytes,
    files: gen.files,
    largeFiles: gen.largeFiles,
    expected: expected.size,
    findings,
    extra,
    grepLines: grep.stdout.split('\n').filter(Boolean).length,
    timedOut: s.timedOut,
    scanMs: s.ms,
    cpuMs: s.cpuMs,
    readMs: s.phases?.files,
    rssKb: s.rssKb,
    grepMs: Math.round(grep.ms),
    grepCpuMs: grep.cpuMs,
    vsGrep: s.timedOut ? undefined : s.ms / grep.ms,
  };
  await rm(tree, { recursive: true, force: true });
  return row;
}

function printRow(r) {
  const p = r.progressLogs;
  log(
    `${r.size}: logs ${fmt(r.logs.mbPerS)} MB/s (${fmt(r.logs.vsReadline, 1)}× readline, ${fmt(r.logs.vsJq, 1)}× jq)` +
      (p ? `, progress-heavy ${fmt(p.mbPerS)} MB/s (${fmt(p.vsReadline, 1)}× readline)` : '') +
      (r.kv
        ? `, kv ${fmt(r.kv.keysPerS)} keys/s (read ${fmt(r.kv.readVsFloor, 2)}× floor), ` +
          `specs ${fmt(r.specs.foldersPerS)} folders/s, all ${fmt(r.all.scanMs / 1000, 1)} s`
        : ''),
  );
}

const over = (m) => (m.timedOut ? '> ' : '');
const MiB = (kb) => (kb === undefined ? undefined : kb / 1024);

export function table(results) {
  const rows = results.sizes;
  // `part`: the member of a size's row the column reads; a size that did not measure it shows "–".
  const col = (title, f, part) => [title, ...rows.map((r) => (part && !r[part] ? '–' : f(r)))];
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
    col('logs RSS', (r) => `${fmt(MiB(r.logs.rssKb))} MB`),
    col(
      'progress-heavy transcripts',
      (r) =>
        `${fmt(mb(r.progressLogs.bytes))} MB (${fmt(r.progressLogs.progressShare * 100)} % progress): ` +
        `${over(r.progressLogs)}${fmt(r.progressLogs.scanMs / 1000, 2)} s vs ${fmt(r.progressLogs.readlineMs / 1000, 2)} s → ` +
        `${fmt(r.progressLogs.vsReadline, 2)}×, ${fmt(MiB(r.progressLogs.rssKb))} MB`,
      'progressLogs',
    ),
    col('KV keys (revisions)', (r) => `${fmt(r.corpus.kvKeys)} (${fmt(r.corpus.kvRevisions)})`, 'kv'),
    col('kv scan', (r) => `${over(r.kv)}${fmt(r.kv.scanMs / 1000, 2)} s = ${fmt(r.kv.keysPerS)} keys/s`, 'kv'),
    col(
      'kv read vs floor',
      (r) => `${fmt(r.kv.readMs / 1000, 2)} s vs ${fmt(r.kv.floorMs / 1000, 2)} s → ${fmt(r.kv.readVsFloor, 2)}×`,
      'kv',
    ),
    col(
      'per-key gets',
      (r) =>
        `${fmt(r.kv.getsAllMs / 1000, 1)} s${r.kv.getsExtrapolated ? '*' : ''} → read ${fmt(r.kv.readVsGets, 1)}× faster`,
      'kv',
    ),
    col(
      'spec folders',
      (r) =>
        `${fmt(r.corpus.specFolders)}: ${over(r.specs)}${fmt(r.specs.scanMs / 1000, 2)} s = ${fmt(r.specs.foldersPerS)}/s`,
      'specs',
    ),
    col('all three', (r) => `${over(r.all)}${fmt(r.all.scanMs / 1000, 2)} s, ${fmt(MiB(r.all.rssKb))} MB`, 'all'),
    col(
      '--files vs grep -rn',
      (r) =>
        r.files.error
          ? `failed: ${r.files.error}`
          : `${fmt(mb(r.files.bytes))} MB, ${fmt(r.files.files)} files: ${over(r.files)}${fmt(r.files.scanMs / 1000, 2)} s ` +
            `vs ${fmt(r.files.grepMs / 1000, 2)} s → ${fmt(r.files.vsGrep, 2)}× (${r.files.findings}/${r.files.expected} found)`,
      'files',
    ),
  ];
  const out = grid(cols);
  const m = results.machine;
  out.push('');
  out.push(
    `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}, ${m.natsServer}${m.jq ? `, ${m.jq}` : ''}; load average at start ${m.loadAverage.join(' ')}, at end ${(results.loadAverageAtEnd ?? []).join(' ')}.`,
  );
  out.push(
    'Times are wall clock from spawn to exit of each process, best of the runs; cpu is user + system time of the process (all its threads).',
  );
  if (rows.some((r) => r.kv?.getsExtrapolated))
    out.push(
      `* per-key gets timed on ${rows
        .filter((r) => r.kv)
        .map((r) => r.kv.getsSampled)
        .join(
          '/',
        )} keys (after one key listing) and carried over to every key; a get reads only the latest revision, the scan reads all of them.`,
    );
  return out.join('\n');
}

/** Columns (title first) as a Markdown table. */
function grid(cols) {
  const widths = cols.map((c) => Math.max(...c.map((x) => String(x).length)));
  const line = (i) => `| ${cols.map((c, k) => String(c[i]).padEnd(widths[k])).join(' | ')} |`;
  const out = [line(0), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (let i = 1; i < cols[0].length; i++) out.push(line(i));
  return out;
}

// ---------------------------------------------------------------- targets

/** The targets: limits in ms and MB (MiB, as RSS is shown everywhere here). */
export const TARGETS = {
  transcriptsVsReadline: 2,
  transcriptsMinBytes: 100e6,
  logsRssMB: 200,
  allMs: 20_000,
  allRssMB: 1024,
  startupMs: { version: 120, rules: 120, seedScan: 300 },
  reportFromMs: 10_000,
  reportFromRssMB: 300,
  kvReadVsFloor: 1.3,
  filesVsGrep: 1.5,
  filesMinBytes: 1e9,
  hookP95Ms: 300,
};

const NOT = 'not measured';
const judge = (ok) => (ok === undefined ? NOT : ok ? 'PASS' : 'MISS');

/**
 * One row per target of the performance issue: what was measured, the limit, PASS / MISS, or "not measured"
 * with the reason. Sizes that were not run are said so; the figure at the largest size that was run is given.
 */
export function targets(results, { startupModule = true, reportFromModule = true, hookModule = true } = {}) {
  const rows = [];
  const T = TARGETS;
  const bySize = new Map(results.sizes.map((r) => [r.size, r]));
  const add = (target, where, measured, limit, result, note) =>
    rows.push({ target, where, measured, limit, result, ...(note ? { note } : {}) });
  const corpora = [
    ['logs', 'mix'],
    ['progressLogs', 'progress-heavy'],
  ];

  // Transcripts: at least 2× the readline + JSON.parse baseline at every size from 100 MB, both corpora.
  let anyBig = false;
  for (const r of results.sizes) {
    for (const [key, label] of corpora) {
      const t = r[key];
      if (!t || t.bytes < T.transcriptsMinBytes) continue;
      anyBig = true;
      add(
        'transcripts scan vs readline + JSON.parse',
        `${r.size}, ${label}, ${fmt(mb(t.bytes))} MB`,
        t.timedOut
          ? `stopped after ${fmt(t.scanMs / 1000)} s`
          : `${fmt(t.vsReadline, 2)}× (${fmt(t.scanMs / 1000, 2)} s vs ${fmt(t.readlineMs / 1000, 2)} s)`,
        `≥ ${T.transcriptsVsReadline}×`,
        t.timedOut ? 'MISS' : judge(t.vsReadline >= T.transcriptsVsReadline),
      );
    }
  }
  if (!anyBig) {
    const seen = results.sizes
      .flatMap((r) => corpora.filter(([k]) => r[k]).map(([k, l]) => `${r.size} ${l}: ${fmt(r[k].vsReadline, 2)}×`))
      .join(', ');
    add(
      'transcripts scan vs readline + JSON.parse',
      'every corpus ≥ 100 MB',
      '–',
      '≥ 2×',
      NOT,
      `no corpus of 100 MB or more in this run${seen ? `; ${seen}` : ''}`,
    );
  }
  if (!results.progressCorpora)
    add(
      'transcripts scan vs readline + JSON.parse',
      'progress-heavy corpora',
      '–',
      '≥ 2×',
      NOT,
      'PEER_AUDIT_BENCH_PROGRESS=0',
    );

  // Memory: a transcripts-only scan at 100 MB (medium), 300 MB (mid) and 1 GB (large).
  for (const name of ['medium', 'mid', 'large']) {
    const r = bySize.get(name);
    for (const [key, label] of corpora) {
      if (key === 'progressLogs' && !results.progressCorpora) continue;
      const t = r?.[key];
      add(
        'transcripts-only scan peak RSS',
        t ? `${name}, ${label}, ${fmt(mb(t.bytes))} MB` : `${name}, ${label}`,
        t ? `${fmt(MiB(t.rssKb))} MB` : '–',
        `≤ ${T.logsRssMB} MB`,
        t ? judge(t.rssKb === undefined ? undefined : MiB(t.rssKb) <= T.logsRssMB) : NOT,
        t ? (t.rssKb === undefined ? 'no peak RSS figure' : undefined) : `size ${name} not run`,
      );
    }
  }

  // The rest is judged at the large size; when it was not run, the largest size that was run is shown.
  const large = bySize.get('large');
  const biggestFull = [...results.sizes].reverse().find((r) => r.all);
  const notLarge = (f) => `large size not run${biggestFull ? `; ${biggestFull.size}: ${f(biggestFull)}` : ''}`;

  // All three sources at the large size.
  if (large?.all) {
    const a = large.all;
    add(
      'all three sources, wall time',
      'large',
      `${over(a)}${fmt(a.scanMs / 1000, 2)} s`,
      `< ${T.allMs / 1000} s`,
      a.timedOut ? 'MISS' : judge(a.scanMs < T.allMs),
    );
    add(
      'all three sources, peak RSS',
      'large',
      `${fmt(MiB(a.rssKb))} MB`,
      `< ${fmt(T.allRssMB)} MB`,
      judge(a.rssKb === undefined ? undefined : MiB(a.rssKb) < T.allRssMB),
    );
  } else {
    add(
      'all three sources, wall time',
      'large',
      '–',
      `< ${T.allMs / 1000} s`,
      NOT,
      notLarge((r) => `${fmt(r.all.scanMs / 1000, 2)} s`),
    );
    add(
      'all three sources, peak RSS',
      'large',
      '–',
      `< ${fmt(T.allRssMB)} MB`,
      NOT,
      notLarge((r) => `${fmt(MiB(r.all.rssKb))} MB`),
    );
  }

  // Start-up (median of the runs).
  const names = { version: 'peer-audit --version', rules: 'peer-audit rules', seedScan: 'scan of the seed incident' };
  for (const [k, title] of Object.entries(names)) {
    const s = results.startup?.[k];
    const why = results.startup?.error
      ? `failed: ${results.startup.error}`
      : !startupModule
        ? 'scripts/bench/startup.mjs is missing'
        : 'PEER_AUDIT_BENCH_STARTUP_RUNS=0';
    add(
      `start-up: ${title}`,
      'median of the runs',
      s ? `${fmt(s.medianMs)} ms (p95 ${fmt(s.p95Ms)}, best ${fmt(s.bestMs)})` : '–',
      `< ${T.startupMs[k]} ms`,
      s ? judge(s.medianMs < T.startupMs[k]) : NOT,
      s ? undefined : why,
    );
  }

  // report --from of the large all-three scan's JSON.
  const rf = large?.all?.reportFrom?.error ? undefined : large?.all?.reportFrom;
  if (rf) {
    const where = `large scan's JSON, ${fmt(rf.inputMB)} MB`;
    add(
      'report --from, wall time',
      where,
      `${fmt(rf.wallMs / 1000, 2)} s`,
      `< ${T.reportFromMs / 1000} s`,
      judge(rf.wallMs < T.reportFromMs),
    );
    add(
      'report --from, peak RSS',
      where,
      `${fmt(rf.peakRssMB)} MB`,
      `< ${T.reportFromRssMB} MB`,
      judge(rf.peakRssMB === undefined ? undefined : rf.peakRssMB < T.reportFromRssMB),
    );
  } else {
    const why = !reportFromModule
      ? 'scripts/bench/report-from.mjs is missing'
      : large?.all?.reportFrom?.error
        ? `failed: ${large.all.reportFrom.error}`
        : large?.all
          ? 'the large all-three scan did not finish'
          : notLarge((r) => {
              const f = r.all.reportFrom;
              if (!f) return 'not measured';
              if (f.error) return `failed: ${f.error}`;
              return `${fmt(f.wallMs / 1000, 2)} s, ${fmt(f.peakRssMB)} MB for ${fmt(f.inputMB)} MB`;
            });
    add('report --from, wall time', "large scan's JSON", '–', `< ${T.reportFromMs / 1000} s`, NOT, why);
    add('report --from, peak RSS', "large scan's JSON", '–', `< ${T.reportFromRssMB} MB`, NOT, why);
  }

  // KV: the scan's read of every revision against the bare kv.history() consumer.
  if (large?.kv) {
    const k = large.kv;
    add(
      'KV read vs bare kv.history()',
      `large, ${fmt(large.corpus.kvKeys)} keys`,
      `${fmt(k.readVsFloor, 2)}× (${fmt(k.readMs / 1000, 2)} s vs ${fmt(k.floorMs / 1000, 2)} s)`,
      `≤ ${T.kvReadVsFloor}×`,
      judge(k.readVsFloor === undefined ? undefined : k.readVsFloor <= T.kvReadVsFloor),
    );
  } else
    add(
      'KV read vs bare kv.history()',
      'large, 100k keys',
      '–',
      `≤ ${T.kvReadVsFloor}×`,
      NOT,
      notLarge((r) => `${fmt(r.kv.readVsFloor, 2)}×`),
    );

  // --files over a tree of at least 1 GB against grep -rn over the same tree.
  const tree = [...results.sizes].reverse().find((r) => r.files && !r.files.error);
  if (tree && tree.files.bytes >= T.filesMinBytes) {
    const f = tree.files;
    add(
      'scan --files vs grep -rn',
      `${tree.size}, ${fmt(mb(f.bytes))} MB, ${fmt(f.files)} files`,
      f.timedOut
        ? `stopped after ${fmt(f.scanMs / 1000)} s`
        : `${fmt(f.vsGrep, 2)}× (${fmt(f.scanMs / 1000, 2)} s vs ${fmt(f.grepMs / 1000, 2)} s)`,
      `≤ ${T.filesVsGrep}×`,
      f.timedOut || f.findings !== f.expected || f.extra ? 'MISS' : judge(f.vsGrep <= T.filesVsGrep),
      f.findings !== f.expected || f.extra
        ? `${f.findings} of ${f.expected} residue lines found, ${f.extra} other findings`
        : undefined,
    );
  } else
    add(
      'scan --files vs grep -rn',
      'a tree of 1 GB or more',
      '–',
      `≤ ${T.filesVsGrep}×`,
      NOT,
      !FILES
        ? 'PEER_AUDIT_BENCH_FILES=0'
        : tree
          ? `largest tree ${fmt(mb(tree.files.bytes))} MB: ${fmt(tree.files.vsGrep, 2)}×`
          : 'no tree was measured',
    );

  // The hook: a Stop event of a 10 MB session against 10k keys, the 95th percentile of the runs.
  const h = results.hook;
  if (h && !h.error)
    add(
      'hook p95',
      `Stop, ${fmt(h.sessionBytes / 1e6, 1)} MB session, ${fmt(h.keys)} keys, ${h.runs} runs`,
      `${fmt(h.p95Ms)} ms (median ${fmt(h.medianMs)}, best ${fmt(h.bestMs)}` +
        `${h.cpuMedianMs !== undefined ? `, cpu ${fmt(h.cpuMedianMs)}` : ''})`,
      `< ${T.hookP95Ms} ms`,
      judge(h.p95Ms < T.hookP95Ms),
    );
  else
    add(
      'hook p95',
      'Stop, 10 MB session, 10k keys',
      '–',
      `< ${T.hookP95Ms} ms`,
      NOT,
      h?.error
        ? `failed: ${h.error}`
        : !hookModule
          ? 'scripts/bench/hook.mjs is missing'
          : 'PEER_AUDIT_BENCH_HOOK_RUNS=0',
    );

  // Same findings.
  const checks = results.checks ?? {};
  const same = (list, title, noneWhy) => {
    if (!list?.length) return add(title, '–', '–', 'identical', NOT, noneWhy);
    const bad = list.filter((c) => c.same !== true);
    add(
      title,
      [...new Set(list.map((c) => c.size))].join(', ') + ': ' + [...new Set(list.map((c) => c.corpus))].join(', '),
      `${list.length - bad.length} of ${list.length} corpora identical`,
      'identical',
      bad.length ? 'MISS' : 'PASS',
      bad.length
        ? bad
            .map((c) => `${c.size} ${c.corpus}: ${c.timedOut ? 'stopped' : `${c.findings} vs ${c.otherFindings}`}`)
            .join('; ')
        : undefined,
    );
  };
  const checkWhy = !CHECKS ? 'PEER_AUDIT_BENCH_CHECKS=0' : 'neither small nor medium was run';
  same(checks.fastPathOff, 'same findings, fast path off (PEER_AUDIT_LOG_FAST_PATH=0)', checkWhy);
  same(checks.threadsOff, 'same findings, threads off (PEER_AUDIT_LOG_THREADS=0)', checkWhy);
  same(
    checks.compareBin,
    `same findings as ${results.compareBin ? path.relative(process.cwd(), results.compareBin) || results.compareBin : 'another build'}`,
    results.compareBin ? checkWhy : 'PEER_AUDIT_BENCH_COMPARE_BIN not set',
  );
  return rows;
}

export function targetsTable(results) {
  const rows = results.targets ?? targets(results);
  const col = (title, f) => [title, ...rows.map(f)];
  const out = grid([
    col('target', (t) => t.target),
    col('where', (t) => t.where),
    col('measured', (t) => t.measured),
    col('limit', (t) => t.limit),
    col('result', (t) => (t.note ? `${t.result} (${t.note})` : t.result)),
  ]);
  const count = (k) => rows.filter((t) => t.result === k).length;
  out.push('');
  out.push(
    `Targets: ${count('PASS')} PASS, ${count('MISS')} MISS, ${count(NOT)} not measured (sizes run: ${(results.sizesRun ?? []).join(', ')}).`,
  );
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('run.mjs')) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

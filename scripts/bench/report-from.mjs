#!/usr/bin/env node
// `report --from` of a saved JSON scan, measured as users run it: the built CLI as a subprocess, its wall time and
// peak RSS (from /usr/bin/time when present, else from a preloaded hook that reads process.resourceUsage()).
//
//   node scripts/bench/report-from.mjs <scan.json> [format]     prints the figures as JSON
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * Runs `node <bin> report --from <scanJson> --format <format>` (output discarded) and returns its wall time in ms,
 * its peak RSS in MB and the size of the input in MB. Rejects when the report fails (exit code other than 0 or 1).
 */
export async function measureReportFrom({ bin, scanJson, cwd, format = 'markdown' }) {
  const rssFile = path.join(os.tmpdir(), `peer-audit-report-from-rss-${process.pid}-${Date.now()}`);
  const env = { ...process.env, NO_COLOR: '1', PEER_AUDIT_BENCH_RSS_FILE: rssFile };
  const args = [bin, 'report', '--no-config', '--from', scanJson, '--format', format];
  let argv = [process.execPath, ...args];
  if (TIME) argv = [TIME, '-f', '@@rss %M', '-o', rssFile, ...argv];
  else env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${path.join(HERE, 'rss-hook.mjs')}`.trim();
  const t0 = performance.now();
  const { code, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  const wallMs = performance.now() - t0;
  let peakRssMB;
  try {
    const m = /@@rss (\d+)/.exec(readFileSync(rssFile, 'utf8'));
    if (m) peakRssMB = Number(m[1]) / 1024;
  } catch {
    /* no figure */
  } finally {
    rmSync(rssFile, { force: true });
  }
  if (code !== 0 && code !== 1) throw new Error(`report --from ${scanJson} exited ${code}: ${stderr.trim()}`);
  return { wallMs, peakRssMB, inputMB: statSync(scanJson).size / 1e6 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [scanJson, format = 'markdown'] = process.argv.slice(2);
  if (!scanJson) {
    console.error('usage: node scripts/bench/report-from.mjs <scan.json> [markdown|json|sarif|stylish]');
    process.exit(2);
  }
  const bin = process.env.PEER_AUDIT_BENCH_BIN ?? path.resolve(HERE, '..', '..', 'bin', 'peer-audit.js');
  const r = await measureReportFrom({ bin, scanJson: path.resolve(scanJson), cwd: process.cwd(), format });
  console.log(JSON.stringify({ ...r, format, load: os.loadavg()[0] }));
}

// Shared by the real-run fixture tests: scan a fixture under fixtures/real-runs/ the way its README says, from
// its snapshot or live from a nats-server it was loaded into.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { runCli, REPO } from '../helpers/cli.js';
import type { Finding } from '../../src/model/types.js';

export const REAL_RUNS = path.join(REPO, 'fixtures/real-runs');

export interface Scan {
  code: number | null;
  complete: boolean;
  findings: Finding[];
  stdout: string;
}

/** The scan flags a fixture's README gives (after `peer-audit scan`). */
export async function readmeArgs(fixture: string): Promise<string[]> {
  const readme = await fs.readFile(path.join(REAL_RUNS, fixture, 'README.md'), 'utf8');
  const m = /`peer-audit scan ([^`]+)`/.exec(readme);
  if (!m) throw new Error(`${fixture}/README.md names no scan command`);
  return m[1].split(' ');
}

/** Scan from the snapshot (default) or, with `server`, live (`--server <url> --expect-replicas 1`). */
export async function scanFixture(fixture: string, server?: string): Promise<Scan> {
  let args = await readmeArgs(fixture);
  if (server) {
    const i = args.indexOf('--kv-snapshot');
    args = [...args.slice(0, i), ...args.slice(i + 2), '--server', server, '--expect-replicas', '1'];
  }
  const r = await runCli(['scan', ...args], { cwd: path.join(REAL_RUNS, fixture) });
  expect(r.stderr).toBe('');
  const json = JSON.parse(r.stdout) as { complete: boolean; findings: Finding[] };
  return { code: r.code, complete: json.complete, findings: json.findings, stdout: r.stdout };
}

export const verdict = (s: Scan) => s.findings.map((f) => `${f.ruleId} ${f.severity}`).sort();

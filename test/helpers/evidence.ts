// Builders for evidence in tests: KV data in memory (same shape the live reader returns), spec folders as real files.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KvData, KvRevision } from '../../src/model/types.js';
import { buildModel, type Model } from '../../src/model/build.js';
import { readLogs } from '../../src/sources/logs.js';
import { readSpecs } from '../../src/sources/specs.js';
import { loadRules } from '../../src/engine/registry.js';
import { runRules } from '../../src/engine/run.js';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from '../../src/engine/rule.js';
import type { Finding, LogData } from '../../src/model/types.js';

export type Put = [
  key: string,
  value: unknown,
  opts?: { created?: string; op?: 'PUT' | 'DEL' | 'PURGE'; raw?: boolean },
];

/** Revisions are numbered 1.. in the order given, like a fresh bucket's stream sequence. */
export function kvData(puts: Put[], bucket = 'agent-os-peer-state'): KvData {
  const keys = new Map<string, KvRevision[]>();
  puts.forEach(([key, value, opts], i) => {
    const op = opts?.op ?? 'PUT';
    const bytes =
      op !== 'PUT'
        ? new Uint8Array()
        : typeof value === 'string' || opts?.raw
          ? Buffer.from(String(value))
          : Buffer.from(JSON.stringify(value));
    const rev: KvRevision = {
      key,
      revision: i + 1,
      operation: op,
      created: opts?.created ?? new Date(Date.UTC(2025, 7, 5, 16, 0, i)).toISOString(),
      value: new Uint8Array(bytes),
    };
    keys.set(key, [...(keys.get(key) ?? []), rev]);
  });
  return { bucket, origin: 'snapshot', originRef: 'test', takenAt: '2025-08-06T00:00:00.000Z', keys };
}

export async function tempProject(files: Record<string, string>): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-proj-'));
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, text);
  }
  return root;
}

export async function modelOf(opts: { kv?: KvData; project?: string; logs?: LogData }): Promise<Model> {
  const projectRoot = opts.project ?? (await tempProject({}));
  const specs = (await readSpecs({ projectRoot })).data;
  return buildModel({ projectRoot, bucket: 'agent-os-peer-state', kv: opts.kv, specs, logs: opts.logs });
}

export async function findingsOf(
  model: Model,
  ruleId?: string,
  options: Partial<RuleOptions> = {},
): Promise<Finding[]> {
  const rules = (await loadRules()).filter((r) => !ruleId || r.meta.id === ruleId);
  const { findings, failures } = runRules(model, rules, {
    ...DEFAULT_RULE_OPTIONS,
    now: '2025-08-06T00:00:00Z',
    ...options,
  });
  if (failures.length) throw new Error(failures.map((f) => f.error).join('\n'));
  return findings;
}

export const lines = (n: number, last: string, prefix = 'Line') =>
  Array.from({ length: n - 1 }, (_, i) => `${prefix} ${i + 1}`)
    .concat(last)
    .join('\n');

/** A rule's findings on the transcripts at the top of `dir` (the project root too), with KV `kv` (empty by default). */
export async function logFindings(dir: string, ruleId: string, kv: KvData = kvData([])): Promise<Finding[]> {
  const logs = (await readLogs([path.join(dir, '*.jsonl')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), ruleId);
}

/** A rule's findings on KV revisions `puts` (numbered 1..) and project files `files`. */
export async function stateFindings(puts: Put[], rule: string, files: Record<string, string> = {}): Promise<Finding[]> {
  return findingsOf(await modelOf({ kv: kvData(puts), project: await tempProject(files) }), rule);
}

/** A finding's KV locations as `key@revision/pointer`. */
export const kvLocs = (f: { evidence: { location: { kind: string } }[] }) =>
  f.evidence
    .map((e) => e.location)
    .filter((l): l is { kind: 'kv'; key: string; revision: number; pointer?: string } => l.kind === 'kv')
    .map((l) => `${l.key}@${l.revision}${l.pointer ?? ''}`);

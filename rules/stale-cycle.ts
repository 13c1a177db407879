import { defineRule } from '../src/engine/rule.js';
import {
  brief,
  isRecord,
  metaStatements,
  normaliseStatus,
  PHASES,
  recordedFailures,
  type CycleState,
  type MetaState,
} from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, KvLocation } from '../src/model/types.js';

/** v2 metadata.status words for a cycle under way. */
const UNDER_WAY_V2 = /^(initialized|planning|executing|expressing|reviewing)$/i;

interface Stamp {
  ms: number;
  time: string;
  location: KvLocation;
  excerpt: string;
  what: string;
}

export default defineRule({
  meta: {
    id: 'stale-cycle',
    severity: 'warning',
    summary:
      'A cycle in progress (a phase running, or v2 status INITIALIZED…REVIEWING) has had no update for longer ' +
      'than --stale-after.',
    sources: ['kv'],
    fixable: false,
    title: 'A cycle stopped making progress',
    options: {
      staleAfterMs: {
        default: 6 * 3600_000,
        description: 'A phase in progress with no update for longer than this (ms) is stale: --stale-after.',
      },
    },
  },
  check({ model, options, report }) {
    const bucket = model.bucket;
    const now = Date.parse(options.now);
    if (!Number.isFinite(now)) return;
    for (const run of model.runs) {
      for (const cycle of run.cycles) {
        const meta = run.meta
          ? metaStatements(bucket, run.meta, cycle.number)
          : { claims: [], signals: [], outcomes: [] };
        if (cycle.claims.length > 0 || meta.claims.length > 0) continue; // it claims completion: not in progress

        const at = (pointer?: string): KvLocation => ({
          kind: 'kv',
          bucket,
          key: cycle.key,
          revision: cycle.revision,
          ...(pointer ? { pointer } : {}),
        });
        // A recorded failure, with no phase running after it: the cycle is not in progress, and recorded-failure
        // reports it.
        if (
          recordedFailures(bucket, cycle, run.meta).length > 0 &&
          !PHASES.some((p) => cycle.phases[p].status === 'running')
        )
          continue;
        const signs = underWay(cycle, run.meta, at, bucket);
        if (signs.length === 0) continue;

        const last = lastUpdate(cycle, run.meta, at, bucket);
        if (!last) continue;
        const idle = now - last.ms;
        if (idle <= options.staleAfterMs) continue;

        const evidence: Evidence[] = [
          ...signs.map((s) => ({ location: s.location, excerpt: s.excerpt, note: s.note })),
          { location: last.location, excerpt: last.excerpt, note: `the last update: ${last.what}` },
        ];
        report({
          message:
            `Cycle ${cycle.number} is in progress (${signs.map((s) => s.short).join(', ')}) with no ` +
            `update for ${duration(idle)} (last update ${last.time}, limit ${duration(options.staleAfterMs)}): it ` +
            'was most likely abandoned, or failed without recording it.',
          subject: runSubject(run, cycle.number),
          evidence,
          target: cycle.key,
        });
      }
    }
  },
});

/** What says the cycle is under way, each with where it is said. */
function underWay(cycle: CycleState, meta: MetaState | undefined, at: (p?: string) => KvLocation, bucket: string) {
  const out: { location: KvLocation; excerpt: string; note: string; short: string }[] = [];
  for (const p of PHASES) {
    const ph = cycle.phases[p];
    if (ph.status === 'running')
      out.push({
        location: at(`/phases/${p}/status`),
        excerpt: `"status": ${brief(ph.raw)}`,
        note: `${p} is in progress`,
        short: `${p} ${ph.raw}`,
      });
  }
  const md = cycle.metadata;
  if (md) {
    if (typeof md.status === 'string' && UNDER_WAY_V2.test(md.status.trim()))
      out.push({
        location: at('/metadata/status'),
        excerpt: `"status": ${brief(md.status)}`,
        note: 'the cycle is under way',
        short: `status ${md.status}`,
      });
    else if (md.current_phase === 'planning')
      out.push({
        location: at('/metadata/current_phase'),
        excerpt: `"current_phase": "planning"`,
        note: 'the cycle is under way',
        short: 'current_phase planning',
      });
  }
  if (meta && cycle.layout === 'v1') {
    const entry = meta.cycles[String(cycle.number)];
    if (entry && normaliseStatus(entry.status) === 'running') {
      out.push({
        location: {
          kind: 'kv',
          bucket,
          key: meta.key,
          revision: meta.revision,
          pointer: `/cycles/${cycle.number}/status`,
        },
        excerpt: `"status": ${brief(entry.status)}`,
        note: 'the meta says the cycle is running',
        short: `meta status ${entry.status}`,
      });
    }
  }
  return out;
}

/**
 * The newest of: the cycle's latest revision time, its last_update/updated_at fields, and the meta's latest revision
 * about it.
 */
function lastUpdate(
  cycle: CycleState,
  meta: MetaState | undefined,
  at: (p?: string) => KvLocation,
  bucket: string,
): Stamp | undefined {
  const stamps: Stamp[] = [];
  const add = (time: unknown, location: KvLocation, excerpt: string, what: string) => {
    if (typeof time !== 'string') return;
    const ms = Date.parse(time);
    if (Number.isFinite(ms)) stamps.push({ ms, time, location, excerpt, what });
  };
  add(
    cycle.created,
    at(),
    `revision ${cycle.revision} written ${cycle.created}`,
    `revision ${cycle.revision} of ${cycle.key}`,
  );
  const json = cycle.json;
  for (const [ptr, v] of fields(json))
    add(v, at(ptr), `"${ptr.split('/').pop()}": ${brief(v)}`, ptr.slice(1).replace(/\//g, '.'));
  if (meta && cycle.layout === 'v1' && (meta.currentCycle === cycle.number || meta.cycles[String(cycle.number)])) {
    add(
      meta.created,
      { kind: 'kv', bucket, key: meta.key, revision: meta.revision },
      `revision ${meta.revision} written ${meta.created}`,
      `revision ${meta.revision} of ${meta.key}`,
    );
  }
  if (stamps.length === 0) return undefined;
  return stamps.reduce((a, b) => (b.ms > a.ms ? b : a));
}

/** The last_update / updated_at fields of a cycle value (root, status, metadata and each phase). */
function fields(json: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  const look = (obj: unknown, base: string) => {
    if (!isRecord(obj)) return;
    for (const f of ['last_update', 'updated_at', 'last_updated_at'])
      if (obj[f] !== undefined) out.push([`${base}/${f}`, obj[f]]);
  };
  look(json, '');
  look(json.status, '/status');
  look(json.metadata, '/metadata');
  if (isRecord(json.phases)) for (const p of PHASES) look(json.phases[p], `/phases/${p}`);
  return out;
}

/** "3 d 4 h", "5 h 12 min", "40 min". */
export function duration(ms: number): string {
  const min = Math.floor(ms / 60_000);
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

import { defineRule } from '../src/engine/rule.js';
import type { KeyRecord } from '../src/model/build.js';
import { recordedRepairs } from '../src/model/acknowledged.js';
import { brief, classifyKey, isRecord, normaliseStatus, PHASES, type HistoryItem } from '../src/model/state.js';
import type { Evidence, KvLocation, Subject } from '../src/model/types.js';

/** Root sections that, once written, stay: each has one writer and no one is meant to remove it. */
const SECTIONS = ['result', 'insights', 'cycle_summary', 'context', 'metadata'];

interface Change {
  /** Pointer of what was lost or rewritten. */
  pointer: string;
  what: string;
  before?: string;
  after?: string;
}

export default defineRule({
  meta: {
    id: 'lost-update',
    severity: 'warning',
    summary:
      'A write to a cycle key dropped what an earlier revision held, or rewrote a phase its writer does not own.',
    sources: ['kv'],
    fixable: false,
    title: 'A write lost earlier state',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const rec of model.keys) {
      if (rec.info.kind !== 'cycle') continue;
      const loc = (revision: number, pointer?: string): KvLocation => ({
        kind: 'kv',
        bucket,
        key: rec.info.key,
        revision,
        ...(pointer ? { pointer } : {}),
      });
      const puts = docs(rec);

      for (let i = 0; i < puts.length; i++) {
        const b = puts[i];
        // consecutive PUTs only; a delete resets the value
        const a = i > 0 && puts[i - 1].index === b.index - 1 ? puts[i - 1] : undefined;
        const lost: Change[] = [];
        const rewritten: Change[] = [];
        const doubled: Change[] = [];
        let writer = '';

        if (a) {
          for (const s of SECTIONS) {
            if (present(a.json[s]) && !present(b.json[s]))
              lost.push({
                pointer: `/${s}`,
                what: `"${s}"`,
                before: `"${s}": ${brief(a.json[s], 100)}`,
                after: absentText(b.json, s),
              });
          }
          const pa = isRecord(a.json.phases) ? a.json.phases : {};
          const pb = isRecord(b.json.phases) ? b.json.phases : {};
          for (const p of PHASES) {
            const ea = pa[p];
            const eb = pb[p];
            if (present(ea) && !present(eb)) {
              lost.push({
                pointer: `/phases/${p}`,
                what: `phases.${p}`,
                before: `"${p}": ${brief(ea, 100)}`,
                after: absentText(pb, p, '"phases"'),
              });
            } else if (isRecord(ea) && hasOutput(ea.output) && !(isRecord(eb) && hasOutput(eb.output))) {
              lost.push({
                pointer: `/phases/${p}/output`,
                what: `phases.${p}.output`,
                before: `"output": ${brief(ea.output, 100)}`,
                after:
                  isRecord(eb) && eb.output !== undefined
                    ? `"output": ${brief(eb.output, 60)}`
                    : `"${p}" has no "output"`,
              });
            }
          }

          // Ownership: the write that completed one phase must leave the others as they were.
          const completed = PHASES.filter((p) => statusOf(pb[p]) === 'completed' && statusOf(pa[p]) !== 'completed');
          if (completed.length > 0) {
            writer = `the write that completed ${completed.join(' and ')}`;
            for (const q of PHASES) {
              const ea = pa[q];
              const eb = pb[q];
              if (!isRecord(ea) || !isRecord(eb) || lost.some((l) => l.pointer.startsWith(`/phases/${q}`))) continue;
              if (completed.includes(q)) {
                if (completed.length > 1)
                  doubled.push({
                    pointer: `/phases/${q}/status`,
                    what: `phases.${q}.status`,
                    before: `"status": ${brief(ea.status)}`,
                    after: `"status": ${brief(eb.status)}`,
                  });
                continue;
              }
              if (!same(ea.status, eb.status))
                rewritten.push({
                  pointer: `/phases/${q}/status`,
                  what: `phases.${q}.status`,
                  before: `"status": ${brief(ea.status)}`,
                  after: `"status": ${brief(eb.status)}`,
                });
              if (!same(ea.output, eb.output))
                rewritten.push({
                  pointer: `/phases/${q}/output`,
                  what: `phases.${q}.output`,
                  before: `"output": ${brief(ea.output, 100)}`,
                  after: `"output": ${brief(eb.output, 100)}`,
                });
            }
          }
        }

        // A root "status"/"completed_at" in a v2 value is not reported: the v2 agents' own output contracts name
        // them (peer-planner, peer-review), so an agent that follows its contract writes them.

        // A peer-audit repair removes on purpose, and keeps what it removed in the value it writes.
        const kept = a ? repairedPointers(a.json, b.json) : [];
        const notKept = (c: Change) => !kept.some((k) => c.pointer === k || c.pointer.startsWith(`${k}/`));
        for (const xs of [lost, rewritten, doubled]) xs.splice(0, xs.length, ...xs.filter(notKept));
        if (lost.length + rewritten.length + doubled.length === 0) continue;
        writer ||= writerOf(a?.json, b.json);
        const evidence: Evidence[] = [];
        for (const c of [...lost, ...rewritten, ...doubled]) {
          evidence.push({
            location: loc(a!.revision, c.pointer),
            excerpt: c.before ?? '',
            note: `${c.what} at revision ${a!.revision}`,
          });
          evidence.push({
            location: loc(b.revision, c.pointer),
            excerpt: c.after ?? '',
            note: lost.includes(c)
              ? `gone at revision ${b.revision}`
              : doubled.includes(c)
                ? `completed at revision ${b.revision}, in the same write ` +
                  `as ${list(doubled.filter((d) => d !== c).map((d) => d.what))}`
                : `changed at revision ${b.revision}, by ${writer}`,
          });
        }
        const said: string[] = [];
        if (lost.length) said.push(`dropped ${list(lost.map((c) => c.what))} (present at revision ${a!.revision})`);
        if (rewritten.length)
          said.push(
            `changed ${list(rewritten.map((c) => c.what))}, ` +
              `which ${rewritten.length > 1 ? 'belong' : 'belongs'} to another phase`,
          );
        if (doubled.length)
          said.push(
            `completed ${list(doubled.map((c) => c.what.split('.')[1]))} in one write (each agent completes ` +
              'only its own phase)',
          );
        const by = writer && doubled.length === 0 ? ` (${writer})` : '';
        report({
          message: `${rec.info.key} revision ${b.revision}${by} ${said.join(', and ')}.`,
          subject: subjectOf(rec),
          evidence,
          target: `${rec.info.key}@${b.revision}`,
        });
      }
    }
  },
});

/** Pointers whose earlier values a repair made in this write recorded under `peer_audit.repairs[].previous`. */
function repairedPointers(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const added = recordedRepairs(after).slice(recordedRepairs(before).length) as { previous?: unknown }[];
  return added.flatMap((r) => (isRecord(r.previous) ? Object.keys(r.previous) : []));
}

interface Doc {
  /** Position in the key's history (all operations). */
  index: number;
  revision: number;
  json: Record<string, unknown>;
}

/** The PUT revisions of a key whose value is a JSON object. */
function docs(rec: KeyRecord): Doc[] {
  const out: Doc[] = [];
  rec.history.forEach((h: HistoryItem, index) => {
    if (h.operation === 'PUT' && h.decoded?.ok && isRecord(h.decoded.json))
      out.push({ index, revision: h.revision, json: h.decoded.json });
  });
  return out;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function hasOutput(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isRecord(v)) return Object.keys(v).length > 0;
  return true;
}

function statusOf(entry: unknown): string {
  return isRecord(entry) ? normaliseStatus(entry.status) : 'absent';
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function absentText(obj: Record<string, unknown>, field: string, where = 'the value'): string {
  return obj[field] === null ? `"${field}": null` : `${where} has no "${field}"`;
}

/** Who wrote revision b, as far as the value tells (v2: the metadata.status it set). */
function writerOf(a: Record<string, unknown> | undefined, b: Record<string, unknown>): string {
  const sa = isRecord(a?.metadata) ? a.metadata.status : undefined;
  const sb = isRecord(b.metadata) ? b.metadata.status : undefined;
  if (typeof sb === 'string' && sb !== sa) return `the write that set metadata.status to ${sb}`;
  return '';
}

function subjectOf(rec: KeyRecord): Subject {
  const info = rec.info.prefix ? rec.info : classifyKey(rec.info.key);
  const s: Subject = {};
  if (info.prefix) s.keyPrefix = info.prefix;
  if (info.scope === 'spec' && info.name) s.spec = info.name;
  if (info.cycle !== undefined) s.cycle = info.cycle;
  return s;
}

function list(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

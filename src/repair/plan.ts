// Turns the fixes of findings into exact before/after bytes per key or file, and renders them as diffs.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { redactText } from '../model/redact.js';
import { escapeLines } from '../model/text.js';
import type { Model } from '../model/build.js';
import { keyRecord, specFile } from '../model/lookup.js';
import type { Finding } from '../model/types.js';
import { getAt, type Fix, type JsonOp } from '../model/fix.js';
import { applyLineEdits, applyOps } from './fix.js';
import type { Change, FileChange, KvChange } from '../model/journal-format.js';
import { b64, sha256 } from './journal.js';

export interface PlanOptions {
  reason: string;
  actor: string;
  now: string;
}

export interface Skipped {
  target: string;
  why: string;
}

export interface Plan {
  changes: Change[];
  /** Fixes that could not be planned (the value moved on, the file changed), said up front. */
  skipped: Skipped[];
}

interface Group {
  fixes: Fix[];
  rules: Set<string>;
}

const dec = new TextDecoder();

export async function planRepair(findings: Finding[], model: Model, o: PlanOptions): Promise<Plan> {
  const groups = new Map<string, Group>();
  for (const f of findings) {
    for (const fix of f.fix ?? []) {
      const id = fix.kind === 'file-lines' ? `file:${fix.path}` : `kv:${fix.key}`;
      const g = groups.get(id) ?? { fixes: [], rules: new Set<string>() };
      g.fixes.push(fix);
      g.rules.add(f.ruleId);
      groups.set(id, g);
    }
  }
  const plan: Plan = { changes: [], skipped: [] };
  for (const [id, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    if (id.startsWith('kv:')) planKv(id.slice(3), g, model, o, plan);
    else await planFile(id.slice(5), g, model, plan);
  }
  return plan;
}

function planKv(key: string, g: Group, model: Model, o: PlanOptions, plan: Plan): void {
  const rec = keyRecord(model, key);
  const latest = rec?.latest;
  const revisionSeen = latest ? latest.revision : 0;
  const before = latest && latest.operation === 'PUT' ? latest.value : null;
  const why = [...new Set(g.fixes.map((f) => f.why))];
  for (const f of g.fixes) {
    if (f.kind !== 'file-lines' && f.revision !== revisionSeen) {
      plan.skipped.push({
        target: key,
        why: `the fix was made for revision ${f.revision}, the key is at ${revisionSeen}`,
      });
      return;
    }
  }
  let after: Uint8Array;
  const text = g.fixes.find((f) => f.kind === 'kv-text');
  if (text && text.kind === 'kv-text') {
    after = new TextEncoder().encode(text.value);
  } else {
    if (!before) {
      plan.skipped.push({ target: key, why: 'the key holds no value to correct' });
      return;
    }
    let doc: unknown;
    const beforeText = dec.decode(before);
    try {
      doc = JSON.parse(beforeText);
    } catch {
      plan.skipped.push({ target: key, why: 'the value is not JSON; restore a good revision instead' });
      return;
    }
    const ops = g.fixes.flatMap((f) => (f.kind === 'kv-json' ? f.ops : []));
    const changed = applyOps(doc, ops);
    if (JSON.stringify(changed) === JSON.stringify(doc)) return; // already true: nothing to write
    const annotated = applyOps(changed, [annotation(doc, ops, { ...o, rules: [...g.rules], why })]);
    // Keep the writer's layout: compact stays compact, indented stays indented.
    const pretty = /\n\s+"/.test(beforeText);
    after = new TextEncoder().encode(
      JSON.stringify(annotated, null, pretty ? 2 : undefined) + (beforeText.endsWith('\n') ? '\n' : ''),
    );
  }
  if (before && Buffer.from(before).equals(Buffer.from(after))) return;
  const change: KvChange = {
    kind: 'kv',
    key,
    revisionSeen,
    before_b64: before ? b64(before) : null,
    after_b64: b64(after),
    why,
    rules: [...g.rules],
    status: 'planned',
  };
  plan.changes.push(change);
}

/** A record of what peer-audit changed, kept inside the value itself, with every previous value. */
function annotation(doc: unknown, ops: JsonOp[], o: PlanOptions & { rules: string[]; why: string[] }): JsonOp {
  const previous: Record<string, unknown> = {};
  for (const op of ops) previous[op.path] = getAt(doc, op.path) ?? null;
  const existing = getAt(doc, '/peer_audit/repairs');
  const repairs = Array.isArray(existing) ? existing : [];
  return {
    op: 'set',
    path: '/peer_audit/repairs',
    value: [...repairs, { at: o.now, by: o.actor, reason: o.reason, rules: o.rules, why: o.why, previous }],
  };
}

async function planFile(rel: string, g: Group, model: Model, plan: Plan): Promise<void> {
  const abs = path.join(model.projectRoot, rel);
  let before: Buffer;
  try {
    before = await fs.readFile(abs);
  } catch (e) {
    plan.skipped.push({
      target: rel,
      why: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    });
    return;
  }
  const known = specFile(model, rel);
  // The lines were judged on the bytes the scan read: any change since, and the fix proves nothing.
  if (known && (known.bytes !== before.length || textOf(before) !== known.text)) {
    plan.skipped.push({ target: rel, why: 'the file changed since it was scanned' });
    return;
  }
  const edits = g.fixes.flatMap((f) => (f.kind === 'file-lines' ? f.edits : []));
  const afterText = applyLineEdits(before.toString('utf8'), edits);
  const after = Buffer.from(afterText, 'utf8');
  if (after.equals(before)) return;
  const change: FileChange = {
    kind: 'file',
    path: rel,
    sha256Before: sha256(before),
    sha256After: sha256(after),
    before_b64: b64(before),
    after_b64: b64(after),
    why: [...new Set(g.fixes.map((f) => f.why))],
    rules: [...g.rules],
    status: 'planned',
  };
  plan.changes.push(change);
}

/** A file's text as the sources decode it (a leading byte-order mark dropped). */
function textOf(buf: Buffer): string {
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Unified diff of one change: pretty JSON for state values, the text itself for files. */
export function renderChange(ch: Change, bucket: string): string {
  const before =
    ch.kind === 'kv'
      ? ch.before_b64 === null
        ? ''
        : showValue(ch.before_b64)
      : Buffer.from(ch.before_b64, 'base64').toString('utf8');
  const after = ch.kind === 'kv' ? showValue(ch.after_b64) : Buffer.from(ch.after_b64, 'base64').toString('utf8');
  const label = ch.kind === 'kv' ? `${bucket} ${ch.key}@${ch.revisionSeen}` : ch.path;
  const newLabel = ch.kind === 'kv' ? `${bucket} ${ch.key} (repaired)` : `${ch.path} (repaired)`;
  const header =
    `${ch.kind === 'kv' ? 'kv  ' : 'file'} ${ch.kind === 'kv' ? `${ch.key}@${ch.revisionSeen}` : ch.path}  ` +
    `[${ch.rules.join(', ')}]\n` +
    `${ch.why.map((w) => `  why: ${w}\n`).join('')}`;
  // Shown, not written: the diff is masked like every report (the values it quotes can hold credentials), and
  // names and lines are escaped like every other output, so no byte of the evidence acts on the terminal.
  return escapeLines(
    redactText(header + createTwoFilesPatch(label, newLabel, before, after, '', '', { context: 3 })).text,
  );
}

function showValue(v64: string): string {
  const text = Buffer.from(v64, 'base64').toString('utf8');
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch {
    return text.endsWith('\n') ? text : `${text}\n`;
  }
}

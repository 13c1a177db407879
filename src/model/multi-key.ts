// The multi-key draft layout (peer.md.bak of 2025-08-06, "version 2.0"): one key per field of a cycle,
// `<prefix>.cycle.<n>.metadata|.plan|.execution|.express|.review|.status|.phases.<planning|execution|express|review>`.
// Its keys are assembled into one CycleState (layout `multi-key`) so the cycle rules judge it like the others;
// every phase and claim points at the real key and revision it was read from.
import type { KvLocation, KvRevision } from './types.js';
import {
  brief,
  isCompletionWord,
  isRecord,
  normaliseStatus,
  PHASES,
  str,
  type Claim,
  type CycleState,
  type HistoryItem,
  type KeyInfo,
  type PhaseName,
  type PhaseState,
  type Signal,
} from './state.js';

/** What the assembly needs of a key record (build.ts KeyRecord has it). */
export interface PartRecord {
  info: KeyInfo;
  latest: KvRevision;
  history: HistoryItem[];
  deleted: boolean;
}

/** The draft's phase names, as used in `.phases.<x>` and in `.status` values (`execution_complete`). */
const DRAFT_NAME: Record<PhaseName, string> = {
  plan: 'planning',
  execute: 'execution',
  express: 'express',
  review: 'review',
};
/** The keys each phase writes its output to, main output first. */
const OUTPUT_PARTS: Record<PhaseName, string[]> = {
  plan: ['plan', 'plan_summary'],
  execute: ['execution', 'deliverables'],
  express: ['express', 'express_summary'],
  review: ['review', 'review_summary', 'improvements'],
};

const utf8 = new TextDecoder('utf-8');

/** A field value as the draft stores it: JSON, or plain text (`completed`, `'completed'`, `"completed"`). */
function valueOf(h: HistoryItem | undefined, rev: KvRevision): unknown {
  if (h?.decoded?.ok) return h.decoded.json;
  return unquote(utf8.decode(rev.value));
}

function textAt(h: HistoryItem): string | undefined {
  if (h.operation !== 'PUT' || !h.decoded) return undefined;
  if (h.decoded.ok) return typeof h.decoded.json === 'string' ? h.decoded.json.trim() : undefined;
  return unquote(h.decoded.text);
}

function unquote(s: string): string {
  const t = s.trim();
  return /^(['"]).*\1$/s.test(t) && t.length >= 2 ? t.slice(1, -1).trim() : t;
}

function latestHistory(rec: PartRecord): HistoryItem | undefined {
  return rec.history[rec.history.length - 1];
}

/** One multi-key cycle from its part keys (all of one prefix and cycle number); undefined when none is live. */
export function readMultiKeyCycle(bucket: string, parts: PartRecord[]): CycleState | undefined {
  const live = parts.filter((p) => !p.deleted && p.info.part !== undefined);
  if (live.length === 0) return undefined;
  const byPart = new Map(live.map((p) => [p.info.part!, p]));
  const first = live[0].info;
  const prefix = first.prefix ?? '';
  const n = first.cycle ?? 0;
  const keyOf = (part: string) => `${prefix}.cycle.${n}.${part}`;
  const at = (rec: PartRecord, revision = rec.latest.revision, pointer?: string): KvLocation => ({
    kind: 'kv',
    bucket,
    key: rec.info.key,
    revision,
    ...(pointer ? { pointer } : {}),
  });
  const val = (part: string): unknown => {
    const rec = byPart.get(part);
    return rec ? valueOf(latestHistory(rec), rec.latest) : undefined;
  };

  // metadata, with fields the draft updates as keys of their own (`.metadata.spec`) laid over it.
  const metadata: Record<string, unknown> = isRecord(val('metadata'))
    ? { ...(val('metadata') as Record<string, unknown>) }
    : {};
  const context: Record<string, unknown> = {};
  for (const [part, rec] of byPart) {
    const m = /^(metadata|context)\.(.+)$/.exec(part);
    if (m) (m[1] === 'metadata' ? metadata : context)[m[2]] = valueOf(latestHistory(rec), rec.latest);
  }

  const statusRec = byPart.get('status');
  const statusItems = statusRec
    ? statusRec.history.map((h) => ({ h, text: textAt(h) })).filter((x) => x.text !== undefined)
    : [];
  const statusRaw = statusRec ? textAt(latestHistory(statusRec)!) : undefined;
  const anchor =
    statusRec ?? byPart.get('metadata') ?? [...live].sort((a, b) => a.info.key.localeCompare(b.info.key))[0];

  const phases = {} as Record<PhaseName, PhaseState>;
  const phaseJson: Record<string, unknown> = {};
  for (const p of PHASES) {
    const d = DRAFT_NAME[p];
    const pointer = `/phases/${p}`;
    const outPart = OUTPUT_PARTS[p].find((x) => byPart.has(x));
    const output = outPart ? val(outPart) : undefined;
    const hasOutput =
      output !== undefined &&
      output !== null &&
      output !== '' &&
      !(isRecord(output) && Object.keys(output).length === 0);
    const flag = byPart.get(`phases.${d}`);
    const flagText = flag ? textAt(latestHistory(flag)!) : undefined;
    const completedAtStatus = statusItems.find((x) => x.text!.toLowerCase() === `${d}_complete`);
    let ph: PhaseState;
    if (statusRaw !== undefined && statusRaw.toLowerCase() === `${d}_failed`) {
      ph = {
        name: p,
        status: 'failed',
        raw: statusRaw,
        hasOutput,
        output,
        pointer,
        at: { location: at(statusRec!), excerpt: `${statusRec!.info.key} = ${brief(statusRaw)}` },
      };
    } else if (flag) {
      ph = {
        name: p,
        status: normaliseStatus(flagText),
        raw: flagText,
        hasOutput,
        output,
        pointer,
        at: { location: at(flag), excerpt: `${flag.info.key} = ${brief(flagText ?? '')}` },
      };
    } else if (completedAtStatus) {
      ph = {
        name: p,
        status: 'completed',
        raw: completedAtStatus.text,
        hasOutput,
        output,
        pointer,
        at: {
          location: at(statusRec!, completedAtStatus.h.revision),
          excerpt:
            `${statusRec!.info.key} = ${brief(completedAtStatus.text)} at ` +
            `revision ${completedAtStatus.h.revision}`,
        },
      };
    } else if (outPart) {
      const rec = byPart.get(outPart)!;
      ph = {
        name: p,
        status: 'running',
        raw: 'output written, not marked completed',
        hasOutput,
        output,
        pointer,
        at: { location: at(rec), excerpt: `${rec.info.key} written; no ${keyOf(`phases.${d}`)} flag` },
      };
    } else {
      const md = byPart.get('metadata');
      const shown = md && Array.isArray(metadata.phases_completed) ? md : anchor;
      ph = {
        name: p,
        status: 'absent',
        hasOutput: false,
        pointer,
        at: {
          location: shown === md && md ? at(md, md.latest.revision, '/phases_completed') : at(shown),
          excerpt:
            `no ${keyOf(OUTPUT_PARTS[p][0])} and no ${keyOf(`phases.${d}`)} ` +
            `key${shown === md && md ? `; "phases_completed": ${brief(metadata.phases_completed)}` : ''}`,
        },
      };
    }
    if (ph.status !== 'absent') {
      ph.entry = { status: ph.raw, ...(hasOutput ? { output } : {}) };
      phaseJson[p] = ph.entry;
    }
    phases[p] = ph;
  }

  const claims: Claim[] = [];
  const signals: Signal[] = [];
  if (statusRec && isCompletionWord(statusRaw))
    claims.push({ location: at(statusRec), excerpt: `${statusRec.info.key} = ${brief(statusRaw)}`, kind: 'lifecycle' });
  const doneRec = byPart.get('completed_at');
  const completedAt = doneRec ? str(val('completed_at')) : undefined;
  if (doneRec)
    claims.push({
      location: at(doneRec),
      excerpt: `${doneRec.info.key} = ${brief(val('completed_at'))}`,
      kind: 'lifecycle',
    });
  if (statusRec && statusRaw && /_failed$/i.test(statusRaw)) {
    signals.push({
      location: at(statusRec),
      excerpt: `${statusRec.info.key} = ${brief(statusRaw)}`,
      what: `the status says ${statusRaw}`,
      kind: 'incomplete',
    });
  }
  const errRec = byPart.get('error');
  if (errRec)
    signals.push({
      location: at(errRec),
      excerpt: `${errRec.info.key} = ${brief(val('error'))}`,
      what: `an error is recorded (${brief(val('error'), 60)})`,
      kind: 'incomplete',
    });

  const json: Record<string, unknown> = {
    ...(Object.keys(metadata).length ? { metadata } : {}),
    ...(statusRaw !== undefined ? { status: statusRaw } : {}),
    phases: phaseJson,
    ...(Object.keys(context).length ? { context } : {}),
    ...(completedAt !== undefined ? { completed_at: completedAt } : {}),
    ...(byPart.has('failed_at') ? { failed_at: val('failed_at') } : {}),
    ...(errRec ? { error: val('error') } : {}),
  };
  return {
    key: anchor.info.key,
    prefix,
    spec: first.scope === 'spec' ? first.name : str(metadata.spec),
    number: n,
    layout: 'multi-key',
    revision: anchor.latest.revision,
    created: anchor.latest.created,
    json,
    instruction: str(metadata.instruction) ?? str(metadata.instruction_name),
    statusRaw,
    completedAt,
    startedAt: str(metadata.created_at),
    phases,
    claims,
    signals,
    outcomes: [],
    // `metadata` stays in `json` only: CycleState.metadata is the v2 document's, at pointers of the cycle key.
    // The status key's plain-text revisions read as `{status}` documents, so reports show each one's status.
    history:
      anchor === statusRec
        ? anchor.history.map((h) => {
            const t = textAt(h);
            return t === undefined ? h : { ...h, decoded: { ok: true, json: { status: t } } };
          })
        : anchor.history,
  };
}

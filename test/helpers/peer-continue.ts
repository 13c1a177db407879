// Test helper: what the real `/peer --continue` of the fork (olpie101/agent-os) decides on a bucket, and what its
// agents then write. v1 is the inline bash of `e903640:instructions/core/peer.md` and its agents; v2 is the
// coordinator steps of `d5232a9:instructions/core/peer.md` and the agents' validation blocks. Every decision
// cites the fork line it follows. The writes themselves are the re-enactments of scripts/fixtures/real-runs/lib
// (v1.ts, v2.ts), applied to a copy of the bucket loaded from a `peer-audit snapshot` file; nothing is written
// to a server. After every replayed write the helper reads the continued cycle with peer-audit's own model and
// records any statement that the cycle finished while review has not yet completed in this replay.
//
// Where the fork reads one state two ways (v1: the `case` on current_phase against the phase checks of Steps
// 3-6; v2: "resume from the last completed phase" against the first phase not completed), the helper replays
// each reading on its own copy and returns both, so a test can require that they agree.

import { writeSnapshot } from '../../src/sources/snapshot.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { KvData, KvRevision } from '../../src/model/types.js';
import {
  classifyKey,
  decodeJson,
  isCompletionWord,
  isRecord,
  metaStatements,
  readCycle,
  readMeta,
  type PhaseName,
} from '../../src/model/state.js';
import { Bucket, Clock, type Write } from '../../scripts/fixtures/real-runs/lib/bucket.js';
import { type Json, type Obj, jqFile, readJson, setPath } from '../../scripts/fixtures/real-runs/lib/jq.js';
import * as v1 from '../../scripts/fixtures/real-runs/lib/v1.js';
import * as v2 from '../../scripts/fixtures/real-runs/lib/v2.js';

const V1_EXECUTOR = 'e903640:claude-code/agents/peer-executor.md';

// ------------------------------------------------------------------------------------------ the bucket

/**
 * The lib's in-memory Bucket, started from a snapshot: every loaded revision keeps its number, time and bytes
 * (delete and purge markers hide the key, as on the server), and new writes continue the bucket's sequence.
 */
export class ReplayBucket extends Bucket {
  private markers = new Set<number>();
  private lastRevision = 0;
  private lastMs = 0;
  /** Revision numbers of the loaded history (the rest of `writes` was replayed). */
  readonly loaded: KvRevision[] = [];
  onWrite?: (w: Write) => void;

  constructor(
    clock: Clock,
    readonly source: KvData,
  ) {
    super(clock, source.bucket);
    const all = [...source.keys.values()].flat().sort((a, b) => a.revision - b.revision);
    for (const r of all) {
      this.loaded.push(r);
      this.writes.push({
        key: r.key,
        revision: r.revision,
        created: r.created,
        value: Buffer.from(r.value),
        step: 'loaded',
        cite: '',
      });
      if (r.operation !== 'PUT') this.markers.add(r.revision);
      this.lastRevision = Math.max(this.lastRevision, r.revision);
      this.lastMs = Math.max(this.lastMs, Date.parse(r.created));
    }
  }

  private last(key: string): Write | undefined {
    for (let i = this.writes.length - 1; i >= 0; i--) if (this.writes[i].key === key) return this.writes[i];
    return undefined;
  }

  override get(key: string): Buffer | undefined {
    const w = this.last(key);
    return w && !this.markers.has(w.revision) ? w.value : undefined;
  }

  override revisionOf(key: string): number | undefined {
    return this.last(key)?.revision;
  }

  override put(key: string, value: string | Buffer, step: string, cite: string): Write {
    if (!/^[-/_=.a-zA-Z0-9]+$/.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
      throw new Error(`nats: error: invalid key: ${key}`);
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const at = Math.max(this.clock.nowMs() + 150, this.lastMs + 140);
    this.lastMs = at;
    const w: Write = {
      key,
      revision: ++this.lastRevision,
      created: new Date(at).toISOString(),
      value: bytes,
      step,
      cite,
    };
    this.writes.push(w);
    this.onWrite?.(w);
    return w;
  }

  /** Writes made by the replay, in order. */
  replayed(): Write[] {
    return this.writes.filter((w) => w.step !== 'loaded');
  }

  /** The loaded history plus the replayed writes, as peer-audit's KvData. */
  toKvData(takenAt: string): KvData {
    const keys = new Map<string, KvRevision[]>();
    for (const r of this.loaded) keys.set(r.key, [...(keys.get(r.key) ?? []), r]);
    for (const w of this.replayed()) {
      keys.set(w.key, [
        ...(keys.get(w.key) ?? []),
        { key: w.key, revision: w.revision, operation: 'PUT', created: w.created, value: new Uint8Array(w.value) },
      ]);
    }
    return { ...this.source, origin: 'snapshot', originRef: 'replay', takenAt, keys };
  }
}

/** Read a `peer-audit snapshot` file (peer-audit's own reader). */
export async function loadSnapshot(file: string): Promise<KvData> {
  const { data, report } = await readSnapshot(file);
  if (!report.ok) throw new Error(`cannot read ${file}: ${report.error ?? JSON.stringify(report.problems)}`);
  return data;
}

/** Write the bucket after a replay as a snapshot file (peer-audit's own writer: markers and config kept). */
export async function writeReplaySnapshot(bucket: ReplayBucket, file: string): Promise<void> {
  await writeSnapshot(bucket.toKvData(bucket.clock.iso()), file);
}

function startClock(data: KvData): Clock {
  // The replayed agents run after the last write the bucket holds (repair and reopen write at the real time).
  let last = 0;
  for (const list of data.keys.values()) for (const r of list) last = Math.max(last, Date.parse(r.created));
  return new Clock(new Date(Math.ceil((last + 60_000) / 1000) * 1000).toISOString());
}

// ------------------------------------------------------------------------------------------ results

export type Phase = PhaseName;

/** What one reading does: the phases whose agent writes, or the refusal/stop it ends in. */
export interface Reading {
  ran: Phase[];
  /** Agents invoked that skipped by their own check (already complete). */
  skipped: Phase[];
  outcome: 'finished' | 'refused' | 'stopped';
  /** The fork's message for a refusal or a stop. */
  message?: string;
}

/** A statement that the cycle finished, found after a replayed write while review had not completed. */
export interface EarlyClaim {
  /** The write after which it was found (`before replay` for the state as loaded). */
  after: string;
  key: string;
  revision: number;
  pointer: string;
  excerpt: string;
}

export interface ContinueResult extends Reading {
  generation: 'v1' | 'v2';
  prefix: string;
  /** The cycle --continue works on, when it got that far. */
  cycle?: number;
  /** v1: `case` (L296-329) and `steps` (Steps 3-6 phase checks); v2: `lastCompleted` (L195) and `firstIncomplete`. */
  readings: Record<string, Reading>;
  /** Every decision taken, with the fork line it follows. */
  decisions: string[];
  /** Writes of the replayed run (the reading the real coordinator follows). */
  writes: Write[];
  /** Statements that the cycle finished while review had not completed (must be empty). */
  earlyClaims: EarlyClaim[];
  /**
   * Cycles marked superseded whose fields the real logic reads still say complete (v1 meta
   * `cycles.<n>.status`, v2 `metadata.status`), as loaded: a reader of "the most recent completed cycle" takes them.
   */
  supersededStillComplete: { cycle: number; field: string; value: string }[];
  /** The bucket after the replayed run. */
  bucket: ReplayBucket;
}

class Stop extends Error {
  constructor(
    readonly outcome: 'refused' | 'stopped',
    message: string,
  ) {
    super(message);
  }
}

// Content the replayed agents produce. Only its shape matters: what the real agents write (lib/v1.ts, lib/v2.ts).
const REPLAY_PLAN: Json = {
  instruction: 'replay',
  phases: [{ phase: 'execution', description: 'Replayed plan', steps: [] }],
};
const EXEC_OUTPUT: Json = {
  instruction_executed: 'replayed',
  execution_status: 'success',
  outputs: { files_created: [], files_modified: [], decisions_made: [] },
  notes: 'Written by the --continue replay',
};
const EXPRESS_OUTPUT: Json = {
  summary: 'Replayed express',
  key_points: [],
  deliverables: {},
  formatted_output: 'Replayed',
};
const V1_RESULT: Json = { success: true, instruction: 'replayed', summary: 'Replayed cycle', highlights: [] };
const REVIEW_OUTPUT: Json = { quality_score: 'high', completeness: true, recommendations: [] };
const INSIGHTS: Json = { learnings: [], issues_encountered: [], recommendations: [] };
const SUMMARY: Json = { success: true, completion: 100, summary: 'Replayed cycle' };

function parse(b: Buffer | undefined): Obj | undefined {
  if (!b || b.length === 0) return undefined;
  try {
    const v = JSON.parse(b.toString('utf8'));
    return isRecord(v) ? (v as Obj) : undefined;
  } catch {
    return undefined;
  }
}

function phaseStatus(cycle: Obj | undefined, p: Phase): unknown {
  const phases = cycle?.phases;
  return isRecord(phases) && isRecord(phases[p]) ? (phases[p] as Obj).status : undefined;
}

// ------------------------------------------------------------------------------------------ claim watch

/** Records the claims of the continued cycle (and, v1, of the meta about it) until the replayed review lands. */
function watchClaims(bucket: ReplayBucket, prefix: string, cycleKey: () => string | undefined, metaKey?: string) {
  const early: EarlyClaim[] = [];
  let reviewDone = false;
  const check = (after: string) => {
    if (reviewDone) return;
    const key = cycleKey();
    if (!key) return;
    const claims: { key: string; revision: number; pointer: string; excerpt: string }[] = [];
    const value = bucket.get(key);
    const rev = bucket.revisionOf(key);
    if (value && rev !== undefined) {
      const d = decodeJson(value);
      if (d.ok) {
        const c = readCycle(
          bucket.name,
          classifyKey(key),
          { key, revision: rev, operation: 'PUT', created: '', value },
          d.json,
          [],
        );
        if (typeof c !== 'string')
          for (const cl of c.claims)
            claims.push({
              key,
              revision: rev,
              pointer: (cl.location as { pointer?: string }).pointer ?? '',
              excerpt: cl.excerpt,
            });
      }
    }
    if (metaKey) {
      const mv = bucket.get(metaKey);
      const mrev = bucket.revisionOf(metaKey);
      const n = Number(/\.cycle\.(\d+)$/.exec(key)?.[1]);
      if (mv && mrev !== undefined) {
        const d = decodeJson(mv);
        if (d.ok) {
          const m = readMeta(
            bucket.name,
            classifyKey(metaKey),
            { key: metaKey, revision: mrev, operation: 'PUT', created: '', value: mv },
            d.json,
            [],
          );
          if (typeof m !== 'string') {
            for (const cl of metaStatements(bucket.name, m, n).claims) {
              claims.push({
                key: metaKey,
                revision: mrev,
                pointer: (cl.location as { pointer?: string }).pointer ?? '',
                excerpt: cl.excerpt,
              });
            }
          }
        }
      }
    }
    for (const c of claims) early.push({ after, ...c });
  };
  return {
    early,
    check,
    reviewLanded() {
      reviewDone = true;
    },
  };
}

function supersededStillComplete(
  bucket: ReplayBucket,
  prefix: string,
  generation: 'v1' | 'v2',
): { cycle: number; field: string; value: string }[] {
  const out: { cycle: number; field: string; value: string }[] = [];
  const meta = generation === 'v1' ? parse(bucket.get(`${prefix}.meta`)) : undefined;
  const metaCycles = meta && isRecord(meta.cycles) ? (meta.cycles as Obj) : {};
  const numbers = new Set<number>();
  for (const w of bucket.writes) {
    const m = /\.cycle\.(\d+)$/.exec(w.key);
    if (m && w.key === `${prefix}.cycle.${m[1]}`) numbers.add(Number(m[1]));
  }
  for (const n of numbers) {
    const c = parse(bucket.get(`${prefix}.cycle.${n}`));
    const entry = isRecord(metaCycles[String(n)]) ? (metaCycles[String(n)] as Obj) : undefined;
    const md = c && isRecord(c.metadata) ? (c.metadata as Obj) : undefined;
    const superseded = c?.superseded_by ?? md?.superseded_by ?? entry?.superseded_by;
    if (superseded === undefined || superseded === null) continue;
    if (generation === 'v1' && entry && isCompletionWord(entry.status))
      out.push({ cycle: n, field: `meta cycles.${n}.status`, value: String(entry.status) });
    if (generation === 'v2' && md && /^(complete|completed)$/i.test(String(md.status)))
      out.push({ cycle: n, field: 'metadata.status', value: String(md.status) });
  }
  return out;
}

// ------------------------------------------------------------------------------------------ v1

export interface V1Options {
  /** `peer.spec.<spec>` (peer.md L127-L129). */
  prefix: string;
  /** `${spec_name}` as the agents see it (they hard-code `peer.spec.${spec_name}`). */
  specName: string;
}

type V1Reading = 'case' | 'steps';

/**
 * `/peer --continue --spec=<name>` of PEER v1. The real coordinator runs the `case` (L296-329) and then Steps 3-6;
 * `readings.case` replays "run from next_phase on", `readings.steps` what the phase checks of Steps 3-6 invoke. The
 * returned run (and its writes) is the real order: the `case` refusals first, then the steps.
 */
export function continueV1(data: KvData, o: V1Options): ContinueResult {
  const readings: Record<string, Reading> = {};
  for (const reading of ['case', 'steps'] as V1Reading[]) readings[reading] = replayV1(data, o, reading, []).reading;
  const decisions: string[] = [];
  const real = replayV1(data, o, 'real', decisions);
  return {
    generation: 'v1',
    prefix: o.prefix,
    cycle: real.cycle,
    ...real.reading,
    readings,
    decisions,
    writes: real.bucket.replayed(),
    earlyClaims: real.early,
    supersededStillComplete: supersededStillComplete(real.bucket, o.prefix, 'v1'),
    bucket: real.bucket,
  };
}

function replayV1(data: KvData, o: V1Options, mode: V1Reading | 'real', log: string[]) {
  const bucket = new ReplayBucket(startClock(data), data);
  const metaKey = `${o.prefix}.meta`;
  let cycle: number | undefined;
  const watch = watchClaims(
    bucket,
    o.prefix,
    () => (cycle === undefined ? undefined : `${o.prefix}.cycle.${cycle}`),
    metaKey,
  );
  bucket.onWrite = (w) => watch.check(`${w.step} (${w.key}@${w.revision})`);
  const reading: Reading = { ran: [], skipped: [], outcome: 'finished' };
  const say = (s: string) => log.push(s);
  try {
    // L229: `nats kv get … "${key_prefix}.meta" --raw > /tmp/continue_meta.json`; a miss → L246-249 stop.
    const metaBytes = bucket.get(metaKey);
    if (metaBytes === undefined) throw new Stop('refused', 'No previous execution found for this context');
    // L231-232: `jq -r '.current_cycle'` / `'.current_phase'`; jq on an empty or non-JSON file prints nothing.
    const meta = parse(metaBytes);
    const cc = meta?.current_cycle;
    const currentCycle = cc === undefined || cc === null ? '' : String(cc);
    const cp = meta?.current_phase;
    const currentPhase = cp === undefined || cp === null ? '' : String(cp);
    // L235-238: missing current_cycle → exit 1.
    if (currentCycle === '' || currentCycle === 'null')
      throw new Stop('refused', 'Invalid meta data: missing current_cycle');
    // L240-243: missing current_phase → exit 1.
    if (currentPhase === '' || currentPhase === 'null')
      throw new Stop('refused', 'Invalid meta data: missing current_phase');
    say(`L245: found cycle ${currentCycle}, phase ${currentPhase}`);
    cycle = Number(currentCycle);
    // L256: `nats kv get … "${key_prefix}.cycle.$current_cycle"`; a miss → L287-289 exit 1.
    const cycleKey = `${o.prefix}.cycle.${currentCycle}`;
    const cycleBytes = bucket.get(cycleKey);
    if (cycleBytes === undefined) throw new Stop('refused', `Cycle data not found for cycle ${currentCycle}`);
    const cyc = parse(cycleBytes);
    // L258, L262-265: the cycle's instruction must be there.
    const instruction = cyc?.instruction;
    if (instruction === undefined || instruction === null || instruction === '')
      throw new Stop('refused', 'Invalid cycle data: missing instruction');
    watch.check('before replay');

    // L296-329: the `case` on current_phase: the last phase done.
    const caseNext: Record<string, Phase> = { plan: 'execute', execute: 'express', express: 'review' };
    const refusal =
      currentPhase === 'complete'
        ? 'This cycle is already complete' // L309-313
        : currentPhase === 'error'
          ? 'Previous phase failed, cannot continue' // L314-323
          : caseNext[currentPhase] === undefined
            ? `Unknown phase: ${currentPhase}` // L324-328 (review falls here too)
            : undefined;
    if (refusal && mode !== 'steps') throw new Stop('refused', refusal);
    if (!refusal) say(`L296-308: current_phase ${currentPhase} → next ${caseNext[currentPhase]}`);

    const r: v1.V1Run = {
      bucket,
      keyPrefix: o.prefix,
      specName: o.specName,
      instruction: String(instruction),
      cycle: Number(currentCycle),
    };
    const order: Phase[] = ['execute', 'express', 'review'];
    // Which steps invoke their agent. case: every step from next_phase on. steps: the phase checks.
    const invokes = (p: Phase): boolean => {
      if (mode === 'case') return order.indexOf(p) >= order.indexOf(caseNext[currentPhase]);
      if (p === 'execute') return currentPhase === 'plan' || currentPhase === 'execute'; // Step 4 L412-413
      if (p === 'express') return ['plan', 'execute', 'express'].includes(currentPhase); // Step 5 L469-470
      return true; // Step 6 has no skip (L524-557)
    };
    // Step 3 L361-375: continuing, the planner is never invoked (skip, or proceed directly to execution).
    say('Step 3 L361-375: planner not invoked when continuing');

    // ---- Step 4: executor
    if (invokes('execute')) {
      say(`Step 4 L412-431: executor runs (current_phase ${currentPhase})`);
      // The executor has no skip check of its own (peer-executor.md L30-110); its plan check (L46-52) cannot fail,
      // as `jq -r '.phases.plan.output'` prints "null" for a missing plan. Step 4 L420 writes
      // /tmp/partial_execution.json only when current_phase is execute; executor L65 then takes the resume path.
      if (currentPhase === 'execute' && mode !== 'case') executorResume(r);
      else v1.executorStartFresh(r);
      bucket.clock.tick(30);
      v1.executorUpdateProgress(r, 1, 'Replayed step');
      bucket.clock.tick(60);
      v1.executorFinalizeExecution(r, EXEC_OUTPUT);
      reading.ran.push('execute');
      bucket.clock.tick(4);
      v1.coordinatorUpdateMetaPhase(r, 'express'); // L447-460
    } else say(`Step 4 L412-413: executor skipped (current_phase ${currentPhase})`);

    // ---- Step 5: express
    if (invokes('express')) {
      if (currentPhase === 'express' && mode !== 'case') {
        // L476-484: no execution output → exit 1.
        const ex = parse(bucket.get(cycleKey));
        const out =
          isRecord(ex?.phases) && isRecord((ex!.phases as Obj).execute)
            ? ((ex!.phases as Obj).execute as Obj).output
            : undefined;
        if (out === undefined || out === null) throw new Stop('stopped', 'Cannot express without execution output');
      }
      // peer-express.md L43-47: skips when phases.express.status == "complete".
      if (phaseStatus(parse(bucket.get(`peer.spec.${o.specName}.cycle.${cycle}`)), 'express') === 'complete') {
        say('express L43-47: express already complete, skipped');
        reading.skipped.push('express');
      } else {
        say('Step 5: express runs');
        bucket.clock.tick(40);
        v1.expressStoreOutput(r, EXPRESS_OUTPUT);
        bucket.clock.tick(5);
        v1.expressStoreResult(r, V1_RESULT);
        reading.ran.push('express');
      }
      bucket.clock.tick(4);
      v1.coordinatorUpdateMetaPhase(r, 'review'); // L503-516
    } else say(`Step 5 L469-470: express skipped (current_phase ${currentPhase})`);

    // ---- Step 6: review
    // L525-526: current_phase complete → error (only the steps reading gets here: the case refused already).
    if (currentPhase === 'complete') throw new Stop('refused', 'This cycle is already complete');
    if (currentPhase === 'review' && mode !== 'case') {
      // L527-555: every earlier phase needs an output (`jq -r '… // empty'` writes an empty file when it is missing).
      const c = parse(bucket.get(cycleKey));
      const ph = isRecord(c?.phases) ? (c!.phases as Obj) : {};
      const missing = (['plan', 'execute', 'express'] as Phase[]).filter(
        (p) => !isRecord(ph[p]) || (ph[p] as Obj).output === undefined || (ph[p] as Obj).output === null,
      );
      if (missing.length > 0) throw new Stop('stopped', `Cannot review - missing outputs from: ${missing.join(' ')}`);
    }
    // peer-review.md L44-48: skips when phases.review.status == "complete".
    if (phaseStatus(parse(bucket.get(`peer.spec.${o.specName}.cycle.${cycle}`)), 'review') === 'complete') {
      // Review did not complete in this run: what finalize writes next is checked like any other claim.
      say('review L44-48: review already complete, skipped');
      reading.skipped.push('review');
    } else {
      say('Step 6: review runs');
      bucket.clock.tick(120);
      watch.reviewLanded(); // the review agent's own write is the completion (peer-review.md L272-293)
      v1.reviewStoreCycle(r, REVIEW_OUTPUT, INSIGHTS);
      bucket.clock.tick(3);
      v1.reviewStoreMeta(r);
      reading.ran.push('review');
    }
    // L572-603: finalize, whatever the agents did.
    bucket.clock.tick(10);
    v1.coordinatorFinalizeCycle(r);
    say('L572-603: finalize: meta and cycle complete');
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    reading.outcome = e.outcome;
    reading.message = e.message;
    say(`${e.outcome}: ${e.message}`);
  }
  return { reading, bucket, cycle, early: watch.early };
}

/** peer-executor.md L64-91, the resume path: `.phases.execute.status = "resuming" | .phases.execute.resumed_at`. */
function executorResume(r: v1.V1Run): void {
  const key = `peer.spec.${r.specName}.cycle.${r.cycle}`;
  const doc = readJson(r.bucket.get(key));
  if (doc === null) {
    r.bucket.put(key, '', 'executorResume', `${V1_EXECUTOR}:L86-L91`);
    return;
  }
  setPath(doc, ['phases', 'execute', 'status'], 'resuming');
  setPath(doc, ['phases', 'execute', 'resumed_at'], r.bucket.clock.stamp());
  r.bucket.put(key, jqFile(doc), 'executorResume', `${V1_EXECUTOR}:L86-L91`);
}

// ------------------------------------------------------------------------------------------ v2

export interface V2Options {
  /** `peer.spec.<spec>` or `peer.global` (peer.md L166-L173). */
  prefix: string;
}

type V2Reading = 'lastCompleted' | 'firstIncomplete';
const ORDER: Phase[] = ['plan', 'execute', 'express', 'review'];

/**
 * `/peer --continue` of PEER v2 (HEAD). L191-199: "FIND: Last incomplete cycle … RESUME: From last completed
 * phase". `readings.lastCompleted` resumes after the last phase (in order) whose status is completed, as the text
 * says; `readings.firstIncomplete` at the first phase not completed. The returned run is `lastCompleted`.
 */
export function continueV2(data: KvData, o: V2Options): ContinueResult {
  const readings: Record<string, Reading> = {};
  for (const reading of ['lastCompleted', 'firstIncomplete'] as V2Reading[])
    readings[reading] = replayV2(data, o, reading, []).reading;
  const decisions: string[] = [];
  const real = replayV2(data, o, 'lastCompleted', decisions);
  return {
    generation: 'v2',
    prefix: o.prefix,
    cycle: real.cycle,
    ...real.reading,
    readings,
    decisions,
    writes: real.bucket.replayed(),
    earlyClaims: real.early,
    supersededStillComplete: supersededStillComplete(real.bucket, o.prefix, 'v2'),
    bucket: real.bucket,
  };
}

/**
 * The agents compare `phases.<p>.status` with "complete" while every v2 writer stores "completed", and read
 * `current_state.status`, a root field the unified state does not have. Read literally they refuse every cycle,
 * healthy ones included; the helper reads their intent: either word is complete, and the status is the root
 * `status` where a value has one (the agents' output contracts), else `metadata.status`.
 */
const done = (s: unknown) => s === 'complete' || s === 'completed';
const stateStatus = (c: Obj | undefined) =>
  typeof c?.status === 'string' ? c.status : isRecord(c?.metadata) ? (c!.metadata as Obj).status : undefined;

function replayV2(data: KvData, o: V2Options, mode: V2Reading, log: string[]) {
  const bucket = new ReplayBucket(startClock(data), data);
  let cycle: number | undefined;
  const watch = watchClaims(bucket, o.prefix, () => (cycle === undefined ? undefined : `${o.prefix}.cycle.${cycle}`));
  bucket.onWrite = (w) => watch.check(`${w.step} (${w.key}@${w.revision})`);
  const reading: Reading = { ran: [], skipped: [], outcome: 'finished' };
  const say = (s: string) => log.push(s);
  try {
    // L192: the last cycle, by `<prefix>.cycle.current` (the counter Step 5 L257-259 keeps).
    const counter = v2.readState(bucket, `${o.prefix}.cycle.current`);
    const n = counter.exit === 0 ? Number(counter.stdout.trim()) : NaN;
    if (!Number.isInteger(n) || n < 1) throw new Stop('refused', 'No incomplete cycle found to continue'); // L196-199
    const key = `${o.prefix}.cycle.${n}`;
    const got = v2.readState(bucket, key); // L194: LOAD the unified state
    if (got.exit !== 0) throw new Stop('refused', 'No incomplete cycle found to continue');
    const state = parse(Buffer.from(got.stdout));
    const md = isRecord(state?.metadata) ? (state!.metadata as Obj) : {};
    // L192-193: incomplete = metadata.status is neither COMPLETED (coordinator, L496) nor COMPLETE (review agent).
    if (/^(completed|complete)$/i.test(String(md.status)))
      throw new Stop('refused', 'No incomplete cycle found to continue'); // L196-199
    cycle = n;
    say(`L192-194: cycle ${n} is incomplete (metadata.status ${String(md.status)})`);
    watch.check('before replay');

    // L195: RESUME from the last completed phase.
    const statuses = ORDER.map((p) => phaseStatus(state, p));
    let from: number;
    if (mode === 'lastCompleted') {
      let last = -1;
      statuses.forEach((s, i) => {
        if (done(s)) last = i;
      });
      from = last + 1;
    } else {
      from = statuses.findIndex((s) => !done(s));
      if (from < 0) from = ORDER.length;
    }
    say(`L195 (${mode}): resume at ${ORDER[from] ?? 'finalize'}`);
    const r: v2.V2Run = {
      bucket,
      instruction: String(md.instruction_name ?? md.instruction ?? ''),
      specName: typeof md.spec_name === 'string' ? md.spec_name : undefined,
      keyPrefix: o.prefix,
      cycle: n,
      peerMode: 'continue',
      userRequirements: '',
    };
    const cur = () => parse(bucket.get(key));

    if (from <= 0) {
      // Step 7 + peer-planner.md L97-109: status PLANNING/INITIALIZED, skip when plan complete.
      const c = cur();
      if (!['PLANNING', 'INITIALIZED'].includes(String(stateStatus(c))))
        throw new Stop('stopped', `Planning not allowed in current status: ${String(stateStatus(c))}`);
      if (done(phaseStatus(c, 'plan'))) reading.skipped.push('plan');
      else {
        bucket.clock.tick(60);
        v2.plannerUpdateState(r, REPLAY_PLAN);
        reading.ran.push('plan');
      }
    }
    if (from <= 1) {
      // Step 8 L351-355: phases.plan.status == "completed", else stop.
      if (phaseStatus(cur(), 'plan') !== 'completed')
        throw new Stop('stopped', 'Cannot execute without completed planning phase');
      // peer-executor.md L97-114: plan complete, plan output, status EXECUTING or PLANNING. No skip check.
      const c = cur();
      const plan = isRecord(c?.phases) ? ((c!.phases as Obj).plan as Obj | undefined) : undefined;
      if (!done(plan?.status)) throw new Stop('stopped', 'Cannot execute without completed planning phase');
      if (plan?.output === undefined || plan.output === null)
        throw new Stop('stopped', 'Planning output not available');
      if (!['EXECUTING', 'PLANNING'].includes(String(stateStatus(c))))
        throw new Stop('stopped', `Execution not allowed in current status: ${String(stateStatus(c))}`);
      say('Step 8: executor runs');
      bucket.clock.tick(10);
      v2.executorMarkInProgress(r);
      bucket.clock.tick(90);
      v2.executorStoreResults(r, EXEC_OUTPUT);
      reading.ran.push('execute');
    }
    if (from <= 2) {
      // Step 9 L393-397: phases.execute.status == "completed", else stop.
      if (phaseStatus(cur(), 'execute') !== 'completed')
        throw new Stop('stopped', 'Cannot express without completed execution phase');
      const c = cur();
      // peer-express.md L98-115: execute complete; express complete → skip to end; status EXPRESSING/EXECUTING.
      if (done(phaseStatus(c, 'express'))) {
        say('express L104-109: express already complete, skipped');
        reading.skipped.push('express');
      } else {
        if (!['EXPRESSING', 'EXECUTING'].includes(String(stateStatus(c))))
          throw new Stop('stopped', `Expression not allowed in current status: ${String(stateStatus(c))}`);
        say('Step 9: express runs');
        bucket.clock.tick(40);
        v2.expressUpdateState(r, EXPRESS_OUTPUT);
        reading.ran.push('express');
      }
    }
    if (from <= 3) {
      const c = cur();
      // peer-review.md L100-117: express complete; review complete → skip to end; status REVIEWING/EXPRESSING.
      if (!done(phaseStatus(c, 'express'))) throw new Stop('stopped', 'Cannot review without completed express phase');
      if (done(phaseStatus(c, 'review'))) {
        // Review did not complete in this run: finalize's COMPLETED is checked like any other claim.
        say('review L106-111: review already complete, skipped');
        reading.skipped.push('review');
      } else {
        if (!['REVIEWING', 'EXPRESSING'].includes(String(stateStatus(c))))
          throw new Stop('stopped', `Review not allowed in current status: ${String(stateStatus(c))}`);
        say('Step 10: review runs');
        bucket.clock.tick(120);
        watch.reviewLanded(); // the review agent's own write is the completion (peer-review.md L601-640)
        v2.reviewUpdateState(r, REVIEW_OUTPUT, INSIGHTS, SUMMARY);
        reading.ran.push('review');
      }
    }
    // Step 11 L475-502: COMPLETED, whatever the phases say.
    bucket.clock.tick(10);
    v2.coordinatorFinalizeCycle(r);
    say('Step 11 L475-502: finalize COMPLETED');
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    reading.outcome = e.outcome;
    reading.message = e.message;
    say(`${e.outcome}: ${e.message}`);
  }
  return { reading, bucket, cycle, early: watch.early };
}

import { humanDuration } from '../src/model/duration.js';
import { defineRule } from '../src/engine/rule.js';
import type { KeyRecord, Run } from '../src/model/build.js';
import {
  brief,
  isCompletionWord,
  isRecord,
  normaliseStatus,
  num,
  str,
  type CycleState,
  type MetaState,
} from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, KvLocation, Severity } from '../src/model/types.js';
import { pointerOf, type Fix } from '../src/model/fix.js';

/** v2 metadata.status words that say the cycle is still under way. */
const IN_PROGRESS_V2 = /^(initialized|planning|executing|expressing|reviewing)$/i;
/** How far apart the meta's and the cycle's completion times may be (separate writes of one review). */
const COMPLETION_TOLERANCE_S = 60;
/** Notes that say a cycle did not finish. */
const INCOMPLETE_NOTE =
  /\b(missing|incomplete|not complete[d]?|never ran|did not run|skipped|manual completion|not started|failed|unfinished)\b/i;

interface Contradiction {
  /** Stable name of the contradiction; the target is `<key>#<kind>`. */
  kind: string;
  key: string;
  cycle?: number;
  message: string;
  evidence: Evidence[];
  severity?: Severity;
  /** Counters and pointers are set to what the keys show. */
  fix?: Fix[];
}

export default defineRule({
  meta: {
    id: 'state-inconsistency',
    severity: 'error',
    summary:
      'Pieces of PEER state disagree: meta vs cycle, counter vs cycle keys, ids vs key, a status vs its own ' +
      'completion time or notes.',
    sources: ['kv'],
    fixable: true,
    title: 'The state contradicts itself',
    causedBy: [
      { rule: 'false-success', when: 'shared-evidence' },
      { rule: 'invalid-state-value', when: 'shared-evidence' },
      { rule: 'lost-update', when: 'shared-evidence' },
    ],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const kv = (key: string, revision: number, pointer?: string): KvLocation =>
      pointer ? { kind: 'kv', bucket, key, revision, pointer } : { kind: 'kv', bucket, key, revision };

    for (const run of model.runs) {
      const found: Contradiction[] = [];
      // A multi-key draft cycle lives in `<prefix>.cycle.<n>.<part>` keys: those count as its cycle keys.
      const cycleKeys = run.keys.filter(
        (k) => (k.info.kind === 'cycle' || k.info.kind === 'cycle-part') && k.info.cycle !== undefined,
      );
      const liveCycleKey = (n: number) => cycleKeys.find((k) => k.info.cycle === n && !k.deleted);
      const anyCycleKey = (n: number) => cycleKeys.find((k) => k.info.cycle === n);

      if (run.meta) found.push(...metaChecks(run, run.meta, liveCycleKey, anyCycleKey, kv));
      else if (!run.keys.some((k) => k.info.kind === 'v1-meta')) found.push(...orphanV1Cycles(run, kv));
      found.push(...counterChecks(run, cycleKeys, kv));
      for (const cycle of run.cycles) found.push(...cycleChecks(cycle, kv));

      for (const c of found) {
        report({
          message: c.message,
          subject: runSubject(run, c.cycle),
          evidence: c.evidence,
          target: `${c.key}#${c.kind}`,
          ...(c.severity ? { severity: c.severity } : {}),
          ...(c.fix ? { fix: c.fix } : {}),
        });
      }
    }
  },
});

type Kv = (key: string, revision: number, pointer?: string) => KvLocation;

function pointTo(meta: MetaState, n: number): Fix {
  return {
    kind: 'kv-json',
    key: meta.key,
    revision: meta.revision,
    ops: [{ op: 'set', path: '/current_cycle', value: n }],
    why: `point current_cycle at the highest cycle key, ${n}`,
  };
}

// ---------------------------------------------------------------- v1 meta against its cycles

function metaChecks(
  run: Run,
  meta: MetaState,
  liveKey: (n: number) => KeyRecord | undefined,
  anyKey: (n: number) => KeyRecord | undefined,
  kv: Kv,
): Contradiction[] {
  const out: Contradiction[] = [];
  const mloc = (p?: string) => kv(meta.key, meta.revision, p);
  const prefix = meta.prefix;
  const highest = Math.max(
    0,
    ...run.keys.filter((k) => k.info.kind === 'cycle' && !k.deleted).map((k) => k.info.cycle ?? 0),
  );

  // current_cycle
  if (meta.currentCycle !== undefined) {
    const n = meta.currentCycle;
    const key = `${prefix}.cycle.${n}`;
    const rec = anyKey(n);
    if (!liveKey(n)) {
      out.push({
        kind: 'current-cycle-without-key',
        key: meta.key,
        cycle: n,
        ...(highest > 0 ? { fix: [pointTo(meta, highest)] } : {}),
        message:
          `${meta.key} says current_cycle is ${n}, ` +
          `but ${key} ${rec ? `was deleted (revision ${rec.latest.revision})` : 'does not exist'}.`,
        evidence: [
          {
            location: mloc('/current_cycle'),
            excerpt: `"current_cycle": ${brief(meta.json.current_cycle)}`,
            note: `points at ${key}`,
          },
          ...(rec
            ? [
                {
                  location: kv(key, rec.latest.revision),
                  excerpt: `${rec.latest.operation} at revision ${rec.latest.revision}`,
                  note: 'the cycle key was deleted',
                },
              ]
            : []),
        ],
      });
    } else if (n < highest) {
      const top = liveKey(highest)!;
      out.push({
        kind: 'current-cycle-behind',
        key: meta.key,
        cycle: n,
        severity: 'warning',
        fix: [pointTo(meta, highest)],
        message:
          `${meta.key} says current_cycle is ${n}, but cycle ${highest} exists (${top.info.key}); the ` +
          `next run will number its cycle ${n + 1} again.`,
        evidence: [
          {
            location: mloc('/current_cycle'),
            excerpt: `"current_cycle": ${brief(meta.json.current_cycle)}`,
            note: `below the highest cycle key (${highest})`,
          },
          { location: kv(top.info.key, top.latest.revision), excerpt: top.info.key, note: `cycle ${highest} exists` },
        ],
      });
    }
  }

  // meta.cycles entries without a cycle key
  for (const n of Object.keys(meta.cycles)) {
    const num_ = Number(n);
    if (!Number.isInteger(num_)) continue;
    if (liveKey(num_)) continue;
    if (num_ === meta.currentCycle) continue; // reported above as current-cycle-without-key
    const key = `${prefix}.cycle.${n}`;
    const rec = anyKey(num_);
    out.push({
      kind: `cycles/${n}/without-key`,
      key: meta.key,
      cycle: num_,
      message:
        `${meta.key} lists cycle ${n} (${describeEntry(meta, n)}), ` +
        `but ${key} ${rec ? `was deleted (revision ${rec.latest.revision})` : 'does not exist'}.`,
      evidence: [
        {
          location: mloc(`/cycles/${n}`),
          excerpt: `"${n}": ${brief(meta.json.cycles && isRecord(meta.json.cycles) ? meta.json.cycles[n] : undefined)}`,
          note: `no value at ${key}`,
        },
        ...(rec
          ? [
              {
                location: kv(key, rec.latest.revision),
                excerpt: `${rec.latest.operation} at revision ${rec.latest.revision}`,
                note: 'the cycle key was deleted',
              },
            ]
          : []),
      ],
    });
  }

  // cycle keys the meta does not list
  for (const c of run.cycles) {
    const listed = isRecord(meta.json.cycles) && meta.json.cycles[String(c.number)] !== undefined;
    if (c.layout !== 'v1' || listed) continue;
    out.push({
      kind: 'not-in-meta',
      key: c.key,
      cycle: c.number,
      severity: 'warning',
      fix: [
        {
          kind: 'kv-json',
          key: meta.key,
          revision: meta.revision,
          ops: [
            {
              op: 'set',
              path: pointerOf('cycles', String(c.number)),
              value: {
                instruction: c.instruction,
                status: c.claims.length ? 'complete' : 'running',
                ...(c.startedAt ? { started_at: c.startedAt } : {}),
              },
            },
          ],
          why: `add the missing meta entry for cycle ${c.number}`,
        },
      ],
      message: `${c.key} exists, but ${meta.key} has no entry for cycle ${c.number} in "cycles".`,
      evidence: [
        {
          location: kv(c.key, c.revision),
          excerpt: c.instruction ? `"instruction": ${brief(c.instruction)}` : c.key,
          note: `cycle ${c.number} has state`,
        },
        {
          location: mloc('/cycles'),
          excerpt: `"cycles" has: ${Object.keys(meta.cycles).join(', ') || 'nothing'}`,
          note: `no entry for cycle ${c.number}`,
        },
      ],
    });
  }

  for (const c of run.cycles) {
    if (c.layout !== 'v1') continue;
    const entry = meta.cycles[String(c.number)];

    // meta current_phase against the cycle's status.current_phase, once either claims completion
    if (meta.currentCycle === c.number && meta.currentPhase !== undefined && c.statusRaw !== undefined) {
      const mDone = isCompletionWord(meta.currentPhase);
      const cDone = isCompletionWord(c.statusRaw);
      if (mDone !== cDone) {
        const cPtr = isRecord(c.json.status) ? '/status/current_phase' : '/status';
        out.push({
          kind: 'current-phase',
          key: c.key,
          cycle: c.number,
          message: mDone
            ? `Cycle ${c.number}: ${meta.key} says current_phase "${meta.currentPhase}" but ${c.key} still ` +
              `says status.current_phase "${c.statusRaw}".`
            : `Cycle ${c.number}: ${c.key} says status.current_phase "${c.statusRaw}" but ${meta.key} still ` +
              `says current_phase "${meta.currentPhase}".`,
          evidence: [
            {
              location: mloc('/current_phase'),
              excerpt: `"current_phase": ${brief(meta.currentPhase)}`,
              note: mDone ? 'the meta says complete' : `the meta says ${meta.currentPhase}`,
            },
            {
              location: kv(c.key, c.revision, cPtr),
              excerpt: `"current_phase": ${brief(c.statusRaw)}`,
              note: cDone ? 'the cycle says complete' : `the cycle says ${c.statusRaw}`,
            },
          ],
        });
      }
    }

    if (!entry) continue;

    // two completion times. v1 review stamps the cycle, then the meta, in separate writes (finalize re-stamps both
    // with one time): seconds apart is how a healthy run looks.
    if (entry.completedAt && c.completedAt) {
      const a = toSecond(entry.completedAt);
      const b = toSecond(c.completedAt);
      if (a !== undefined && b !== undefined && Math.abs(a - b) > COMPLETION_TOLERANCE_S) {
        out.push({
          kind: `cycles/${c.number}/completed_at`,
          key: meta.key,
          cycle: c.number,
          severity: 'warning',
          message:
            `Cycle ${c.number} has two completion times: ${meta.key} ` +
            `says ${entry.completedAt}, ${c.key} says ${c.completedAt} (${gap(Math.abs(a - b))} apart).`,
          evidence: [
            {
              location: mloc(`/cycles/${c.number}/completed_at`),
              excerpt: `"completed_at": ${brief(entry.completedAt)}`,
              note: 'completion time in the meta',
            },
            {
              location: kv(c.key, c.revision, '/completed_at'),
              excerpt: `"completed_at": ${brief(c.completedAt)}`,
              note: 'completion time in the cycle',
            },
          ],
        });
      }
    }

    // the meta entry's status against the cycle's claim of completion
    if (entry.status && normaliseStatus(entry.status) === 'failed' && isCompletionWord(c.statusRaw)) {
      const cPtr = isRecord(c.json.status) ? '/status/current_phase' : '/status';
      out.push({
        kind: `cycles/${c.number}/status`,
        key: meta.key,
        cycle: c.number,
        message: `Cycle ${c.number}: ${meta.key} marks it "${entry.status}" while ${c.key} says "${c.statusRaw}".`,
        evidence: [
          {
            location: mloc(`/cycles/${c.number}/status`),
            excerpt: `"status": ${brief(entry.status)}`,
            note: `the meta says ${entry.status}`,
          },
          {
            location: kv(c.key, c.revision, cPtr),
            excerpt: `"current_phase": ${brief(c.statusRaw)}`,
            note: 'the cycle says complete',
          },
        ],
      });
    }
  }

  // notes against the status of the same entry
  for (const [n, entry] of Object.entries(meta.cycles)) {
    if (!entry.notes || !isCompletionWord(entry.status) || !INCOMPLETE_NOTE.test(entry.notes)) continue;
    out.push({
      kind: `cycles/${n}/notes`,
      key: meta.key,
      cycle: Number.isInteger(Number(n)) ? Number(n) : undefined,
      message: `${meta.key} marks cycle ${n} "${entry.status}" while its own notes say otherwise: "${entry.notes}".`,
      evidence: [
        {
          location: mloc(`/cycles/${n}/status`),
          excerpt: `"status": ${brief(entry.status)}`,
          note: 'the status says complete',
        },
        {
          location: mloc(`/cycles/${n}/notes`),
          excerpt: `"notes": ${brief(entry.notes)}`,
          note: 'the notes say the cycle is not complete',
        },
        ...notesHistory(meta, n, kv),
      ],
    });
  }
  return out;
}

/**
 * The revision where the notes first appeared with a status that was not complete: the status was flipped afterwards.
 */
function notesHistory(meta: MetaState, n: string, kv: Kv): Evidence[] {
  for (const h of meta.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok || !isRecord(h.decoded.json) || !isRecord(h.decoded.json.cycles))
      continue;
    const e = h.decoded.json.cycles[n];
    if (!isRecord(e) || typeof e.notes !== 'string' || !INCOMPLETE_NOTE.test(e.notes)) continue;
    if (isCompletionWord(e.status)) return [];
    return [
      {
        location: kv(meta.key, h.revision, `/cycles/${n}/status`),
        excerpt: `"status": ${brief(e.status)}, "notes": ${brief(e.notes, 80)}`,
        note: `at revision ${h.revision} the same notes came with status ${brief(e.status)}`,
      },
    ];
  }
  return [];
}

function describeEntry(meta: MetaState, n: string): string {
  const e = meta.cycles[n];
  return [e?.instruction, e?.status].filter(Boolean).join(', ') || 'no details';
}

/**
 * v1 cycles under a prefix that has no meta key at all (e.g. agents that wrote under another prefix than the
 * coordinator).
 */
function orphanV1Cycles(run: Run, kv: Kv): Contradiction[] {
  return run.cycles
    .filter((c) => c.layout === 'v1')
    .map((c) => ({
      kind: 'no-meta',
      key: c.key,
      cycle: c.number,
      severity: 'warning' as const,
      message:
        `${c.key} is a v1 cycle, but there is no ${run.prefix}.meta: nothing tracks this cycle, and a ` +
        '--continue will not find it.',
      evidence: [
        {
          location: kv(c.key, c.revision),
          excerpt: c.instruction ? `"instruction": ${brief(c.instruction)}` : c.key,
          note: `no ${run.prefix}.meta key in the bucket`,
        },
      ],
    }));
}

// ---------------------------------------------------------------- v2 counter against the cycle keys

function counterChecks(run: Run, cycleKeys: KeyRecord[], kv: Kv): Contradiction[] {
  const c = run.counter;
  if (!c) {
    const v2 = run.cycles.filter((x) => x.layout === 'v2');
    // A deleted counter (e.g. an undone reopen that had created it) is no counter: PEER's read of it fails.
    if (v2.length === 0 || run.keys.some((k) => k.info.kind === 'v2-counter' && !k.deleted)) return [];
    const top = v2[v2.length - 1];
    return [
      {
        kind: 'counter-missing',
        key: `${run.prefix}.cycle.current`,
        severity: 'warning',
        fix: [
          {
            kind: 'kv-text',
            key: `${run.prefix}.cycle.current`,
            revision: 0,
            value: String(top.number),
            why: `create the cycle counter at ${top.number}`,
          },
        ],
        message:
          `${run.prefix} has v2 cycles up to ${top.number} but no ${run.prefix}.cycle.current: the next ` +
          'run will start again at cycle 1 and stop at "already exists".',
        evidence: [
          {
            location: kv(top.key, top.revision),
            excerpt: top.key,
            note: `the highest v2 cycle; no ${run.prefix}.cycle.current key in the bucket`,
          },
        ],
      },
    ];
  }
  const decoded = c.history[c.history.length - 1]?.decoded;
  if (!decoded?.ok) return []; // unreadable: invalid-state-value reports it
  const live = cycleKeys.filter((k) => !k.deleted);
  const highest = Math.max(0, ...live.map((k) => k.info.cycle ?? 0));
  const value = c.value ?? 0;
  const loc = kv(c.key, c.revision);
  const excerpt = `${c.key} = ${brief(c.raw.trim() || '(empty)')}`;
  const out: Contradiction[] = [];
  if (value < highest) {
    const top = live.find((k) => k.info.cycle === highest)!;
    out.push({
      kind: 'counter-behind',
      key: c.key,
      fix: [
        {
          kind: 'kv-text',
          key: c.key,
          revision: c.revision,
          value: String(highest),
          why: `set the cycle counter to the highest cycle, ${highest}`,
        },
      ],
      message:
        `${c.key} is ${c.value ?? 'empty'}, but cycle ${highest} exists (${top.info.key}); the next run ` +
        `will try to create cycle ${value + 1} again.`,
      evidence: [
        { location: loc, excerpt, note: `below the highest cycle key (${highest})` },
        { location: kv(top.info.key, top.latest.revision), excerpt: top.info.key, note: `cycle ${highest} exists` },
      ],
    });
  } else if (value > 0 && !live.some((k) => k.info.cycle === value)) {
    const rec = cycleKeys.find((k) => k.info.cycle === value);
    out.push({
      kind: 'counter-without-key',
      key: c.key,
      ...(highest > 0
        ? {
            fix: [
              {
                kind: 'kv-text' as const,
                key: c.key,
                revision: c.revision,
                value: String(highest),
                why: `set the cycle counter to the highest cycle, ${highest}`,
              },
            ],
          }
        : {}),
      message:
        `${c.key} is ${value}, ` +
        `but ${run.prefix}.cycle.${value} ${rec ? `was deleted (revision ${rec.latest.revision})` : 'does not exist'}.`,
      evidence: [
        { location: loc, excerpt, note: `points at ${run.prefix}.cycle.${value}` },
        ...(rec
          ? [
              {
                location: kv(rec.info.key, rec.latest.revision),
                excerpt: `${rec.latest.operation} at revision ${rec.latest.revision}`,
                note: 'the cycle key was deleted',
              },
            ]
          : []),
      ],
    });
  }
  return out;
}

// ---------------------------------------------------------------- a cycle value against its key and itself

function cycleChecks(cycle: CycleState, kv: Kv): Contradiction[] {
  const out: Contradiction[] = [];
  const at = (p: string) => kv(cycle.key, cycle.revision, p);
  const json = cycle.json;
  const md = cycle.metadata;
  const add = (kind: string, message: string, evidence: Evidence[], severity?: Severity) =>
    out.push({ kind, key: cycle.key, cycle: cycle.number, message, evidence, ...(severity ? { severity } : {}) });

  // Identity fields against the key. Colon-delimited forms of the right id are malformed-key's business.
  const sameId = (v: string, want: string) => v === want || v.replace(/:/g, '.') === want;
  for (const [ptr, v] of [
    ['/cycle_id', json.cycle_id],
    ['/metadata/cycle_id', md?.cycle_id],
  ] as const) {
    if (typeof v === 'string' && !sameId(v, cycle.key)) {
      add(
        `id${ptr.replace(/\//g, '-')}`,
        `${cycle.key} holds a value whose ${ptr.slice(1).replace('/', '.')} is "${v}".`,
        [{ location: at(ptr), excerpt: `"cycle_id": ${brief(v)}`, note: `the key is ${cycle.key}` }],
      );
    }
  }
  if (md) {
    const kp = str(md.key_prefix);
    if (kp !== undefined && !sameId(kp, cycle.prefix)) {
      add(
        'metadata-key_prefix',
        `${cycle.key} holds a value whose metadata.key_prefix is "${kp}", not ${cycle.prefix}.`,
        [
          {
            location: at('/metadata/key_prefix'),
            excerpt: `"key_prefix": ${brief(kp)}`,
            note: `the key's prefix is ${cycle.prefix}`,
          },
        ],
      );
    }
  }
  const numPtr = md ? '/metadata/cycle_number' : '/cycle_number';
  const numRaw = md ? md.cycle_number : json.cycle_number;
  const n = num(numRaw);
  if (numRaw !== undefined && n !== undefined && n !== cycle.number) {
    add(
      'cycle_number',
      `${cycle.key} holds a value for cycle ${n} (${numPtr.slice(1).replace('/', '.')}), not cycle ${cycle.number}.`,
      [{ location: at(numPtr), excerpt: `"cycle_number": ${brief(numRaw)}`, note: `the key is cycle ${cycle.number}` }],
    );
  }

  if (md) {
    const status = str(md.status);
    // A status that says "under way" next to a completion time.
    if (
      status &&
      IN_PROGRESS_V2.test(status.trim()) &&
      md.completed_at !== undefined &&
      md.completed_at !== null &&
      md.completed_at !== ''
    ) {
      add(
        'status-with-completed_at',
        `Cycle ${cycle.number}: metadata.status is "${status}" but metadata.completed_at is set ` +
          `(${brief(md.completed_at)}): the value says both under way and finished.`,
        [
          {
            location: at('/metadata/status'),
            excerpt: `"status": ${brief(status)}`,
            note: 'says the cycle is under way',
          },
          {
            location: at('/metadata/completed_at'),
            excerpt: `"completed_at": ${brief(md.completed_at)}`,
            note: 'says the cycle finished',
          },
        ],
      );
    }
    // A root status that says complete while metadata.status does not. The v2 agents' output contracts name a root
    // status (the planner's "EXECUTING", the review's "COMPLETE"), so a root status left behind by an earlier phase
    // while the metadata moved on to complete is how a healthy run looks; only the reverse is a contradiction.
    if (json.status !== undefined && isCompletionWord(json.status) && !isCompletionWord(status)) {
      add(
        'root-status',
        `Cycle ${cycle.number}: the root "status" is ${brief(json.status)} while metadata.status ` +
          `is ${brief(status ?? null)}.`,
        [
          { location: at('/status'), excerpt: `"status": ${brief(json.status)}`, note: 'the root says complete' },
          {
            location: at('/metadata/status'),
            excerpt: `"status": ${brief(status ?? null)}`,
            note: 'the metadata says the cycle is not complete',
          },
        ],
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------- time

function toSecond(s: string): number | undefined {
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.floor(t / 1000) : undefined;
}

function gap(seconds: number): string {
  return humanDuration(seconds * 1000);
}

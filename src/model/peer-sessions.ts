// Which transcripts are PEER runs. A project's log folder holds every session of the project over months;
// only sessions that belong to a PEER run are judged by the run rules, the rest are read and counted.
import type { LogSession } from './types.js';
import type { Model, Run } from './build.js';
import { peerSpawns, stateOps, type StateOp } from './log-facts.js';

/** The bucket every PEER generation writes to unless told otherwise. */
export const PEER_BUCKET = 'agent-os-peer-state';

/**
 * `/peer …` as a slash command: the tags Claude Code records a command with (`<command-name>/peer</command-name>`,
 * `<command-message>peer is running…`), or a person's turn that starts with it. A sentence that merely mentions
 * "/peer" (a discussion of the command) is not a run.
 */
const PEER_COMMAND = /<command-name>\/?peer<\/command-name>|<command-message>peer is running|^\s*\/peer(?:\s|$)/;

/** Keys PEER writes, as written in a command: `peer.…`, or the variables its instructions and scripts use. */
const PEER_KEY = /^["']?(?:peer[.:]|\$\{?(?:key_prefix|KEY_PREFIX|STATE_KEY|state_key|spec_name|SPEC_NAME)\b)/;
/** A bucket named by a variable that says it is PEER's (`$PEER_BUCKET`). */
const PEER_BUCKET_VAR = /^\$\{?\w*PEER\w*\}?$/i;

/**
 * A state operation on PEER state: a PEER state script, or a `nats kv` call on the PEER bucket (the default, or
 * the one scanned) or on a PEER key. `nats kv get config app.settings` in a project that uses NATS itself is not.
 */
export function isPeerStateOp(op: StateOp, bucket: string = PEER_BUCKET): boolean {
  if (!op.verb.startsWith('nats kv')) return true;
  const b = op.bucket;
  if (b !== undefined && (b === PEER_BUCKET || b === bucket || PEER_BUCKET_VAR.test(b))) return true;
  return op.rawKey !== undefined && PEER_KEY.test(op.rawKey);
}

const cache = new WeakMap<LogSession, Map<string, boolean>>();

/**
 * A session that shows PEER activity itself: a `/peer` command, a `peer-*` subagent spawned, or a PEER state
 * operation (a PEER state script, a `nats kv` call on the PEER bucket or a PEER key).
 */
export function isPeerSession(session: LogSession, bucket: string = PEER_BUCKET): boolean {
  let byBucket = cache.get(session);
  if (!byBucket) cache.set(session, (byBucket = new Map()));
  let v = byBucket.get(bucket);
  if (v === undefined) byBucket.set(bucket, (v = computePeer(session, bucket)));
  return v;
}

function computePeer(session: LogSession, bucket: string): boolean {
  if (peerSpawns(session).length > 0) return true;
  if (stateOps(session).some((op) => isPeerStateOp(op, bucket))) return true;
  for (const e of session.events) {
    if (e.kind === 'text' && e.role === 'user' && e.actor === 'main' && PEER_COMMAND.test(e.text)) return true;
  }
  return false;
}

/** A run PEER produced: it has state in the bucket, or a PEER session belongs to it. */
export function isPeerRun(run: Run, bucket: string = PEER_BUCKET): boolean {
  return run.keys.length > 0 || run.sessions.some((s) => isPeerSession(s, bucket));
}

const judgedCache = new WeakMap<Model, Set<LogSession>>();

function judgedSet(model: Model): Set<LogSession> {
  let set = judgedCache.get(model);
  if (set) return set;
  set = new Set();
  // A session that mentions a run with state (its keys, its spec, its folder) belongs to that run.
  const attached = new Set<LogSession>();
  for (const run of model.runs) if (run.keys.length > 0) for (const s of run.sessions) attached.add(s);
  for (const s of model.sessions) if (attached.has(s) || isPeerSession(s, model.bucket)) set.add(s);
  judgedCache.set(model, set);
  return set;
}

/**
 * The sessions the transcript rules judge, in the model's order: those that show PEER activity themselves, and
 * those that belong to a run with state in the bucket. The others are ordinary sessions of the project: read
 * and counted, never judged.
 */
export function peerSessions(model: Model): LogSession[] {
  const set = judgedSet(model);
  return model.sessions.filter((s) => set.has(s));
}

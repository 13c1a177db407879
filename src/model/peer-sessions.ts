// Which transcripts are PEER runs. A project's log folder holds every session of the project over months;
// only sessions that belong to a PEER run are judged by the run rules, the rest are read and counted.
import type { LogSession } from './types.js';
import type { Run } from './build.js';
import { peerSpawns, stateOps } from './log-facts.js';

/** `/peer …` as a slash command, as the TUI echoes it, or as a command message. */
const PEER_COMMAND = /(?:^|\s|<command-name>)\/peer(?:\s|<\/command-name>|$)|\/peer is running/m;

const cache = new WeakMap<LogSession, boolean>();

/**
 * A session that shows PEER activity itself: a `/peer` command typed by a person, a `peer-*` subagent spawned,
 * or a PEER state operation (a `nats kv` call or a PEER state script).
 */
export function isPeerSession(session: LogSession): boolean {
  let v = cache.get(session);
  if (v === undefined) cache.set(session, (v = computePeer(session)));
  return v;
}

function computePeer(session: LogSession): boolean {
  if (peerSpawns(session).length > 0) return true;
  if (stateOps(session).length > 0) return true;
  for (const e of session.events) {
    if (e.kind === 'text' && e.role === 'user' && PEER_COMMAND.test(e.text)) return true;
  }
  return false;
}

/** A run PEER produced: it has state in the bucket, or a PEER session belongs to it. */
export function isPeerRun(run: Run): boolean {
  return run.keys.length > 0 || run.sessions.some(isPeerSession);
}

/** The sessions of a run that the run rules judge: all of them for a run with state, else the PEER ones. */
export function judgedSessions(run: Run): LogSession[] {
  return run.keys.length > 0 ? run.sessions : run.sessions.filter(isPeerSession);
}

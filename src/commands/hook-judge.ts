// What `peer-audit hook` blocks a finishing session or subagent for: the errors of its own run that the agent can
// still put right before it finishes, and the reason it is given (what is wrong, the evidence, what to do).
import type { Model, Run } from '../model/build.js';
import { cyclesForSession } from '../model/build.js';
import { runsOfSession } from '../model/lookup.js';
import { isPeerSession } from '../model/peer-sessions.js';
import type { Finding, LogSession } from '../model/types.js';
import { formatLocation } from '../report/location.js';

/**
 * The rules whose errors block, each with what the reason says first and what the agent is told to do. Left out on
 * purpose: findings the agent cannot change any more (phase-order-violation, read-before-write: the order is
 * history), outcomes the run states honestly (recorded-failure, unsuccessful-cycle), findings about the setup
 * rather than the run (bucket-config, state-not-in-bucket, stateless-run: the hook may read another server than
 * the agent writes to), the consequences the listed ones explain (state-inconsistency, phase-order-violation), and
 * every warning.
 */
export const BLOCKING_RULES: Record<string, { head: string; todo: (f: Finding) => string }> = {
  'missing-execute-phase': {
    head: 'execute never ran',
    todo: (f) => `run the executor (peer-executor) for ${cycleOf(f)} before finalizing`,
  },
  'kv-read-failure': {
    head: 'a state read failed and was never retried',
    todo: () => 'read the state again and go on from what it holds, not from what was expected',
  },
  'false-success': {
    head: 'the state contradicts the claim of completion',
    todo: (f) => `do not report ${cycleOf(f)} as complete until its state shows every phase completed`,
  },
  'heredoc-artifact': {
    head: 'heredoc residue in a written file',
    todo: () => 'delete the residue line (the text before it is the end of the file) and check what precedes it',
  },
  'truncated-file': {
    head: 'a written file is cut short',
    todo: () => 'write the rest of the file',
  },
  'missing-tasks-md': {
    head: 'tasks.md was never written',
    todo: () => 'write tasks.md in the spec folder before finalizing',
  },
  'missing-spec-file': {
    head: 'a spec file is missing',
    todo: () => 'write the missing file before finalizing',
  },
  'script-failure': {
    head: 'a PEER script or state command failed and was not retried',
    todo: () => 'run it again and check its output',
  },
  'invalid-state-value': {
    head: 'a state value cannot be read',
    todo: () => 'write the key again as valid JSON of the PEER layout',
  },
};

function cycleOf(f: Finding): string {
  return f.subject.cycle !== undefined ? `cycle ${f.subject.cycle}` : 'the cycle';
}

/** Findings are listed in this order in the reason: what to do first comes first. */
const ORDER = Object.keys(BLOCKING_RULES);

/** Reasons list at most this many findings; the rest are counted. */
const SHOWN = 5;

/** The PEER runs the session belongs to, and the cycles of each it worked on. */
export interface SessionScope {
  session: LogSession;
  runs: Array<{ run: Run; cycles: Set<number> }>;
}

/** The session's scope in the model, or undefined when the session is not part of any PEER run. */
export function sessionScope(model: Model, sessionId: string): SessionScope | undefined {
  const session = model.sessions.find((s) => s.sessionId === sessionId);
  if (!session || !isPeerSession(session, model.bucket)) return undefined;
  const runs = runsOfSession(model, session).map((run) => ({
    run,
    cycles: new Set(cyclesForSession(run, session).map((c) => c.number)),
  }));
  return runs.length > 0 ? { session, runs } : undefined;
}

/** Is the finding about the session's run (and, when it names a cycle, one the session worked on)? */
function inScope(f: Finding, scope: SessionScope): boolean {
  const s = f.subject;
  if (s.session !== undefined && s.session !== scope.session.sessionId) return false;
  return scope.runs.some(({ run, cycles }) => {
    const same =
      (s.keyPrefix !== undefined && s.keyPrefix === run.prefix) ||
      (s.keyPrefix === undefined && s.spec !== undefined && s.spec === run.spec) ||
      (s.folder !== undefined && run.folders.some((d) => d.path === s.folder));
    return same && (s.cycle === undefined || cycles.size === 0 || cycles.has(s.cycle));
  });
}

/** The findings that block this session: errors of the blocking rules, about its run. */
export function blockingFindings(findings: Finding[], scope: SessionScope): Finding[] {
  return findings
    .filter((f) => f.severity === 'error' && f.ruleId in BLOCKING_RULES && inScope(f, scope))
    .sort((a, b) => ORDER.indexOf(a.ruleId) - ORDER.indexOf(b.ruleId));
}

/** The message's first sentences, up to about `max` characters (messages say what and where first, then detail). */
function leadOf(message: string, max = 260): string {
  // A sentence ends at . ! or ? before a space and a capital (a path's dots, `t.jsonl:51`, do not end one).
  const sentences = message
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?])\s+(?=[A-Z])/);
  let out = sentences[0].trim();
  for (const s of sentences.slice(1)) {
    if (out.length + s.length > max) break;
    out = `${out} ${s.trim()}`;
  }
  return out.replace(/[.:;]$/, '');
}

/** Where the evidence is, each place once (a KV revision without its pointers), leaving out what the text names. */
function placesOf(f: Finding, text: string): string {
  const places = f.evidence.map((e) =>
    e.location.kind === 'kv' ? `${e.location.key}@${e.location.revision}` : formatLocation(e.location),
  );
  return [...new Set(places)]
    .filter((p) => !text.includes(p))
    .slice(0, 3)
    .join(', ');
}

/** One finding as a line of the reason: what is wrong, the finding's own words, its evidence, what to do. */
export function reasonLine(f: Finding): string {
  const rule = BLOCKING_RULES[f.ruleId];
  const lead = leadOf(f.message);
  const where = placesOf(f, lead);
  return `${rule.head}: ${lead}${where ? ` (${where})` : ''}; ${rule.todo(f)}. [${f.ruleId}]`;
}

/** The reason given to the agent: a short instruction per finding, with the evidence. */
export function blockReason(findings: Finding[], what: 'session' | 'subagent'): string {
  const lines = findings.slice(0, SHOWN).map((f, i) => `${i + 1}. ${reasonLine(f)}`);
  const more = findings.length - SHOWN;
  if (more > 0) lines.push(`… and ${more} more (peer-audit scan shows them all).`);
  const intro =
    findings.length === 1
      ? `peer-audit: this run has an error to fix before the ${what} finishes:`
      : `peer-audit: this run has ${findings.length} errors to fix before the ${what} finishes:`;
  return [intro, ...lines].join('\n');
}

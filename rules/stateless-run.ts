import { defineRule } from '../src/engine/rule.js';
import type { Model } from '../src/model/build.js';
import { logLocation, peerSpawns, stateOps } from '../src/model/log-facts.js';
import { runsOfSession } from '../src/model/lookup.js';
import { msOf, runForSession } from '../src/model/transcript-facts.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogSession, Spawn, Subject } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { peerSessions } from '../src/model/peer-sessions.js';

const NAME = '[a-z0-9][a-z0-9-]*[a-z0-9]';
const NAMING: RegExp[] = [
  new RegExp(`\\bpeer\\.(?:spec|instruction)\\.(${NAME})`, 'g'),
  new RegExp(`\\bspec[ _]name:\\s*[\`"']?(${NAME})`, 'gi'),
  new RegExp(`--spec=["']?(${NAME})`, 'g'),
  new RegExp(`\\.agent-os/specs/\\d{4}-\\d{2}-\\d{2}-(${NAME})`, 'g'),
];

export default defineRule({
  meta: {
    id: 'stateless-run',
    severity: 'error',
    summary: 'PEER subagents ran but the session made no state operation and the bucket holds nothing for the spec.',
    sources: ['logs', 'kv'],
    fixable: false,
    title: 'A run kept no state',
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      const spawns = peerSpawns(s);
      if (spawns.length === 0 || stateOps(s).length > 0) continue;
      const names = namedSpecs(s);
      const types = [...new Set(spawns.map((sp) => sp.subagentType))];
      const ran = `${spawns.length} PEER subagent${spawns.length === 1 ? '' : 's'} ran (${types.join(', ')})`;
      const forWhat = names.length > 0 ? names.join(', ') : 'this run';
      const unseen = spawns.filter((sp) => sp.transcript === 'none').length;
      const partial = unseen > 0 ? ` (the records of ${unseen} of them are missing, so their calls are unknown)` : '';
      const evidence: Evidence[] = spawns.map((sp) => spawnEvidence(sp));
      const subject = subjectFor(model, s, names);

      if (!model.kv) {
        report({
          message:
            `${ran} but the session made no state operation${partial}; KV was not scanned, so whether ` +
            `the bucket holds state for ${forWhat} could not be checked.`,
          subject,
          evidence,
          target: s.mainFile,
          severity: 'warning',
        });
        continue;
      }
      if (hasState(model, s, names)) continue;
      evidence.push({
        location: { kind: 'bucket', bucket: model.kv.bucket, origin: model.kv.originRef },
        excerpt: `${model.keys.length} key${model.keys.length === 1 ? '' : 's'}, none for ${forWhat}`,
        note:
          names.length > 0
            ? `no key under peer.spec.${names[0]} or peer.instruction.${names[0]}`
            : 'no revision written while the session ran',
      });
      report({
        message:
          `${ran} but the session made no state operation${partial} and the bucket holds no state ` +
          `for ${forWhat}: the run kept no PEER state at all.`,
        subject,
        evidence,
        target: s.mainFile,
      });
    }
  },
});

function spawnEvidence(sp: Spawn): Evidence {
  return {
    location: logLocation(sp.ref),
    excerpt: excerptOf(`${sp.toolName} ${sp.subagentType}: ${sp.description ?? ''}`),
    note: `${sp.subagentType} ran${sp.result ? '' : ' (never reported back)'}`,
  };
}

/** Spec or instruction names the session gives: key prefixes, "Spec name:", --spec=, spec folder paths. */
function namedSpecs(s: LogSession): string[] {
  const found = new Set<string>();
  const scan = (t: string | undefined) => {
    if (!t) return;
    for (const re of NAMING) for (const m of t.matchAll(re)) found.add(m[1]);
  };
  for (const e of s.events) {
    if (e.kind === 'text') scan(e.text);
    else if (e.kind === 'spawn') {
      scan(e.prompt);
      scan(e.description);
    } else if (e.kind === 'tool') {
      scan(e.command);
      scan(e.filePath);
    }
  }
  return [...found].sort();
}

/**
 * The bucket holds something for the session: a run it is attached to has keys, a key names one of its specs, or
 * (naming none) a revision was written while it ran.
 */
function hasState(model: Model, s: LogSession, names: string[]): boolean {
  if (runsOfSession(model, s).some((r) => r.keys.length > 0)) return true;
  if (names.length > 0) {
    return model.keys.some((k) =>
      names.some(
        (n) =>
          k.info.name === n ||
          k.info.key.startsWith(`peer.spec.${n}.`) ||
          k.info.key.startsWith(`peer.instruction.${n}.`),
      ),
    );
  }
  const from = msOf(s.firstTimestamp);
  const to = msOf(s.lastTimestamp);
  if (from === undefined || to === undefined) return model.keys.length > 0;
  return model.keys.some((k) =>
    k.revisions.some((r) => {
      const t = msOf(r.created);
      return t !== undefined && t >= from - 60_000 && t <= to + 60_000;
    }),
  );
}

function subjectFor(model: Model, s: LogSession, names: string[]): Subject {
  const run = runForSession(model, s) ?? model.runs.find((r) => r.spec !== undefined && names.includes(r.spec));
  return run
    ? { ...runSubject(run), session: s.sessionId }
    : { ...(names[0] ? { spec: names[0] } : {}), session: s.sessionId };
}

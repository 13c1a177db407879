import { defineRule } from '../src/engine/rule.js';
import { cut, firstLine, logLocation, peerSpawns } from '../src/model/log-facts.js';
import { peerSessions } from '../src/model/peer-sessions.js';
import { excerptOf } from '../src/model/text.js';
import { actorLabel, sessionSubject } from '../src/model/transcript-facts.js';
import type { LogSession, Spawn } from '../src/model/types.js';

/** A reply that says the work is done: a PEER agent that made no call cannot have read or written its state. */
const SUCCESS =
  /✅|\b(?:complete[d]?|success(?:ful(?:ly)?)?|created|stored|updated|written|wrote|recorded|saved|done|finished|ready)\b/i;
/** A reply that says it could not do the work is honest about it. */
const FAILURE =
  /❌|\b(?:error|fail(?:ed|ure)?|could ?n[o']t|cannot|can't|unable|not (?:able|possible|available)|no access|blocked)\b/i;

export default defineRule({
  meta: {
    id: 'subagent-no-tool-calls',
    severity: 'error',
    summary:
      'A PEER subagent finished with no tool call at all (totalToolUseCount 0 in its Task result) yet reported ' +
      'its work done.',
    sources: ['logs'],
    fixable: false,
    title: 'A subagent reported work it never did',
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      for (const sp of peerSpawns(s)) {
        if (sp.resultDetail?.totalToolUseCount !== 0 || !sp.result || sp.result.isError) continue;
        const text = sp.result.text;
        const claim = successLine(text);
        if (!claim) continue;
        // The session's own records of the subagent show calls: the count is wrong, not the subagent.
        if (madeCalls(s, sp)) continue;
        const who = actorLabel(s, { spawnId: sp.id });
        report({
          message: `${who} made no tool call (totalToolUseCount 0) yet reported: "${cut(claim, 120)}".`,
          subject: sessionSubject(model, s),
          evidence: [
            {
              location: logLocation(sp.ref),
              excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
              note: `${sp.subagentType} spawned`,
            },
            {
              location: logLocation(sp.result.ref),
              excerpt: excerptOf(`totalToolUseCount: 0 — ${claim}`, 200),
              note: 'its Task result: no tool was used, yet it reports the work done',
            },
          ],
          target: `${sp.ref.path}#${sp.id}`,
        });
      }
    }
  },
});

/** The first line of a reply that reports success, unless the reply says it failed. */
function successLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines.some((l) => FAILURE.test(l))) return undefined;
  return lines.find((l) => SUCCESS.test(l));
}

function madeCalls(s: LogSession, sp: Spawn): boolean {
  return s.events.some(
    (e) => (e.kind === 'tool' || e.kind === 'spawn') && e.actor !== 'main' && e.actor.spawnId === sp.id,
  );
}

import { defineRule } from '../src/engine/rule.js';
import { cut, logLocation } from '../src/model/log-facts.js';
import { actorLabel, sessionSubject } from '../src/model/transcript-facts.js';
import type { Evidence, LogRef, LogSession, Spawn, ToolCall } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { peerSessions } from '../src/model/peer-sessions.js';

export default defineRule({
  meta: {
    id: 'aborted-session',
    severity: 'warning',
    summary:
      'A transcript stops mid-run: calls with no result, subagents that never reported back, a cut-off last ' +
      'line, no closing message.',
    sources: ['logs'],
    fixable: false,
    title: 'The session stopped mid-run',
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      const signs = signsOf(s);
      if (signs.length === 0) continue;
      report({
        message: `${s.mainFile} stops mid-run: ${signs.map((x) => x.text).join('; ')}.`,
        subject: sessionSubject(model, s),
        evidence: signs.map((x) => x.evidence),
        target: s.mainFile,
      });
    }
  },
});

interface Sign {
  text: string;
  evidence: Evidence;
}

function signsOf(s: LogSession): Sign[] {
  const signs: Sign[] = [];

  // Calls that never got a result; the last one is the clearest sign.
  const open = s.events.filter((e): e is ToolCall | Spawn => (e.kind === 'tool' || e.kind === 'spawn') && !e.result);
  for (const c of open) {
    if (c.kind === 'spawn') {
      const name = c.subagentType || c.toolName;
      signs.push({
        text: `${name} (line ${c.ref.line}) never reported back`,
        evidence: {
          location: logLocation(c.ref),
          excerpt: excerptOf(`${c.toolName} ${name}: ${c.description ?? ''}`),
          note: `${name} spawned; its records end without a final report`,
        },
      });
    } else {
      signs.push({
        text: `the ${c.name} call at ${where(s, c.ref)} never got a result`,
        evidence: {
          location: logLocation(c.ref),
          excerpt: excerptOf(cut(`${c.name} ${c.command?.split('\n')[0] ?? c.filePath ?? ''}`, 160)),
          note: `no result for this call (by ${actorLabel(s, c.actor)})`,
        },
      });
    }
  }

  // The main chain's last tool result is not followed by any assistant message.
  const mainCalls = s.events.filter(
    (e): e is ToolCall | Spawn => (e.kind === 'tool' || e.kind === 'spawn') && e.actor === 'main',
  );
  const last = mainCalls[mainCalls.length - 1];
  if (last?.result) {
    const r = last.result.ref;
    const closed = s.events.some(
      (e) =>
        (e.kind === 'text' && e.role === 'assistant' && e.actor === 'main' && after(e.ref, r)) ||
        (e.kind === 'result' && after(e.ref, r)),
    );
    if (!closed) {
      signs.push({
        text: `no assistant message follows the last tool result (line ${r.line})`,
        evidence: {
          location: logLocation(r),
          excerpt: excerptOf(cut(firstLine(last.result.text), 160)),
          note: 'the last tool result of the main agent; nothing was said after it',
        },
      });
    }
  }

  // The last physical line was cut off in the middle of a record.
  if (s.truncatedTail) {
    const c = s.corrupt.find((x) => x.path === s.mainFile && /cut-off/.test(x.reason));
    const line =
      c?.line ?? Math.max(0, ...s.events.filter((e) => e.ref.path === s.mainFile).map((e) => e.ref.line)) + 1;
    signs.push({
      text: `the last line (${line}) is cut off`,
      evidence: {
        location: { kind: 'log', path: s.mainFile, line },
        excerpt: c?.excerpt ?? '',
        note: 'cut-off last line: the record was never finished',
      },
    });
  }
  return signs;
}

/** `a` comes after `b` in the same file (line order is append order), or by time across files. */
function after(a: LogRef, b: LogRef): boolean {
  if (a.path === b.path) return a.line > b.line;
  const ta = a.timestamp ? Date.parse(a.timestamp) : NaN;
  const tb = b.timestamp ? Date.parse(b.timestamp) : NaN;
  return !Number.isNaN(ta) && !Number.isNaN(tb) && ta > tb;
}

function where(s: LogSession, ref: LogRef): string {
  return ref.path === s.mainFile ? `line ${ref.line}` : `${ref.path}:${ref.line}`;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '(empty)'
  );
}

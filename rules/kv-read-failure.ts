import { defineRule } from '../src/engine/rule.js';
import { logLocation, stateOps, type StateOp } from '../src/model/log-facts.js';
import {
  actorLabel,
  failureLine,
  isBefore,
  isPureRead,
  normalisedCommand,
  notFound,
  readFailed,
  sameActor,
  sessionSubject,
} from '../src/model/transcript-facts.js';
import type { Evidence, Severity } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { isPeerStateOp, peerSessions } from '../src/model/peer-sessions.js';

export default defineRule({
  meta: {
    id: 'kv-read-failure',
    severity: 'error',
    summary: 'A state read (nats kv get/history/ls, read-state.sh) failed in a transcript; names the key it wanted.',
    sources: ['logs'],
    fixable: false,
    title: 'A state read failed and was never retried',
    causedBy: [{ rule: 'read-before-write', when: 'shared-evidence' }],
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      const ops = stateOps(s);
      for (const op of ops) {
        if (
          op.kind !== 'read' ||
          !isPeerStateOp(op, model.bucket) ||
          !isPureRead(op.call.command) ||
          !readFailed(op.call)
        )
          continue;
        const call = op.call;
        const res = call.result!;
        const key = resolved(op);
        const keyText = key ?? (op.rawKey ? `${op.rawKey} (unresolved)` : 'the bucket');
        const err = failureLine(res.text);
        const who = actorLabel(s, call.actor);

        const created = key && notFound(call) ? laterWrite(ops, op, key) : undefined;
        const retry = created ? undefined : laterRead(ops, op, key);

        const evidence: Evidence[] = [
          { location: logLocation(res.ref), excerpt: excerptOf(err), note: `${op.verb} of ${keyText} failed` },
          {
            location: logLocation(call.ref),
            excerpt: excerptOf(firstCommandLine(call.command)),
            note: `the read, by ${who}`,
          },
        ];
        let severity: Severity | undefined;
        let message: string;
        const at = `${res.ref.path}:${res.ref.line}`;
        if (created) {
          severity = 'info';
          evidence.push({
            location: logLocation(created.call.ref),
            excerpt: excerptOf(firstCommandLine(created.call.command)),
            note: `${created.verb} creates ${key}`,
          });
          message =
            `${op.verb} found no ${key} at ${at}, and the session created the key at ` +
            `line ${created.call.ref.line}: an existence check, not a lost read.`;
        } else if (retry) {
          severity = 'warning';
          const rr = retry.call.result!.ref;
          evidence.push({
            location: logLocation(rr),
            excerpt: excerptOf(firstNonEmpty(retry.call.result!.text)),
            note: `the same read succeeded (call at line ${retry.call.ref.line})`,
          });
          message =
            `${op.verb} of ${keyText} by ${who} failed at ${at} ("${err}"); the same read succeeded ` +
            `later at line ${rr.line}.`;
        } else {
          message =
            `${op.verb} of ${keyText} by ${who} failed at ${at} ("${err}") and no identical read ` +
            'succeeded afterwards: the state it wanted was never read.';
        }
        report({
          message,
          subject: sessionSubject(model, s, key),
          evidence,
          target: `${call.ref.path}#${call.id}`,
          severity,
        });
      }
    }
  },
});

function resolved(op: StateOp): string | undefined {
  return op.key && !op.key.includes('$') ? op.key : undefined;
}

/** A later write that creates or sets the key the failed read looked for. */
function laterWrite(ops: StateOp[], op: StateOp, key: string): StateOp | undefined {
  return ops.find((o) => o.kind === 'write' && !o.failed && resolved(o) === key && isBefore(op.call.ref, o.call.ref));
}

/**
 * A later read that repeats the failed one (same command, or the same actor reading the same key the same way) and
 * succeeded.
 */
function laterRead(ops: StateOp[], op: StateOp, key: string | undefined): StateOp | undefined {
  const cmd = normalisedCommand(op.call);
  return ops.find(
    (o) =>
      o !== op &&
      o.kind === 'read' &&
      o.call.result !== undefined &&
      !readFailed(o.call) &&
      isBefore(op.call.ref, o.call.ref) &&
      (normalisedCommand(o.call) === cmd ||
        (key !== undefined && resolved(o) === key && o.verb === op.verb && sameActor(o.call.actor, op.call.actor))),
  );
}

function firstCommandLine(cmd: string | undefined): string {
  return (cmd ?? '').split('\n')[0];
}

function firstNonEmpty(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

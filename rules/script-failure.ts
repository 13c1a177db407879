import { defineRule } from '../src/engine/rule.js';
import { keyRecord } from '../src/model/lookup.js';
import type { Model } from '../src/model/build.js';
import { callFailed, logLocation, natsKvPattern, stateOps, type StateOp } from '../src/model/log-facts.js';
import {
  actorLabel,
  exitCode,
  failureLine,
  isBefore,
  isPureRead,
  msOf,
  normalisedCommand,
  opOf,
  peerScript,
  sameActor,
  sessionSubject,
} from '../src/model/transcript-facts.js';
import type { Evidence, LogSession, ToolCall } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { peerSessions } from '../src/model/peer-sessions.js';

const NATS_WRITE = natsKvPattern('put|update|create|del|delete|purge');
const JQ_FAILED = /jq: (?:parse )?error|jq: \d+ compile errors?/;
const PEER_STATE = /\bagent-os-peer-state\b|\bpeer\.(?:spec|instruction|global)\b/;

export default defineRule({
  meta: {
    id: 'script-failure',
    severity: 'error',
    summary:
      'A PEER script (~/.agent-os/scripts/peer/*.sh, update/create/read-state) or state command (jq | nats kv ' +
      'put, nats kv create…) failed in a transcript.',
    sources: ['logs'],
    fixable: false,
    title: 'A PEER script failed',
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      const ops = stateOps(s);
      for (const e of s.events) {
        if (e.kind !== 'tool' || !e.command || !e.result || !callFailed(e)) continue;
        const what = failedThing(e);
        if (!what) continue;
        const op = opOf(ops, e);
        const key = op?.key && !op.key.includes('$') ? op.key : undefined;
        const err = failureLine(e.result.text);
        const code = exitCode(e.result.text);
        const retry = retryOf(s, ops, e, what, key);
        const broken = retry && key ? leftUnreadable(model, key, retry) : undefined;
        const forKey = key ? ` for ${key}` : '';
        const where = `${e.result.ref.path}:${e.result.ref.line}`;

        const evidence: Evidence[] = [
          {
            location: logLocation(e.result.ref),
            excerpt: excerptOf(err),
            note: `${what.label} failed${code !== undefined ? ` (exit code ${code})` : ''}`,
          },
          {
            location: logLocation(e.ref),
            excerpt: excerptOf(e.command.split('\n')[0]),
            note: `the call, by ${actorLabel(s, e.actor)}`,
          },
        ];
        let message: string;
        let severity: 'warning' | undefined;
        if (retry && broken) {
          const rr = retry.result!.ref;
          evidence.push({
            location: logLocation(rr),
            excerpt: excerptOf(firstNonEmpty(retry.result!.text) || '(no output)'),
            note: `the retry (call at line ${retry.ref.line}) printed no error`,
          });
          evidence.push({
            location: { kind: 'kv', bucket: model.bucket, key: key!, revision: broken.revision },
            excerpt: excerptOf(broken.reason),
            note: `written by the retry at ${broken.created}, and unreadable`,
          });
          message =
            `${what.label}${forKey} failed at ${where} ("${err}"); the retry at line ${rr.line} ` +
            `printed no error but left revision ${broken.revision} of ${key} unreadable (${broken.reason}).`;
        } else if (retry) {
          const rr = retry.result!.ref;
          evidence.push({
            location: logLocation(rr),
            excerpt: excerptOf(firstNonEmpty(retry.result!.text) || '(no output)'),
            note: `retry succeeded (call at line ${retry.ref.line})`,
          });
          message = `${what.label}${forKey} failed at ${where} ("${err}"); it succeeded on retry at line ${rr.line}.`;
          severity = 'warning';
        } else {
          message = `${what.label}${forKey} failed at ${where} ("${err}") and was not retried successfully.`;
        }
        report({
          message,
          subject: sessionSubject(model, s, key),
          evidence,
          target: `${e.ref.path}#${e.id}`,
          severity,
        });
      }
    }
  },
});

type Failed = { kind: 'script'; name: string; label: string } | { kind: 'write'; label: string };

/**
 * What failed: a PEER script (read-state.sh included), a jq | nats kv put pipeline whose jq failed, or a nats kv
 * write of PEER state. Plain `nats kv get/history/ls` reads are kv-read-failure's and are not reported here.
 */
function failedThing(c: ToolCall): Failed | undefined {
  const cmd = c.command ?? '';
  const name = peerScript(cmd);
  if (name) return { kind: 'script', name, label: name };
  if (isPureRead(cmd)) return undefined;
  const write = NATS_WRITE.exec(cmd);
  if (!write || !PEER_STATE.test(cmd)) return undefined;
  if (/\bjq\b/.test(cmd) && JQ_FAILED.test(c.result?.text ?? ''))
    return { kind: 'write', label: 'the jq | nats kv pipeline' };
  return { kind: 'write', label: /\bjq\b/.test(cmd) ? 'the jq | nats kv pipeline' : `nats kv ${write[1]}` };
}

/**
 * A later call that does the same thing and succeeded: the same command, or the same script (and key) or a write of the
 * same key by the same agent.
 */
function retryOf(
  s: LogSession,
  ops: StateOp[],
  failed: ToolCall,
  what: Failed,
  key: string | undefined,
): ToolCall | undefined {
  const cmd = normalisedCommand(failed);
  for (const e of s.events) {
    if (e.kind !== 'tool' || e === failed || !e.command || !e.result || callFailed(e) || !isBefore(failed.ref, e.ref))
      continue;
    if (normalisedCommand(e) === cmd) return e;
    if (!sameActor(e.actor, failed.actor)) continue;
    const otherKey = opOf(ops, e)?.key;
    if (what.kind === 'script') {
      if (peerScript(e.command) === what.name && (key === undefined || otherKey === key)) return e;
    } else if (key !== undefined && otherKey === key && NATS_WRITE.test(e.command)) {
      return e;
    }
  }
  return undefined;
}

/** With KV: the key's latest value cannot be read and was written while the retry ran. */
function leftUnreadable(
  model: Model,
  key: string,
  retry: ToolCall,
): { revision: number; created: string; reason: string } | undefined {
  const rec = keyRecord(model, key);
  if (!rec?.invalid) return undefined;
  const at = msOf(rec.invalid.created);
  const from = msOf(retry.ref.timestamp);
  const to = msOf(retry.result?.ref.timestamp) ?? from;
  if (at === undefined || from === undefined || to === undefined) return undefined;
  if (at < from - 60_000 || at > to + 60_000) return undefined;
  return { revision: rec.invalid.revision, created: rec.invalid.created, reason: rec.invalid.reason };
}

function firstNonEmpty(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

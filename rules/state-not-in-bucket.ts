import { defineRule } from '../src/engine/rule.js';
import { cut, logLocation, stateOps, type StateOp } from '../src/model/log-facts.js';
import { keyRecord } from '../src/model/lookup.js';
import { classifyKey } from '../src/model/state.js';
import type { Evidence, Subject } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

/** State operations shown one by one; the rest are counted. */
const SHOWN = 5;
/** A key with a shell variable or a template placeholder left in it names no key. */
const UNRESOLVED = /[$`[\]<>{}*]/;

export default defineRule({
  meta: {
    id: 'state-not-in-bucket',
    severity: 'error',
    summary:
      'A transcript reads or writes PEER keys that the scanned bucket does not hold: the wrong bucket, a fresh ' +
      'server or an empty snapshot.',
    sources: ['kv', 'logs'],
    fixable: false,
    // No shorter title yet: the report has always used the summary.
    title:
      'A transcript reads or writes PEER keys that the scanned bucket does not hold: the wrong bucket, a ' +
      'fresh server or an empty snapshot.',
  },
  check({ model, report }) {
    // Only when a bucket was read: with --no-kv (or a KV source that failed) there is nothing to compare with.
    if (!model.kv) return;
    const bucket = model.bucket;
    // Keys of runs left out of the project's scope are in the bucket all the same.
    const elsewhere = new Set((model.keysOutOfScope ?? []).map((k) => k.info.key));
    for (const s of model.sessions) {
      const missing = new Map<string, StateOp[]>();
      for (const op of stateOps(s)) {
        // A failed operation left nothing behind; script-failure and kv-read-failure judge it.
        if (op.failed || !op.key || !op.key.startsWith('peer.') || UNRESOLVED.test(op.key)) continue;
        if (keyRecord(model, op.key) || elsewhere.has(op.key)) continue;
        missing.set(op.key, [...(missing.get(op.key) ?? []), op]);
      }
      if (missing.size === 0) continue;

      const keys = [...missing.keys()];
      const order = new Map(s.events.map((e, i) => [e, i]));
      const ops = [...missing.values()].flat().sort((a, b) => order.get(a.call)! - order.get(b.call)!);
      const reads = ops.filter((o) => o.kind === 'read').length;
      const writes = ops.length - reads;
      const other = otherBucket(ops, bucket);
      const evidence: Evidence[] = ops.slice(0, SHOWN).map((o) => ({
        location: logLocation(o.call.ref),
        excerpt: cut(excerptOf(o.call.command ?? o.verb, 400), 160),
        note:
          `${o.kind === 'read' ? 'reads' : 'writes'} ${o.key}${o.call.result ? ', and the call succeeded' : ''}; ` +
          `bucket ${bucket} has no such key`,
      }));
      if (ops.length > SHOWN)
        evidence[evidence.length - 1].note +=
          `; ${ops.length - SHOWN} more operation${ops.length - SHOWN === 1 ? '' : 's'} on missing keys`;
      const what = [
        writes ? `${writes} write${writes === 1 ? '' : 's'}` : '',
        reads ? `${reads} read${reads === 1 ? '' : 's'}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      const named = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ` and ${keys.length - 3} more` : '');
      const prefixes = new Set(keys.map((k) => classifyKey(k).prefix));
      const subject: Subject = {
        session: s.sessionId,
        ...(prefixes.size === 1 && [...prefixes][0] ? { keyPrefix: [...prefixes][0] } : {}),
      };
      report({
        message:
          `The transcript ${s.mainFile} shows ${what} of ${keys.length} PEER ` +
          `key${keys.length === 1 ? '' : 's'} (${named}) that bucket ${bucket} does not hold` +
          `${other ? `; the commands name bucket ${other}` : ''}: the run's state is not in the evidence ` +
          'scanned (the wrong --bucket, a fresh server, or an empty snapshot), so it cannot be judged.',
        subject,
        evidence,
        target: `${s.mainFile}#${s.sessionId}#not-in-bucket`,
      });
    }
  },
});

/** The bucket the `nats kv` commands name, when it is not the one scanned. */
function otherBucket(ops: StateOp[], scanned: string): string | undefined {
  for (const o of ops) {
    const m =
      /\bkv\s+(?:get|put|update|create|history|del|delete|purge|watch)\s+(?:-{1,2}\S+\s+)*["']?([\w-]+)["']?\s/.exec(
        o.call.command ?? '',
      );
    if (m && m[1] !== scanned && !m[1].startsWith('peer')) return m[1];
  }
  return undefined;
}

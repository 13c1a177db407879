// `peer-audit watch`: follow the PEER state bucket while a run is going and print each finding the moment a
// write makes it true, with the key and revision that did it.
//
// - Starts from the current value of every key (kv.watch's default), then follows updates; per key the model
//   keeps what arrived (up to the bucket's history), so history-based rules see every revision written since.
// - On each update only the run the key belongs to (its key prefix) is rebuilt and judged.
// - A finding is new when its fingerprint was not true for that run before the update (and is not in the
//   baseline). Findings already true at start are counted, and shown only with --initial.
// - Survives server restarts (reconnects forever, notices on stderr); SIGINT/SIGTERM end it with exit 0.
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { connect, type ConnectionOptions, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from 'nats';
import { buildModel } from '../model/build.js';
import { classifyKey } from '../model/state.js';
import type { BucketConfig, Finding, KvRevision, Severity } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import { runRules } from '../engine/run.js';
import type { Rule, RuleOptions } from '../engine/rule.js';
import { describeNatsError, displayServers, jetstreamOptions, natsConnectionOptions, type NatsErrorContext } from '../sources/kv.js';
import { formatLocation } from '../report/location.js';
import { redactDeep } from '../model/redact.js';
import { escapeControl, safeJson } from '../model/text.js';
import { BASELINE_FILE, readBaseline } from '../config/baseline.js';
import { displayPath } from '../config/config.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { parseDuration, ruleOptionsOf } from '../audit.js';
import { SourceFailure, UsageError } from '../errors.js';

export interface WatchArgs extends ConnectArgs {
  project: string;
  /** A spec name (watches peer.spec.<name>.>) or a key prefix such as peer.global. */
  spec?: string;
  format: 'stylish' | 'json';
  /** Also print the findings already true when the watch starts. */
  initial?: boolean;
  /** Print errors only. */
  quiet?: boolean;
  staleAfter?: string;
  expectReplicas?: number;
  expectHistory?: number;
  severities?: Record<string, Severity | 'off'>;
  /** Baseline file; false: none; undefined: peer-audit-baseline.json beside the config, else in the project. */
  baseline?: string | false;
  configDir?: string;
  /** Pause between reconnect attempts, ms (default 1000). */
  reconnectWaitMs?: number;
  /**
   * How long a new finding must stay true before it is printed (e.g. "1s"; "0" prints at once). PEER writes a
   * cycle and then its counter: the moment between the two writes is not a finding.
   */
  settle?: string;
}

export interface WatchIo {
  /** stdout: one finding (stylish) or one JSON object per line. */
  out(text: string): void;
  /** stderr notices. */
  notice(msg: string): void;
}

const KEY_PREFIX = /^[-\w]+(\.[-\w]+)*$/;

/** The key filter and run prefix for --spec. */
export function watchFilter(spec: string | undefined): { key: string; prefix?: string } {
  if (spec === undefined) return { key: '>' };
  const prefix = spec.startsWith('peer.') ? spec : `peer.spec.${spec}`;
  if (!KEY_PREFIX.test(prefix)) throw new UsageError(`--spec ${spec}: not a spec name or key prefix (letters, digits, "-", "_", ".")`);
  return { key: `${prefix}.>`, prefix };
}

/** The run a key belongs to: its key prefix, or the key itself for keys outside any run. */
function groupOf(key: string): string {
  return classifyKey(key).prefix ?? key;
}

/** The write that made a finding true; key null for what is true of the bucket itself at start. */
interface Cause {
  key: string | null;
  revision: number;
  operation: string | null;
  created: string | null;
}

/** The group of findings about the bucket itself (its settings), judged once with no keys at all. */
const BUCKET_GROUP = '';

export async function watchCommand(a: WatchArgs, chalk: ChalkInstance, io: WatchIo): Promise<number> {
  const o = kvOptions(a);
  const url = displayServers(o.servers);
  if (!/^[-\w]+$/.test(o.bucket)) throw new UsageError(`invalid bucket name "${o.bucket}" (allowed: letters, digits, "-" and "_")`);
  const filter = watchFilter(a.spec);
  const rules = await loadRules();
  const now0 = new Date().toISOString();
  const baseOptions = ruleOptionsOf(a, now0);
  const severities = a.severities ?? {};
  const settleMs = a.settle === undefined ? 1000 : /^\s*0+\s*$/.test(a.settle) ? 0 : parseDuration(a.settle);

  // Accepted findings stay quiet here too.
  const accepted = new Set<string>();
  if (a.baseline !== false) {
    const file = a.baseline ? path.resolve(a.baseline) : path.join(a.configDir ?? path.resolve(a.project), BASELINE_FILE);
    const b = await readBaseline(file, displayPath(file));
    if (!b && a.baseline) throw new SourceFailure(`${displayPath(file)}: no such baseline file`);
    for (const e of b?.entries ?? []) accepted.add(e.fingerprint);
  }

  // ---------------------------------------------------------------- connect (reconnecting forever)
  const ctx: NatsErrorContext = { url, timeoutMs: o.timeoutMs, phase: 'connect', bucket: o.bucket, credsFile: o.credsFile };
  let copts: ConnectionOptions;
  try {
    copts = natsConnectionOptions(o);
  } catch (err) {
    throw new SourceFailure((err as Error).message);
  }
  copts = { ...copts, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: a.reconnectWaitMs ?? 1000, waitOnFirstConnect: false };
  const nc = await connectGuarded(copts, o.timeoutMs, ctx);

  let stopping = false;
  let watcher: QueuedIterator<KvEntry> | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    watcher?.stop();
    // Nothing is published, so there is nothing to drain: close at once.
    nc.close().catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    let kv: KV;
    let config: BucketConfig;
    let lastSeq: number;
    try {
      ctx.phase = 'jetstream';
      const js = nc.jetstream(jetstreamOptions(o));
      kv = await js.views.kv(o.bucket, { bindOnly: true });
      ctx.phase = 'bucket';
      const st = await kv.status();
      config = { history: st.history, replicas: st.replicas, ttlMs: st.ttl, storage: String(st.storage), description: st.description, maxValueSize: st.maxValueSize };
      lastSeq = st.streamInfo.state.last_seq;
    } catch (err) {
      if (stopping) return 0; // Ctrl-C while binding the bucket
      throw new SourceFailure(describeNatsError(err, ctx));
    }
    const keep = Math.max(1, config.history ?? 1);

    // Connection notices: the status iterator ends when the connection closes.
    void (async () => {
      let down = false;
      for await (const s of nc.status()) {
        if (stopping) break;
        if (s.type === 'disconnect' && !down) {
          down = true;
          io.notice(`lost the connection to ${url}; reconnecting…`);
        } else if (s.type === 'reconnect') {
          down = false;
          io.notice(`reconnected to ${url}`);
          // Go on from the last revision seen at once, instead of waiting for the consumer's heartbeats to lapse.
          watcher?.stop();
        }
      }
    })().catch(() => undefined);

    // ---------------------------------------------------------------- state and judging
    const keys = new Map<string, KvRevision[]>();
    const active = new Map<string, Set<string>>(); // group → fingerprints true after its last evaluation
    const refs = new Map<string, number>(); // fingerprint → number of groups it is true in
    const failedRules = new Set<string>();
    const latest = new Map<string, Finding>(); // fingerprint → the finding as last judged
    // New findings waiting out the settle time: printed if still true then, with the write that made them true.
    const pending = new Map<string, { group: string; cause: Cause; timer: NodeJS.Timeout }>();

    const ingest = (e: KvEntry): boolean => {
      const list = keys.get(e.key) ?? [];
      if (list.length > 0 && list[list.length - 1].revision >= e.revision) return false; // redelivered
      if (e.operation === 'PURGE') list.length = 0;
      list.push({ key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString(), value: new Uint8Array(e.value) });
      if (list.length > keep) list.splice(0, list.length - keep);
      keys.set(e.key, list);
      if (e.revision > lastSeq) lastSeq = e.revision;
      return true;
    };

    const judge = (group: string): Finding[] => {
      const subset = new Map<string, KvRevision[]>();
      for (const [k, revs] of keys) if (groupOf(k) === group) subset.set(k, revs);
      const now = new Date().toISOString();
      const model = buildModel({
        projectRoot: path.resolve(a.project),
        bucket: o.bucket,
        kv: { bucket: o.bucket, origin: 'live', originRef: url, takenAt: now, config, serverVersion: nc.info?.version, keys: subset },
      });
      const options: RuleOptions = { ...baseOptions, now };
      const { findings, failures } = runRules(model, rules as Rule[], options, severities);
      for (const f of failures) {
        if (failedRules.has(f.ruleId)) continue;
        failedRules.add(f.ruleId);
        io.notice(`rule ${f.ruleId} failed: ${f.error.split('\n')[0]}`);
      }
      return findings;
    };

    /** Re-judge a group; returns the findings that just became true (and are not true elsewhere or accepted). */
    const update = (group: string): Finding[] => {
      const before = active.get(group) ?? new Set<string>();
      const findings = judge(group);
      const after = new Set(findings.map((f) => f.fingerprint));
      const fresh = findings.filter((f) => !before.has(f.fingerprint) && !(refs.get(f.fingerprint) ?? 0) && !accepted.has(f.fingerprint));
      for (const fp of before) if (!after.has(fp)) refs.set(fp, (refs.get(fp) ?? 1) - 1);
      for (const fp of after) if (!before.has(fp)) refs.set(fp, (refs.get(fp) ?? 0) + 1);
      active.set(group, after);
      for (const f of findings) latest.set(f.fingerprint, f);
      for (const fp of before) {
        const p = after.has(fp) ? undefined : pending.get(fp);
        if (p) {
          clearTimeout(p.timer); // true only for a moment
          pending.delete(fp);
        }
      }
      return fresh;
    };

    const print = (found: Finding, cause: Cause, initial: boolean) => {
      if (a.quiet && found.severity !== 'error') return;
      // Masked like every report: a finding printed as it happens quotes the same state values and logs.
      const f = redactDeep(found).value;
      if (a.format === 'json') {
        io.out(
          `${safeJson({
            event: 'finding',
            time: new Date().toISOString(),
            key: cause.key,
            revision: cause.revision,
            operation: cause.operation,
            created: cause.created,
            ...(initial ? { initial: true } : {}),
            ruleId: f.ruleId,
            severity: f.severity,
            fingerprint: f.fingerprint,
            message: f.message,
            subject: f.subject,
            evidence: f.evidence,
          }, 0)}\n`,
        );
        return;
      }
      const sev = f.severity === 'error' ? chalk.red('error  ') : f.severity === 'warning' ? chalk.yellow('warning') : chalk.blue('info   ');
      const lines = [
        `${chalk.dim(new Date().toISOString().slice(11, 19))}  ${chalk.underline(escapeControl(cause.key ? `${cause.key}@${cause.revision}` : `bucket ${o.bucket}`))}${cause.operation && cause.operation !== 'PUT' ? ` (${cause.operation})` : ''}${initial ? chalk.dim(' (already true at start)') : ''}`,
        `  ${sev}  ${chalk.bold(f.ruleId)}  ${escapeControl(f.message)}`,
      ];
      for (const e of f.evidence) {
        const note = e.note ? chalk.dim(` — ${escapeControl(e.note)}`) : '';
        lines.push(`      ${chalk.cyan(escapeControl(formatLocation(e.location)))}${note}`);
        if (e.excerpt) lines.push(`        ${chalk.gray(escapeControl(e.excerpt))}`);
      }
      io.out(`${lines.join('\n')}\n\n`);
    };

    let initialized = false;
    const initialize = () => {
      if (initialized) return;
      initialized = true;
      let present = 0;
      // The findings already true are printed after the `watching` event, which comes first (as documented).
      const initialPrints: Array<() => void> = [];
      // The bucket's own findings first: every run's model repeats them, and none of them is new.
      // With --spec they are not about the spec watched: judged, not shown.
      const bucketLevel = update(BUCKET_GROUP);
      if (!filter.prefix) {
        present += bucketLevel.length;
        if (a.initial) for (const f of bucketLevel) initialPrints.push(() => print(f, { key: null, revision: lastSeq, operation: null, created: null }, true));
      }
      const groups = new Set([...keys.keys()].map(groupOf));
      for (const g of [...groups].sort()) {
        const fresh = update(g);
        present += fresh.length;
        if (a.initial) {
          for (const f of fresh) {
            const loc = f.evidence.find((e) => e.location.kind === 'kv')?.location;
            const key = loc?.kind === 'kv' ? loc.key : g;
            const last = keys.get(key)?.at(-1);
            const cause = { key, revision: loc?.kind === 'kv' ? loc.revision : (last?.revision ?? 0), operation: last?.operation ?? 'PUT', created: last?.created ?? null };
            initialPrints.push(() => print(f, cause, true));
          }
        }
      }
      const what = `${o.bucket} on ${url}${filter.prefix ? ` (${filter.prefix}.>)` : ''}`;
      if (a.format === 'json') {
        io.out(`${JSON.stringify({ event: 'watching', time: new Date().toISOString(), bucket: o.bucket, server: url, key: filter.key, keys: keys.size, revision: lastSeq, present })}\n`);
      }
      io.notice(
        `watching ${what}: ${keys.size} key${keys.size === 1 ? '' : 's'} at revision ${lastSeq}, ${present} finding${present === 1 ? '' : 's'} already true` +
          (present && !a.initial ? ' (not shown; --initial shows them, `peer-audit scan` explains them)' : '') +
          '. Ctrl-C to stop.',
      );
      for (const p of initialPrints) p();
    };

    const onEntry = (e: KvEntry) => {
      if (!ingest(e)) return;
      if (!initialized) return;
      const cause: Cause = { key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString() };
      const group = groupOf(e.key);
      for (const f of update(group)) {
        if (settleMs === 0) {
          print(f, cause, false);
          continue;
        }
        const fp = f.fingerprint;
        pending.set(fp, { group, cause, timer: setTimeout(() => settle(fp), settleMs) });
      }
    };

    const settle = (fp: string) => {
      const p = pending.get(fp);
      if (!p) return;
      pending.delete(fp);
      const f = latest.get(fp);
      if (f && active.get(p.group)?.has(fp)) print(f, p.cause, false);
    };

    /** On the way out: what is pending is true right now, so it is printed. */
    const flushPending = () => {
      for (const [fp, p] of [...pending]) {
        clearTimeout(p.timer);
        settle(fp);
      }
    };

    // ---------------------------------------------------------------- follow the bucket
    // Until the initial values are all in, each attempt starts from the current values again (entries already
    // held are skipped by revision); after that, an attempt goes on from the last revision seen.
    // initializedFn may run inside watch() before it resolves (empty bucket, or everything already queued): it
    // must not touch the iterator, and then the entries queued by that time are the initial values.
    let attempt = 0;
    while (!stopping) {
      attempt += 1;
      const initial = !initialized;
      let readyEarly = false;
      let resolved = false;
      let it: QueuedIterator<KvEntry>;
      try {
        it = await kv.watch(
          initial
            ? {
                key: filter.key,
                initializedFn: () => {
                  if (!resolved) readyEarly = true;
                  else initialize();
                },
              }
            : { key: filter.key, resumeFromRevision: lastSeq + 1 },
        );
      } catch (err) {
        if (stopping) break;
        if (attempt === 1) throw new SourceFailure(describeNatsError(err, { ...ctx, phase: 'read' }));
        await new Promise((r) => setTimeout(r, a.reconnectWaitMs ?? 1000));
        continue;
      }
      watcher = it;
      if (stopping) it.stop();
      resolved = true;
      const initialCount = initial && readyEarly ? it.getReceived() : undefined;
      if (initialCount === 0) initialize();
      let processed = 0;
      // Fallback: an ordered-consumer reset during the initial delivery can swallow initializedFn; the initial
      // values arrive back to back, so a pause in them means they are all in.
      let fallback: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(fallback);
        if (!initialized) fallback = setTimeout(() => initialize(), Math.max(2_000, o.timeoutMs));
      };
      arm();
      try {
        for await (const e of it) {
          onEntry(e);
          processed += 1;
          if (initialCount !== undefined && processed === initialCount) initialize();
          if (!initialized) arm();
        }
      } catch (err) {
        if (!stopping) io.notice(`the watch stopped: ${describeNatsError(err, { ...ctx, phase: 'read' })}; starting it again`);
      } finally {
        clearTimeout(fallback);
      }
      if (stopping || nc.isClosed()) break;
    }
    flushPending();
    if (!stopping && nc.isClosed()) {
      const err = await nc.closed();
      throw new SourceFailure(err ? describeNatsError(err, { ...ctx, phase: 'read' }) : `the connection to ${url} closed`);
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    stopping = true;
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

/** connect() with a guard timer: the first connection must succeed within the timeout (then reconnects are forever). */
async function connectGuarded(copts: ConnectionOptions, timeoutMs: number, ctx: NatsErrorContext): Promise<NatsConnection> {
  const servers = Array.isArray(copts.servers) ? copts.servers.length : 1;
  const budget = Math.max(1, timeoutMs) * Math.max(1, servers) + 1_000;
  let pending: Promise<NatsConnection>;
  try {
    pending = connect(copts);
  } catch (err) {
    throw new SourceFailure(describeNatsError(err, ctx));
  }
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' })), budget);
  });
  try {
    return await Promise.race([pending, guard]);
  } catch (err) {
    pending.then((nc) => nc.close()).catch(() => undefined);
    throw new SourceFailure(describeNatsError(err, ctx));
  } finally {
    clearTimeout(timer);
  }
}

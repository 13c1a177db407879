// `peer-audit watch`: follow the PEER state bucket while a run is going and print each finding the moment a
// write makes it true, with the key and revision that did it.
//
// - Starts from the current value of every key (kv.watch's default), then follows updates; per key the model
//   keeps what arrived (up to the bucket's history), so history-based rules see every revision written since.
// - On each update only the run the key belongs to (its key prefix) is rebuilt and judged.
// - A finding is new when its fingerprint was not true for that run before the update (and is not in the
//   baseline). Findings already true at start are counted, and shown only with --initial.
// - Survives server restarts (reconnects forever, notices on stderr); SIGINT/SIGTERM end it with exit 0.
//
// The parts: watch-connection.ts (connect, bind, connection notices), watch-follow.ts (the loop over the bucket),
// watch-findings.ts (judging and which findings are new), watch-render.ts (what is printed).
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import type { KvEntry, QueuedIterator } from 'nats';
import type { Finding, Severity } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import type { Rule } from '../engine/rule.js';
import { describeNatsError, displayServers, type NatsErrorContext } from '../sources/kv.js';
import { BASELINE_FILE, readBaseline } from '../config/baseline.js';
import { displayPath } from '../config/config.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { parseDuration, ruleOptionsOf } from '../audit.js';
import { SourceFailure, UsageError } from '../errors.js';
import { bindBucket, connectForWatch, noticeConnectionChanges, type BoundBucket } from './watch-connection.js';
import { followBucket } from './watch-follow.js';
import { FindingTracker, keysJudge, type Cause } from './watch-findings.js';
import { renderFinding, watchingEvent, watchingNotice } from './watch-render.js';

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
  if (!KEY_PREFIX.test(prefix))
    throw new UsageError(`--spec ${spec}: not a spec name or key prefix (letters, digits, "-", "_", ".")`);
  return { key: `${prefix}.>`, prefix };
}

/** --settle: "0" prints at once; the default is 1 s. */
function settleMsOf(settle: string | undefined): number {
  return settle === undefined ? 1000 : /^\s*0+\s*$/.test(settle) ? 0 : parseDuration(settle);
}

/** The fingerprints the baseline accepts: they stay quiet here too. */
async function acceptedFingerprints(a: WatchArgs): Promise<Set<string>> {
  const accepted = new Set<string>();
  if (a.baseline !== false) {
    const file = a.baseline
      ? path.resolve(a.baseline)
      : path.join(a.configDir ?? path.resolve(a.project), BASELINE_FILE);
    const b = await readBaseline(file, displayPath(file));
    if (!b && a.baseline) throw new SourceFailure(`${displayPath(file)}: no such baseline file`);
    for (const e of b?.entries ?? []) accepted.add(e.fingerprint);
  }
  return accepted;
}

export async function watchCommand(a: WatchArgs, chalk: ChalkInstance, io: WatchIo): Promise<number> {
  const o = kvOptions(a);
  const url = displayServers(o.servers);
  if (!/^[-\w]+$/.test(o.bucket)) {
    throw new UsageError(`invalid bucket name "${o.bucket}" (allowed: letters, digits, "-" and "_")`);
  }
  const filter = watchFilter(a.spec);
  const rules = await loadRules();
  const baseOptions = ruleOptionsOf(a, new Date().toISOString());
  const severities = a.severities ?? {};
  const settleMs = settleMsOf(a.settle);
  const accepted = await acceptedFingerprints(a);

  const nc = await connectForWatch(o, a.reconnectWaitMs ?? 1000);
  // How NATS failures are told from here on: bindBucket names its own steps, and after it everything is a read.
  const ctx: NatsErrorContext = {
    url,
    timeoutMs: o.timeoutMs,
    phase: 'read',
    bucket: o.bucket,
    credsFile: o.credsFile,
  };
  const notice = (msg: string) => io.notice(msg);

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
    let bucket: BoundBucket;
    try {
      bucket = await bindBucket(nc, o, ctx);
    } catch (err) {
      if (stopping) return 0; // Ctrl-C while binding the bucket
      throw err;
    }
    // Go on from the last revision seen at once after a reconnect, instead of waiting for the consumer's
    // heartbeats to lapse.
    noticeConnectionChanges(
      nc,
      url,
      notice,
      () => stopping,
      () => watcher?.stop(),
    );

    const render = { format: a.format, chalk, bucket: o.bucket };
    const print = (f: Finding, cause: Cause, initial: boolean) => {
      if (a.quiet && f.severity !== 'error') return;
      io.out(renderFinding(f, cause, initial, render));
    };
    const judge = keysJudge({
      projectRoot: path.resolve(a.project),
      bucket: o.bucket,
      url,
      config: bucket.config,
      serverVersion: () => nc.info?.version,
      rules: rules as Rule[],
      options: baseOptions,
      severities,
      notice,
    });
    const keep = Math.max(1, bucket.config.history ?? 1);
    const show = (f: Finding, cause: Cause) => print(f, cause, false);
    const tracker = new FindingTracker({ judge, keep, accepted, settleMs, lastSeq: bucket.lastSeq, show });

    /** The initial values are in: say what is watched and what is already true (printed after, with --initial). */
    const start = () => {
      const { bucket: ofBucket, runs } = tracker.judgeAll();
      // With --spec the bucket's own findings are not about the spec watched: judged, not shown.
      const present = [...(filter.prefix ? [] : ofBucket), ...runs];
      const started = {
        bucket: o.bucket,
        url,
        filter,
        keys: tracker.keys.size,
        revision: tracker.lastSeq,
        present: present.length,
        shown: a.initial === true,
      };
      // The `watching` event comes first (as documented), then the findings already true.
      if (a.format === 'json') io.out(watchingEvent(started));
      io.notice(watchingNotice(started));
      if (a.initial) for (const p of present) print(p.finding, p.cause, true);
    };

    await followBucket(
      bucket.kv,
      filter.key,
      {
        entry: (e, started) => {
          if (tracker.ingest(e) && started) tracker.written(e);
        },
        start,
        lastRevision: () => tracker.lastSeq,
      },
      {
        stopping: () => stopping,
        closed: () => nc.isClosed(),
        use: (it) => {
          watcher = it;
        },
        notice,
        describe: (err) => describeNatsError(err, ctx),
        retryMs: a.reconnectWaitMs ?? 1000,
        timeoutMs: o.timeoutMs,
      },
    );
    tracker.flush();
    if (!stopping && nc.isClosed()) {
      const err = await nc.closed();
      throw new SourceFailure(err ? describeNatsError(err, ctx) : `the connection to ${url} closed`);
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    stopping = true;
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

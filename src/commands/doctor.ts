// `peer-audit doctor`: can a scan read everything it would read? One line per check, and what to do about each
// failure. It never writes to the bucket: the server's clock is read from the bucket's stream info (nats-server
// 2.10+), else from a message in a temporary in-memory stream that is deleted at once.

import { humanDuration } from '../model/duration.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import fg from 'fast-glob';
import { nuid, StorageType, type JetStreamManager, type KvStatus, type NatsConnection } from 'nats';
import {
  bucketMissingMessage,
  closeNats,
  connectNats,
  describeNatsError,
  displayServers,
  jetstreamOptions,
  jsRoute,
  type KvConnectOptions,
} from '../sources/kv.js';
import { NatsContextError } from '../sources/nats-context.js';
import { defaultLogDirs } from '../sources/logs.js';
import { displayPath } from '../sources/paths.js';
import { resolveConnect, type ConnectArgs, type ResolvedConnect } from './options.js';
import { writeOutput } from './output.js';

export interface DoctorArgs extends ConnectArgs {
  project: string;
  specs?: string;
  logs?: string[];
  /** false: transcripts are not read (`--no-logs`). */
  useLogs: boolean;
  expectReplicas: number;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  status: CheckStatus;
  name: string;
  text: string;
}

const EXPECT_HISTORY = 50;
/** More clock difference than this makes rules that compare transcript times with revision times unreliable. */
const CLOCK_TOLERANCE_MS = 1_000;

export async function runDoctor(a: DoctorArgs): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (status: CheckStatus, name: string, text: string) => checks.push({ status, name, text });

  // ------------------------------------------------------------ where to connect
  let resolved: ResolvedConnect | undefined;
  try {
    resolved = resolveConnect(a);
  } catch (e) {
    if (!(e instanceof NatsContextError)) throw e;
    add(
      'fail',
      'context',
      `${e.message}: fix it, choose another context with --context, or use none with --no-context`,
    );
  }
  if (resolved) {
    const c = resolved.context;
    if (c) {
      const by =
        c.selectedBy === 'flag' ? '--context' : c.selectedBy === 'env' ? '$NATS_CONTEXT' : "the nats CLI's selection";
      add('ok', 'context', `"${c.name}" (${c.file}, chosen by ${by})${c.description ? `: ${c.description}` : ''}`);
    } else {
      add(
        'ok',
        'context',
        a.context === false ? 'none (--no-context)' : 'none selected: flags, environment and defaults only',
      );
    }
    await natsChecks(resolved, a, add);
  }

  // ------------------------------------------------------------ files
  await folderChecks(a, add);
  return checks;
}

const ORIGIN: Record<ResolvedConnect['serverOrigin'], string> = {
  flag: '--server',
  env: '$NATS_URL',
  context: 'the NATS context',
  default: 'the default',
};

async function natsChecks(
  r: ResolvedConnect,
  a: DoctorArgs,
  add: (s: CheckStatus, n: string, t: string) => void,
): Promise<void> {
  const o = r.options;
  const url = displayServers(o.servers);
  let nc: NatsConnection;
  try {
    nc = await connectNats(o);
  } catch (e) {
    const from =
      r.serverOrigin === 'context' || r.serverOrigin === 'env'
        ? ` [the server list comes from ${ORIGIN[r.serverOrigin]}]`
        : '';
    add('fail', 'nats', `${(e as Error).message}${from}`);
    return;
  }
  try {
    let rtt = '';
    try {
      const ms = await nc.rtt();
      rtt = `; round trip ${ms < 1 ? '<1' : ms} ms`;
    } catch {
      rtt = '; round trip not measured';
    }
    const info = nc.info;
    const server =
      `nats-server ${info?.version ?? '?'}` +
      `${info?.server_name && info.server_name !== info.server_id ? ` "${info.server_name}"` : ''}`;
    const tls = info?.tls_required || o.tls ? `, TLS${o.tls?.cert ? ' with a client certificate' : ''}` : '';
    add(
      'ok',
      'nats',
      `${info?.tls_required || o.tls ? 'tls' : 'nats'}://${nc.getServer()} (from ${ORIGIN[r.serverOrigin]}): ` +
        `${server}${authText(o)}${tls}${rtt}`,
    );

    // ---------------------------------------------------------- JetStream
    const jsOpts = jetstreamOptions(o);
    let jsm: JetStreamManager;
    try {
      jsm = await nc.jetstreamManager(jsOpts);
      const acct = await jsm.getAccountInfo();
      const where = acct.domain ? ` (domain ${acct.domain})` : '';
      add(
        'ok',
        'jetstream',
        `enabled${where}: this account has ${plural(acct.streams, 'stream')}, ${plural(acct.consumers, 'consumer')}`,
      );
    } catch (e) {
      const code = (e as { code?: string }).code;
      const route = jsRoute(o);
      if (code === '503' && !route)
        add(
          'fail',
          'jetstream',
          `JetStream is not enabled on ${url}: ` +
            `start nats-server with -js (or a jetstream {} block in its configuration)`,
        );
      else
        add(
          'fail',
          'jetstream',
          describeNatsError(e, { url, timeoutMs: o.timeoutMs, phase: 'jetstream', jsRoute: route }),
        );
      return;
    }

    // ---------------------------------------------------------- the bucket
    const js = nc.jetstream(jsOpts);
    let st: KvStatus | undefined;
    let statusStart = 0;
    let statusEnd = 0;
    try {
      const kv = await js.views.kv(o.bucket, { bindOnly: true });
      statusStart = Date.now();
      st = await kv.status();
      statusEnd = Date.now();
    } catch (e) {
      const msg = describeNatsError(e, { url, timeoutMs: o.timeoutMs, phase: 'bucket', bucket: o.bucket });
      add(
        'fail',
        'bucket',
        msg === bucketMissingMessage(o.bucket, url) ? `${msg}; or point --bucket at the bucket PEER writes` : msg,
      );
    }
    if (st) {
      const state = st.streamInfo.state;
      const keys = state.num_subjects;
      add(
        'ok',
        'bucket',
        `${o.bucket}: ${keys === undefined ? '' : `${plural(keys, 'key')}, `}` +
          `${plural(state.messages, 'revision')} stored, ${String(st.storage)} storage`,
      );
      bucketConfigChecks(st, o, a.expectReplicas, add);
    }

    // ---------------------------------------------------------- the clock
    add(...(await clockCheck(nc, jsm, o, st, statusStart, statusEnd)));
  } finally {
    await closeNats(nc, o.timeoutMs);
  }
}

function authText(o: KvConnectOptions): string {
  if (o.credsFile) return `, creds ${o.credsFile}`;
  if (o.nkeyFile) return `, nkey ${o.nkeyFile}`;
  if (o.userJwt) return ', user JWT';
  if (o.user && o.password) return `, user "${o.user}"`;
  if (o.token || o.user) return ', token';
  const inUrl = /^[a-z][a-z0-9+.-]*:\/\/([^/@,]*)@/i.exec(o.servers.trim())?.[1];
  if (inUrl !== undefined)
    return inUrl.includes(':')
      ? `, user "${decodeURIComponentSafe(inUrl.slice(0, inUrl.indexOf(':')))}" (from the URL)`
      : ', token (from the URL)';
  return '';
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function bucketConfigChecks(
  st: KvStatus,
  o: KvConnectOptions,
  expectReplicas: number,
  add: (s: CheckStatus, n: string, t: string) => void,
): void {
  const stream = `KV_${o.bucket}`;
  if (st.history <= 1) {
    add(
      'warn',
      'history',
      `${st.history}: every write replaces the previous value, so there is no trail to audit ` +
        `(lost updates and the order of the phases cannot be proved). ` +
        `Take a snapshot, then: nats stream edit ${stream} --max-msgs-per-subject=${EXPECT_HISTORY}`,
    );
  } else if (st.history < EXPECT_HISTORY) {
    add(
      'warn',
      'history',
      `${st.history}: only the last ${st.history} revisions of each key are kept, ` +
        `fewer than PEER's ${EXPECT_HISTORY}. ` +
        `Raise it: nats stream edit ${stream} --max-msgs-per-subject=${EXPECT_HISTORY}`,
    );
  } else {
    add('ok', 'history', `${st.history} revisions kept per key`);
  }
  if (st.replicas < expectReplicas) {
    const risk =
      st.replicas === 1
        ? 'the state lives on one server, and one lost disk loses it'
        : 'fewer copies than PEER creates';
    add(
      'warn',
      'replicas',
      `${st.replicas}, expected ${expectReplicas}: ${risk} ` +
        `(more than one replica needs a NATS cluster: nats stream edit ${stream} --replicas=${expectReplicas})`,
    );
  } else {
    add('ok', 'replicas', `${st.replicas}`);
  }
}

/** Server clock minus this machine's clock, in ms, with its uncertainty: half the round trip of the request. */
function offsetText(offsetMs: number, uncertaintyMs: number, how: string): [CheckStatus, string, string] {
  const abs = Math.abs(offsetMs);
  const pm = `±${Math.max(1, Math.round(uncertaintyMs))} ms`;
  if (abs - uncertaintyMs > CLOCK_TOLERANCE_MS) {
    const dir = offsetMs > 0 ? 'ahead of' : 'behind';
    return [
      'warn',
      'clock',
      `the server is ${seconds(abs)} ${dir} this machine (${pm}; ${how}): ` +
        `rules that compare transcript times with revision times (read-before-write, stale-cycle) may misjudge; ` +
        `synchronise both clocks (NTP)`,
    ];
  }
  return ['ok', 'clock', `the server and this machine agree within ${Math.max(1, Math.round(abs))} ms (${pm}; ${how})`];
}

async function clockCheck(
  nc: NatsConnection,
  jsm: JetStreamManager,
  o: KvConnectOptions,
  st: KvStatus | undefined,
  statusStart: number,
  statusEnd: number,
): Promise<[CheckStatus, string, string]> {
  // 1. nats-server 2.10+ stamps stream info with its own time: no write at all.
  const ts = (st?.streamInfo as { ts?: unknown } | undefined)?.ts;
  if (typeof ts === 'string' && Number.isFinite(Date.parse(ts))) {
    return offsetText(
      Date.parse(ts) - (statusStart + statusEnd) / 2,
      (statusEnd - statusStart) / 2,
      "from the bucket's stream info",
    );
  }

  // 2. A message in a private temporary stream: its stored time is the server's clock. Never the user's bucket.
  const id = nuid.next();
  const name = `PEER_AUDIT_CLOCK_${id}`;
  const subject = `_PEER_AUDIT.clock.${id}`;
  let created = false;
  let why = '';
  try {
    await jsm.streams.add({
      name,
      subjects: [subject],
      storage: StorageType.Memory,
      max_msgs: 1,
      max_age: 60_000_000_000,
      num_replicas: 1,
    });
    created = true;
    const js = nc.jetstream(jetstreamOptions(o));
    const t0 = Date.now();
    const ack = await js.publish(subject, new Uint8Array(0), { expect: { streamName: name } });
    const t1 = Date.now();
    const msg = await jsm.streams.getMessage(name, { seq: ack.seq });
    return offsetText(
      msg.time.getTime() - (t0 + t1) / 2,
      (t1 - t0) / 2,
      `from a temporary in-memory stream, deleted again`,
    );
  } catch (e) {
    why =
      (e as { code?: string }).code === 'PERMISSIONS_VIOLATION'
        ? 'no permission to create a stream'
        : describeNatsError(e, { url: displayServers(o.servers), timeoutMs: o.timeoutMs, phase: 'write' });
  } finally {
    if (created) {
      await jsm.streams.delete(name).catch(() => {
        why = `${why ? `${why}; ` : ''}the temporary stream ${name} could not be deleted (nats stream rm ${name} -f)`;
      });
    }
  }

  // 3. Without a way to read the server's clock, the newest revision's time is a bound, not a measurement.
  const note = `not measured: a temporary stream could not be used (${why})`;
  const lastTs = st?.streamInfo.state.last_ts;
  const last = lastTs ? Date.parse(lastTs) : NaN;
  if (!st || st.streamInfo.state.messages === 0 || !Number.isFinite(last) || last <= 0) {
    return ['warn', 'clock', `${note}, and the bucket holds no revision to bound it with`];
  }
  const lead = last - statusEnd;
  if (lead > CLOCK_TOLERANCE_MS) {
    return [
      'warn',
      'clock',
      `the server is at least ${seconds(lead)} ahead of this machine: ` +
        `the newest revision is stamped ${seconds(lead)} in this machine's future (${note})`,
    ];
  }
  return [
    'warn',
    'clock',
    `${note}; the newest revision's time only shows the server is at most ${seconds(Math.max(0, -lead))} ` +
      `behind this machine (how far ahead it may be cannot be told)`,
  ];
}

// ------------------------------------------------------------------ folders

async function folderChecks(a: DoctorArgs, add: (s: CheckStatus, n: string, t: string) => void): Promise<void> {
  const projectRoot = path.resolve(a.project);
  const pst = await fs.stat(projectRoot).catch(() => undefined);
  if (!pst?.isDirectory()) {
    add('fail', 'project', `project folder ${a.project} does not exist: pass the project root with --project`);
    return;
  }

  // Spec folders
  const specsAbs = a.specs ? path.resolve(a.specs) : path.join(projectRoot, '.agent-os', 'specs');
  const shown = displayPath(specsAbs, projectRoot);
  const sst = await fs.stat(specsAbs).catch((e: NodeJS.ErrnoException) => e);
  if (sst instanceof Error) {
    if (sst.code === 'ENOENT' && !a.specs)
      add(
        'warn',
        'specs',
        `${shown} does not exist in ${projectRoot}: a scan reads no spec folders (is --project the project root?)`,
      );
    else add('fail', 'specs', `cannot read spec folder ${shown}: ${sst.code ?? sst.message} (fix --specs)`);
  } else if (!sst.isDirectory()) {
    add('fail', 'specs', `spec folder ${shown} is not a directory (fix --specs)`);
  } else {
    const entries = await fs.readdir(specsAbs, { withFileTypes: true });
    const folders = entries.filter((e) => e.isDirectory()).length;
    const files = await fg('**/*', { cwd: specsAbs, onlyFiles: true, dot: false });
    const product = await fg('**/*', { cwd: path.join(projectRoot, '.agent-os', 'product'), onlyFiles: true }).catch(
      () => [] as string[],
    );
    const more = product.length > 0 ? ` (and ${plural(product.length, 'product file')})` : '';
    if (folders === 0) add('warn', 'specs', `${shown}: no spec folders yet${more}`);
    else add('ok', 'specs', `${shown}: ${plural(folders, 'spec folder')}, ${plural(files.length, 'file')}${more}`);
  }

  // Transcripts
  if (!a.useLogs) {
    add('ok', 'logs', 'not read (--no-logs / --no-default-logs)');
    return;
  }
  if (a.logs && a.logs.length > 0) {
    const missing: string[] = [];
    let count = 0;
    let bytes = 0;
    for (const pattern of a.logs) {
      const found = await logFiles(pattern);
      if (found.length === 0) missing.push(pattern);
      count += found.length;
      for (const f of found) bytes += (await fs.stat(f).catch(() => undefined))?.size ?? 0;
    }
    if (missing.length > 0)
      add('fail', 'logs', `no transcript (.jsonl) found for ${missing.map((m) => `"${m}"`).join(', ')}: fix --logs`);
    else add('ok', 'logs', `${plural(count, 'transcript file')} (${size(bytes)}) from ${a.logs.join(', ')}`);
    return;
  }
  const dirs = defaultLogDirs(projectRoot);
  if (dirs.length === 0) {
    const encoded = projectRoot.replace(/[^A-Za-z0-9]/g, '-');
    const where = path.join(process.env.CLAUDE_CONFIG_DIR || '~/.claude', 'projects', encoded);
    add(
      'warn',
      'logs',
      `no Claude Code log folder for this project (${where}): a scan reads no transcripts; pass --logs DIR|GLOB`,
    );
    return;
  }
  let count = 0;
  let bytes = 0;
  for (const d of dirs) {
    for (const f of await logFiles(d)) {
      count += 1;
      bytes += (await fs.stat(f).catch(() => undefined))?.size ?? 0;
    }
  }
  add(
    count > 0 ? 'ok' : 'warn',
    'logs',
    `${dirs.join(', ')} (Claude Code's folder for this project): ${plural(count, 'transcript file')} (${size(bytes)})`,
  );
}

/** The .jsonl files a --logs value names: a file, a folder (searched recursively) or a glob. */
async function logFiles(pattern: string): Promise<string[]> {
  const abs = path.resolve(pattern);
  const st = await fs.stat(abs).catch(() => undefined);
  if (st?.isFile()) return [abs];
  const matches = st?.isDirectory()
    ? await fg('**/*.jsonl', { cwd: abs, absolute: true, dot: true, onlyFiles: true })
    : fg.isDynamicPattern(pattern)
      ? await fg(pattern.split(path.sep).join('/'), { absolute: true, dot: true, onlyFiles: true })
      : [];
  return matches.filter((m) => !m.endsWith('.meta.json'));
}

// ------------------------------------------------------------------ output

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  if (Math.abs(ms) >= 60_000) return humanDuration(ms);
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatChecks(checks: Check[], chalk: ChalkInstance): string {
  const mark = { ok: chalk.green('✔'), warn: chalk.yellow('⚠'), fail: chalk.red('✖') };
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${mark[c.status]} ${c.name.padEnd(width)}  ${c.text}`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  const w = warned ? `, ${plural(warned, 'warning')}` : '';
  lines.push(
    failed
      ? chalk.red(`✖ ${plural(failed, 'check')} failed${w}: a scan would not read everything`)
      : warned
        ? chalk.yellow(`⚠ ready, with ${plural(warned, 'warning')}`)
        : chalk.green(`✔ ready: all ${checks.length} checks passed`),
  );
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(a: DoctorArgs, chalk: ChalkInstance): Promise<number> {
  const checks = await runDoctor(a);
  await writeOutput(formatChecks(checks, chalk));
  return checks.some((c) => c.status === 'fail') ? 2 : 0;
}

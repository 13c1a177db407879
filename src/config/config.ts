// peer-audit.config.json: rule severities, rule options and source defaults for a project.
//
// Found by walking up from the current folder to the git root (the first folder holding `.git`; without git,
// the filesystem root), or named with --config. Precedence: flags > environment > config > built-in defaults.
// Relative paths in the file are relative to the file's folder, and that folder is the default project root.
//
// Every command loads this module (the middleware below): the file's schema lives in config-file.ts, and the
// modules only --print-config needs are loaded when it is given.
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Severity } from '../model/types.js';
import { loadRules } from '../engine/registry.js';
import { DEFAULT_RULE_OPTIONS } from '../engine/rule.js';
import { CliExit, ConfigError } from '../errors.js';
import { safeJson } from '../model/text.js';
import type { PeerAuditConfig } from './config-file.js';

export type { PeerAuditConfig } from './config-file.js';

export const CONFIG_FILE = 'peer-audit.config.json';
export const SEVERITY_SETTINGS = ['off', 'info', 'warning', 'error'] as const;

/** Where evidence is read from when neither a flag, the environment, a NATS context nor the config says. */
export const DEFAULT_BUCKET = 'agent-os-peer-state';
export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';

/** The config in use for this invocation. */
export interface ActiveConfig {
  /** Absolute path of the config file, if one is in use. */
  file?: string;
  /** Its folder: relative paths in it resolve here, and the baseline lives here. */
  dir?: string;
  config: PeerAuditConfig;
  /** Rule severities from the config, for runRules' severityOverride. */
  severities: Record<string, Severity | 'off'>;
}

let active: ActiveConfig = { config: {}, severities: {} };

export function activeConfig(): ActiveConfig {
  return active;
}

/** Where a path is shown in messages: relative to the current folder when that is shorter. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && rel.length < file.length ? rel : file;
}

/** Walk up from `start` to the git root (the first folder holding `.git`), else to the filesystem root. */
export function findConfigFile(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    if (existsSync(path.join(dir, '.git'))) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

function resolveFrom(dir: string, p: string): string {
  const e = expandHome(p);
  return path.isAbsolute(e) ? e : path.join(dir, e);
}

function camel(k: string): string {
  return k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The bits of the yargs instance the middleware reads: the options this command defines, and which took defaults. */
interface YargsView {
  parsed?: false | { defaulted?: Record<string, boolean> };
  getOptions?: () => { key: Record<string, unknown> };
}

async function ruleIdsOf(): Promise<string[]> {
  return (await loadRules()).map((r) => r.meta.id);
}

/** The --files globs as --print-config shows them: a list, or null for none (--no-files arrives as [false]). */
function filesSetting(v: unknown): string[] | null {
  const list = (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]).filter(
    (g): g is string => typeof g === 'string',
  );
  return list.length ? list : null;
}

/** Whether a NATS context was chosen (flag or environment): it then outranks the config's server. */
function contextChosen(argv: Record<string, unknown>): boolean {
  if (argv.context === false) return false; // --no-context
  return (typeof argv.context === 'string' && argv.context !== '') || Boolean(process.env.NATS_CONTEXT);
}

/**
 * yargs middleware: find and validate the config, then fill in every option of the command that was not given
 * on the command line (and not by the environment) from it. With --print-config, print the merged settings and
 * end with exit 0.
 */
export async function configMiddleware(argv: Record<string, unknown>, yargsInstance: unknown): Promise<void> {
  const y = yargsInstance as YargsView;
  if (String(argv._ && (argv._ as unknown[])[0]) === 'completion') return;
  const defaulted = (y.parsed && y.parsed.defaulted) || {};
  const defined = new Set(Object.keys(y.getOptions?.().key ?? {}));
  const given = (k: string) => argv[k] !== undefined && !defaulted[k];
  const set = (k: string, v: unknown) => {
    argv[k] = v;
    argv[camel(k)] = v;
  };

  let file: string | undefined;
  if (typeof argv.config === 'string' && argv.config !== '') {
    file = path.resolve(argv.config);
    if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`--config ${argv.config}: no such file`);
  } else if (argv.config !== false) {
    file = findConfigFile(process.cwd());
  }
  const config = file ? await (await import('./config-file.js')).loadConfigFile(file, ruleIdsOf) : {};
  const dir = file ? path.dirname(file) : undefined;
  const severities: Record<string, Severity | 'off'> = { ...(config.rules ?? {}) };
  active = { file, dir, config, severities };

  const src = config.sources ?? {};
  const opt = config.ruleOptions ?? {};
  const base = dir ?? process.cwd();
  if (defined.has('server') && !given('server') && !process.env.NATS_URL && !contextChosen(argv) && src.server)
    set('server', src.server);
  if (defined.has('bucket') && !given('bucket') && src.bucket) set('bucket', src.bucket);
  if (defined.has('project') && !given('project') && (src.project || dir))
    set('project', src.project ? resolveFrom(base, src.project) : dir);
  if (defined.has('specs') && !given('specs') && src.specs) set('specs', resolveFrom(base, src.specs));
  if (defined.has('logs') && !given('logs') && src.logs)
    set(
      'logs',
      (Array.isArray(src.logs) ? src.logs : [src.logs]).map((g) => resolveFrom(base, g)),
    );
  // Globs stay relative to the project, as on the command line.
  if (defined.has('files') && !given('files') && src.files)
    set('files', Array.isArray(src.files) ? src.files : [src.files]);
  if (defined.has('all-runs') && !given('all-runs') && src.allRuns !== undefined) set('all-runs', src.allRuns);
  if (defined.has('allow-unknown-keys') && !given('allow-unknown-keys') && src.allowUnknownKeys !== undefined)
    set('allow-unknown-keys', src.allowUnknownKeys);
  if (defined.has('stale-after') && !given('stale-after') && opt.staleAfter) set('stale-after', opt.staleAfter);
  if (defined.has('expect-replicas') && !given('expect-replicas') && opt.expectReplicas !== undefined)
    set('expect-replicas', opt.expectReplicas);
  if (defined.has('expect-history') && !given('expect-history') && opt.expectHistory !== undefined)
    set('expect-history', opt.expectHistory);

  if (argv['print-config']) {
    const [rules, { BASELINE_FILE }, { redactDeep }] = await Promise.all([
      loadRules(),
      import('./baseline.js'),
      import('../model/redact.js'),
    ]);
    // For an option this command defines, argv already holds flag > config > default; for others, config > default.
    const pick = <T>(k: string, fromConfig: T | undefined, fallback: T): T =>
      defined.has(k) ? ((argv[k] as T | undefined) ?? fallback) : (fromConfig ?? fallback);
    const project = path.resolve(pick<string>('project', src.project ? resolveFrom(base, src.project) : dir, '.'));
    const server = given('server')
      ? (argv.server as string)
      : (process.env.NATS_URL ??
        (contextChosen(argv)
          ? `(NATS context ${String(argv.context ?? process.env.NATS_CONTEXT)})`
          : (src.server ?? DEFAULT_SERVER)));
    const logs = pick<unknown>(
      'logs',
      src.logs ? (Array.isArray(src.logs) ? src.logs : [src.logs]).map((g) => resolveFrom(base, g)) : undefined,
      null,
    );
    const baselineArg = argv.baseline;
    const merged = {
      configFile: file ?? null,
      rules: Object.fromEntries(rules.map((r) => [r.meta.id, severities[r.meta.id] ?? r.meta.severity])),
      ruleOptions: {
        staleAfter: pick('stale-after', opt.staleAfter, '6h'),
        expectReplicas: pick('expect-replicas', opt.expectReplicas, DEFAULT_RULE_OPTIONS.expectReplicas),
        expectHistory: pick('expect-history', opt.expectHistory, DEFAULT_RULE_OPTIONS.expectHistory),
      },
      sources: {
        server,
        bucket: pick('bucket', src.bucket, DEFAULT_BUCKET),
        project,
        specs: path.resolve(
          pick<string>(
            'specs',
            src.specs ? resolveFrom(base, src.specs) : undefined,
            path.join(project, '.agent-os', 'specs'),
          ),
        ),
        // --no-logs arrives as [false].
        logs: Array.isArray(logs) && logs.every((l) => l === false) ? false : logs,
        files: filesSetting(pick<unknown>('files', src.files, null)),
        allRuns: pick('all-runs', src.allRuns, false),
        allowUnknownKeys: pick('allow-unknown-keys', src.allowUnknownKeys, false),
      },
      baseline:
        baselineArg === false
          ? null
          : typeof baselineArg === 'string'
            ? path.resolve(baselineArg)
            : path.join(dir ?? project, BASELINE_FILE),
    };
    // Masked like every report: a server URL can carry user:password@ or a token, a config file a secret.
    const shown = safeJson(redactDeep(merged).value);
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(`${shown}\n`, (e) => (e ? reject(e) : resolve())),
    );
    throw new CliExit(0);
  }
}

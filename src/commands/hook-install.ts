// `peer-audit hook install | uninstall`: the hook entries in Claude Code's settings.json, added idempotently and
// taken out again exactly, keeping every other setting and hook. Each change shows its diff, keeps the previous
// file as settings.json.peer-audit.bak and is written atomically. An uninstall that leaves what the backup held
// writes the backup's bytes back, so install then uninstall gives the file back byte for byte.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { ConfigError, UsageError } from '../errors.js';
import { writeAtomic } from './hook-state.js';
import { HOOK_EVENTS, type HookEventChoice } from './hook-events.js';

export const BACKUP_SUFFIX = '.peer-audit.bak';

export interface InstallArgs {
  scope: 'project' | 'user';
  project: string;
  events: HookEventChoice[];
  /** The command written; default `node <absolute path of bin/peer-audit.js> hook`. */
  command?: string;
}

/** The settings file of the scope: <project>/.claude/settings.json, or ~/.claude/settings.json ($HOME first). */
export function settingsPath(scope: 'project' | 'user', project: string): string {
  const root = scope === 'user' ? process.env.HOME || os.homedir() : path.resolve(project);
  return path.join(root, '.claude', 'settings.json');
}

/** A hook command that is peer-audit's: it names peer-audit and its hook command. */
export function isPeerAuditHook(command: unknown): boolean {
  return typeof command === 'string' && command.includes('peer-audit') && /\shook(\s|$)/.test(command);
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command an entry runs: the given one (marked, if it does not name peer-audit), else this install's bin. */
export function hookCommand(given?: string): string {
  if (given !== undefined) {
    if (given.trim() === '') throw new UsageError('--command must not be empty');
    return isPeerAuditHook(given) ? given : `${given} # peer-audit hook`;
  }
  return `node ${shellWord(path.join(packageRoot(), 'bin', 'peer-audit.js'))} hook`;
}

/** This install's folder: the nearest one above this module with bin/peer-audit.js (the compiled and the bundled
 * module sit at different depths under dist/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'bin', 'peer-audit.js')) && existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find bin/peer-audit.js above this module');
    dir = up;
  }
}

type Json = Record<string, unknown>;
interface Settings {
  file: string;
  /** The bytes as read; undefined when the file does not exist. */
  bytes?: string;
  value: Json;
}

async function readSettings(file: string): Promise<Settings> {
  let bytes: string;
  try {
    bytes = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { file, value: {} };
    throw new ConfigError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = bytes.trim() === '' ? {} : JSON.parse(bytes);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON (${(e as Error).message}); nothing written`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`${file} does not hold a JSON object; nothing written`);
  const hooks = (value as Json).hooks;
  if (hooks !== undefined && (!hooks || typeof hooks !== 'object' || Array.isArray(hooks)))
    throw new ConfigError(`${file}: "hooks" is not an object; nothing written`);
  for (const [event, groups] of Object.entries((hooks as Json | undefined) ?? {}))
    if (!Array.isArray(groups)) throw new ConfigError(`${file}: "hooks.${event}" is not a list; nothing written`);
  return { file, bytes, value: value as Json };
}

/** The file's indentation (its first indented line's), else two spaces. */
function indentOf(bytes: string | undefined): string | number {
  const m = /\n([ \t]+)\S/.exec(bytes ?? '');
  return m ? m[1] : 2;
}

function serialise(value: Json, like: string | undefined): string {
  const newline = like === undefined || like.endsWith('\n');
  return JSON.stringify(value, null, indentOf(like)) + (newline ? '\n' : '');
}

interface Group {
  matcher?: string;
  hooks?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

/** The settings with peer-audit's entry for each event (an entry with another command is replaced). */
export function withHooks(settings: Json, events: HookEventChoice[], command: string): Json {
  const out = structuredClone(settings);
  const hooks = (out.hooks ??= {}) as Record<string, Group[]>;
  for (const choice of events) {
    const { event } = HOOK_EVENTS[choice];
    const spec: { event: string; matcher?: string } = HOOK_EVENTS[choice];
    const matcher = spec.matcher;
    const groups = (hooks[event] ??= []);
    const mine = groups.flatMap((g) =>
      (g.hooks ?? []).filter((h) => isPeerAuditHook(h.command)).map((h) => ({ g, h })),
    );
    if (mine.length === 1 && mine[0].h.command === command && mine[0].g.matcher === matcher) continue;
    hooks[event] = withoutOurs(groups);
    hooks[event].push({ ...(matcher ? { matcher } : {}), hooks: [{ type: 'command', command }] });
  }
  return out;
}

function withoutOurs(groups: Group[]): Group[] {
  const out: Group[] = [];
  for (const g of groups) {
    if (!Array.isArray(g.hooks)) {
      out.push(g);
      continue;
    }
    const kept = g.hooks.filter((h) => !isPeerAuditHook(h.command));
    if (kept.length === g.hooks.length) out.push(g);
    else if (kept.length > 0) out.push({ ...g, hooks: kept });
  }
  return out;
}

/** The settings without any peer-audit entry; events and `hooks` left empty by that are taken out. */
export function withoutHooks(settings: Json): Json {
  const out = structuredClone(settings);
  const hooks = out.hooks as Record<string, Group[]> | undefined;
  if (!hooks) return out;
  let changed = false;
  for (const [event, groups] of Object.entries(hooks)) {
    const kept = withoutOurs(groups);
    if (isDeepStrictEqual(kept, groups)) continue;
    changed = true;
    if (kept.length > 0) hooks[event] = kept;
    else delete hooks[event];
  }
  if (changed && Object.keys(hooks).length === 0) delete out.hooks;
  return out;
}

export interface SettingsChange {
  file: string;
  changed: boolean;
  diff: string;
  backup?: string;
}

/** Backs up the old bytes, then writes the new ones; the diff between them. */
async function write(s: Settings, next: string): Promise<SettingsChange> {
  const diff = createTwoFilesPatch(s.file, s.file, s.bytes ?? '', next, s.bytes === undefined ? '(none)' : '', '');
  let backup: string | undefined;
  if (s.bytes !== undefined) {
    backup = s.file + BACKUP_SUFFIX;
    await writeAtomic(backup, s.bytes);
  }
  await writeAtomic(s.file, next);
  return { file: s.file, changed: true, diff, backup };
}

export async function installHooks(a: InstallArgs): Promise<SettingsChange> {
  if (a.events.length === 0) throw new UsageError('--events names no event');
  const file = settingsPath(a.scope, a.project);
  const s = await readSettings(file);
  const next = withHooks(s.value, a.events, hookCommand(a.command));
  if (s.bytes !== undefined && isDeepStrictEqual(next, s.value)) return { file, changed: false, diff: '' };
  return write(s, serialise(next, s.bytes));
}

export async function uninstallHooks(a: Pick<InstallArgs, 'scope' | 'project'>): Promise<SettingsChange> {
  const file = settingsPath(a.scope, a.project);
  const s = await readSettings(file);
  if (s.bytes === undefined) return { file, changed: false, diff: '' };
  const next = withoutHooks(s.value);
  if (isDeepStrictEqual(next, s.value)) return { file, changed: false, diff: '' };
  // What install changed and nothing else: the bytes as they were before, not a re-serialisation.
  const backup = await fs.readFile(file + BACKUP_SUFFIX, 'utf8').catch(() => undefined);
  let previous: unknown;
  try {
    previous = backup === undefined ? undefined : JSON.parse(backup);
  } catch {
    previous = undefined;
  }
  return write(s, backup !== undefined && isDeepStrictEqual(previous, next) ? backup : serialise(next, s.bytes));
}

// One place where every flag value is checked before a command runs: empty paths, values outside a fixed set,
// numbers that are not numbers or out of range, and a one-value flag given twice. Each problem is a usage error
// (exit 2) that names the flag; a misspelled value names the one meant.
import { closest } from '../config/suggest.js';
import { ruleIds } from './completion.js';
import { parseDuration } from '../model/duration.js';
import { UsageError } from '../errors.js';

/** Flags naming a file or folder: an empty value would silently mean "the default" (e.g. the live server). */
const PATH_FLAGS = [
  'kv-snapshot',
  'logs',
  'files',
  'project',
  'specs',
  'output',
  'config',
  'baseline',
  'from',
  'journal',
];

/** Flags whose empty value would widen what a command touches (`repair --spec ""` would match every spec). */
const VALUE_FLAGS = ['spec', 'server', 'bucket'];

/** Whole-number flags and their ranges. */
const NUMBER_RANGES: Record<string, { min: number; max?: number; unit?: string }> = {
  timeout: { min: 1, unit: 'ms' },
  cycle: { min: 1 },
  'max-warnings': { min: 0 },
  'expect-replicas': { min: 1, max: 5 },
  'expect-history': { min: 1, max: 64 },
};

/** Flags holding a duration such as 6h, 90m, 2d. */
const DURATION_FLAGS = ['stale-after', 'quiet-for'];

/** The parts of yargs' option metadata (`getOptions()`) read here. */
export interface OptionMeta {
  key: Record<string, unknown>;
  array: string[];
  choices: Record<string, readonly unknown[]>;
  alias: Record<string, string[]>;
}

/** What the user typed for a flag (yargs has already turned a non-number into NaN). */
function typed(flag: string, meta: OptionMeta, raw: string[]): string | undefined {
  const names = [flag, ...(meta.alias[flag] ?? [])];
  for (let i = 0; i < raw.length; i++) {
    for (const n of names) {
      const dash = n.length === 1 ? `-${n}` : `--${n}`;
      if (raw[i] === dash) return raw[i + 1];
      if (raw[i].startsWith(`${dash}=`)) return raw[i].slice(dash.length + 1);
    }
  }
  return undefined;
}

/** Whether the flag appears on the command line with nothing after it, or with another flag right after it. */
function typedWithoutValue(flag: string, meta: OptionMeta, raw: string[]): boolean {
  const end = raw.indexOf('--');
  const words = end === -1 ? raw : raw.slice(0, end);
  const dashes = [flag, ...(meta.alias[flag] ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
  return words.some((w, i) => dashes.includes(w) && (i + 1 === words.length || /^-./.test(words[i + 1])));
}

/** The positional arguments of some commands (`undo <journal>`, `reopen <spec>`) share a name with flags of others. */
const POSITIONALS = ['journal', 'spec'];

/** `--name` for a flag, `<name>` for a command's positional argument. */
function shownName(k: string, raw: string[]): string {
  const typedAsFlag = raw.some((w) => w === `--${k}` || w.startsWith(`--${k}=`));
  return POSITIONALS.includes(k) && !typedAsFlag ? `<${k}>` : `--${k}`;
}

const quote = (v: unknown) => JSON.stringify(String(v));

function didYouMean(v: string, candidates: readonly string[]): string {
  // A unique prefix ("exec") or a near spelling ("jsno").
  const prefixed = candidates.filter((c) => v.length >= 2 && c.startsWith(v.toLowerCase()));
  const hint = prefixed.length === 1 ? prefixed[0] : closest(v, candidates);
  return hint ? ` (did you mean ${hint}?)` : '';
}

/**
 * Throws a UsageError for the first problem in the parsed flags of one command. `raw` is the command line as typed,
 * for quoting a value yargs could not keep (a number that is not one).
 */
export function checkFlags(argv: Record<string, unknown>, meta: OptionMeta, raw: string[]): void {
  const declared = (k: string) => Object.prototype.hasOwnProperty.call(meta.key, k);
  const given = (k: string) => declared(k) && argv[k] !== undefined;

  for (const k of Object.keys(meta.key)) {
    if (!given(k) || meta.array.includes(k) || k.length === 1) continue;
    if (Array.isArray(argv[k]))
      throw new UsageError(`--${k} was given ${(argv[k] as unknown[]).length} times; it takes one value`);
  }

  for (const k of PATH_FLAGS) {
    if (!given(k)) continue;
    const v = argv[k];
    const values = Array.isArray(v) ? v : [v];
    // yargs puts a flag's default in place of a missing value (`--project` alone is "."): look at what was typed.
    if (
      values.length === 0 ||
      values.some((x) => typeof x === 'string' && x.trim() === '') ||
      typedWithoutValue(k, meta, raw)
    ) {
      throw new UsageError(
        `${shownName(k, raw)} needs a path; an empty value is not "the default"` +
          `${k === 'kv-snapshot' ? ' (leave the flag out to read the live server)' : ''}`,
      );
    }
  }

  for (const k of VALUE_FLAGS) {
    if (!given(k)) continue;
    const v = argv[k];
    if ((typeof v === 'string' && v.trim() === '') || typedWithoutValue(k, meta, raw)) {
      throw new UsageError(
        `${shownName(k, raw)} needs a value` +
          `${k === 'spec' ? '; an empty one is not "every spec"' : '; an empty one is not "the default"'}`,
      );
    }
  }

  for (const [k, choices] of Object.entries(meta.choices)) {
    if (!given(k)) continue;
    const allowed = choices.map(String);
    for (const v of [argv[k]].flat()) {
      if (!allowed.includes(String(v))) {
        throw new UsageError(`--${k} ${quote(v)} is not one of ${allowed.join(', ')}${didYouMean(String(v), allowed)}`);
      }
    }
  }

  if (given('rule')) {
    const ids = ruleIds();
    for (const v of [argv.rule].flat()) {
      if (typeof v !== 'string' || v === '') throw new UsageError('--rule needs a rule id (see `peer-audit rules`)');
      if (ids.length && !ids.includes(v))
        throw new UsageError(`--rule ${quote(v)} is not a rule${didYouMean(v, ids)}; \`peer-audit rules\` lists them`);
    }
  }

  for (const [k, r] of Object.entries(NUMBER_RANGES)) {
    if (!given(k)) continue;
    const v = argv[k];
    const range = r.max !== undefined ? `from ${r.min} to ${r.max}` : `of at least ${r.min}`;
    const shown = typeof v === 'number' && !Number.isNaN(v) ? String(v) : quote(typed(k, meta, raw) ?? v);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < r.min || (r.max !== undefined && v > r.max)) {
      throw new UsageError(`--${k} must be a whole number ${range}${r.unit ? ` (${r.unit})` : ''}, not ${shown}`);
    }
  }

  for (const k of DURATION_FLAGS) {
    if (!given(k)) continue;
    const v = argv[k];
    if (typeof v !== 'string') throw new UsageError(`--${k} needs a duration (e.g. 6h, 90m, 2d)`);
    try {
      parseDuration(v);
    } catch {
      throw new UsageError(`--${k} ${quote(v)} is not a duration (use e.g. 6h, 90m, 2d)`);
    }
  }
}

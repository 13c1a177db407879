// Small helpers the log modules share: reading a decoded JSON value's fields (str, isObj), cutting text to a
// length without splitting a surrogate pair, copying a cut string so it no longer holds the whole original,
// timestamps to milliseconds, an error's code, and a subagent type without its plugin prefix.
import { isRecord } from '../../model/values.js';

/** A string that holds its own characters: a cut of a longer string would keep the whole of it alive. */
export function ownCopy(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  // Do not leave half of a surrogate pair at the cut.
  const end = /[\uD800-\uDBFF]/.test(s[max - 1]) ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}

export function stripPlugin(type: string): string {
  return type.slice(type.lastIndexOf(':') + 1);
}

export { str } from '../../model/values.js';
/** A decoded JSON object (not null, not an array). */
export const isObj = isRecord;

export function toMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function errorCode(err: unknown): string {
  if (isObj(err) && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

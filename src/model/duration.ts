import { UsageError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** "6h", "90m", "2d", "45s", "1500ms" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not a duration (use e.g. 6h, 90m, 2d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/**
 * A duration as people write it, the two largest units only: "45 s", "1 min 37 s", "5 h 12 min", "8 d 2 h".
 * Under a minute, `subSecond` keeps one decimal ("7.7 s"); zero second parts are left out ("2 h", "3 d").
 */
export function humanDuration(ms: number, opts: { subSecond?: boolean } = {}): string {
  const abs = Math.abs(ms);
  if (abs < 60_000) return opts.subSecond ? `${(abs / 1000).toFixed(1)} s` : `${Math.round(abs / 1000)} s`;
  const sec = Math.round(abs / 1000);
  const d = Math.floor(sec / 86_400);
  const h = Math.floor((sec % 86_400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const two = (a: number, ua: string, b: number, ub: string) => (b > 0 ? `${a} ${ua} ${b} ${ub}` : `${a} ${ua}`);
  if (d > 0) return two(d, 'd', h, 'h');
  if (h > 0) return two(h, 'h', m, 'min');
  return two(m, 'min', s, 's');
}

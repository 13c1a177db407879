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

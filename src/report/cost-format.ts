// A run's cost in words and figures, the same in every format: token counts short (2.6M) or whole (2,605,695),
// wall time in minutes and seconds, money in the configured currency.
import type { CostLine, RunCost, TokenCounts } from '../model/run-cost.js';

export function totalTokens(t: TokenCounts): number {
  return t.input + t.output + t.cacheRead + t.cacheWrite;
}

/** 370, 10.4k, 2.6M. */
export function shortCount(n: number): string {
  if (n < 1000) return String(n);
  const [d, unit] = n < 1e6 ? [1e3, 'k'] : n < 1e9 ? [1e6, 'M'] : [1e9, 'G'];
  const v = n / d;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')}${unit}`;
}

/** 2,605,695. */
export function wholeCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** 0.4 s, 12 s, 3 min 13 s, 1 h 5 min. */
export function duration(ms: number): string {
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** 1.23 USD (four decimals below a cent); undefined when the line has no money. */
export function money(line: CostLine, currency: string | undefined): string | undefined {
  if (line.money === undefined || currency === undefined) return undefined;
  const v = line.money;
  return `${v !== 0 && Math.abs(v) < 0.01 ? v.toFixed(4) : v.toFixed(2)} ${currency}`;
}

/** "2.6M tokens (in 370, out 10.4k, cache read 2.4M, cache write 175.3k)". */
export function tokenWords(t: TokenCounts): string {
  return (
    `${shortCount(totalTokens(t))} tokens (in ${shortCount(t.input)}, out ${shortCount(t.output)}, ` +
    `cache read ${shortCount(t.cacheRead)}, cache write ${shortCount(t.cacheWrite)})`
  );
}

/** The terminal's one line: "2.6M tokens (in …), 15 min 27 s, 77 tool calls, 7.12 USD; waste 1.5M tokens". */
export function costSummary(cost: RunCost): string {
  const m = money(cost, cost.currency);
  const waste = cost.waste
    ? `; waste ${shortCount(totalTokens(cost.waste.tokens))} tokens` +
      `${money(cost.waste, cost.currency) ? `, ${money(cost.waste, cost.currency)}` : ''}`
    : '';
  // Transcripts of versions that wrote no `message.usage`: no figure rather than a count of zero.
  const tokens = cost.responses === 0 ? 'no token counts in the transcripts' : tokenWords(cost.tokens);
  return (
    `${tokens}, ${duration(cost.wallMs)}, ` +
    `${cost.toolCalls} tool call${cost.toolCalls === 1 ? '' : 's'}${m ? `, ${m}` : ''}${waste}`
  );
}

// What a run cost, as a table of the HTML report: per PEER phase and for the whole run, from the run's `cost`
// (tokens, wall time, tool calls, and money when the config has prices). The section is read defensively: a
// saved scan may come from any version, so a field that is not what it should be is shown as "—".
import { esc, num } from './html-escape.js';
import { duration } from './svg-timeline.js';

interface Row {
  name: string;
  agents: string;
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  wallMs?: number;
  toolCalls?: number;
  money?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function agentsText(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  if (Array.isArray(v))
    return v.map((a) => (typeof a === 'string' ? a : isObj(a) && typeof a.type === 'string' ? a.type : '?')).join(', ');
  return '';
}

function row(name: string, v: Record<string, unknown>): Row {
  const t = isObj(v.tokens) ? v.tokens : {};
  return {
    name,
    agents: agentsText(v.agents),
    input: n(t.input),
    output: n(t.output),
    cacheRead: n(t.cacheRead),
    cacheWrite: n(t.cacheWrite),
    wallMs: n(v.wallMs),
    toolCalls: n(v.toolCalls),
    money: n(v.money),
  };
}

const cell = (v: number | undefined) => `<td class="num">${v === undefined ? '—' : num(v)}</td>`;

/** The cost table of a run, or undefined when the run has no cost (or none this version can read). */
export function costTable(cost: unknown): string | undefined {
  if (!isObj(cost)) return undefined;
  const phases = Array.isArray(cost.phases) ? cost.phases.filter(isObj) : [];
  const rows = phases.map((p) => row(typeof p.phase === 'string' ? p.phase : '?', p));
  const total = row('Whole run', cost);
  if (rows.length === 0 && total.input === undefined && total.wallMs === undefined) return undefined;
  const money = [...rows, total].some((r) => r.money !== undefined);
  const currency = typeof cost.currency === 'string' ? ` (${esc(cost.currency)})` : '';
  const line = (r: Row, tag: 'td' | 'th') =>
    `<tr><${tag}>${esc(r.name)}</${tag}><td>${esc(r.agents) || '—'}</td>` +
    `${cell(r.input)}${cell(r.output)}${cell(r.cacheRead)}${cell(r.cacheWrite)}` +
    `<td class="num">${r.wallMs === undefined ? '—' : esc(duration(r.wallMs))}</td>${cell(r.toolCalls)}` +
    `${money ? `<td class="num">${r.money === undefined ? '—' : esc(r.money.toFixed(2))}</td>` : ''}</tr>`;
  return (
    `<table class="cost"><thead><tr><th>Phase</th><th>Agents</th><th class="num">Input tokens</th>` +
    `<th class="num">Output tokens</th><th class="num">Cache read</th><th class="num">Cache write</th>` +
    '<th class="num">Wall time</th><th class="num">Tool calls</th>' +
    `${money ? `<th class="num">Cost${currency}</th>` : ''}` +
    `</tr></thead><tbody>${rows.map((r) => line(r, 'td')).join('')}</tbody>` +
    `<tfoot>${line(total, 'th')}</tfoot></table>` +
    wasteLine(cost.waste)
  );
}

/** What repeated phases, and phases run after a skipped one, cost, with the reasons in words. */
function wasteLine(waste: unknown): string {
  if (!isObj(waste)) return '';
  const w = row('Waste', waste);
  const tokens = [w.input, w.output, w.cacheRead, w.cacheWrite].reduce<number>((a, b) => a + (b ?? 0), 0);
  const why = Array.isArray(waste.why) ? waste.why.filter((x): x is string => typeof x === 'string') : [];
  return (
    `<p class="waste"><strong>Waste:</strong> ${num(tokens)} tokens` +
    `${w.wallMs === undefined ? '' : `, ${esc(duration(w.wallMs))}`}` +
    `${w.toolCalls === undefined ? '' : `, ${num(w.toolCalls)} tool call${w.toolCalls === 1 ? '' : 's'}`}` +
    `${w.money === undefined ? '' : `, ${esc(w.money.toFixed(2))}`}` +
    `${why.length ? `: ${why.map(esc).join('; ')}` : ''}.</p>`
  );
}

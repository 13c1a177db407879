// The timeline chart of the HTML report: the gantt bars the Markdown report gives Mermaid (timeline.ts), drawn
// here as inline SVG, so the chart needs no script and no network to show. Colours come from the page's style
// sheet by class; every name is escaped text.
import { esc } from './html-escape.js';
import type { GanttBar } from './timeline.js';

const WIDTH = 960;
const LABEL_WIDTH = 270;
const CHART_LEFT = LABEL_WIDTH + 16;
const CHART_RIGHT = WIDTH - 70;
const AXIS_HEIGHT = 30;
const ROW = 22;
const SECTION_ROW = 26;
const BAR_HEIGHT = 12;
const MAX_LABEL = 40;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Tick spacings, smallest first: the first that gives at most MAX_TICKS ticks is used. */
const STEPS = [
  SECOND,
  5 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  30 * DAY,
];
const MAX_TICKS = 10;

/** "3m 12s", "1h 4m", "850ms": a bar's length for people. */
export function duration(ms: number): string {
  if (ms < SECOND) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / SECOND);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ''}`;
  return `${Math.round(h / 24)}d`;
}

function clock(t: number, step: number, days: boolean): string {
  const iso = new Date(t).toISOString();
  const time = step < MINUTE ? iso.slice(11, 19) : iso.slice(11, 16);
  return days ? `${iso.slice(5, 10)} ${time}` : time;
}

function short(s: string): string {
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s;
}

/** The class of a bar by its tags: failed or missing (crit), done, running (active), or plain. */
function kind(b: GanttBar): string {
  if (b.tags.includes('crit')) return 'crit';
  if (b.tags.includes('done')) return 'done';
  if (b.tags.includes('active')) return 'active';
  return 'plain';
}

/**
 * The bars as an SVG chart: one row per bar under its section's heading, a time axis in UTC on top, milestones
 * as diamonds; each bar's name, times and length in its tooltip. Undefined when there is nothing with a time.
 */
export function svgTimeline(bars: GanttBar[], title: string, id: string): string | undefined {
  if (bars.length === 0) return undefined;
  let min = Math.min(...bars.map((b) => b.start));
  let max = Math.max(...bars.map((b) => Math.max(b.start, b.end)));
  if (max - min < 10 * SECOND) max = min + 10 * SECOND;
  const pad = (max - min) * 0.02;
  min -= pad;
  max += pad;
  const span = max - min;
  const x = (t: number) => CHART_LEFT + ((t - min) / span) * (CHART_RIGHT - CHART_LEFT);
  const step = STEPS.find((s) => span / s <= MAX_TICKS) ?? Math.ceil(span / MAX_TICKS / DAY) * DAY;
  const days = new Date(min).toISOString().slice(0, 10) !== new Date(max).toISOString().slice(0, 10);

  // Bands behind the grid lines, bars and labels in front of them.
  const back: string[] = [];
  const rows: string[] = [];
  let y = AXIS_HEIGHT;
  let section: string | undefined;
  let band = 0;
  for (const b of bars) {
    if (b.section !== section) {
      section = b.section;
      back.push(`<rect class="tl-section" x="0" y="${y}" width="${WIDTH}" height="${SECTION_ROW}"/>`);
      rows.push(`<text class="tl-section-name" x="8" y="${y + 17}">${esc(b.section)}</text>`);
      y += SECTION_ROW;
      band = 0;
    }
    if (band++ % 2 === 1) back.push(`<rect class="tl-band" x="0" y="${y}" width="${WIDTH}" height="${ROW}"/>`);
    const mid = y + ROW / 2;
    const end = Math.max(b.start, b.end);
    const milestone = b.tags.includes('milestone') || end === b.start;
    const when =
      end === b.start
        ? `${new Date(b.start).toISOString().slice(0, 19).replace('T', ' ')} UTC`
        : `${new Date(b.start).toISOString().slice(0, 19).replace('T', ' ')} to ` +
          `${new Date(end).toISOString().slice(11, 19)} UTC (${duration(end - b.start)})`;
    const tip = `<title>${esc(`${b.name}: ${when}`)}</title>`;
    rows.push(
      `<text class="tl-label" x="${LABEL_WIDTH}" y="${mid + 4}" text-anchor="end">${esc(short(b.name))}` +
        `${tip}</text>`,
    );
    const cls = `tl-bar tl-${kind(b)}`;
    if (milestone) {
      const cx = x(b.start);
      const r = 6;
      rows.push(
        `<g class="${cls}"><polygon points="${f(cx)},${f(mid - r)} ${f(cx + r)},${f(mid)} ${f(cx)},${f(mid + r)} ` +
          `${f(cx - r)},${f(mid)}"/>${tip}</g>`,
      );
    } else {
      const x0 = x(b.start);
      const w = Math.max(3, x(end) - x0);
      const label = duration(end - b.start);
      const after = x0 + w + 5;
      rows.push(
        `<g class="${cls}"><rect x="${f(x0)}" y="${mid - BAR_HEIGHT / 2}" width="${f(w)}" height="${BAR_HEIGHT}" ` +
          `rx="2"/>${tip}</g>` +
          (after + 48 <= WIDTH
            ? `<text class="tl-duration" x="${f(after)}" y="${mid + 4}">${esc(label)}</text>`
            : `<text class="tl-duration" x="${f(x0 - 5)}" y="${mid + 4}" text-anchor="end">${esc(label)}</text>`),
      );
    }
    y += ROW;
  }
  const height = y + 8;

  const ticks: string[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) {
    const tx = f(x(t));
    ticks.push(
      `<line class="tl-grid" x1="${tx}" y1="${AXIS_HEIGHT - 6}" x2="${tx}" y2="${height - 8}"/>` +
        `<text class="tl-tick" x="${tx}" y="${AXIS_HEIGHT - 10}" text-anchor="middle">` +
        `${esc(clock(t, step, days))}</text>`,
    );
  }
  const date = new Date(min).toISOString().slice(0, 10);
  return (
    `<svg class="timeline" id="${id}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" ` +
    `role="img" aria-labelledby="${id}-title" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${esc(title)}</title>` +
    `<text class="tl-axis-name" x="8" y="${AXIS_HEIGHT - 10}">${esc(days ? 'UTC' : `${date} (UTC)`)}</text>` +
    back.join('') +
    ticks.join('') +
    rows.join('') +
    `</svg>`
  );
}

/** A coordinate with one decimal: enough for a chart, and short. */
function f(n: number): string {
  return String(Math.round(n * 10) / 10);
}

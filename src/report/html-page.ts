// The fixed parts of the HTML report: its style sheet, its one script (the search over findings), and the
// Content-Security-Policy that lets only these two run. Both are constants, so the policy names them by hash:
// no other script or style can run in the page, whatever the evidence holds, and the page may fetch nothing.
import { createHash } from 'node:crypto';

export const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa;
  --line: #d1d9e0; --accent: #0969da; --error: #cf222e; --error-bg: #ffebe9; --warning: #9a6700;
  --warning-bg: #fff8c5; --info: #0969da; --info-bg: #ddf4ff; --done: #1a7f37; --code-bg: #eff2f5; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d; --accent: #4493f8;
    --error: #f85149; --error-bg: #3c1618; --warning: #d29922; --warning-bg: #3a2d0b; --info: #4493f8;
    --info-bg: #0c2d4a; --done: #3fb950; --code-bg: #212830; }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0 auto; max-width: 1120px; padding: 24px 28px 64px;
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 6px; }
h2 { font-size: 1.35rem; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 28px 0 8px; }
h4 { font-size: 1rem; margin: 18px 0 6px; }
p, ul { margin: 8px 0; }
code, pre, kbd { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.86em; }
code { background: var(--code-bg); padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 8px 0;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
mark { background: var(--warning-bg); color: inherit; }
[hidden] { display: none !important; }
.meta { color: var(--muted); margin: 0 0 16px; overflow-wrap: anywhere; }
.counts { display: flex; gap: 8px; flex-wrap: wrap; margin: 12px 0 4px; }
.count { border-radius: 999px; padding: 3px 12px; font-weight: 600; border: 1px solid var(--line); }
.count.error { color: var(--error); background: var(--error-bg); border-color: transparent; }
.count.warning { color: var(--warning); background: var(--warning-bg); border-color: transparent; }
.count.info { color: var(--info); background: var(--info-bg); border-color: transparent; }
.alert { border: 1px solid var(--warning); background: var(--warning-bg); border-radius: 6px; padding: 10px 14px;
  margin: 16px 0; }
nav.toc { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px;
  margin: 16px 0; }
nav.toc ol { margin: 4px 0; padding-left: 22px; }
a { color: var(--accent); }
.points { list-style: none; padding: 0; }
.points li { margin: 8px 0; padding-left: 12px; border-left: 3px solid var(--line); }
.sev { display: inline-block; border-radius: 4px; padding: 0 7px; font-size: 0.8em; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.03em; vertical-align: 1px; }
.sev.error { color: var(--error); background: var(--error-bg); }
.sev.warning { color: var(--warning); background: var(--warning-bg); }
.sev.info { color: var(--info); background: var(--info-bg); }
.search { position: sticky; top: 0; z-index: 2; background: var(--bg); padding: 10px 0; display: flex; gap: 12px;
  align-items: center; flex-wrap: wrap; border-bottom: 1px solid var(--line); }
.search input { flex: 1 1 320px; font: inherit; padding: 7px 10px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--fg); }
.search button { font: inherit; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--panel); color: var(--fg); cursor: pointer; }
.search output { color: var(--muted); }
.cause { border: 1px solid var(--line); border-radius: 8px; padding: 4px 18px 12px; margin: 18px 0; }
.cause.error { border-left: 5px solid var(--error); }
.cause.warning { border-left: 5px solid var(--warning); }
.cause.info { border-left: 5px solid var(--info); }
.finding { border-top: 1px solid var(--line); padding: 8px 0 4px; }
.finding h4 { margin: 8px 0 4px; }
.finding:first-of-type { border-top: none; }
.finding-head { color: var(--muted); font-size: 0.92em; overflow-wrap: anywhere; }
.finding-head .rule { color: var(--fg); font-weight: 600; }
.message { margin: 6px 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.follows-head { margin: 14px 0 0; color: var(--muted); font-weight: 600; }
.follows .finding { margin-left: 14px; }
details.evidence { margin: 4px 0; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
details.evidence > summary { cursor: pointer; padding: 5px 10px; overflow-wrap: anywhere; }
details.evidence > :not(summary) { margin: 0 10px 10px; }
details.evidence pre { background: var(--bg); }
.kind { font-weight: 600; color: var(--muted); }
.note { color: var(--muted); }
.masked { color: var(--warning); font-style: italic; }
.hl { font-weight: 700; }
table { border-collapse: collapse; margin: 10px 0; width: 100%; font-size: 0.92em; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
thead th { white-space: nowrap; }
thead th, tfoot th, tfoot td { background: var(--panel); }
td.num, th.num { text-align: right; white-space: nowrap; }
td.when { white-space: nowrap; }
.absent { color: var(--error); font-weight: 600; }
details.events > summary { cursor: pointer; margin: 10px 0; font-weight: 600; }
.chart { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; background: var(--bg); }
svg.timeline { display: block; min-width: 760px; width: 100%; height: auto; font: 12px system-ui, sans-serif; }
.tl-section { fill: var(--panel); }
.tl-band { fill: var(--panel); opacity: 0.55; }
.tl-section-name { fill: var(--fg); font-weight: 700; }
.tl-label { fill: var(--fg); }
.tl-tick, .tl-axis-name, .tl-duration { fill: var(--muted); font-size: 11px; }
.tl-grid { stroke: var(--line); stroke-dasharray: 2 3; }
.tl-done { fill: var(--done); }
.tl-active { fill: var(--accent); }
.tl-crit { fill: var(--error); }
.tl-plain { fill: var(--muted); }
.legend { display: flex; gap: 18px; flex-wrap: wrap; color: var(--muted); font-size: 0.9em; margin: 4px 0 10px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
.swatch.done { background: var(--done); }
.swatch.active { background: var(--accent); }
.swatch.crit { background: var(--error); }
.swatch.plain { background: var(--muted); }
.swatch.milestone { transform: rotate(45deg) scale(0.8); background: var(--muted); }
footer { margin-top: 48px; color: var(--muted); font-size: 0.88em; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media print { .search { display: none !important; } .cause { break-inside: avoid-page; } }
`;

/**
 * The search box: filters the findings as the reader types (every word must occur in a finding's text, its
 * evidence included), hides cause groups left with no finding, and says how many match. The box is hidden in
 * the page as written, so without scripts the reader sees every finding and no box that does nothing.
 */
export const SCRIPT = `
(() => {
  const bar = document.getElementById('search');
  const box = document.getElementById('search-input');
  const count = document.getElementById('search-count');
  const toggle = document.getElementById('expand-evidence');
  if (!bar || !box || !count || !toggle) return;
  const findings = Array.from(document.querySelectorAll('.finding'));
  const scopes = Array.from(document.querySelectorAll('.cause, .follows'));
  const texts = findings.map((f) => f.textContent.toLowerCase());
  const total = findings.length;
  const apply = () => {
    const words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let shown = 0;
    findings.forEach((f, i) => {
      const match = words.every((w) => texts[i].includes(w));
      f.hidden = !match;
      if (match) shown++;
    });
    for (const s of scopes) s.hidden = !s.querySelector('.finding:not([hidden])');
    count.textContent = words.length
      ? shown + ' of ' + total + ' finding' + (total === 1 ? '' : 's') + ' match'
      : total + ' finding' + (total === 1 ? '' : 's');
  };
  box.addEventListener('input', apply);
  toggle.addEventListener('click', () => {
    const all = Array.from(document.querySelectorAll('details.evidence'));
    const open = !all.every((d) => d.open);
    for (const d of all) d.open = open;
    toggle.textContent = open ? 'Collapse all evidence' : 'Expand all evidence';
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && document.activeElement !== box) {
      e.preventDefault();
      box.focus();
    }
  });
  bar.hidden = false;
  apply();
})();
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * Nothing may load (default-src 'none', no connections, no forms, no base URL); the one style sheet and the one
 * script run because their hashes are listed; a data: image is the only image allowed (the page icon, so the
 * browser does not ask a server for one).
 */
export const CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  'img-src data:',
  "connect-src 'none'",
  "font-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

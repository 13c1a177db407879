// The HTML report, in process: evidence text is inert (escaped in text and attributes, the exact output
// checked), the page holds only our own tags, attributes, style and script, the policy names exactly those by
// hash, and the parts built from the scan (summary, SVG timeline, cost, rule advice) say what the Markdown says.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit.js';
import { renderReport } from '../../src/report/format.js';
import { costTable } from '../../src/report/html-cost.js';
import { docHtml } from '../../src/report/html-doc.js';
import { esc, escLines } from '../../src/report/html-escape.js';
import { CSP, SCRIPT, STYLE } from '../../src/report/html-page.js';
import type { RunRecord, ScanResult } from '../../src/report/result.js';
import { duration, svgTimeline } from '../../src/report/svg-timeline.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');

const SCRIPT_TAG = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';
const STYLE_END = '</style>';
const JS_LINK = '<a href="javascript:alert(1)">click</a> [x](javascript:alert(1))';
const EVIL = `${SCRIPT_TAG} ${IMG} ${STYLE_END} ${JS_LINK} \x1b[31m'`;
/** EVIL as the page must hold it: every markup character an entity, ESC made visible. */
const EVIL_ESCAPED =
  '&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;/style&gt; ' +
  '&lt;a href=&quot;javascript:alert(1)&quot;&gt;click&lt;/a&gt; [x](javascript:alert(1)) \\x1b[31m&#39;';

/** The tags and attributes the report writes; anything else in a page came from the evidence. */
const TAGS = new Set(
  (
    '!DOCTYPE html head meta link title style body header h1 h2 h3 h4 p div span nav ol ul li a main section ' +
    'strong code pre details summary article table thead tbody tfoot tr th td input output button script svg ' +
    'rect text g polygon line footer'
  ).split(' '),
);
const ATTRIBUTES = new Set(
  (
    'lang charset http-equiv content name rel href class id role hidden type placeholder aria-label ' +
    'aria-labelledby autocomplete spellcheck for viewBox width height xmlns x y x1 y1 x2 y2 rx points ' +
    'text-anchor html'
  ).split(' '),
);

let seed: ScanResult;
let seedHtml: string;

beforeAll(async () => {
  seed = await audit({
    project: SEED,
    kvSnapshot: path.join(SEED, 'kv-snapshot.jsonl'),
    logs: [path.join(SEED, 'logs')],
    now: '2026-01-01T00:00:00Z',
  });
  seedHtml = await renderReport(seed, 'html');
});

/** Every tag of the page: its name and its attribute names. */
function tagsOf(html: string): { name: string; attrs: string[] }[] {
  // Between tags only text; inside the one script and style block, our own code (checked separately).
  const outside = html.replace(/<script>[\s\S]*?<\/script>/, '<script>').replace(/<style>[\s\S]*?<\/style>/, '<style>');
  return [...outside.matchAll(/<\/?([!A-Za-z][\w-]*)([^<>]*)>/g)].map((m) => ({
    name: m[1],
    attrs: [...m[2].matchAll(/\s([\w:-]+)(?:="[^"]*")?/g)].map((a) => a[1]),
  }));
}

function hostile(result: ScanResult): ScanResult {
  const items = result.runs!.items.map((r) =>
    r.keyPrefix
      ? {
          ...r,
          request: r.request && { ...r.request, text: EVIL },
          cycles: r.cycles.map((c) => ({ ...c, instruction: EVIL })),
          sessions: r.sessions.map((s) => ({ ...s, events: s.events.map((e) => ({ ...e, text: EVIL })) })),
        }
      : r,
  );
  return {
    ...result,
    projectRoot: EVIL,
    findings: result.findings.map((f) => ({
      ...f,
      message: EVIL,
      evidence: f.evidence.map((e) => ({
        ...e,
        excerpt: EVIL,
        note: EVIL,
        location: e.location.kind === 'log' ? { ...e.location, path: EVIL } : e.location,
        ...(e.context?.lines ? { context: { lines: { start: 1, text: [EVIL, EVIL] } } } : {}),
      })),
    })),
    runs: { ...result.runs!, items },
  };
}

describe('escaping', () => {
  it('text and attribute values: markup characters as entities, controls visible', () => {
    expect(esc(SCRIPT_TAG)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(esc(IMG)).toBe('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(esc(STYLE_END)).toBe('&lt;/style&gt;');
    expect(esc(`it's & "x"`)).toBe('it&#39;s &amp; &quot;x&quot;');
    expect(esc('a\u202eb\x1b[2J\nc')).toBe('a\\u202eb\\x1b[2J\\nc');
    expect(esc(EVIL)).toBe(EVIL_ESCAPED);
    expect(escLines(`${SCRIPT_TAG}\n\tx`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;\n\\tx');
  });
});

describe('the page of hostile evidence', () => {
  let html: string;
  beforeAll(async () => {
    html = await renderReport(hostile(seed), 'html');
  });

  it('shows the hostile text escaped, exactly, in the message, evidence, summary and timeline', () => {
    expect(html).toContain(`<p class="message">${EVIL_ESCAPED}</p>`);
    expect(html).toContain(`<pre>${EVIL_ESCAPED}</pre>`);
    expect(html).toContain(`<strong>Asked for:</strong> “${EVIL_ESCAPED}”`);
    expect(html).toContain(`<code>${EVIL_ESCAPED}:45</code>`);
    expect(html).toContain(`<td>the user asks: ${EVIL_ESCAPED}</td>`);
    expect(html).toContain(`project <code>${EVIL_ESCAPED}</code>`);
  });

  it('holds only the tags and attributes the report writes, one script and one style, and no URL but its own', () => {
    const tags = tagsOf(html);
    expect(tags.length).toBeGreaterThan(500);
    expect(tags.filter((t) => !TAGS.has(t.name)).map((t) => t.name)).toEqual([]);
    expect([...new Set(tags.flatMap((t) => t.attrs).filter((a) => !ATTRIBUTES.has(a)))]).toEqual([]);
    expect(html.match(/<script\b/gi)).toHaveLength(1);
    expect(html.match(/<style\b/gi)).toHaveLength(1);
    expect(html.match(/<\/style>/gi)).toHaveLength(1);
    expect(html).not.toMatch(/<img\b/i);
    const urls = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls.filter((u) => !/^#[a-z0-9-]+$/.test(u) && u !== 'data:,')).toEqual([]);
    expect(html).toContain(`<script>${SCRIPT}</script>`);
    expect(html).toContain(`<style>${STYLE}</style>`);
  });
});

describe('the seed incident as HTML', () => {
  it('has a policy that forbids everything but its own style and script, named by hash', () => {
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(seedHtml)?.[1];
    expect(meta?.replace(/&#39;/g, "'")).toBe(CSP);
    const script = /<script>([\s\S]*?)<\/script>/.exec(seedHtml)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(seedHtml)![1];
    expect(CSP.split('; ')).toEqual([
      "default-src 'none'",
      `script-src ${hash(script)}`,
      `style-src ${hash(style)}`,
      'img-src data:',
      "connect-src 'none'",
      "font-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]);
    // The policy is the first thing in <head> after the charset, before any style or script.
    expect(seedHtml.indexOf('Content-Security-Policy')).toBeLessThan(seedHtml.indexOf('<style>'));
  });

  it('has the summary, the chart, every finding under its cause, and the search box hidden until the script runs', () => {
    expect(seedHtml).toContain('<h1>Incident report: wal-operation-handling-fix, cycle 1</h1>');
    expect(seedHtml).toContain(
      '<span class="count">17 problems</span><span class="count error">9 errors</span>' +
        '<span class="count warning">8 warnings</span><span class="count info">0 info</span>',
    );
    expect(seedHtml).toContain(
      '<strong>What really happened:</strong> plan completed at 16:00:14; <strong>execute never ran</strong> ' +
        '(no entry in any of the 5 revisions, and no peer-executor was spawned), yet the phases after it ran;',
    );
    expect(seedHtml.match(/<svg class="timeline"/g)).toHaveLength(1);
    expect(seedHtml.match(/<article class="finding">/g)).toHaveLength(seed.findings.length);
    expect(seedHtml.match(/<section class="cause /g)).toHaveLength(8);
    expect(seedHtml).toMatch(
      /<section class="cause error" id="cause-1">\n<h3>1\. The execute phase never ran<\/h3>\n<article class="finding">/,
    );
    expect(seedHtml).toContain(
      '<details class="evidence"><summary>Evidence 1 · <span class="kind">KV</span> ' +
        '<code>peer.spec.wal-operation-handling-fix.cycle.1@9/phases/execute</code> ' +
        '<span class="note">— execute is absent</span></summary>',
    );
    expect(seedHtml).toContain('<div class="search" id="search" role="search" hidden>');
    expect(seedHtml).not.toMatch(/<article[^>]* hidden/);
    // The seed's cost, as counted by hand from its transcript (test/model/run-cost.test.ts): the whole run's row,
    // and the waste of the phases that ran after the skipped execute.
    expect(seedHtml).toContain(
      '<tfoot><tr><th>Whole run</th><td>—</td><td class="num">370</td><td class="num">10,357</td>' +
        '<td class="num">2,419,632</td><td class="num">175,336</td><td class="num">15m 27s</td>' +
        '<td class="num">77</td></tr></tfoot></table><p class="waste"><strong>Waste:</strong> 1,467,847 tokens',
    );
  });
});

describe('the timeline as SVG', () => {
  const t0 = Date.parse('2025-08-05T16:00:00Z');
  it('draws bars, milestones, their times, and escapes their names', () => {
    const svg = svgTimeline(
      [
        { section: 'Cycle 1 state', name: 'plan complete', tags: ['done'], start: t0, end: t0 + 192_000 },
        { section: 'Cycle 1 state', name: 'execute never ran', tags: ['crit', 'milestone'], start: t0, end: t0 },
        { section: 'Transcript', name: SCRIPT_TAG, tags: [], start: t0 + 60_000, end: t0 + 120_000 },
      ],
      `title ${IMG}`,
      'timeline-1',
    )!;
    expect(svg).toContain('<title id="timeline-1-title">title &quot;&gt;&lt;img src=x onerror=alert(1)&gt;</title>');
    expect(svg).toContain('<g class="tl-bar tl-done"><rect ');
    expect(svg).toContain('<title>plan complete: 2025-08-05 16:00:00 to 16:03:12 UTC (3m 12s)</title>');
    expect(svg).toContain('<g class="tl-bar tl-crit"><polygon ');
    expect(svg).toContain('<title>execute never ran: 2025-08-05 16:00:00 UTC</title>');
    expect(svg).toContain('>&lt;script&gt;alert(1)&lt;/script&gt;<title>');
    expect(svg).toContain('>Cycle 1 state</text>');
    expect(svg).toContain('>2025-08-05 (UTC)</text>');
    expect(svg).not.toContain('<script');
    expect(svgTimeline([], 'x', 'y')).toBeUndefined();
  });

  it('says lengths the way people do', () => {
    expect([850, 12_000, 192_000, 3_840_000, 3 * 86_400_000].map(duration)).toEqual([
      '850ms',
      '12s',
      '3m 12s',
      '1h 4m',
      '3d',
    ]);
  });
});

describe('cost', () => {
  const cost = {
    tokens: { input: 1200, output: 340, cacheRead: 56000, cacheWrite: 7000 },
    wallMs: 874_000,
    toolCalls: 41,
    phases: [
      {
        phase: 'plan',
        agents: ['peer-planner'],
        tokens: { input: 700, output: 200, cacheRead: 30000, cacheWrite: 4000 },
        wallMs: 192_000,
        toolCalls: 12,
      },
      { phase: SCRIPT_TAG, agents: 1, tokens: {}, wallMs: 'soon', toolCalls: 3 },
    ],
    subagents: [],
  };

  it('a table per phase and the whole run; fields that are not numbers shown as —; names escaped', () => {
    const t = costTable(cost)!;
    expect(t).toContain(
      '<tr><td>plan</td><td>peer-planner</td><td class="num">700</td><td class="num">200</td>' +
        '<td class="num">30,000</td><td class="num">4,000</td><td class="num">3m 12s</td><td class="num">12</td></tr>',
    );
    expect(t).toContain(
      '<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>1</td><td class="num">—</td><td class="num">—</td>' +
        '<td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="num">3</td></tr>',
    );
    expect(t).toContain(
      '<tfoot><tr><th>Whole run</th><td>—</td><td class="num">1,200</td><td class="num">340</td>' +
        '<td class="num">56,000</td><td class="num">7,000</td><td class="num">14m 34s</td><td class="num">41</td></tr>',
    );
    expect(t).not.toContain('Cost');
  });

  it('money when the config priced the models, in its currency', () => {
    const t = costTable({ ...cost, money: 1.5, currency: 'USD', phases: [{ ...cost.phases[0], money: 0.25 }] })!;
    expect(t).toContain('<th class="num">Cost (USD)</th>');
    expect(t).toContain('<td class="num">0.25</td></tr>');
    expect(t).toContain('<td class="num">1.50</td></tr></tfoot>');
  });

  it('the report has a Cost section when a run has cost, and none when none has', async () => {
    const items = seed.runs!.items.map((r): RunRecord => (r.keyPrefix ? ({ ...r, cost } as unknown as RunRecord) : r));
    const html = await renderReport({ ...seed, runs: { ...seed.runs!, items } }, 'html');
    expect(html).toContain('<section id="cost">\n<h2>Cost</h2>');
    expect(html).toContain('<li><a href="#cost">Cost</a></li>');
    expect(costTable(undefined)).toBeUndefined();
    expect(costTable({ phases: 'x' })).toBeUndefined();
  });
});

describe('rule advice', () => {
  it('renders the docs’ own Markdown: paragraphs, lists, code, bold, links named as text', () => {
    expect(
      docHtml('Run `peer-audit repair` **now**; see [the doc](truncated-file.md).\n\n- one <b>\n  more\n- `a<b`'),
    ).toBe(
      '<p>Run <code>peer-audit repair</code> <strong>now</strong>; see the doc (<code>rules/truncated-file.md</code>).' +
        '</p>\n<ul><li>one &lt;b&gt; more</li><li><code>a&lt;b</code></li></ul>',
    );
  });
});

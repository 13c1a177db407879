// The HTML report in a real browser: the seed incident's report, written by the CLI, opened from disk in headless
// Chromium (Debian's `chromium`, driven by playwright-core). It shows the summary counts, the missing-execute-phase
// cause and the evidence locations; the search box filters the findings; nothing leaves the page; the policy
// lets the page's own style and script run and nothing else; hostile evidence shows as text and runs nothing.
// A screenshot of the page is kept in test/artifacts/html-report/ (ignored by git).
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import type { ScanResult } from '../../src/report/result.js';

const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const SOURCES = ['--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs', '--no-config'];
const CHROMIUM = process.env.PEER_AUDIT_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'test/artifacts/html-report');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIPPED = `browser test skipped: no Chromium at ${CHROMIUM} (install Debian's chromium, or set PEER_AUDIT_CHROMIUM)`;
if (!HAVE_CHROMIUM) console.warn(SKIPPED);

const EVIL =
  '<script>window.pwned = 1; alert(1)</script> "><img src=x onerror="window.pwned = 2; alert(1)"> </style> ' +
  '<a href="javascript:alert(1)">click</a>';

let tmp: string;
let browser: Browser;

/** What a page did while open: every request, console message, dialog, error and policy violation. */
interface Watch {
  page: Page;
  requests: string[];
  /** Requests that failed, with why. */
  failed: string[];
  console: string[];
  dialogs: string[];
  errors: string[];
  violations: () => Promise<string[]>;
}

async function open(file: string, context?: BrowserContext): Promise<Watch> {
  const ctx = context ?? (await browser.newContext({ viewport: { width: 1200, height: 900 } }));
  const page = await ctx.newPage();
  const w: Watch = {
    page,
    requests: [],
    failed: [],
    console: [],
    dialogs: [],
    errors: [],
    violations: () =>
      page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? []).catch(() => []),
  };
  // Recorded from the first moment of the document (added by the test harness, outside the page's policy).
  await page.addInitScript(() => {
    const list: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = list;
    document.addEventListener('securitypolicyviolation', (e) => list.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('requestfailed', (r) => w.failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('console', (m) => w.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => w.errors.push(e.message));
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`file://${file}`);
  return w;
}

const visibleFindings = (page: Page) => page.locator('article.finding:visible').count();

describe.skipIf(!HAVE_CHROMIUM)(
  `the seed incident's HTML report in Chromium (${HAVE_CHROMIUM ? CHROMIUM : SKIPPED})`,
  () => {
    let report: string;
    let findings: number;

    beforeAll(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-html-'));
      report = path.join(tmp, 'incident.html');
      const r = await runCli(['report', ...SOURCES, '--format', 'html', '-o', report], { cwd: SEED });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const json = await runCli(['scan', ...SOURCES, '--format', 'json'], { cwd: SEED });
      findings = (JSON.parse(json.stdout) as ScanResult).findings.length;
      expect(findings).toBe(17);
      browser = await chromium.launch({ executablePath: CHROMIUM });
    });

    afterAll(async () => {
      await browser?.close();
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });

    it('shows the summary counts, the missing-execute-phase cause and the evidence locations', async () => {
      const w = await open(report);
      const { page } = w;
      expect(await page.title()).toBe('Incident report: wal-operation-handling-fix, cycle 1');
      expect(await page.locator('.counts').innerText()).toBe('17 problems\n9 errors\n8 warnings\n0 info');
      const summary = await page.locator('#summary').innerText();
      expect(summary).toContain(
        'What really happened: plan completed at 16:00:14; execute never ran (no entry in any of the 5 revisions, ' +
          'and no peer-executor was spawned), yet the phases after it ran;',
      );
      expect(summary).toContain(
        'peer-audit found 9 errors, 8 warnings and 0 info findings, explained by 8 root causes',
      );

      const cause = page.locator('#cause-1');
      expect(await cause.locator('h3').innerText()).toBe('1. The execute phase never ran');
      expect(await cause.locator('article.finding').first().locator('.rule').innerText()).toBe('missing-execute-phase');
      expect(await cause.locator('.follows-head').innerText()).toBe(
        'Follows from it (5): false-success, missing-tasks-md, phase-order-violation, state-inconsistency, ' +
          'state-inconsistency',
      );
      // Evidence locations are shown while the evidence itself is folded; opening it shows the excerpt.
      const first = cause.locator('details.evidence').first();
      expect(await first.locator('summary').innerText()).toBe(
        'Evidence 1 · KV peer.spec.wal-operation-handling-fix.cycle.1@9/phases/execute — execute is absent',
      );
      const excerpt = first.locator('pre').first();
      expect(await excerpt.isVisible()).toBe(false);
      await first.locator('summary').click();
      expect(await excerpt.innerText()).toBe('"phases" has no "execute" entry (it has: plan, express, review)');
      for (const where of [
        'logs/output-peer-test-2.jsonl:45',
        '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md:42',
        'peer.spec.wal-operation-handling-fix.meta@10/cycles/1/status',
      ])
        expect(
          await page.locator('details.evidence > summary code', { hasText: where }).first().isVisible(),
          where,
        ).toBe(true);

      // The chart is drawn: the run's 13 bars (5 of the cycle's state, 8 of the transcript), at full width.
      expect(await page.locator('svg.timeline .tl-bar').count()).toBe(13);
      expect((await page.locator('svg.timeline').boundingBox())!.width).toBeGreaterThan(900);
      // The style sheet ran (its hash is in the policy): an error count is red on pink.
      expect(await page.locator('.count.error').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(207, 34, 46)');

      await fs.mkdir(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, 'wal-operation-handling-fix.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await fs.stat(shot)).size).toBeGreaterThan(50_000);

      expect(w.requests).toEqual([`file://${report}`]);
      expect(await w.violations()).toEqual([]);
      expect(w.console).toEqual([]);
      expect(w.errors).toEqual([]);
      await page.context().close();
    });

    it('filters the findings as the reader types, and shows them all again when the box is cleared', async () => {
      const w = await open(report);
      const { page } = w;
      const box = page.locator('#search-input');
      const count = page.locator('#search-count');
      expect(await box.isVisible()).toBe(true);
      expect(await visibleFindings(page)).toBe(findings);
      expect(await count.innerText()).toBe('17 findings');

      await box.fill('truncated-file');
      expect(await visibleFindings(page)).toBe(1);
      expect(await count.innerText()).toBe('1 of 17 findings match');
      expect(await page.locator('section.cause:visible').evaluateAll((s) => s.map((x) => x.id))).toEqual(['cause-2']);
      expect(await page.locator('article.finding:visible .rule').innerText()).toBe('truncated-file');

      // Every word must occur, in the finding or its folded evidence.
      await box.fill('heredoc spec.md:42');
      expect(
        await page.locator('article.finding:visible .rule').evaluateAll((r) => r.map((x) => x.textContent)),
      ).toEqual(['heredoc-artifact']);
      await box.fill('no such text anywhere');
      expect(await visibleFindings(page)).toBe(0);
      expect(await count.innerText()).toBe('0 of 17 findings match');

      await box.fill('');
      expect(await visibleFindings(page)).toBe(findings);
      expect(await page.locator('section.cause:visible').count()).toBe(8);
      expect(w.requests).toEqual([`file://${report}`]);
      expect(await w.violations()).toEqual([]);
      await page.context().close();
    });

    it('with scripts off, every finding stays visible and no search box is shown', async () => {
      const ctx = await browser.newContext({ javaScriptEnabled: false });
      const { page, requests } = await open(report, ctx);
      expect(await visibleFindings(page)).toBe(findings);
      expect(await page.locator('#search').isVisible()).toBe(false);
      expect(requests).toEqual([`file://${report}`]);
      await ctx.close();
    });

    it('the policy holds: a script, an image or a connection put into the page is refused', async () => {
      const w = await open(report);
      const { page } = w;
      const outcome = await page.evaluate(async () => {
        const s = document.createElement('script');
        s.textContent = 'window.injected = 1';
        document.body.append(s);
        const img = document.createElement('img');
        img.src = 'https://example.com/pixel.png';
        document.body.append(img);
        let fetched = 'no';
        await fetch('https://example.com/').then(
          () => (fetched = 'yes'),
          () => (fetched = 'refused'),
        );
        await new Promise((r) => setTimeout(r, 200));
        return { injected: (window as unknown as { injected?: number }).injected, fetched };
      });
      expect(outcome).toEqual({ injected: undefined, fetched: 'refused' });
      expect((await w.violations()).sort()).toEqual([
        'connect-src https://example.com/',
        'img-src https://example.com/pixel.png',
        'script-src-elem inline',
      ]);
      // The image was asked for and refused by the policy before it left the page.
      expect(w.requests).toEqual([`file://${report}`, 'https://example.com/pixel.png']);
      expect(w.failed).toEqual(['https://example.com/pixel.png csp']);
      await page.context().close();
    });

    it('hostile evidence in a saved scan is shown as text: no dialog, no script, no request', async () => {
      const saved = JSON.parse(
        (await runCli(['scan', ...SOURCES, '--format', 'json'], { cwd: SEED })).stdout,
      ) as ScanResult;
      const hostile: ScanResult = {
        ...saved,
        findings: saved.findings.map((f) => ({
          ...f,
          message: EVIL,
          evidence: f.evidence.map((e) => ({ ...e, excerpt: EVIL, note: EVIL })),
        })),
        runs: {
          ...saved.runs!,
          items: saved.runs!.items.map((r) => ({
            ...r,
            ...(r.request ? { request: { ...r.request, text: EVIL } } : {}),
            cycles: r.cycles.map((c) => ({ ...c, instruction: EVIL })),
            sessions: r.sessions.map((s) => ({ ...s, events: s.events.map((e) => ({ ...e, text: EVIL })) })),
          })),
        },
      };
      const from = path.join(tmp, 'hostile.json');
      const out = path.join(tmp, 'hostile.html');
      await fs.writeFile(from, JSON.stringify(hostile));
      const r = await runCli(['report', '--from', from, '--format', 'html', '-o', out, '--no-config']);
      expect(r.code, r.stderr).toBe(1);

      const w = await open(out);
      const { page } = w;
      await page.locator('#expand-evidence').click();
      await page.waitForTimeout(200);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(w.dialogs).toEqual([]);
      expect(w.errors).toEqual([]);
      expect(await page.locator('script').count()).toBe(1);
      expect(await page.locator('img, a[href^="javascript"]').count()).toBe(0);
      expect(await page.locator('#cause-1 .message').first().innerText()).toBe(EVIL);
      expect(await page.locator('#summary li').first().innerText()).toBe(
        `Asked for: “${EVIL}” (logs/output-peer-test-2.jsonl:1, 2025-08-05 15:56:07.429 UTC).`,
      );
      expect(w.requests).toEqual([`file://${out}`]);
      expect(await w.violations()).toEqual([]);
      await page.context().close();
    });
  },
);

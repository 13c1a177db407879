// Text from the evidence cannot act on the reader: terminal control sequences are shown escaped in stylish
// output (every field), Markdown specials in excerpts cannot change the report's structure, and stdout
// carries only the report while notices go to stderr.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Chalk } from 'chalk';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { Transcript } from '../helpers/transcript.js';
import { escapeControl, mdCode, mdFence, mdInline } from '../../src/model/text.js';
import { formatStylish } from '../../src/report/stylish.js';
import { formatMarkdown } from '../../src/report/markdown.js';
import { formatSarif } from '../../src/report/sarif.js';
import { loadRuleDocs } from '../../src/report/rule-docs.js';
import type { ScanResult } from '../../src/report/result.js';
import { fences, headings, renderHtml, tokens } from './helpers.js';

const SGR = '\x1b[31m';
const OSC8 = '\x1b]8;;http://evil.example/\x07click me\x1b]8;;\x07';
const CR = 'visible\rHIDDEN';
const BEL = 'ding\x07';
const BIDI = 'abc\u202edcba';
const HOSTILE = `${SGR}red${OSC8}${CR}${BEL}${BIDI}\x1b[2J\x9b31m`;

/** Raw control characters a terminal would act on (newline and tab aside). */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** A scan result with hostile text in every string field a formatter prints. */
function hostileResult(): ScanResult {
  const h = (s: string) => `${s} ${HOSTILE}`;
  return {
    version: 1,
    tool: { name: 'peer-audit', version: '0.1.0' },
    generatedAt: '2025-08-06T00:00:00.000Z',
    projectRoot: h('/tmp/project'),
    bucket: h('bucket'),
    complete: false,
    incompleteReasons: [h('snapshot unreadable')],
    sources: [
      {
        kind: 'logs',
        ref: h('logs'),
        ok: false,
        error: h('broken'),
        stats: { [h('files')]: 1 },
        problems: [{ where: h('logs/a.jsonl'), line: 3, reason: h('spliced') }],
      },
    ],
    summary: { errors: 1, warnings: 0, infos: 0 },
    findings: [
      {
        ruleId: h('script-failure'),
        severity: 'error',
        message: h('update-state.sh failed'),
        subject: {
          spec: h('spec'),
          keyPrefix: h('peer.spec.x'),
          folder: h('.agent-os/specs/x'),
          session: h('s1'),
          cycle: 1,
        },
        fingerprint: '0123456789abcdef',
        evidence: [
          {
            location: { kind: 'log', path: h('logs/a.jsonl'), line: 5, timestamp: '2025-08-05T16:00:00Z' },
            excerpt: h('❌ Error'),
            note: h('the error'),
          },
          {
            location: { kind: 'kv', bucket: h('b'), key: h('peer.spec.x.cycle.1'), revision: 2, pointer: h('/phases') },
            excerpt: h('"status"'),
            note: h('kv'),
          },
          {
            location: { kind: 'file', path: h('.agent-os/specs/x/spec.md'), line: 4 },
            excerpt: h('EOF'),
            context: { lines: { start: 3, text: [h('line 3'), h('line 4')] } },
          },
          {
            location: { kind: 'bucket', bucket: h('b'), origin: h('nats://x'), field: h('history') },
            excerpt: h('history 1'),
          },
        ],
      },
    ],
  };
}

describe('escapeControl', () => {
  it('escapes ESC (SGR, OSC 8), CR, BEL, C1 controls and bidi overrides, and keeps the text readable', () => {
    expect(escapeControl(HOSTILE)).toBe(
      '\\x1b[31mred\\x1b]8;;http://evil.example/\\x07click me\\x1b]8;;\\x07visible\\rHIDDENding\\x07abc\\u202edcba\\x1b[2J\\x9b31m',
    );
    expect(escapeControl('a\tb\nc ✅ é')).toBe('a\\tb\\nc ✅ é');
  });
});

describe('stylish output: every field goes through escapeControl', () => {
  it('no raw control character reaches the terminal, without colour', () => {
    const out = formatStylish(hostileResult(), { chalk: new Chalk({ level: 0 }) });
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out).toContain('\\x1b[31mred');
    expect(out).toContain('\\x1b]8;;http://evil.example/\\x07click me');
    expect(out).toContain('visible\\rHIDDEN');
    expect(out).toContain('ding\\x07');
    expect(out).toContain('abc\\u202edcba');
    // Every field was printed (so every field was escaped): one hostile tail per field.
    expect(out.split('\\x1b[2J').length - 1).toBeGreaterThanOrEqual(14);
  });

  it('with colour, the only escape sequences are the colours peer-audit writes', () => {
    const out = formatStylish(hostileResult(), { chalk: new Chalk({ level: 1 }) });
    const withoutOwnColours = out.replace(/\x1b\[(?:\d+;)*\d+m/g, '');
    expect(withoutOwnColours).not.toMatch(RAW_CONTROL);
  });

  it('end to end: a transcript whose output holds control sequences is shown escaped by scan', async () => {
    const t = new Transcript()
      .human('/peer --instruction=create-spec for peer.spec.demo-spec')
      .bash(
        't1',
        `~/.agent-os/scripts/peer/update-state.sh peer.spec.demo-spec.cycle.1 ${SGR}`,
        `❌ Error: ${HOSTILE}`,
        true,
      );
    const dir = await t.write();
    const r = await runCli(['scan', '--no-kv', '--logs', dir, '--project', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('script-failure');
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain('❌ Error: \\x1b[31mred\\x1b]8;;http://evil.example/\\x07click me');
    for (const format of ['markdown', 'sarif', 'json']) {
      const o = await runCli(['scan', '--no-kv', '--logs', dir, '--project', dir, '--format', format]);
      expect(o.stdout, format).not.toMatch(RAW_CONTROL);
    }
  });
});

describe('Markdown: evidence cannot break the report', () => {
  it('inline text: Markdown and HTML specials are escaped, line breaks cannot escape the paragraph', () => {
    const s =
      '**bold** _it_ `code` [link](javascript:alert(1)) <img src=x> | pipe ~~del~~ $x$ @user &amp;\n# not a heading';
    const html = renderHtml(`Text: ${mdInline(s)}`);
    expect(html).toBe(
      `<p>Text: ${s.replace('\n', '\\n').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</p>\n`,
    );
    expect(renderHtml(mdInline('# heading\n1. item', true))).toMatch(/^<p># heading\\n1\. item<\/p>/);
    expect(renderHtml(mdInline('1. item', true))).toBe('<p>1. item</p>\n');
  });

  it('code spans and fences are longer than any backtick run inside', () => {
    expect(mdCode('a ``` b')).toBe('````a ``` b````');
    expect(mdCode('`x`')).toBe('`` `x` ``');
    expect(renderHtml(mdCode('`x`'))).toBe('<p><code>`x`</code></p>\n');
    const f = mdFence(['```', '````js', 'x'], 'text');
    expect(f.startsWith('`````text\n')).toBe(true);
    expect(fences(f)).toEqual([{ info: 'text', content: '```\n````js\nx\n' }]);
  });

  it('a report of hostile evidence has the same structure as any other: headings, fences, no HTML', async () => {
    const rules = await loadRuleDocs();
    const evil = [
      '```',
      '~~~',
      '# Injected heading',
      '</code></pre><script>alert(1)</script>',
      '| a | b |',
      '[click](javascript:alert(1))',
      '<img src=x onerror=alert(1)>',
      '$$\\LaTeX$$ @everyone',
      HOSTILE,
    ].join('\n');
    const base = hostileResult();
    const result: ScanResult = {
      ...base,
      findings: base.findings.map((f) => ({
        ...f,
        message: evil,
        evidence: f.evidence.map((e) => ({ ...e, excerpt: evil, note: evil })),
      })),
    };
    const md = formatMarkdown(result, { rules });
    expect(md).not.toMatch(RAW_CONTROL);
    const html = renderHtml(md);
    expect(html).not.toMatch(/<script|<img|href="javascript:/i);
    expect(headings(md, 1)).toHaveLength(1);
    expect(headings(md, 2)).toEqual([
      'Summary',
      'Timeline',
      'Findings by root cause',
      'Recommendations',
      'Repairs applied',
      'Appendix: sources',
    ]);
    expect(headings(md, 3).some((h) => /Injected/.test(h))).toBe(false);
    // Each evidence excerpt is exactly one fence holding the whole excerpt (the file evidence shows its lines instead).
    const excerpts = fences(md).filter((f) => f.content.includes('Injected heading'));
    expect(excerpts.length).toBe(3);
    for (const f of excerpts) expect(f.content).toContain('</code></pre><script>alert(1)</script>');
    // Table rows keep their columns.
    const t = tokens(md);
    let cols = 0;
    for (const tok of t) {
      if (tok.type === 'thead_open') cols = -1;
      if (tok.type === 'tr_open') cols = 0;
      if (tok.type === 'th_open' || tok.type === 'td_open') cols++;
    }
    expect(cols).toBeGreaterThan(0);
    expect(formatSarif(result, { rules })).not.toMatch(RAW_CONTROL);
  });
});

describe('stdout carries only the report; notices go to stderr', () => {
  const SEED = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
  let claude: string;
  beforeAll(async () => {
    // Claude Code's log folder for the seed project, so the scan finds it itself and says so (a notice).
    claude = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-claude-'));
    const encoded = path.resolve(SEED).replace(/[^A-Za-z0-9]/g, '-');
    await fs.cp(path.join(SEED, 'logs'), path.join(claude, 'projects', encoded), { recursive: true });
  });
  const env = () => ({ CLAUDE_CONFIG_DIR: claude });

  for (const format of ['sarif', 'json', 'markdown', 'stylish']) {
    it(`scan --format ${format}: the report alone on stdout, the notice on stderr`, async () => {
      const r = await runCli(['scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--format', format], {
        cwd: SEED,
        env: env(),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^peer-audit: reading Claude Code logs from /);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .every((l) => l.startsWith('peer-audit: ')),
      ).toBe(true);
      if (format === 'sarif' || format === 'json') expect(() => JSON.parse(r.stdout)).not.toThrow();
      if (format === 'markdown')
        expect(r.stdout.startsWith('# Incident report: wal-operation-handling-fix, cycle 1\n')).toBe(true);
      expect(r.stdout).not.toContain('reading Claude Code logs');
    });
  }

  it('report --output: nothing on stdout, the report in the file, notices on stderr', async () => {
    const out = path.join(claude, 'incident.md');
    const r = await runCli(['report', '--kv-snapshot', 'kv-snapshot.jsonl', '-o', out], { cwd: SEED, env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/reading Claude Code logs from/);
    expect(r.stderr).toMatch(/wrote .*incident\.md/);
    expect((await fs.readFile(out, 'utf8')).startsWith('# Incident report')).toBe(true);
  });

  it('an incomplete scan: the report on stdout says so at the top, the reason also goes to stderr', async () => {
    const r = await runCli(['report', '--kv-snapshot', 'missing.jsonl', '--logs', 'logs'], { cwd: SEED });
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n').slice(0, 4).join('\n')).toMatch(
      /^# Incident report[^\n]*\n\n> \*\*⚠ Incomplete evidence\.\*\*/,
    );
    expect(r.stdout).toMatch(/missing\.jsonl/);
    expect(r.stderr).toMatch(/^peer-audit: incomplete: .*missing\.jsonl/m);
  });
});

describe('JSON written in pieces', () => {
  it('is the same text as the whole report, for any value', async () => {
    const { jsonChunks } = await import('../../src/report/json.js');
    const { safeJson } = await import('../../src/model/text.js');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string(),
          fc.oneof(fc.jsonValue(), fc.array(fc.dictionary(fc.string(), fc.jsonValue())), fc.constant(undefined)),
        ),
        (value) => {
          expect([...jsonChunks(value as never)].join('')).toBe(`${safeJson(value)}\n`);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// Property tests for the transcript reader: every line of every generated file is either understood
// (a record) or reported (file and line), no exception escapes, and the rules run over the result.
import { isUtf8 } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build.js';
import { loadRules } from '../../src/engine/registry.js';
import { runRules } from '../../src/engine/run.js';
import { DEFAULT_RULE_OPTIONS, type Rule } from '../../src/engine/rule.js';
import { parseJsonLine } from '../../src/sources/logs/read-lines.js';
import { readLogs } from '../../src/sources/logs.js';
import { damagedLine, fileBytes, jsonlFile, physicalLines, type FileSpec } from './gen.js';
import { params, runs, timeoutFor } from './runs.js';

const LINE_RUNS = 5000;
const FILE_RUNS = 500;

let base: string;
let rules: Rule[];
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'pa-fuzz-logs-'));
  rules = await loadRules();
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a physical line must become, decided without peer-audit's parser. */
function expectation(raw: Buffer, lineNo: number): 'blank' | 'record' | 'corrupt' {
  let b = raw;
  if (lineNo === 1 && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  if (b.length > 0 && b[b.length - 1] === 0x0d) b = b.subarray(0, -1);
  const text = b.toString('utf8');
  if (text.trim() === '') return 'blank';
  if (!isUtf8(b)) return 'corrupt';
  try {
    return isPlainObject(JSON.parse(text)) ? 'record' : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

describe('parseJsonLine over generated lines', () => {
  it(`never throws; a JSON object is a record, anything else non-blank is a problem with a reason (${runs(LINE_RUNS)} lines)`, () => {
    fc.assert(
      fc.property(damagedLine, fc.boolean(), (bytes, terminated) => {
        const parsed = parseJsonLine(bytes, terminated);
        const want = expectation(bytes, 2);
        if (want === 'blank') expect(parsed).toEqual({ blank: true });
        else if (want === 'record') {
          expect(parsed.problem).toBeUndefined();
          expect(parsed.value).toEqual(JSON.parse(bytes.toString('utf8')));
        } else {
          expect(parsed.problem?.reason).toBeTruthy();
          // the excerpt is one readable line: no raw control characters
          expect(parsed.problem!.excerpt).not.toMatch(/[\u0000-\u001f\u007f]/);
          if (parsed.cutOff) expect(terminated).toBe(false);
        }
      }),
      params(LINE_RUNS),
    );
  });
});

describe('readLogs over generated files', () => {
  let n = 0;
  it(
    `every line of ${runs(FILE_RUNS)} generated sessions (main file + subagent files) is a record, blank, or reported at its line; the rules run clean`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          jsonlFile,
          fc.option(jsonlFile, { nil: undefined }),
          fc.option(jsonlFile, { nil: undefined }),
          async (main, sibling, nested) => {
            const dir = path.join(base, `r${n++}`);
            const files = new Map<string, Buffer>();
            const put = (rel: string, spec: FileSpec) => {
              const abs = path.join(dir, rel);
              mkdirSync(path.dirname(abs), { recursive: true });
              const bytes = fileBytes(spec);
              writeFileSync(abs, bytes);
              files.set(rel, bytes);
            };
            put('s-1.jsonl', main);
            if (sibling) put('agent-a4f09c2.jsonl', sibling);
            if (nested) put('s-1/subagents/agent-b1.jsonl', nested);

            const { data, report } = await readLogs([dir], dir);

            // A file in which no line is a record could not be read: the source is partial, the file named (no line).
            const unreadable = report.problems.filter(
              (p) => p.line === undefined && /^cannot read .*: none of its \d+ lines? is a JSON record/.test(p.reason),
            );
            expect(report.ok, report.error).toBe(unreadable.length === 0);
            let totalLines = 0;
            let mustBeRecords = 0;
            let nonBlank = 0;
            const listed = new Set(report.problems.map((p) => `${p.where}:${p.line}`));
            for (const [rel, bytes] of files) {
              const lines = physicalLines(bytes);
              totalLines += lines.length;
              const wants = lines.map((raw, i) => expectation(raw, i + 1));
              if (unreadable.some((p) => p.where === rel)) {
                expect(wants, `${rel} reported unreadable`).not.toContain('record');
                expect(wants, `${rel} reported unreadable`).toContain('corrupt');
              }
              lines.forEach((raw, i) => {
                const want = wants[i];
                const at = `${rel}:${i + 1}`;
                if (want === 'corrupt') expect(listed.has(at), `${at} is corrupt but not reported`).toBe(true);
                else expect(listed.has(at), `${at} is ${want} but reported corrupt`).toBe(false);
                if (want === 'record') mustBeRecords++;
                if (want !== 'blank') nonBlank++;
              });
            }
            expect(report.stats.lines).toBe(totalLines);
            expect(report.stats.records).toBeGreaterThanOrEqual(mustBeRecords);
            expect(report.stats.records).toBeLessThanOrEqual(nonBlank);
            for (const p of report.problems) {
              expect(files.has(p.where), `problem names ${p.where}`).toBe(true);
              if (unreadable.includes(p)) continue;
              expect(p.line).toBeGreaterThanOrEqual(1);
              expect(p.line).toBeLessThanOrEqual(physicalLines(files.get(p.where)!).length);
            }
            for (const s of data.sessions) if (s.truncatedTail) expect(files.get(s.mainFile)!.at(-1)).not.toBe(0x0a);

            // The rules over the model: nothing throws, and every log location can be opened.
            const model = buildModel({ projectRoot: dir, bucket: 'agent-os-peer-state', logs: data });
            const { findings, failures } = runRules(model, rules, {
              ...DEFAULT_RULE_OPTIONS,
              now: '2026-06-01T00:00:00Z',
            });
            expect(failures, failures.map((f) => f.error).join('\n')).toEqual([]);
            for (const f of findings) {
              for (const e of f.evidence) {
                if (e.location.kind !== 'log') continue;
                const bytes = files.get(e.location.path);
                expect(bytes, `${f.ruleId} points at ${e.location.path}`).toBeDefined();
                expect(e.location.line).toBeGreaterThanOrEqual(1);
                expect(e.location.line).toBeLessThanOrEqual(physicalLines(bytes!).length);
              }
            }
            for (const f of findings.filter((x) => x.ruleId === 'malformed-log')) {
              for (const e of f.evidence)
                expect(
                  listed.has(`${(e.location as { path: string }).path}:${(e.location as { line: number }).line}`),
                ).toBe(true);
            }
            await rm(dir, { recursive: true, force: true });
          },
        ),
        params(FILE_RUNS),
      );
    },
    timeoutFor(FILE_RUNS, 10),
  );
});

// Property tests for spec folders: toSpecFile and parseTasks over generated Markdown (CRLF, BOM, NUL runs,
// invalid UTF-8, task lists of every indentation), and readSpecs + every rule over generated projects.
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
import { parseTasks, readSpecs, toSpecFile } from '../../src/sources/specs.js';
import type { KvData } from '../../src/model/types.js';
import { kvData } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta } from '../rules/state-fixtures.js';
import { FUZZ_PREFIX, FUZZ_SPEC, markdown, markdownBytes, type MdSpec } from './gen.js';
import { params, runs, timeoutFor } from './runs.js';

const PURE_RUNS = 5000;
const PROJECT_RUNS = 400;
const TASK_LINE = /^(\s*)[-*]\s+\[([ xX])\]\s+(.*)$/;

let base: string;
let rules: Rule[];
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'pa-fuzz-specs-'));
  rules = await loadRules();
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('toSpecFile and parseTasks over generated Markdown', () => {
  it(`lines are split on \\n with no phantom last line; every task line becomes one task at its line (${runs(PURE_RUNS)} documents)`, () => {
    fc.assert(
      fc.property(markdown, (md) => {
        const buf = markdownBytes(md);
        const file = toSpecFile('.agent-os/specs/x/tasks.md', 'tasks.md', buf);
        const text = file.text;
        const newlines = text.split('\n').length - 1;
        expect(file.lines.length).toBe(text === '' ? 0 : newlines + (file.endsWithNewline ? 0 : 1));
        for (const l of file.lines) expect(l.includes('\n')).toBe(false);
        expect(file.bytes).toBe(buf.length);

        const doc = parseTasks(file);
        const items = doc.tasks.flatMap((t) => [t, ...t.subtasks]);
        expect(items.length).toBe(file.lines.filter((l) => TASK_LINE.test(l)).length);
        for (const t of items) {
          expect(t.line).toBeGreaterThanOrEqual(1);
          expect(t.line).toBeLessThanOrEqual(file.lines.length);
          expect(file.lines[t.line - 1]).toMatch(TASK_LINE);
          if (t.blockingNote) expect(t.blockingNote.line).toBeLessThanOrEqual(file.lines.length);
        }
      }),
      params(PURE_RUNS),
    );
  });
});

const FOLDER = `.agent-os/specs/2025-08-05-${FUZZ_SPEC}`;
const SPEC_FILES = ['spec.md', 'spec-lite.md', 'tasks.md', 'sub-specs/technical-spec.md', 'sub-specs/tests.md'];

/** The KV side a spec folder is judged against: none, a finished create-spec, a finished execute-tasks. */
const kvChoice: fc.Arbitrary<KvData | undefined> = fc.constantFrom(
  undefined,
  kvData([
    [`${FUZZ_PREFIX}.meta`, v1Meta(FUZZ_SPEC, { current_phase: 'complete' }, { status: 'complete' })],
    [
      `${FUZZ_PREFIX}.cycle.1`,
      v1Cycle(
        { plan: done(), execute: done(), express: done(), review: done() },
        { status: { current_phase: 'complete', progress_percent: 100 } },
      ),
    ],
  ]),
  kvData([
    [
      `${FUZZ_PREFIX}.meta`,
      v1Meta(FUZZ_SPEC, { current_phase: 'complete' }, { instruction: 'execute-tasks', status: 'complete' }),
    ],
    [
      `${FUZZ_PREFIX}.cycle.1`,
      v1Cycle(
        { plan: done(), execute: done() },
        { instruction: 'execute-tasks', status: { current_phase: 'complete', progress_percent: 100 } },
      ),
    ],
  ]),
);

const project = fc.record({
  files: fc.dictionary(fc.constantFrom(...SPEC_FILES), markdown, { maxKeys: 5 }),
  product: fc.option(markdown, { nil: undefined }),
  kv: kvChoice,
});

describe('readSpecs and every rule over generated projects', () => {
  let n = 0;
  it(
    `${runs(PROJECT_RUNS)} projects: no rule throws; every file location names a file read and a line inside it`,
    async () => {
      await fc.assert(
        fc.asyncProperty(project, async ({ files, product, kv }) => {
          const root = path.join(base, `p${n++}`);
          const written = new Map<string, number>();
          const put = (rel: string, md: MdSpec) => {
            const abs = path.join(root, rel);
            mkdirSync(path.dirname(abs), { recursive: true });
            const buf = markdownBytes(md);
            writeFileSync(abs, buf);
            written.set(rel, toSpecFile(rel, rel, buf).lines.length);
          };
          mkdirSync(path.join(root, FOLDER), { recursive: true });
          for (const [name, md] of Object.entries(files)) put(`${FOLDER}/${name}`, md);
          if (product) put('.agent-os/product/mission.md', product);

          const { data, report } = await readSpecs({ projectRoot: root });
          expect(report.ok, report.error).toBe(true);
          expect(report.stats.files).toBe(written.size);
          const model = buildModel({ projectRoot: root, bucket: 'agent-os-peer-state', specs: data, kv });
          const { findings, failures } = runRules(model, rules, {
            ...DEFAULT_RULE_OPTIONS,
            now: '2026-06-01T00:00:00Z',
          });
          expect(failures, failures.map((f) => f.error).join('\n')).toEqual([]);
          for (const f of findings) {
            for (const e of f.evidence) {
              const l = e.location;
              if (l.kind !== 'file') continue;
              expect(
                path.isAbsolute(l.path) || l.path.startsWith('..'),
                `${f.ruleId}: ${l.path} is outside the project`,
              ).toBe(false);
              if (l.line === undefined) continue;
              const count = written.get(l.path);
              expect(count, `${f.ruleId} points at ${l.path}:${l.line}, a file that was not read`).toBeDefined();
              expect(l.line).toBeGreaterThanOrEqual(1);
              expect(l.line, `${f.ruleId} points at ${l.path}:${l.line} of ${count} lines`).toBeLessThanOrEqual(count!);
              if (l.endLine !== undefined) expect(l.endLine).toBeLessThanOrEqual(count!);
            }
          }
          await rm(root, { recursive: true, force: true });
        }),
        params(PROJECT_RUNS),
      );
    },
    timeoutFor(PROJECT_RUNS, 10),
  );
});

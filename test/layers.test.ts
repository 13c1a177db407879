// The layer order, read off the imports of src/ and rules/: nothing imports upward.
//   model <- sources, engine <- rules <- config <- report | repair <- src/audit.ts <- commands <- cli.ts
// src/errors.ts and src/version.ts are importable from anywhere and import nothing of ours.
// The imports are read by TypeScript's own pre-processor: static imports and re-exports (types included), side-effect
// imports and `import('…')` with a string literal.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

type Layer = 'model' | 'sources' | 'engine' | 'rules' | 'config' | 'report' | 'repair' | 'audit' | 'commands' | 'cli';
const NEUTRAL = ['errors', 'version'] as const;

/** Who may import whom (besides itself, and the neutral modules). */
const ALLOWED: Record<Layer, Layer[]> = {
  model: [],
  sources: ['model'],
  engine: ['model'],
  rules: ['engine', 'model'],
  config: ['model', 'engine'],
  report: ['model', 'engine', 'config'],
  repair: ['model', 'engine', 'sources', 'config'],
  audit: ['model', 'sources', 'engine', 'rules', 'config', 'report', 'repair'],
  commands: ['model', 'sources', 'engine', 'rules', 'config', 'report', 'repair', 'audit'],
  cli: ['model', 'sources', 'engine', 'rules', 'config', 'report', 'repair', 'audit', 'commands'],
};
/** Layers whose modules may not import each other: a rule never uses another rule. */
const NO_SIBLINGS: Layer[] = ['rules'];

/** The layer of a repository-relative path (forward slashes), or undefined when it belongs to none. */
function layerOf(rel: string): Layer | (typeof NEUTRAL)[number] | undefined {
  if (/^rules\/[^/]+\.ts$/.test(rel)) return 'rules';
  const top = /^src\/([^/]+)\.ts$/.exec(rel);
  if (top) {
    const name = top[1];
    if ((NEUTRAL as readonly string[]).includes(name)) return name as (typeof NEUTRAL)[number];
    return name === 'audit' || name === 'cli' ? name : undefined;
  }
  const dir = /^src\/([^/]+)\//.exec(rel)?.[1];
  return dir && dir in ALLOWED && dir !== 'audit' && dir !== 'cli' ? (dir as Layer) : undefined;
}

interface Edge {
  from: string;
  to: string;
  specifier: string;
  line: number;
}

/** Every import of one of our modules, from each file (paths relative to the repository). */
function edgesOf(files: Map<string, string>): Edge[] {
  const edges: Edge[] = [];
  for (const [from, text] of files) {
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // a package or a node: module
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(from), ref.fileName)).replace(/\.js$/, '.ts');
      const line = text.slice(0, ref.pos).split('\n').length;
      edges.push({ from, to, specifier: ref.fileName, line });
    }
  }
  return edges;
}

/** The imports the table does not allow, one line each: file:line imports 'specifier' (layer -> layer). */
function violations(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const e of edgesOf(files)) {
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    const where = `${e.from}:${e.line} imports '${e.specifier}'`;
    if (a === undefined) out.push(`${where}: ${e.from} is in no layer (add it to the table in test/layers.test.ts)`);
    else if (b === undefined) out.push(`${where}: ${e.to} is in no layer`);
    else if (a === 'errors' || a === 'version') out.push(`${where}: src/${a}.ts imports nothing of ours`);
    else if (b === 'errors' || b === 'version') continue;
    else if (a === b) {
      if (NO_SIBLINGS.includes(a))
        out.push(`${where}: a module of ${a}/ never imports another (shared facts: src/model/)`);
    } else if (!ALLOWED[a].includes(b)) {
      out.push(`${where}: ${a} may not import ${b} (it may import ${ALLOWED[a].join(', ') || 'only itself'})`);
    }
  }
  return out;
}

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await fs.readdir(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${d.name}`;
      if (d.isDirectory()) await walk(rel);
      else if (d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')) {
        files.set(rel, await fs.readFile(path.join(REPO, rel), 'utf8'));
      }
    }
  };
  await walk('src');
  await walk('rules');
  return files;
}

describe('layers', () => {
  it('no module of src/ or rules/ imports against the layer order', async () => {
    const files = await sources();
    // The reader sees the imports at all: every rule imports the engine.
    const ruleToEngine = edgesOf(files).filter((e) => e.from.startsWith('rules/') && e.to === 'src/engine/rule.ts');
    expect(ruleToEngine.length).toBeGreaterThan(20);
    expect(violations(files)).toEqual([]);
  });

  it('names the file and the import of an edge that runs upward', () => {
    const files = new Map([
      [
        'rules/some-rule.ts',
        "import { defineRule } from '../src/engine/rule.js';\nimport { x } from '../src/report/format.js';\n",
      ],
      ['rules/other-rule.ts', "export { y } from './some-rule.js';\n"],
      [
        'src/model/thing.ts',
        "import type { Fix } from '../repair/fix.js';\nconst m = await import('../commands/scan.js');\n",
      ],
      ['src/errors.ts', "import { VERSION } from './version.js';\n"],
      ['src/sources/x.ts', "import { UsageError } from '../errors.js';\nimport { VERSION } from '../version.js';\n"],
    ]);
    expect(violations(files)).toEqual([
      "rules/some-rule.ts:2 imports '../src/report/format.js': rules may not import report (it may import engine, model)",
      "rules/other-rule.ts:1 imports './some-rule.js': a module of rules/ never imports another (shared facts: src/model/)",
      "src/model/thing.ts:1 imports '../repair/fix.js': model may not import repair (it may import only itself)",
      "src/model/thing.ts:2 imports '../commands/scan.js': model may not import commands (it may import only itself)",
      "src/errors.ts:1 imports './version.js': src/errors.ts imports nothing of ours",
    ]);
  });
});

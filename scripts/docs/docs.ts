// Which files hold generated blocks, and what goes in each.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRules } from '../../src/engine/registry.js';
import { savedScanSchema } from '../../src/report/saved.js';
import { snapshotEntrySchema, snapshotHeaderSchema } from '../../src/sources/snapshot.js';
import { fillBlocks } from './blocks.js';
import { ruleCount, ruleTable } from './rules-table.js';
import { fieldTable } from './schema-table.js';

export interface GeneratedFile {
  /** Relative to the repository root. */
  file: string;
  current: string;
  expected: string;
}

/** The repository root: the nearest folder above this module with peer-audit's package.json (from src or dist). */
export function repoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    const name = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name : undefined;
    if (name === 'peer-audit') return dir;
    if (path.dirname(dir) === dir) throw new Error('cannot find the peer-audit repository above ' + from);
  }
}

/** Every file with generated blocks: its text now, and the text the generator would write. */
export async function generatedFiles(root = repoRoot()): Promise<GeneratedFile[]> {
  const rules = await loadRules();
  const blocks: Record<string, Record<string, string>> = {
    'README.md': { rules: ruleTable(rules), 'rule-count': ruleCount(rules) },
    'docs/formats.md': {
      'json-fields': fieldTable(savedScanSchema),
      'snapshot-header-fields': fieldTable(snapshotHeaderSchema),
      'snapshot-entry-fields': fieldTable(snapshotEntrySchema),
    },
  };
  const out: GeneratedFile[] = [];
  for (const [file, render] of Object.entries(blocks)) {
    const current = await readFile(path.join(root, file), 'utf8');
    out.push({ file, current, expected: fillBlocks(current, file, render) });
  }
  return out;
}

/** One hint per file that differs: the first line that differs, as it is and as it would be. */
export function differences(files: readonly GeneratedFile[]): string[] {
  const hints: string[] = [];
  for (const f of files) {
    if (f.current === f.expected) continue;
    const a = f.current.split('\n');
    const b = f.expected.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    hints.push(
      `${f.file}:${i + 1} is not what npm run docs writes:\n` +
        `  - ${a[i] ?? '(end of file)'}\n` +
        `  + ${b[i] ?? '(end of file)'}`,
    );
  }
  return hints;
}

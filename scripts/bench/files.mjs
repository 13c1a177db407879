// A deterministic repository tree for the `--files` case: many small source files (TypeScript, .d.ts, Lean, SQL,
// Python, Markdown, .bak copies) in nested packages and a few large ones (SQL dumps, logs, JSON fixtures), with
// the heredoc residue at known lines in some of them and look-alikes (`> /dev/null 2>&1`, sed cleanup, prose that
// quotes it) in others. No .gitignore and no binary files: `grep -rn` reads exactly what the scan reads.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Rng, codeText, paragraph } from './rng.mjs';

export const RESIDUE = 'EOF < /dev/null';

const SMALL_EXT = ['ts', 'ts', 'ts', 'd.ts', 'lean', 'sql', 'py', 'md', 'bak', 'json'];
const LARGE_EXT = ['sql', 'log', 'json'];
const LOOK_ALIKES = [
  'run_migrations > /dev/null 2>&1 || true',
  "sed -i '/EOF < \\/dev\\/null/d' docs/*.md",
  'The broken write left `EOF < /dev/null` at the end of the file.',
  'eof < /dev/null',
];

/**
 * Writes about `targetBytes` of text files under `dir`. Half the bytes are small files (1-24 KB), one is a 2 MB
 * migration, the rest large ones (8-64 MB). Returns the counts and every residue line written ({ path, line }, path relative to `dir`).
 */
export function generateRepoTree(dir, targetBytes, seed = 17) {
  const rng = new Rng(seed);
  // A pool of text blocks: files are cut from it, so a gigabyte is written at disk speed, the same every time.
  const pool = [];
  for (let i = 0; i < 48; i++) {
    const t = i % 4 === 3 ? paragraphs(rng, 64 * 1024) : codeText(rng, 64 * 1024);
    pool.push(`${t}\n`);
  }
  const residue = [];
  let bytes = 0;
  let files = 0;
  let lookAlikes = 0;
  const write = (rel, parts) => {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    const fd = openSync(abs, 'w');
    for (const p of parts) {
      writeSync(fd, p);
      bytes += Buffer.byteLength(p);
    }
    closeSync(fd);
    files++;
  };
  const lineCount = (s) => {
    let n = 0;
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
    return n;
  };
  /** Whole lines of the pool, about `size` bytes, from a random place. */
  const cut = (size) => {
    const block = rng.pick(pool);
    let from = rng.int(0, Math.max(0, block.length - size - 1));
    from = from === 0 ? 0 : block.indexOf('\n', from) + 1;
    const end = block.indexOf('\n', Math.min(block.length - 1, from + size));
    return block.slice(from, end + 1);
  };

  const smallBudget = targetBytes / 2;
  let pkg = 0;
  while (bytes < smallBudget) {
    const pkgDir = `packages/pkg-${String(pkg).padStart(4, '0')}`;
    const modules = rng.int(2, 6);
    for (let m = 0; m < modules && bytes < smallBudget; m++) {
      const perDir = rng.int(4, 24);
      for (let f = 0; f < perDir && bytes < smallBudget; f++) {
        const ext = rng.pick(SMALL_EXT);
        const rel = `${pkgDir}/src/mod-${m}/file-${f}.${ext}`;
        let text = cut(rng.int(1024, 24 * 1024));
        if (files % 997 === 500) {
          // Residue at a known line: the end of the file, or glued in the middle.
          const line = lineCount(text) + 1;
          residue.push({ path: rel, line });
          text += `${RESIDUE}\n`;
          if (files % 2 === 0) text += cut(2048);
        } else if (files % 211 === 17) {
          text += `${LOOK_ALIKES[lookAlikes++ % LOOK_ALIKES.length]}\n`;
        }
        write(rel, [text]);
      }
    }
    pkg++;
  }

  // One migration file of about 2 MB with the residue in its middle (agents write files this size too).
  const big = [];
  let bigLines = 0;
  for (let i = 0; i < 32; i++) {
    const block = rng.pick(pool);
    big.push(block);
    bigLines += lineCount(block);
    if (i === 15) {
      residue.push({ path: 'db/migrations/0001_initial.sql', line: bigLines + 1 });
      big.push(`${RESIDUE}\n`);
      bigLines++;
    }
  }
  write('db/migrations/0001_initial.sql', big);

  // Large files (dumps, logs, fixtures): the bulk of the bytes, never written by a heredoc.
  let large = 0;
  while (bytes < targetBytes) {
    const ext = LARGE_EXT[large % LARGE_EXT.length];
    const rel = `data/large-${large}.${ext}`;
    const size = Math.min(rng.int(8, 64) * 1024 * 1024, Math.max(1024 * 1024, targetBytes - bytes));
    const parts = [];
    let written = 0;
    while (written < size) {
      const block = rng.pick(pool);
      parts.push(block);
      written += block.length;
    }
    write(rel, parts);
    large++;
  }
  return { files, bytes, residue, largeFiles: large };
}

function paragraphs(rng, size) {
  const out = [];
  let n = 0;
  while (n < size) {
    const p = paragraph(rng);
    out.push(p, '');
    n += p.length + 2;
  }
  return out.join('\n');
}

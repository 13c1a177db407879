import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGlobs, readRepoFiles } from '../../src/sources/files.js';
import { findNeedle } from '../../src/sources/files-search.js';
import { UsageError } from '../../src/errors.js';
import { tempProject } from '../helpers/evidence.js';

const RESIDUE = 'EOF < /dev/null';

async function read(files: Record<string, string>, globs: string[]) {
  const projectRoot = await tempProject(files);
  return { projectRoot, ...(await readRepoFiles({ projectRoot, globs })) };
}

const candidates = (r: Awaited<ReturnType<typeof read>>) => r.data.candidates.map((f) => f.path);

describe('repository files source (--files)', () => {
  it('keeps only the files with a residue-shaped line, and counts what it searched', async () => {
    const r = await read(
      {
        'src/Proof.lean': `theorem t : 1 = 1 := rfl\n${RESIDUE}\n`,
        'src/clean.ts': 'export const x = 1;\n',
        'src/devnull.ts': 'spawn("cmd", { stdio: ["ignore"] }); // reads < /dev/null\n',
        'lower.md': 'eof < /dev/null\n',
      },
      ['**/*'],
    );
    expect(r.report).toMatchObject({ kind: 'files', ref: '**/*', ok: true, problems: [] });
    expect(r.report.stats).toEqual({ files: 4, bytes: expect.any(Number) });
    // The lowercase line has the residue's shape: the rule, not the byte search, decides it is not residue.
    expect(candidates(r)).toEqual(['lower.md', 'src/Proof.lean']);
    const lean = r.data.candidates[1];
    expect(lean).toMatchObject({ name: 'src/Proof.lean', lines: ['theorem t : 1 = 1 := rfl', RESIDUE] });
  });

  it('honours the root and nested .gitignore (with negation), never enters .git, skips binary files', async () => {
    const r = await read(
      {
        '.gitignore': 'build/\n*.log\n',
        'build/out.sql': `${RESIDUE}\n`,
        'app.log': `${RESIDUE}\n`,
        'db/.gitignore': '*.bak\n!keep.bak\n',
        'db/old.bak': `${RESIDUE}\n`,
        'db/keep.bak': `SELECT 1;\n${RESIDUE}\n`,
        '.git/COMMIT_EDITMSG': `${RESIDUE}\n`,
        'image.png': `\u0000PNG${RESIDUE}\n`,
      },
      ['**/*'],
    );
    expect(candidates(r)).toEqual(['db/keep.bak']);
    expect(r.report.stats['binary files skipped']).toBe(1);
    expect(r.report.ok).toBe(true);
  });

  it('matches globs relative to the project: **, *, ?, [..], {a,b}, a folder, dot files', async () => {
    const files = {
      'a/x.sql': `${RESIDUE}\n`,
      'a/b/y.sql': `${RESIDUE}\n`,
      'a/b/y.md': `${RESIDUE}\n`,
      'c/z1.d.ts': `${RESIDUE}\n`,
      'c/z22.d.ts': `${RESIDUE}\n`,
      '.hidden/h.txt': `${RESIDUE}\n`,
    };
    const run = async (globs: string[]) => candidates(await read(files, globs));
    expect(await run(['a/**/*.sql'])).toEqual(['a/b/y.sql', 'a/x.sql']);
    expect(await run(['a/*.sql'])).toEqual(['a/x.sql']);
    expect(await run(['c/z?.d.ts'])).toEqual(['c/z1.d.ts']);
    expect(await run(['c/z[0-9][0-9].d.ts'])).toEqual(['c/z22.d.ts']);
    expect(await run(['{a/b,c}/*.{md,ts}'])).toEqual(['a/b/y.md', 'c/z1.d.ts', 'c/z22.d.ts']);
    expect(await run(['a/b'])).toEqual(['a/b/y.md', 'a/b/y.sql']);
    expect(await run(['./.hidden/*'])).toEqual(['.hidden/h.txt']);
    expect(await run(['nothing/**'])).toEqual([]);
  });

  it('says a glob that matched nothing as nothing to read', async () => {
    const r = await read({ 'a.txt': 'x\n' }, ['**/*.lean']);
    expect(r.report).toMatchObject({ ok: true, absent: 'no text files matched' });
  });

  it('finds a residue line cut by the read chunk boundary, and one far into a large file', async () => {
    const chunk = 1024 * 1024;
    const filler = (n: number) => `${'x'.repeat(99)}\n`.repeat(Math.ceil(n / 100)).slice(0, n);
    // The needle "/dev/null" straddles the end of the first chunk.
    const before = `${filler(chunk - 10)}\n`;
    const straddle = `${before}EOF < /dev/null\n${filler(1000)}`;
    expect(straddle.indexOf('/dev/null')).toBeLessThan(chunk);
    expect(straddle.indexOf('/dev/null') + 9).toBeGreaterThan(chunk);
    const far = `${filler(3 * chunk)}\n${RESIDUE}\n`;
    const quiet = `${filler(3 * chunk)}\ncat notes.txt > /dev/null 2>&1\n`;
    const r = await read({ 'straddle.txt': straddle, 'far.txt': far, 'quiet.txt': quiet }, ['*.txt']);
    expect(candidates(r)).toEqual(['far.txt', 'straddle.txt']);
    const f = r.data.candidates.find((c) => c.path === 'straddle.txt')!;
    expect(f.lines[f.lines.indexOf(RESIDUE)]).toBe(RESIDUE);
    expect(r.report.stats.bytes).toBe(straddle.length + far.length + quiet.length);
  });

  it('judges a hit deep in a long line from the line start', async () => {
    const long = `${'a'.repeat(2000)} < /dev/null\n${' '.repeat(600)}EOF < /dev/null\n`;
    const r = await read({ 'min.js': long }, ['*.js']);
    // The second line starts with blanks: kept for the rule to judge.
    expect(candidates(r)).toEqual(['min.js']);
    const r2 = await read({ 'min.js': `let s = "${'a'.repeat(2000)}" < /dev/null\n` }, ['*.js']);
    expect(candidates(r2)).toEqual([]);
  });

  it('does not follow symbolic links', async () => {
    const projectRoot = await tempProject({ 'real/a.sql': `${RESIDUE}\n` });
    await fs.symlink(path.join(projectRoot, 'real', 'a.sql'), path.join(projectRoot, 'link.sql'));
    const r = await readRepoFiles({ projectRoot, globs: ['*.sql', 'real/*'] });
    expect(r.data.candidates.map((f) => f.path)).toEqual(['real/a.sql']);
    expect(r.report.stats['links not followed']).toBe(1);
  });

  it('refuses a glob that leaves the project', async () => {
    const root = await tempProject({});
    expect(() => compileGlobs(['../x/**'], root)).toThrow(UsageError);
    expect(() => compileGlobs(['/etc/*'], root)).toThrow(/outside the project/);
    expect(compileGlobs([path.join(root, 'src', '*.ts')], root)[0].base).toBe('src');
  });

  it('matches braces, nested and several, and dot files', () => {
    const [p] = compileGlobs(['{a,b}/{c,d{e,f}}'], '/nonexistent');
    for (const rel of ['a/c', 'a/de', 'a/df', 'b/c', 'b/de', 'b/df']) expect(p.matches(rel), rel).toBe(true);
    for (const rel of ['a/d', 'c/c', 'a/c/x']) expect(p.matches(rel), rel).toBe(false);
    expect(compileGlobs(['**/*.md'], '/nonexistent')[0].matches('.github/x.md')).toBe(true);
    expect(() => compileGlobs(['{..,x}/y'], '/nonexistent')).toThrow(/cannot leave it/);
  });

  it('finds /dev/null exactly where Buffer.indexOf does, near misses and edges included', () => {
    const needle = Buffer.from('/dev/null');
    const abc = Buffer.from('/devnul v/\n');
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let checked = 0;
    for (let t = 0; t < 5000; t++) {
      const b = Buffer.alloc(rnd(40));
      for (let i = 0; i < b.length; i++) b[i] = abc[rnd(abc.length)];
      if (rnd(3) === 0 && b.length >= 9) needle.copy(b, rnd(b.length - 8));
      for (let from = 0; from <= b.length; from++) {
        expect(findNeedle(b, from)).toBe(b.indexOf(needle, from));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50_000);
  });
});

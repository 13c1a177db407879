// Repository files (`--files '<glob>'`): any text files of the project, searched for the heredoc residue.
//
// A tree can be large (a monorepo, generated code), so the search runs on raw bytes (files-search.ts, in worker
// threads too when there are many files): each file is read into one reused buffer and searched for `/dev/null`;
// only the line start before a hit is decoded, and only a file with a line shaped like the residue is decoded whole
// and handed to the model, where the rule judges it as it judges a spec file. Everything else is counted and let
// go. `.gitignore` files (the root's and nested ones) are honoured, `.git/` is never entered, symbolic links are
// not followed, and a file with a NUL byte in its first 8 KB is binary (as git decides) and skipped.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';
import type { RepoFileData, SourceReport } from '../model/types.js';
import { UsageError } from '../errors.js';
import { toSpecFile } from './specs.js';
import { searchFiles, type Searched } from './files-search.js';

export interface FileSourceOptions {
  projectRoot: string;
  /** Globs relative to the project root (`*`, `**`, `?`, `[…]`, `{a,b}`; they match dot files too). */
  globs: string[];
}

/** The largest file decoded whole when it holds a residue-shaped line (a string cannot be much longer). */
const MAX_DECODED = 256 * 1024 * 1024;

interface Pattern {
  glob: string;
  /** The literal folders it starts with ("" for the project root): where the walk for it starts. */
  base: string;
  matches: (rel: string) => boolean;
}

/** The globs as matchers of project-relative paths (picomatch); a usage error for one that leaves the project. */
export function compileGlobs(globs: string[], projectRoot: string): Pattern[] {
  const out: Pattern[] = [];
  for (const given of globs) {
    if (given.trim() === '') throw new UsageError('--files needs a glob (an empty one would match nothing meant)');
    let g = given.split(path.sep).join('/');
    if (path.isAbsolute(g)) {
      const rel = path.relative(projectRoot, g).split(path.sep).join('/');
      if (rel.startsWith('..') || path.isAbsolute(rel))
        throw new UsageError(`--files ${given}: the glob is outside the project ${projectRoot}`);
      g = rel;
    }
    while (g.startsWith('./')) g = g.slice(2);
    if (g === '' || g === '.') g = '**'; // the project itself: every file
    // ".." as a path segment, also inside braces ("{..,x}/y")
    if (/(^|[/{,])\.\.($|[/},])/.test(g))
      throw new UsageError(`--files ${given}: globs are relative to the project and cannot leave it ("..")`);
    const scanned = picomatch.scan(g);
    // A glob with nothing to expand names a file, or a folder: then every file below it.
    if (!scanned.isGlob && isDirectory(path.join(projectRoot, g))) g = `${g.replace(/\/+$/, '')}/**`;
    const base = picomatch.scan(g).base.replace(/^\.$/, '');
    out.push({ glob: given, base, matches: picomatch(g, { dot: true }) });
  }
  return out;
}

function isDirectory(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** The `.gitignore` rules in force in one folder, with the folder they are relative to. */
interface IgnoreLevel {
  dir: string;
  ig: Ignore;
}

export async function readRepoFiles(o: FileSourceOptions): Promise<{ data: RepoFileData; report: SourceReport }> {
  const projectRoot = path.resolve(o.projectRoot);
  const report: SourceReport = {
    kind: 'files',
    ref: o.globs.join(', '),
    ok: true,
    stats: { files: 0, bytes: 0 },
    problems: [],
  };
  const data: RepoFileData = { globs: o.globs, candidates: [] };
  const patterns = compileGlobs(o.globs, projectRoot);
  const bases = patterns.map((p) => p.base);
  const matches = (rel: string) => patterns.some((p) => p.matches(rel));
  // A folder is entered when a glob can match below it.
  const enter = (rel: string) =>
    bases.some((b) => b === '' || rel === b || rel.startsWith(`${b}/`) || b.startsWith(`${rel}/`));
  const count = (k: string) => (report.stats[k] = (report.stats[k] ?? 0) + 1);
  const problem = (rel: string, reason: string) => {
    report.ok = false;
    report.problems.push({ where: rel, reason });
  };
  // Matched files, in walk order (sorted per folder): searched after the walk, in threads when there are many.
  const rels: string[] = [];

  const ignored = (levels: IgnoreLevel[], rel: string, dir: boolean): boolean => {
    let out = false;
    for (const l of levels) {
      const sub = l.dir === '' ? rel : rel.slice(l.dir.length + 1);
      const t = l.ig.test(dir ? `${sub}/` : sub);
      if (t.ignored) out = true;
      else if (t.unignored) out = false;
    }
    return out;
  };

  const walk = (dirRel: string, levels: IgnoreLevel[]): void => {
    const abs = dirRel === '' ? projectRoot : path.join(projectRoot, dirRel);
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      problem(dirRel || '.', `cannot list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    const gi = entries.find((e) => e.name === '.gitignore' && e.isFile());
    if (gi) {
      try {
        const rules = readFileSync(path.join(abs, '.gitignore'), 'utf8');
        levels = [...levels, { dir: dirRel, ig: ignore().add(rules) }];
      } catch (e) {
        // Without its rules the folder's ignored files would be reported as the project's.
        problem(
          join(dirRel, '.gitignore'),
          `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === '.git') continue;
      const rel = join(dirRel, e.name);
      if (e.isDirectory()) {
        if (enter(rel) && !ignored(levels, rel, true)) walk(rel, levels);
        continue;
      }
      if (!matches(rel) || ignored(levels, rel, false)) continue;
      if (e.isFile()) rels.push(rel);
      else count(e.isSymbolicLink() ? 'links not followed' : 'not regular files, not read');
    }
  };
  walk('', []);

  const outcomes: Searched[] = new Array<Searched>(rels.length);
  await searchFiles(
    rels.map((r) => path.join(projectRoot, r)),
    outcomes,
  );
  rels.forEach((rel, i) => {
    const r = outcomes[i];
    if (r.kind === 'error') return problem(rel, `cannot read: ${r.code}`);
    if (r.kind === 'binary') return count('binary files skipped');
    report.stats.files++;
    report.stats.bytes += r.bytes;
    if (r.kind !== 'candidate') return;
    if (r.whole)
      return data.candidates.push(
        toSpecFile(rel, rel, Buffer.from(r.whole.buffer, r.whole.byteOffset, r.whole.byteLength)),
      );
    if (r.bytes > MAX_DECODED)
      return problem(rel, `holds a line shaped like the residue, but ${r.bytes} bytes is too large to judge`);
    try {
      data.candidates.push(toSpecFile(rel, rel, readFileSync(path.join(projectRoot, rel))));
    } catch (err) {
      problem(rel, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  });
  if (report.stats.files === 0 && report.ok) report.absent = 'no text files matched';
  return { data, report };
}

const join = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

// Repository files (`--files '<glob>'`): any text files of the project, searched for the heredoc residue.
//
// A tree can be large (a monorepo, generated code), so the search runs on raw bytes: each file is read into one
// reused buffer and searched for `/dev/null` with Buffer.indexOf; only the line around a hit is decoded, and only
// a file with a line shaped like the residue is decoded whole and handed to the model, where the rule judges it
// as it judges a spec file. Everything else is counted and let go. `.gitignore` files (the root's and nested ones)
// are honoured, `.git/` is never entered, symbolic links are not followed, and a file with a NUL byte in its
// first 8 KB is binary (as git decides) and skipped.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { residueShaped } from '../model/residue.js';
import type { RepoFileData, SourceReport } from '../model/types.js';
import { UsageError } from '../errors.js';
import { toSpecFile } from './specs.js';

export interface FileSourceOptions {
  projectRoot: string;
  /** Globs relative to the project root (`*`, `**`, `?`, `[…]`, `{a,b}`; they match dot files too). */
  globs: string[];
}

const NEEDLE = Buffer.from('/dev/null');
/** Git's test for a binary file: a NUL byte in the first 8,000-odd bytes. */
const BINARY_PROBE = 8192;
/** A file is read in pieces of this size; most files fit in one. */
const CHUNK = 4 * 1024 * 1024;
/** The largest file decoded whole when it holds a residue-shaped line (a string cannot be much longer). */
const MAX_DECODED = 256 * 1024 * 1024;
/**
 * A hit far into a long line (minified code) is judged from the line's first bytes only: residue starts with
 * blanks, a word, blanks and `<`, so a start that is anything else cannot become residue further on.
 */
const LONG_START = 512;
const RESIDUE_START = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*)?\s*(?:<\s*)?$/;
/** Files read between turns of the event loop, so sources read side by side keep moving. */
const FILES_PER_TURN = 256;

interface Pattern {
  glob: string;
  /** The literal folders it starts with ("" for the project root). */
  base: string;
  re: RegExp;
}

/** The globs as matchers of project-relative paths; a usage error for one that leaves the project. */
export function compileGlobs(globs: string[], projectRoot: string): Pattern[] {
  const out: Pattern[] = [];
  for (const given of globs) {
    let g = given.split(path.sep).join('/');
    if (path.isAbsolute(g)) {
      const rel = path.relative(projectRoot, g).split(path.sep).join('/');
      if (rel.startsWith('..') || path.isAbsolute(rel))
        throw new UsageError(`--files ${given}: the glob is outside the project ${projectRoot}`);
      g = rel;
    }
    while (g.startsWith('./')) g = g.slice(2);
    if (g === '' || g === '.') g = '**';
    for (const one of expandBraces(g)) {
      const segments = one.split('/').filter((s) => s !== '' && s !== '.');
      if (segments.includes('..'))
        throw new UsageError(`--files ${given}: globs are relative to the project and cannot leave it ("..")`);
      const literal = segments.findIndex((s) => /[*?[]/.test(s));
      const baseSegments = literal < 0 ? segments : segments.slice(0, literal);
      const base = baseSegments.join('/');
      // A glob with nothing to expand names a file, or a folder: then every file below it.
      if (literal < 0 && isDirectory(path.join(projectRoot, base))) segments.push('**');
      out.push({ glob: given, base: literal < 0 ? base : baseSegments.join('/'), re: segmentsRegExp(segments) });
    }
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

/** `{a,b}x` → `ax`, `bx` (nested and several braces too; a brace without a comma is literal). */
export function expandBraces(glob: string, limit = 1024): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth++ === 0) open = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      const inner = glob.slice(open + 1, i);
      const parts = splitTopLevel(inner);
      if (parts.length < 2) continue;
      const out: string[] = [];
      for (const p of parts) {
        for (const e of expandBraces(glob.slice(0, open) + p + glob.slice(i + 1), limit)) {
          out.push(e);
          if (out.length > limit) throw new UsageError(`--files ${glob}: the braces expand to too many globs`);
        }
      }
      return [...new Set(out)];
    }
  }
  return [glob];
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(from, i));
      from = i + 1;
    }
  }
  out.push(s.slice(from));
  return out;
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function segmentsRegExp(segments: string[]): RegExp {
  let re = '';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**') {
      re += last ? '.*' : '(?:[^/]+/)*';
      return;
    }
    for (let k = 0; k < seg.length; k++) {
      const c = seg[k];
      if (c === '\\' && k + 1 < seg.length) re += escapeRe(seg[++k]);
      else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '[') {
        const end = seg.indexOf(']', k + 2);
        if (end < 0) {
          re += '\\[';
          continue;
        }
        let body = seg.slice(k + 1, end);
        const negated = body[0] === '!' || body[0] === '^';
        if (negated) body = body.slice(1);
        re += `[${negated ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
        k = end;
      } else re += escapeRe(c);
    }
    if (!last) re += '/';
  });
  return new RegExp(`^${re}$`);
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
  const matches = (rel: string) => patterns.some((p) => p.re.test(rel));
  // A folder is entered when a glob can match below it.
  const enter = (rel: string) =>
    bases.some((b) => b === '' || rel === b || rel.startsWith(`${b}/`) || b.startsWith(`${rel}/`));
  const count = (k: string) => (report.stats[k] = (report.stats[k] ?? 0) + 1);
  const problem = (rel: string, reason: string) => {
    report.ok = false;
    report.problems.push({ where: rel, reason });
  };
  const reader = new FileReader();
  let sinceTurn = 0;

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

  const walk = async (dirRel: string, levels: IgnoreLevel[]): Promise<void> => {
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
        if (enter(rel) && !ignored(levels, rel, true)) await walk(rel, levels);
        continue;
      }
      if (!matches(rel) || ignored(levels, rel, false)) continue;
      if (!e.isFile()) {
        count(e.isSymbolicLink() ? 'links not followed' : 'not regular files, not read');
        continue;
      }
      if (++sinceTurn >= FILES_PER_TURN) {
        sinceTurn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const r = reader.search(path.join(abs, e.name));
      if (r.kind === 'error') {
        problem(rel, `cannot read: ${r.code}`);
        continue;
      }
      if (r.kind === 'binary') {
        count('binary files skipped');
        continue;
      }
      report.stats.files++;
      report.stats.bytes += r.bytes;
      if (r.kind === 'candidate') {
        if (r.whole) data.candidates.push(toSpecFile(rel, rel, r.whole));
        else if (r.bytes > MAX_DECODED)
          problem(rel, `holds a line shaped like the residue, but ${r.bytes} bytes is too large to judge`);
        else {
          try {
            data.candidates.push(toSpecFile(rel, rel, readFileSync(path.join(abs, e.name))));
          } catch (err) {
            problem(rel, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        }
      }
    }
  };
  await walk('', []);
  if (report.stats.files === 0 && report.ok) report.absent = 'no text files matched';
  return { data, report };
}

const join = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

type Searched =
  | { kind: 'clean'; bytes: number }
  /** `whole`: the file's bytes when it fit in one read (valid until the next search). */
  | { kind: 'candidate'; bytes: number; whole?: Buffer }
  | { kind: 'binary' }
  | { kind: 'error'; code: string };

/** Searches files for residue-shaped lines through one reused buffer. */
class FileReader {
  private buf = Buffer.allocUnsafe(CHUNK);

  search(abs: string): Searched {
    let fd: number;
    try {
      fd = openSync(abs, 'r');
    } catch (e) {
      return { kind: 'error', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
    try {
      return this.searchOpen(fd);
    } catch (e) {
      return { kind: 'error', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    } finally {
      closeSync(fd);
    }
  }

  private searchOpen(fd: number): Searched {
    const buf = this.buf;
    let bytes = 0;
    let carry = 0;
    let first = true;
    for (;;) {
      const want = buf.length - carry;
      const got = readSync(fd, buf, carry, want, null);
      const end = carry + got;
      bytes += got;
      if (first && buf.subarray(0, Math.min(end, BINARY_PROBE)).indexOf(0) >= 0) return { kind: 'binary' };
      if (this.hasCandidate(end, first)) {
        if (first && got < want) return { kind: 'candidate', bytes, whole: buf.subarray(0, end) };
        // Read on for the size; the file is then read again whole.
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          bytes += n;
          if (n < buf.length) return { kind: 'candidate', bytes };
        }
      }
      if (got < want) return { kind: 'clean', bytes };
      // Keep the tail that could be the start of a needle cut by the chunk's end.
      carry = NEEDLE.length - 1;
      buf.copy(buf, 0, end - carry, end);
      first = false;
    }
  }

  /** Whether the first `end` bytes hold a hit whose line has the residue's shape (or whose line start is unseen). */
  private hasCandidate(end: number, first: boolean): boolean {
    const buf = this.buf.subarray(0, end);
    for (let at = buf.indexOf(NEEDLE); at >= 0; at = buf.indexOf(NEEDLE, at + NEEDLE.length)) {
      const nl = at === 0 ? -1 : buf.lastIndexOf(0x0a, at - 1);
      if (nl < 0 && !first) return true;
      const start = nl + 1;
      if (at - start <= LONG_START) {
        if (residueShaped(`${buf.toString('utf8', start, at)}/dev/null`)) return true;
      } else if (RESIDUE_START.test(buf.toString('utf8', start, start + LONG_START))) return true;
    }
    return false;
  }
}

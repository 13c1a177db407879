// Shell completion: yargs completes commands and flags; this adds rule ids (--rule), spec names (--spec and
// `reopen <spec>`, from the spec folders of the current project) and the choices of --format.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findConfigFile } from '../config/config.js';

// Completion answers synchronously (yargs validates the command line as soon as the function returns), so rule ids
// come from the rule file names, which the registry requires to equal the ids.
const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));

export function ruleIds(): string[] {
  const ext = path.extname(fileURLToPath(import.meta.url));
  try {
    return readdirSync(RULES_DIR)
      .filter((f) => /^[a-z][a-z0-9-]*\.(js|ts)$/.test(f) && path.extname(f) === ext && !f.endsWith('.d.ts'))
      .map((f) => path.basename(f, ext))
      .sort();
  } catch {
    return [];
  }
}

const DATED_FOLDER = /^(\d{4}-\d{2}-\d{2})-(.+)$/;

/** The words being completed, as the completion script passed them (program name left out). */
export function completionWords(argv: string[] = process.argv): string[] {
  const i = argv.indexOf('--get-yargs-completions');
  const words = i === -1 ? [] : argv.slice(i + 1);
  if (words.length > 0 && /(^|[/\\])peer-audit(\.js)?$/.test(words[0])) words.shift();
  return words;
}

function flagValue(words: string[], names: string[]): string | undefined {
  for (let i = words.length - 2; i >= 0; i--) {
    const w = words[i];
    for (const n of names) {
      if (w === n) return words[i + 1];
      if (w.startsWith(`${n}=`)) return w.slice(n.length + 1);
    }
  }
  return undefined;
}

/** Spec names of the project: the folder names under the spec root, without their date. */
export function specNames(words: string[], cwd = process.cwd()): string[] {
  let project = flagValue(words, ['--project', '-p']);
  let specs = flagValue(words, ['--specs']);
  if (!project || !specs) {
    // The config's project and spec root, read leniently: completion must never fail.
    const file = findConfigFile(cwd);
    if (file) {
      const dir = path.dirname(file);
      let src: { project?: unknown; specs?: unknown } = {};
      try {
        src = (JSON.parse(readFileSync(file, 'utf8')) as { sources?: typeof src }).sources ?? {};
      } catch {
        /* an invalid config is reported by the commands, not here */
      }
      project ??= typeof src.project === 'string' ? path.resolve(dir, src.project) : dir;
      if (!specs && typeof src.specs === 'string') specs = path.resolve(dir, src.specs);
    }
  }
  const root = specs ? path.resolve(cwd, specs) : path.join(path.resolve(cwd, project ?? '.'), '.agent-os', 'specs');
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => DATED_FOLDER.exec(d.name)?.[2] ?? d.name);
  } catch {
    return [];
  }
  return [...new Set(names)].sort();
}

type Done = (completions: string[]) => void;
type Defaults = (onCompleted?: (err: Error | null, completions: string[] | undefined) => void) => void;

/** For yargs `.completion(cmd, desc, fn)`: the four-argument form, falling back to yargs' own completions. */
export function completeWords(current: string, _argv: unknown, defaults: Defaults, done: Done): void {
  const words = completionWords();
  const prev = words.length >= 2 ? words[words.length - 2] : '';
  const command = words.find((w) => !w.startsWith('-'));
  const match = (list: string[]) => list.filter((x) => x.startsWith(current));

  if (prev === '--rule') {
    done(match(ruleIds()));
    return;
  }
  if (prev === '--spec') {
    done(match(specNames(words)));
    return;
  }
  // `reopen <spec>`: the first word after the command that is not a flag or a flag's value.
  if (command === 'reopen' && !current.startsWith('-')) {
    const after = words.slice(words.indexOf('reopen') + 1, -1);
    const positional = after.filter(
      (w, i) => !w.startsWith('-') && !(i > 0 && after[i - 1].startsWith('--') && !after[i - 1].includes('=')),
    );
    if (positional.length === 0) {
      done(match(specNames(words)));
      return;
    }
  }
  defaults();
}

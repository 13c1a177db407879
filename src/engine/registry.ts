import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Rule, RuleMeta } from './rule.js';

// Rules are discovered, not listed: adding a rule is adding one module to rules/.
const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
const RULE_FILE = /^[a-z][a-z0-9-]*\.(js|ts)$/;

let cache: Promise<Rule[]> | undefined;

/** The rule modules of a rules folder (compiled or source, as this module is), sorted. */
async function ruleFiles(dir = RULES_DIR): Promise<{ ext: string; files: string[] }> {
  const ext = path.extname(fileURLToPath(import.meta.url));
  const files = (await fs.readdir(dir))
    .filter((f) => RULE_FILE.test(f) && path.extname(f) === ext && !f.endsWith('.d.ts'))
    .sort();
  return { ext, files };
}

export function loadRules(): Promise<Rule[]> {
  cache ??= (async () => {
    const { ext, files } = await ruleFiles();
    // Imported side by side (their reads overlap), then checked in file order: the first bad file is the one named.
    const loaded = await Promise.allSettled(
      files.map((f) => import(pathToFileURL(path.join(RULES_DIR, f)).href) as Promise<{ default?: Rule }>),
    );
    const rules: Rule[] = [];
    files.forEach((f, i) => {
      const outcome = loaded[i];
      if (outcome.status === 'rejected') throw outcome.reason;
      const rule = outcome.value.default;
      if (!rule?.meta?.id || typeof rule.check !== 'function')
        throw new Error(`rules/${f} does not export a rule as default`);
      if (rule.meta.id !== path.basename(f, ext))
        throw new Error(`rules/${f} declares id "${rule.meta.id}"; the id must match the file name`);
      rules.push(rule);
    });
    return rules;
  })();
  return cache;
}

/** Where a rule's documentation lives, relative to the package root. */
export function ruleDocPath(id: string): string {
  return `rules/${id}.md`;
}

// ---------------------------------------------------------------- the rule listing without the rules

/** What `peer-audit rules` lists of a rule. */
export type RuleListing = Pick<RuleMeta, 'id' | 'severity' | 'summary' | 'sources' | 'fixable'>;

/**
 * Written by `npm run build` beside the compiled rules: each rule's listing, and a hash of each rule file it was
 * read from. Listing the rules then loads none of them (nor the model code they import).
 */
const MANIFEST = 'rule-manifest.json';

interface Manifest {
  version: 1;
  /** Rule file name -> sha256 of its bytes. */
  files: Record<string, string>;
  rules: RuleListing[];
}

const listingOf = ({ id, severity, summary, sources, fixable }: RuleMeta): RuleListing => ({
  id,
  severity,
  summary,
  sources,
  fixable,
});

async function fileHashes(dir: string, files: string[]): Promise<Record<string, string>> {
  const bytes = await Promise.all(files.map((f) => fs.readFile(path.join(dir, f))));
  return Object.fromEntries(files.map((f, i) => [f, createHash('sha256').update(bytes[i]).digest('hex')]));
}

/**
 * The listings of the manifest in `dir`, when there is one and it names exactly the rule files there, each with the
 * bytes it was written from (a rule compiled again after the build is noticed); else undefined.
 */
export async function manifestListings(dir = RULES_DIR): Promise<RuleListing[] | undefined> {
  const { files } = await ruleFiles(dir);
  const manifest = await fs
    .readFile(path.join(dir, MANIFEST), 'utf8')
    .then((text) => JSON.parse(text) as Manifest)
    .catch(() => undefined);
  const listed = manifest?.version === 1 && manifest.files ? Object.keys(manifest.files) : [];
  if (!manifest || listed.length !== files.length || listed.some((f, i) => f !== files[i])) return undefined;
  const hashes = await fileHashes(dir, files);
  return files.every((f) => hashes[f] === manifest.files[f]) ? manifest.rules : undefined;
}

/** Every rule's listing, in file order: from the build's manifest while it matches, else from the rules. */
export async function loadRuleListings(): Promise<RuleListing[]> {
  const listed = cache ? undefined : await manifestListings();
  return listed ?? (await loadRules()).map((r) => listingOf(r.meta));
}

/**
 * Writes the manifest of the rules as they are now into `dir` (the build runs this after compiling, into the
 * compiled rules' folder); returns its path.
 */
export async function writeRuleManifest(dir = RULES_DIR): Promise<string> {
  const { files } = await ruleFiles(dir);
  const manifest: Manifest = {
    version: 1,
    files: await fileHashes(dir, files),
    rules: (await loadRules()).map((r) => listingOf(r.meta)),
  };
  const file = path.join(dir, MANIFEST);
  await fs.writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Rule, RuleMeta } from './rule.js';

// Rules are discovered, not listed: adding a rule is adding one module to rules/.
const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
const RULE_FILE = /^[a-z][a-z0-9-]*\.(js|ts)$/;

let cache: Promise<Rule[]> | undefined;

/** The rule modules of the rules folder (compiled or source, as this module is), sorted. */
async function ruleFiles(): Promise<{ ext: string; files: string[] }> {
  const ext = path.extname(fileURLToPath(import.meta.url));
  const files = (await fs.readdir(RULES_DIR))
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

async function fileHashes(files: string[]): Promise<Record<string, string>> {
  const bytes = await Promise.all(files.map((f) => fs.readFile(path.join(RULES_DIR, f))));
  return Object.fromEntries(files.map((f, i) => [f, createHash('sha256').update(bytes[i]).digest('hex')]));
}

/**
 * Every rule's listing, in file order. From the build's manifest when it still matches the rule files byte for
 * byte (a rule compiled again after the build is noticed), else from the rules themselves.
 */
export async function loadRuleListings(): Promise<RuleListing[]> {
  if (!cache) {
    const { files } = await ruleFiles();
    const manifest = await fs
      .readFile(path.join(RULES_DIR, MANIFEST), 'utf8')
      .then((text) => JSON.parse(text) as Manifest)
      .catch(() => undefined);
    const listed = manifest?.version === 1 ? Object.keys(manifest.files) : [];
    if (manifest && listed.length === files.length && listed.every((f, i) => f === files[i])) {
      const hashes = await fileHashes(files);
      if (files.every((f) => hashes[f] === manifest.files[f])) return manifest.rules;
    }
  }
  return (await loadRules()).map((r) => listingOf(r.meta));
}

/** Writes the manifest of the rules as they are now (the build runs this after compiling); returns its path. */
export async function writeRuleManifest(): Promise<string> {
  const { files } = await ruleFiles();
  const manifest: Manifest = {
    version: 1,
    files: await fileHashes(files),
    rules: (await loadRules()).map((r) => listingOf(r.meta)),
  };
  const file = path.join(RULES_DIR, MANIFEST);
  await fs.writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

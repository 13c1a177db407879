import { promises as fs } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Rule } from './rule.js';

// Rules are discovered, not listed: adding a rule is adding one module to rules/.
const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
const RULE_FILE = /^[a-z][a-z0-9-]*\.(js|ts)$/;

let cache: Promise<Rule[]> | undefined;

export function loadRules(): Promise<Rule[]> {
  cache ??= (async () => {
    const ext = path.extname(fileURLToPath(import.meta.url));
    const files = (await fs.readdir(RULES_DIR))
      .filter((f) => RULE_FILE.test(f) && path.extname(f) === ext && !f.endsWith('.d.ts'))
      .sort();
    const rules: Rule[] = [];
    for (const f of files) {
      const mod = (await import(pathToFileURL(path.join(RULES_DIR, f)).href)) as { default?: Rule };
      const rule = mod.default;
      if (!rule?.meta?.id || typeof rule.check !== 'function')
        throw new Error(`rules/${f} does not export a rule as default`);
      if (rule.meta.id !== path.basename(f, ext))
        throw new Error(`rules/${f} declares id "${rule.meta.id}"; the id must match the file name`);
      rules.push(rule);
    }
    return rules;
  })();
  return cache;
}

/** Where a rule's documentation lives, relative to the package root. */
export function ruleDocPath(id: string): string {
  return `rules/${id}.md`;
}

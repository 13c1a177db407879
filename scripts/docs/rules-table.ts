// The README's rule table and rule count, from the registry: a rule's `meta` is the one place they come from.
import type { Rule } from '../../src/engine/rule.js';
import { ruleDocPath } from '../../src/engine/registry.js';
import { cell } from './blocks.js';

/** `| [id](rules/id.md) | severity | what it catches |`, one row per rule in registry order. */
export function ruleTable(rules: readonly Rule[]): string {
  const rows = rules.map(
    (r) => `| [${r.meta.id}](${ruleDocPath(r.meta.id)}) | ${r.meta.severity} | ${cell(r.meta.summary)} |`,
  );
  return ['| rule | severity | what it catches |', '|---|---|---|', ...rows].join('\n');
}

export function ruleCount(rules: readonly Rule[]): string {
  return String(rules.length);
}

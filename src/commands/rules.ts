import type { ChalkInstance } from 'chalk';
import { loadRuleListings, ruleDocPath } from '../engine/registry.js';
import { writeOutput } from './output.js';

export async function rulesCommand(format: 'stylish' | 'json', chalk: ChalkInstance): Promise<number> {
  // The listing's fields, as before meta gained the report title, cause links and options.
  const rows = (await loadRuleListings()).map(({ id, severity, summary, sources, fixable }) => {
    return { id, severity, summary, sources, fixable, doc: ruleDocPath(id) };
  });
  if (format === 'json') {
    await writeOutput(`${JSON.stringify({ version: 1, rules: rows }, null, 2)}\n`);
    return 0;
  }
  const w = Math.max(...rows.map((r) => r.id.length));
  const lines = rows.map(
    (r) =>
      `${chalk.bold(r.id.padEnd(w))}  ${r.severity.padEnd(7)}  ${r.sources.join(',').padEnd(14)}  ` +
      `${r.fixable ? 'fixable' : '       '}  ${r.summary}`,
  );
  await writeOutput(`${lines.join('\n')}\n`);
  return 0;
}

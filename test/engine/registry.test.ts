// The rule manifest the build writes: `peer-audit rules` lists from it only while it matches the rule files.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRules, manifestListings, writeRuleManifest } from '../../src/engine/registry.js';
import { REPO } from '../helpers/cli.js';

let dir: string;

beforeEach(async () => {
  // A copy of the rules folder: the manifest is written beside the copies, never into rules/.
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peer-audit-manifest-'));
  for (const f of await fs.readdir(path.join(REPO, 'rules'))) {
    if (f.endsWith('.ts')) await fs.copyFile(path.join(REPO, 'rules', f), path.join(dir, f));
  }
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('rule manifest', () => {
  it('lists every rule as the rules themselves say, in file order', async () => {
    await writeRuleManifest(dir);
    const expected = (await loadRules()).map(({ meta: { id, severity, summary, sources, fixable } }) => ({
      id,
      severity,
      summary,
      sources,
      fixable,
    }));
    expect(await manifestListings(dir)).toEqual(expected);
  });

  it('is not used once a rule file changes, is added or is removed', async () => {
    await writeRuleManifest(dir);
    const [first, second] = (await fs.readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
    await fs.appendFile(path.join(dir, first), '\n');
    expect(await manifestListings(dir)).toBeUndefined();

    await writeRuleManifest(dir);
    await fs.writeFile(path.join(dir, 'zz-new-rule.ts'), 'export default {};\n');
    expect(await manifestListings(dir)).toBeUndefined();

    await fs.rm(path.join(dir, 'zz-new-rule.ts'));
    await writeRuleManifest(dir);
    await fs.rm(path.join(dir, second));
    expect(await manifestListings(dir)).toBeUndefined();
  });

  it('is not used when it is missing or not a manifest', async () => {
    expect(await manifestListings(dir)).toBeUndefined();
    await fs.writeFile(path.join(dir, 'rule-manifest.json'), '{"version":');
    expect(await manifestListings(dir)).toBeUndefined();
    await fs.writeFile(path.join(dir, 'rule-manifest.json'), '{"version":2,"files":{},"rules":[]}');
    expect(await manifestListings(dir)).toBeUndefined();
  });
});

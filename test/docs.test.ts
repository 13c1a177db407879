// The generated documentation (README rule table and count, docs/formats.md field tables) is what
// `npm run docs` would write: the same check as `npm run docs:check` in CI.
import { describe, expect, it } from 'vitest';
import { differences, generatedFiles } from '../scripts/docs/docs.js';
import { fillBlocks } from '../scripts/docs/blocks.js';

describe('generated documentation', () => {
  it('is up to date (run npm run docs when this fails)', async () => {
    const files = await generatedFiles();
    expect(files.map((f) => f.file)).toEqual(['README.md', 'docs/formats.md']);
    expect(differences(files)).toEqual([]);
  });

  it('rewrites only between markers, and refuses a file whose markers are missing or unknown', () => {
    const text = 'a <!-- generated:n -->old<!-- /generated:n --> b\n<!-- generated:t -->\nx\n<!-- /generated:t -->\n';
    expect(fillBlocks(text, 'f.md', { n: '3', t: '| 1 |' })).toBe(
      'a <!-- generated:n -->3<!-- /generated:n --> b\n<!-- generated:t -->\n| 1 |\n<!-- /generated:t -->\n',
    );
    expect(() => fillBlocks(text, 'f.md', { n: '3' })).toThrow(/no generator for the block "t"/);
    expect(() => fillBlocks(text, 'f.md', { n: '3', t: '', u: '' })).toThrow(/markers of "u" are missing/);
  });
});

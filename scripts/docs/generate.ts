// npm run docs: rewrites the generated blocks of README.md and docs/formats.md.
// npm run docs:check (--check): writes nothing, exits 1 with a hint when a file is not what it would write.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { differences, generatedFiles, repoRoot } from './docs.js';

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const root = repoRoot();
  const files = await generatedFiles(root);
  if (check) {
    const hints = differences(files);
    if (hints.length === 0) return 0;
    for (const h of hints) console.error(h);
    console.error('docs: generated documentation is out of date; run npm run docs and commit the result');
    return 1;
  }
  for (const f of files) {
    if (f.current === f.expected) continue;
    await writeFile(path.join(root, f.file), f.expected);
    console.log(`docs: wrote ${f.file}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`docs: ${(err as Error).message}`);
    process.exit(2);
  },
);

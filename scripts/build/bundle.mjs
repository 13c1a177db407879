// The last step of `npm run build` (after tsc and the rule manifest): bundles the command line into dist/cli/, which
// bin/peer-audit.js runs. The library (dist/src/audit.js) stays as tsc compiled it.
//
// dist/cli/ holds:
//   peer-audit.js                       the entry: the command tree (every command's handler loads lazily)
//   *-<hash>.js                         code split out by esbuild: each lazily loaded part, and what parts share
//   rules/<id>.js, rules/rule-manifest.json   one entry per rule, found and loaded as src/engine/registry.ts does
//   src/sources/logs/log-worker.js      the transcript-parsing worker thread's entry
// Rules and the worker import the same shared files as the command line, so each module runs once per thread.
//
// Modules find files relative to themselves (import.meta.url): the rules folder, the rule docs, the worker. In
// the bundle each such use is rewritten to the URL the module would have at the same place under dist/cli/ as under
// the sources (dist/cli/src/engine/registry.js: its ../../rules/ is dist/cli/rules/). That holds for code in the
// files at the top of dist/cli/, which the build checks.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { writeRuleManifest } from '../../dist/src/engine/registry.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'dist', 'cli');
const RULE_FILE = /^[a-z][a-z0-9-]*\.ts$/;
const SELF_URL = /\bimport\.meta\.url\b/g;

/** Rewrites import.meta.url in the project's own modules (see above); records which modules use it. */
function selfUrlPlugin(users) {
  return {
    name: 'self-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const rel = path.relative(ROOT, args.path).split(path.sep).join('/');
        if (rel.startsWith('..') || rel.startsWith('node_modules/')) return undefined;
        const source = await fs.readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
        users.add(rel);
        const url = `new URL(${JSON.stringify(rel.replace(/\.ts$/, '.js'))}, import.meta.url).href`;
        return { contents: source.replace(SELF_URL, url), loader: 'ts' };
      });
    },
  };
}

/**
 * zod's namespace object carries every locale's messages (half of zod's bytes); the messages shown are English, the
 * default, which zod configures by importing its English locale directly. The bundle leaves out the rest.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: "export { default as en } from './en.js';",
      loader: 'js',
    }));
  },
};

const rules = (await fs.readdir(path.join(ROOT, 'rules'))).filter((f) => RULE_FILE.test(f)).sort();
const entryPoints = [
  { in: 'src/cli.ts', out: 'peer-audit' },
  { in: 'src/sources/logs/log-worker.ts', out: 'src/sources/logs/log-worker' },
  ...rules.map((f) => ({ in: `rules/${f}`, out: `rules/${path.basename(f, '.ts')}` })),
];

await fs.rm(OUT, { recursive: true, force: true });
const users = new Set();
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints,
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  // CommonJS packages in the bundle (fast-glob, yargs' parser) require Node's built-in modules.
  banner: {
    js: "import { createRequire as __peerAuditRequire } from 'node:module'; const require = __peerAuditRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
  plugins: [selfUrlPlugin(users), englishOnlyZod],
});

// Every module that finds files relative to itself must sit in a file at the top of dist/cli/.
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (path.dirname(path.resolve(ROOT, out)) === OUT) continue;
  const misplaced = Object.keys(meta.inputs).filter((i) => users.has(i));
  if (misplaced.length > 0) throw new Error(`${misplaced.join(', ')} bundled into ${out}: its paths would be wrong`);
}

// `peer-audit rules` lists the bundle's rules from this manifest without loading them.
await writeRuleManifest(path.join(OUT, 'rules'));

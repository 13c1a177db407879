// Global setup of the e2e project: CLI tests run bin/peer-audit.js, which loads dist/, so build it once first
// (never test a stale dist/). `npm run build` is the one build command, whatever it does before tsc.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  try {
    execFileSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`the build before the e2e tests failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
  }
}

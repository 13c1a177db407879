// `--files`: the real CLI finds heredoc residue in repository files at exact lines, repairs it (journaled) and
// undo puts the original bytes back.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';
import type { ScanResult } from '../../src/report/result.js';

const R = 'EOF < /dev/null';
const LEAN = ['import Mathlib', '', 'theorem t (n : Nat) : n + 0 = n := by', '  simp', R, ''].join('\n');
const DTS = `export declare function parse(s: string): number;\n${R}export {};\n// end\n`;
const QUOTE = "A broken write leaves `EOF < /dev/null` behind.\nsed -i '/EOF < \\/dev\\/null/d' notes.md\n";
const FILES = ['--files', '**/*', '--no-logs', '--no-kv'];

async function project() {
  return tempProject({
    '.gitignore': 'dist/\n',
    'Proofs/Basic.lean': LEAN,
    'types/index.d.ts': DTS,
    'docs/quote.md': QUOTE,
    'dist/out.d.ts': `${R}\n`,
    'logo.bin': `\u0000PNG\n${R}\n`,
  });
}

const residueAt = (r: ScanResult) =>
  r.findings
    .filter((f) => f.ruleId === 'heredoc-artifact')
    .map((f) => f.evidence[0].location)
    .map((l) => (l.kind === 'file' ? `${l.path}:${l.line}` : l.kind))
    .sort();

describe('--files', () => {
  it('scan finds the residue at its lines; repair removes exactly those lines; undo restores the bytes', async () => {
    const dir = await project();
    const cli = (args: string[]) => runCli(args, { cwd: dir });
    const before = {
      lean: await fs.readFile(path.join(dir, 'Proofs/Basic.lean')),
      dts: await fs.readFile(path.join(dir, 'types/index.d.ts')),
    };

    const scan = await cli(['scan', ...FILES, '--format', 'json']);
    expect(scan.code).toBe(1);
    const result = JSON.parse(scan.stdout) as ScanResult;
    expect(result.complete).toBe(true);
    expect(residueAt(result)).toEqual(['Proofs/Basic.lean:5', 'types/index.d.ts:2']);
    expect(result.findings.map((f) => f.ruleId)).toEqual(['heredoc-artifact', 'heredoc-artifact']);

    const dry = await cli(['repair', ...FILES]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('file Proofs/Basic.lean  [heredoc-artifact]');
    expect(dry.stdout).toContain('Dry run: 2 changes (0 KV keys, 2 files) planned');
    expect(await fs.readFile(path.join(dir, 'Proofs/Basic.lean'))).toEqual(before.lean);

    const applied = await cli(['repair', ...FILES, '--apply', '--reason', 'heredoc residue', '--yes']);
    expect(applied.stderr).toContain('applied 2, conflicts 0, failed 0');
    expect(applied.stderr).toContain('rescan: the repaired findings are gone');
    expect(applied.code).toBe(0);
    expect(await fs.readFile(path.join(dir, 'Proofs/Basic.lean'), 'utf8')).toBe(
      ['import Mathlib', '', 'theorem t (n : Nat) : n + 0 = n := by', '  simp', ''].join('\n'),
    );
    // The glued form keeps the text after the residue.
    expect(await fs.readFile(path.join(dir, 'types/index.d.ts'), 'utf8')).toBe(
      'export declare function parse(s: string): number;\nexport {};\n// end\n',
    );
    // Nothing it could not prove is touched.
    expect(await fs.readFile(path.join(dir, 'docs/quote.md'), 'utf8')).toBe(QUOTE);
    expect(await fs.readFile(path.join(dir, 'dist/out.d.ts'), 'utf8')).toBe(`${R}\n`);

    const again = await cli(['scan', ...FILES, '--format', 'json']);
    expect(again.code).toBe(0);
    expect(residueAt(JSON.parse(again.stdout) as ScanResult)).toEqual([]);

    const journal = /journal (\S+)/.exec(applied.stderr)![1];
    const undo = await cli(['undo', journal, '--yes']);
    expect(undo.code).toBe(0);
    expect(await fs.readFile(path.join(dir, 'Proofs/Basic.lean'))).toEqual(before.lean);
    expect(await fs.readFile(path.join(dir, 'types/index.d.ts'))).toEqual(before.dts);
  });

  it('repair never removes a line it cannot prove: a file changed (same size) since the scan is skipped', async () => {
    const dir = await project();
    const gate = path.join(dir, 'gate');
    const child = runCli(['repair', ...FILES, '--apply', '--reason', 'residue', '--yes'], {
      cwd: dir,
      env: { PEER_AUDIT_FAULT_PLAN_GATE: gate },
      timeoutMs: 60_000,
    });
    for (let i = 0; i < 3000 && !(await fs.stat(`${gate}.scanned`).catch(() => null)); i++)
      await new Promise((r) => setTimeout(r, 20));
    // Between the scan and the plan the residue line moves up: line 5 now holds text, same size.
    const moved = ['import Mathlib', '', 'theorem t (n : Nat) : n + 0 = n := by', R, '  simp', ''].join('\n');
    expect(moved.length).toBe(LEAN.length);
    await fs.writeFile(path.join(dir, 'Proofs/Basic.lean'), moved);
    await fs.writeFile(gate, '');
    const r = await child;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('skipped Proofs/Basic.lean: the file changed since it was scanned');
    expect(await fs.readFile(path.join(dir, 'Proofs/Basic.lean'), 'utf8')).toBe(moved);
  });

  it('reads the globs from the config file; --no-files turns them off', async () => {
    const dir = await project();
    await fs.writeFile(path.join(dir, 'peer-audit.config.json'), JSON.stringify({ sources: { files: '**/*.lean' } }));
    const cli = (args: string[]) => runCli(args, { cwd: dir });
    const on = await cli(['scan', '--no-logs', '--no-kv', '--format', 'json']);
    expect(residueAt(JSON.parse(on.stdout) as ScanResult)).toEqual(['Proofs/Basic.lean:5']);
    const off = await cli(['scan', '--no-logs', '--no-kv', '--no-files', '--format', 'json']);
    expect(off.code).toBe(0);
    expect((JSON.parse(off.stdout) as ScanResult).sources.map((s) => s.kind)).toEqual(['specs']);
  });

  it('finds the same in worker threads (PEER_AUDIT_FILES_THREADS) as on one thread', async () => {
    const dir = await project();
    const scan = async (threads: string) => {
      const r = await runCli(['scan', ...FILES, '--format', 'json'], {
        cwd: dir,
        env: { PEER_AUDIT_FILES_THREADS: threads },
      });
      const result = JSON.parse(r.stdout) as ScanResult;
      return { found: residueAt(result), files: result.sources.find((s) => s.kind === 'files')!.stats };
    };
    const one = await scan('0');
    expect(one.found).toEqual(['Proofs/Basic.lean:5', 'types/index.d.ts:2']);
    expect(await scan('2')).toEqual(one);
  });

  it('exits 2 for a glob that leaves the project', async () => {
    const dir = await project();
    const r = await runCli(['scan', '--files', '../**', '--no-logs', '--no-kv'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--files ../**: globs are relative to the project and cannot leave it ("..")');
  });
});

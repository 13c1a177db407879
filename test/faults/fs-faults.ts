// File-system faults: permission denied, symbolic link loops and links out of the project, FIFOs and devices,
// and files that vanish while a scan of many files runs. Each is reported in the sources section; the scan is
// incomplete (exit 2) exactly where evidence was lost.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSpecs } from '../../src/sources/specs.js';
import { fault } from './ledger.js';
import { expectCleanFailure, isRoot, openTempDir, runCliAs, startCli, writeTree } from './util.js';

interface ScanJson {
  complete: boolean;
  incompleteReasons: string[];
  sources: Array<{
    kind: string;
    ok: boolean;
    error?: string;
    stats: Record<string, number>;
    problems: Array<{ where: string; line?: number; reason: string }>;
  }>;
  findings: Array<{ ruleId: string; evidence: Array<{ location: { kind: string; path?: string } }> }>;
}

const SPEC = [
  '# Spec Requirements Document',
  '',
  '## Overview',
  '',
  'A spec.',
  '',
  '## User Stories',
  '',
  'A user.',
  '',
  '## Spec Scope',
  '',
  '1. One.',
  '',
  '## Out of Scope',
  '',
  '- Two',
  '',
  '## Expected Deliverable',
  '',
  '1. Done.',
  'EOF < /dev/null',
  '',
].join('\n');
const RECORD = (sid: string, n = 1) =>
  JSON.stringify({
    type: 'user',
    sessionId: sid,
    uuid: `${sid}-${n}`,
    timestamp: '2025-09-01T10:00:00.000Z',
    message: { role: 'user', content: `hello from ${sid}` },
  }) + '\n';

const sourceOf = (j: ScanJson, kind: string) => j.sources.find((s) => s.kind === kind)!;
const problemsAt = (j: ScanJson, kind: string, where: string) =>
  sourceOf(j, kind).problems.filter((p) => p.where === where || p.where.endsWith(`/${where}`));
/** The heredoc residue in the readable spec folder: proof that the rest of the scan went on. */
const residueFound = (j: ScanJson) =>
  j.findings.some(
    (f) =>
      f.ruleId === 'heredoc-artifact' &&
      f.evidence.some((e) => e.location.path === '.agent-os/specs/2025-09-01-readable/spec.md'),
  );

export function fileSystemFaults(): void {
  describe('file system', () => {
    // Root reads through any permission bits, so a chmod 000 proves nothing when the CLI runs as root: it runs
    // as the unprivileged user 65534 then, on a tree it can otherwise read.
    const asUser = isRoot() ? { uid: 65534, gid: 65534 } : {};
    const title = isRoot()
      ? 'permission denied (running as root, where chmod does not stop reads: the CLI runs as uid 65534)'
      : 'permission denied (chmod 000)';

    it(`${title}: spec file, spec folder, log file, log folder and snapshot are each reported; exit 2; the rest is read`, async () => {
      const root = await openTempDir('pa-perm-');
      await writeTree(root, {
        '.agent-os/specs/2025-09-01-readable/spec.md': SPEC,
        '.agent-os/specs/2025-09-01-locked-file/spec.md': SPEC,
        '.agent-os/specs/2025-09-01-locked-folder/spec.md': SPEC,
        'logs/ok.jsonl': RECORD('ok'),
        'logs/locked.jsonl': RECORD('locked'),
        'more-logs/sub/a.jsonl': RECORD('a'),
        'more-logs/beside.jsonl': RECORD('beside'),
        'kv.jsonl': '{"format":"peer-audit-kv/1","bucket":"agent-os-peer-state","taken_at":"2025-09-01T00:00:00Z"}\n',
      });
      execFileSync('chmod', ['-R', 'a+rX', root]);
      await fs.chmod(path.join(root, '.agent-os/specs/2025-09-01-locked-file/spec.md'), 0o000);
      await fs.chmod(path.join(root, '.agent-os/specs/2025-09-01-locked-folder'), 0o000);
      await fs.chmod(path.join(root, 'logs/locked.jsonl'), 0o000);
      await fs.chmod(path.join(root, 'more-logs/sub'), 0o000);

      const specsAndLogs = await runCliAs(
        [
          'scan',
          '--project',
          root,
          '--no-kv',
          '--logs',
          path.join(root, 'logs'),
          '--logs',
          path.join(root, 'more-logs'),
          '--no-default-logs',
          '--format',
          'json',
        ],
        { cwd: root, ...asUser },
      );
      const empty = await openTempDir('pa-perm-empty-');
      const snapshot = await runCliAs(
        [
          'scan',
          '--project',
          empty,
          '--kv-snapshot',
          path.join(root, 'kv.jsonl'),
          '--no-default-logs',
          '--format',
          'json',
        ],
        { cwd: empty, ...asUser },
      );
      await fs.chmod(path.join(root, 'kv.jsonl'), 0o000);
      const lockedSnapshot = await runCliAs(
        [
          'scan',
          '--project',
          empty,
          '--kv-snapshot',
          path.join(root, 'kv.jsonl'),
          '--no-default-logs',
          '--format',
          'json',
        ],
        { cwd: empty, ...asUser },
      );
      await fs.rm(empty, { recursive: true, force: true });
      const j = JSON.parse(specsAndLogs.stdout) as ScanJson;

      await fault('unreadable spec file (EACCES)', async () => {
        expectCleanFailure(specsAndLogs);
        expect(j.complete).toBe(false);
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-locked-file/spec.md')).toEqual([
          { where: '.agent-os/specs/2025-09-01-locked-file/spec.md', reason: 'cannot read: EACCES' },
        ]);
        expect(residueFound(j)).toBe(true);
      });
      await fault('unreadable spec folder (EACCES)', async () => {
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-locked-folder')).toEqual([
          { where: '.agent-os/specs/2025-09-01-locked-folder', reason: 'cannot list: EACCES' },
        ]);
        expect(sourceOf(j, 'specs').ok).toBe(false);
      });
      await fault('unreadable log file (EACCES)', async () => {
        expect(
          sourceOf(j, 'logs').problems.some((p) => p.where === 'logs/locked.jsonl' && /EACCES/.test(p.reason)),
        ).toBe(true);
        expect(j.incompleteReasons.join('\n')).toMatch(/EACCES/);
        // the readable transcript beside it was read
        expect(sourceOf(j, 'logs').stats.records).toBeGreaterThanOrEqual(1);
      });
      await fault('unreadable log folder (EACCES)', async () => {
        // The locked subfolder is reported by its path; the transcript beside it is still read.
        expect(sourceOf(j, 'logs').problems.filter((p) => p.where.includes('more-logs'))).toEqual([
          { where: 'more-logs/sub', reason: 'cannot list more-logs/sub: EACCES' },
        ]);
        expect(sourceOf(j, 'logs').ok).toBe(false);
        expect(j.incompleteReasons.join('\n')).toMatch(/more-logs\/sub: EACCES/);
        expect(sourceOf(j, 'logs').stats.sessions).toBe(2); // ok and beside; locked and sub/a are not readable
      });
      await fault('unreadable snapshot file (EACCES)', async () => {
        expect(snapshot.code).toBe(0);
        expectCleanFailure(lockedSnapshot, /cannot read snapshot .*kv\.jsonl: EACCES/);
        expect((JSON.parse(lockedSnapshot.stdout) as ScanJson).complete).toBe(false);
      });
      await fs.chmod(path.join(root, '.agent-os/specs/2025-09-01-locked-folder'), 0o755);
      await fs.chmod(path.join(root, 'more-logs/sub'), 0o755);
      await fs.rm(root, { recursive: true, force: true });
    }, 60_000);

    it('symbolic link loops and links out of the project: not followed, each reported, nothing read twice; the scan is complete', async () => {
      const root = await openTempDir('pa-links-');
      const outside = await openTempDir('pa-outside-');
      await writeTree(outside, {
        'residue.md': 'EOF < /dev/null\n',
        'spec.md': SPEC,
        'elsewhere.jsonl': RECORD('elsewhere'),
      });
      await writeTree(root, {
        '.agent-os/specs/2025-09-01-readable/spec.md': SPEC,
        'logs/loopdir/x.jsonl': RECORD('x'),
      });
      const specDir = path.join(root, '.agent-os/specs/2025-09-01-readable');
      await fs.symlink('a.md', path.join(specDir, 'b.md'));
      await fs.symlink('b.md', path.join(specDir, 'a.md'));
      await fs.symlink('.', path.join(specDir, 'self'));
      await fs.symlink(path.join(outside, 'residue.md'), path.join(specDir, 'notes.md'));
      await fs.symlink(outside, path.join(root, '.agent-os/specs/2025-09-02-linked-folder'));
      await fs.symlink('../loopdir', path.join(root, 'logs/loopdir/self'));
      await fs.symlink('one.jsonl', path.join(root, 'logs/two.jsonl'));
      await fs.symlink('two.jsonl', path.join(root, 'logs/one.jsonl'));

      const r = await runCliAs(
        [
          'scan',
          '--project',
          root,
          '--no-kv',
          '--logs',
          path.join(root, 'logs'),
          '--no-default-logs',
          '--format',
          'json',
        ],
        { cwd: root, limitMs: 30_000 },
      );
      const j = JSON.parse(r.stdout) as ScanJson;
      await fault('symbolic link loop in a spec folder', async () => {
        expect(r.signal).toBeNull();
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-readable/a.md')).toEqual([
          { where: '.agent-os/specs/2025-09-01-readable/a.md', reason: 'a symbolic link, not followed' },
        ]);
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-readable/self')).toHaveLength(1);
        expect(sourceOf(j, 'specs').stats.files).toBe(1);
      });
      await fault('symbolic links out of the project (a file, a spec folder)', async () => {
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-readable/notes.md')[0].reason).toBe(
          'a symbolic link to a path outside the project, not followed',
        );
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-02-linked-folder')[0].reason).toBe(
          'a symbolic link to a path outside the project, not followed',
        );
        // what is behind the links is not audited: the residue outside gives no finding
        expect(
          j.findings.flatMap((f) => f.evidence).some((e) => /notes\.md|linked-folder/.test(e.location.path ?? '')),
        ).toBe(false);
      });
      await fault('symbolic link loops in a log folder', async () => {
        const logs = sourceOf(j, 'logs');
        expect(logs.stats.records).toBe(1); // x.jsonl, once, however many paths lead to it
        expect(logs.stats.sessions).toBe(1);
        expect(
          logs.problems.filter((p) => /the same file as logs\/loopdir\/x\.jsonl, read once/.test(p.reason)).length,
        ).toBeGreaterThan(0);
        expect(logs.problems.filter((p) => /^logs\/(one|two)\.jsonl$/.test(p.where)).map((p) => p.reason)).toEqual([
          'a symbolic link that leads nowhere (a loop or a missing target), not opened',
          'a symbolic link that leads nowhere (a loop or a missing target), not opened',
        ]);
        expect(j.complete).toBe(true);
        expect(r.code).toBe(1); // the residue in the readable folder
        expect(residueFound(j)).toBe(true);
      });
      await fs.rm(root, { recursive: true, force: true });
      await fs.rm(outside, { recursive: true, force: true });
    }, 60_000);

    it('FIFOs and devices are never opened: no hang, each reported; a FIFO named on the command line is an error (exit 2)', async () => {
      const root = await openTempDir('pa-fifo-');
      await writeTree(root, { '.agent-os/specs/2025-09-01-readable/spec.md': SPEC, 'logs/ok.jsonl': RECORD('ok') });
      execFileSync('mkfifo', [
        path.join(root, 'logs/pipe.jsonl'),
        path.join(root, '.agent-os/specs/2025-09-01-readable/pipe.md'),
        path.join(root, 'kv.jsonl'),
      ]);
      await fs.symlink('/dev/zero', path.join(root, 'logs/zero.jsonl'));
      await fs.symlink('/dev/zero', path.join(root, '.agent-os/specs/2025-09-01-readable/zero.md'));

      const folder = await runCliAs(
        [
          'scan',
          '--project',
          root,
          '--no-kv',
          '--logs',
          path.join(root, 'logs'),
          '--no-default-logs',
          '--format',
          'json',
        ],
        { cwd: root, limitMs: 20_000 },
      );
      const namedFifo = await runCliAs(
        ['scan', '--project', root, '--no-kv', '--logs', path.join(root, 'logs/pipe.jsonl'), '--no-default-logs'],
        { cwd: root, limitMs: 20_000 },
      );
      const namedDevice = await runCliAs(
        ['scan', '--project', root, '--no-kv', '--logs', '/dev/zero', '--no-default-logs'],
        { cwd: root, limitMs: 20_000 },
      );
      const fifoSnapshot = await runCliAs(
        ['scan', '--project', root, '--kv-snapshot', path.join(root, 'kv.jsonl'), '--no-default-logs'],
        { cwd: root, limitMs: 20_000 },
      );
      const j = JSON.parse(folder.stdout) as ScanJson;

      await fault('FIFO in a log folder', async () => {
        expect(folder.signal).toBeNull();
        expect(problemsAt(j, 'logs', 'logs/pipe.jsonl')).toEqual([
          { where: 'logs/pipe.jsonl', reason: 'a FIFO, not opened' },
        ]);
        expect(sourceOf(j, 'logs').stats.records).toBe(1);
      });
      await fault('device (a link to /dev/zero) in a log folder', async () => {
        expect(problemsAt(j, 'logs', 'logs/zero.jsonl')).toEqual([
          { where: 'logs/zero.jsonl', reason: 'a device, not opened' },
        ]);
      });
      await fault('FIFO and device in a spec folder', async () => {
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-readable/pipe.md')).toEqual([
          { where: '.agent-os/specs/2025-09-01-readable/pipe.md', reason: 'a FIFO, not opened' },
        ]);
        // A spec file that exists but cannot be read is evidence lost: the specs source is incomplete.
        expect(sourceOf(j, 'specs').ok).toBe(false);
        expect(j.complete).toBe(false);
        expect(folder.code).toBe(2);
        expect(problemsAt(j, 'specs', '.agent-os/specs/2025-09-01-readable/zero.md')[0].reason).toBe(
          'a symbolic link to a path outside the project, not followed',
        );
        expect(residueFound(j)).toBe(true);
      });
      await fault('FIFO named with --logs', async () =>
        expectCleanFailure(namedFifo, /cannot read .*pipe\.jsonl: a FIFO, not opened/),
      );
      await fault('device named with --logs (/dev/zero)', async () =>
        expectCleanFailure(namedDevice, /cannot read \/dev\/zero: a device, not opened/),
      );
      await fault('FIFO named with --kv-snapshot', async () =>
        expectCleanFailure(fifoSnapshot, /cannot read snapshot .*kv\.jsonl: not a regular file/),
      );
      await fs.rm(root, { recursive: true, force: true });
    }, 60_000);

    it('files that vanish while a scan of many files runs: no crash, every missing file reported, exit 2', async () => {
      const LOGS = 2000;
      const FOLDERS = 600;
      let attempts = 0;
      let missingSeen = 0;
      // The race must really happen: the deleter starts at the end the readers finish with; retry until a
      // file the scan had listed was gone when it came to read it.
      while (missingSeen === 0 && attempts < 5) {
        attempts++;
        const root = await openTempDir('pa-vanish-');
        const files: Record<string, string> = {};
        for (let i = 0; i < LOGS; i++) files[`logs/s${String(i).padStart(5, '0')}.jsonl`] = RECORD(`s${i}`);
        await writeTree(root, files);
        const logNames = Object.keys(files)
          .map((f) => path.join(root, f))
          .reverse();
        const run = startCli(
          [
            'scan',
            '--project',
            root,
            '--no-kv',
            '--logs',
            path.join(root, 'logs'),
            '--no-default-logs',
            '--format',
            'json',
          ],
          { cwd: root },
        );
        let stop = false;
        // about one file a millisecond, from the last one down, for as long as the scan runs
        const deleter = (async () => {
          for (const f of logNames.slice(0, LOGS / 2)) {
            if (stop) break;
            await fs.rm(f, { force: true });
            await new Promise((r) => setTimeout(r, attempts));
          }
        })();
        const r = await run.done;
        stop = true;
        await deleter;
        const j = JSON.parse(r.stdout) as ScanJson;
        const logs = sourceOf(j, 'logs');
        const missing = logs.problems.filter((p) => /ENOENT/.test(p.reason));
        missingSeen = missing.length;
        await fault(
          `log files deleted during a scan (attempt ${attempts}: ${missing.length} vanished after listing)`,
          async () => {
            expect(r.signal).toBeNull();
            expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
            // every listed file is read (one session each) or reported missing, and it is really gone
            expect(logs.stats.sessions + missing.length).toBe(logs.stats.files);
            for (const p of missing) await expect(fs.stat(path.join(root, p.where))).rejects.toThrow(/ENOENT/);
            expect(j.complete).toBe(missing.length === 0);
            expect(r.code).toBe(missing.length === 0 ? 0 : 2);
            if (missing.length)
              expect(r.stderr).toMatch(/^peer-audit: incomplete: cannot read logs\/s\d+\.jsonl: ENOENT/m);
          },
        );
        await fs.rm(root, { recursive: true, force: true });
      }
      expect(missingSeen, `no deletion landed between listing and reading in ${attempts} attempts`).toBeGreaterThan(0);

      // Spec folders, read in batches with turns of the event loop between: delete files and whole folders meanwhile.
      const root = await openTempDir('pa-vanish-specs-');
      const tree: Record<string, string> = {};
      for (let i = 0; i < FOLDERS; i++) {
        tree[`.agent-os/specs/2025-09-01-f${String(i).padStart(4, '0')}/spec.md`] = SPEC;
        tree[`.agent-os/specs/2025-09-01-f${String(i).padStart(4, '0')}/tasks.md`] = '- [ ] 1. Task\n';
      }
      await writeTree(root, tree);
      const folders = Array.from({ length: FOLDERS }, (_, i) =>
        path.join(root, `.agent-os/specs/2025-09-01-f${String(i).padStart(4, '0')}`),
      );
      let reading = true;
      const gone = new Set<string>();
      const removedWhole = new Set<string>();
      const deleting = (async () => {
        for (let i = FOLDERS - 1; i >= 0 && reading; i -= 2) {
          await new Promise((r) => setImmediate(r));
          const whole = i % 4 === 1;
          await fs.rm(whole ? folders[i] : path.join(folders[i], 'spec.md'), { recursive: true, force: true });
          gone.add(folders[i]);
          if (whole) removedWhole.add(folders[i]);
        }
      })();
      const { data, report } = await readSpecs({ projectRoot: root });
      reading = false;
      await deleting;
      await fault(`spec files and folders deleted during a scan (${gone.size} deleted)`, async () => {
        const missing = report.problems.filter((p) => /ENOENT/.test(p.reason));
        for (const folder of data.folders) {
          const rel = folder.path;
          const hasSpec = folder.files.some((f) => f.name === 'spec.md');
          const reported = report.problems.some((p) => p.where === `${rel}/spec.md` || p.where === rel);
          // a folder's spec.md was read, or was never there when the folder was listed, or is reported missing
          if (!hasSpec && !reported)
            expect(gone.has(path.join(root, rel)), `${rel}: spec.md lost without a word`).toBe(true);
          // A folder that comes back empty without a word was caught half-removed (its files gone, the folder not
          // yet): empty when it was read, so nothing was lost. A folder that kept its tasks.md is never empty.
          if (folder.files.length === 0 && !report.problems.some((p) => p.where === rel)) {
            expect(removedWhole.has(path.join(root, rel)), `${rel} vanished without a word`).toBe(true);
          }
        }
        // Folders removed after the spec root was listed are reported, not read as empty folders. Whether the
        // deleter wins that race depends on how the reader yields; when it does, the report must say so.
        for (const p of report.problems.filter((x) => x.reason === 'cannot list: ENOENT'))
          expect(removedWhole.has(path.join(root, p.where))).toBe(true);
        if (missing.length > 0) expect(report.ok).toBe(false);
        for (const p of missing) await expect(fs.stat(path.join(root, p.where))).rejects.toThrow(/ENOENT/);
      });
      await fs.rm(root, { recursive: true, force: true });
    }, 120_000);
  });
}

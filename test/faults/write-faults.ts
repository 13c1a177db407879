// The process killed (SIGKILL) while it writes a report, a snapshot or a journal. The test watches the folder
// and kills the moment the temporary file appears, so the kill lands inside the write. Afterwards the final
// name holds the old file or the complete new one, never a part; temporary files may stay, under other names.
import { readdirSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { loadSnapshotIntoServer } from '../helpers/kv-load.js';
import { fault } from './ledger.js';
import { startFaultServer } from './server.js';
import { SEED, startCli, until, type Running } from './util.js';

const OLD = '{"old":"report"}\n';

/**
 * Starts the CLI and kills it with SIGKILL as soon as `killNow` says so for the names in `dir` (a temporary file
 * has appeared). `landed`: the kill came while a temporary file was there, so inside a write.
 */
async function killWhileWriting(
  start: () => Running,
  dir: string,
  temp: RegExp,
  killNow: (temps: string[]) => boolean = (t) => t.length > 0,
): Promise<{ killed: boolean; landed: boolean; tempsLeft: string[] }> {
  const run = start();
  let exited = false;
  void run.done.then(() => (exited = true));
  const seen = await until(() => exited || killNow(readdirSync(dir).filter((n) => temp.test(n))), 60_000);
  run.child.kill('SIGKILL');
  const r = await run.done;
  const tempsLeft = readdirSync(dir).filter((n) => temp.test(n));
  return { killed: r.signal === 'SIGKILL', landed: seen && r.signal === 'SIGKILL' && tempsLeft.length > 0, tempsLeft };
}

export function writeFaults(): void {
  describe('process killed (SIGKILL) while writing', () => {
    it('a report (scan --format json --output FILE of a large result): the old report or the whole new one, never a part', async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-report-kill-'));
      // 2,500 unreadable values: a report of a few megabytes.
      const lines = [
        JSON.stringify({ format: 'peer-audit-kv/1', bucket: 'agent-os-peer-state', taken_at: '2025-09-01T00:00:00Z' }),
      ];
      for (let i = 1; i <= 2500; i++)
        lines.push(
          JSON.stringify({
            key: `peer.spec.big-${i}.cycle.1`,
            revision: i,
            operation: 'PUT',
            created: '2025-09-01T00:00:00Z',
            value: `{"cycle": ${i}}\nEOF`,
          }),
        );
      await fs.writeFile(path.join(dir, 'kv.jsonl'), lines.join('\n') + '\n');
      const out = path.join(dir, 'out', 'scan.json');
      await fs.mkdir(path.dirname(out));
      let landed = 0;
      for (let attempt = 1; attempt <= 4 && landed < 2; attempt++) {
        await fs.writeFile(out, OLD);
        const k = await killWhileWriting(
          () =>
            startCli(
              [
                'scan',
                '--project',
                dir,
                '--kv-snapshot',
                path.join(dir, 'kv.jsonl'),
                '--no-default-logs',
                '--format',
                'json',
                '--output',
                out,
              ],
              { cwd: dir },
            ),
          path.dirname(out),
          /^scan\.json\.tmp/,
        );
        if (k.landed) landed++;
        if (!k.killed) continue; // it finished before a temporary file was seen: no fault was injected
        await fault(
          `SIGKILL while writing a report (attempt ${attempt}${k.landed ? ', inside the write' : ''})`,
          async () => {
            const text = await fs.readFile(out, 'utf8');
            if (text === OLD) return 0;
            try {
              const json = JSON.parse(text) as { findings: unknown[]; complete: boolean };
              expect(json.findings.length).toBeGreaterThanOrEqual(2500);
              return 0;
            } catch {
              return 1; // a partial report under the final name
            }
          },
        );
        for (const t of k.tempsLeft) expect(t).not.toBe('scan.json');
      }
      expect(landed, 'no kill landed while the report was being written').toBeGreaterThan(0);
      await fs.rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('a snapshot (snapshot --output FILE of a big bucket): the old file or the whole new one', async () => {
      const s = await startFaultServer();
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-snap-kill-'));
      const nc = await connect({ servers: s.url.replace('nats://', ''), reconnect: false });
      const js = nc.jetstream();
      await js.views.kv('agent-os-peer-state', { history: 50 });
      const value = new TextEncoder().encode(JSON.stringify({ cycle_number: 1, padding: 's'.repeat(4000) }));
      const REVISIONS = 4000;
      for (let i = 0; i < REVISIONS; i += 500)
        await Promise.all(
          Array.from({ length: 500 }, (_, k) =>
            js.publish(`$KV.agent-os-peer-state.peer.spec.snap-${(i + k) % 300}.cycle.1`, value),
          ),
        );
      await nc.close();
      const out = path.join(dir, 'peer-state.jsonl');
      let landed = 0;
      for (let attempt = 1; attempt <= 4 && landed < 2; attempt++) {
        await fs.writeFile(out, OLD);
        const k = await killWhileWriting(
          () => startCli(['snapshot', '--server', s.url, '--output', out], { cwd: dir }),
          dir,
          /^peer-state\.jsonl\.tmp/,
        );
        if (k.landed) landed++;
        if (!k.killed) continue;
        await fault(
          `SIGKILL while writing a snapshot (attempt ${attempt}${k.landed ? ', inside the write' : ''})`,
          async () => {
            const text = await fs.readFile(out, 'utf8');
            if (text === OLD) return 0;
            const rows = text.trimEnd().split('\n');
            try {
              rows.forEach((l) => JSON.parse(l));
            } catch {
              return 1;
            }
            expect(rows).toHaveLength(REVISIONS + 1);
            return 0;
          },
        );
      }
      expect(landed, 'no kill landed while the snapshot was being written').toBeGreaterThan(0);
      await s.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('a journal (repair --apply): the journal under its name is always whole, and a second repair finishes the job', async () => {
      const s = await startFaultServer();
      let landed = 0;
      for (let attempt = 1; attempt <= 6 && landed < 1; attempt++) {
        const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-journal-kill-'));
        await fs.cp(SEED, project, { recursive: true });
        const bucket = `journal-kill-${attempt}`;
        const snap = path.join(project, 'kv-snapshot.jsonl');
        const snapLines = (await fs.readFile(snap, 'utf8')).split('\n');
        snapLines[0] = JSON.stringify({ ...JSON.parse(snapLines[0]), bucket });
        await fs.writeFile(snap, snapLines.join('\n'));
        await loadSnapshotIntoServer(snap, s.url);
        const jdir = path.join(project, '.peer-audit', 'journal');
        await fs.mkdir(jdir, { recursive: true });
        const args = [
          'repair',
          '--server',
          s.url,
          '--bucket',
          bucket,
          '--logs',
          'logs',
          '--apply',
          '--yes',
          '--reason',
          'fault test',
        ];
        // The journal is written once, then before and after each change: attempt n kills during write n + 2
        // (the first: while the first change is recorded as applied).
        const writes = new Set<string>();
        const k = await killWhileWriting(
          () => startCli(args, { cwd: project }),
          jdir,
          /\.tmp-/,
          (temps) => {
            for (const t of temps) writes.add(t);
            return writes.size >= attempt + 2 && temps.length > 0;
          },
        );
        if (k.landed) landed++;
        if (!k.killed) {
          await fs.rm(project, { recursive: true, force: true });
          continue;
        }
        await fault(
          `SIGKILL while writing a journal (attempt ${attempt}${k.landed ? ', inside the write' : ''})`,
          async () => {
            const names = (await fs.readdir(jdir)).filter((n) => n.endsWith('.json'));
            for (const n of names) JSON.parse(await fs.readFile(path.join(jdir, n), 'utf8')); // throws on a partial journal
            for (const t of k.tempsLeft) expect(t.endsWith('.json')).toBe(false);
            const again = startCli(args, { cwd: project });
            const r = await again.done;
            expect(r.code, r.stderr).toBe(0);
            for (const n of (await fs.readdir(jdir)).filter((x) => x.endsWith('.json'))) {
              const j = JSON.parse(await fs.readFile(path.join(jdir, n), 'utf8')) as {
                changes: Array<{ status: string }>;
              };
              expect(j.changes.filter((c) => c.status === 'applying')).toEqual([]);
            }
            const check = await startCli(['repair', '--server', s.url, '--bucket', bucket, '--logs', 'logs'], {
              cwd: project,
            }).done;
            expect(check.stdout).toContain('Nothing to repair');
            return 0;
          },
        );
        await fs.rm(project, { recursive: true, force: true });
      }
      expect(landed, 'no kill landed while a journal was being written').toBeGreaterThan(0);
      await s.stop();
    }, 180_000);
  });
}

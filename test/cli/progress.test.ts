// The progress line: drawn on a terminal only, after the scan has run a moment, and cleared at the end.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newReadProgress } from '../../src/audit.js';
import { formatProgress, ProgressLine } from '../../src/commands/progress.js';
import { BIN, runCli } from '../helpers/cli.js';

class FakeStream {
  written: string[] = [];
  constructor(readonly isTTY: boolean) {}
  write(s: string): boolean {
    this.written.push(s);
    return true;
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProgressLine', () => {
  it('writes nothing at all when the stream is not a terminal', () => {
    const out = new FakeStream(false);
    const p = new ProgressLine(out).start();
    p.counts.logs.filesTotal = 3;
    vi.advanceTimersByTime(5_000);
    p.stop();
    expect(out.written).toEqual([]);
  });

  it('on a terminal: nothing for a quick scan, then files, bytes and keys, and a cleared line at the end', () => {
    const quick = new FakeStream(true);
    const q = new ProgressLine(quick).start();
    vi.advanceTimersByTime(300);
    q.stop();
    expect(quick.written).toEqual([]);

    const out = new FakeStream(true);
    const p = new ProgressLine(out).start();
    Object.assign(p.counts.logs, { files: 2, filesTotal: 5, bytes: 150e6, bytesTotal: 1.2e9 });
    Object.assign(p.counts.kv, { keys: 12_000, revisions: 30_500 });
    Object.assign(p.counts.specs, { folders: 10, foldersTotal: 40 });
    vi.advanceTimersByTime(1_000);
    expect(out.written.at(-1)).toBe(
      '\r\x1b[Kreading logs 2/5 files, 150 MB/1.20 GB · kv 12,000 keys (30,500 revisions) · specs 10/40 folders',
    );
    p.stop();
    expect(out.written.at(-1)).toBe('\r\x1b[K');
    const count = out.written.length;
    vi.advanceTimersByTime(2_000);
    expect(out.written).toHaveLength(count);
  });

  it('names only the sources being read', () => {
    const c = newReadProgress();
    expect(formatProgress(c)).toBe('reading …');
    c.kv.keys = 3;
    c.kv.revisions = 9;
    expect(formatProgress(c)).toBe('reading kv 3 keys (9 revisions)');
  });
});

describe('the progress line of the real CLI', () => {
  // A server that accepts the connection and never speaks NATS keeps the scan reading for --timeout.
  async function slowScan(): Promise<{ args: string[]; close: () => void; project: string }> {
    const silent = net.createServer(() => {});
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as net.AddressInfo).port;
    const project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-progress-'));
    await fs.mkdir(path.join(project, '.agent-os/specs/2025-09-01-demo'), { recursive: true });
    await fs.writeFile(path.join(project, '.agent-os/specs/2025-09-01-demo/spec.md'), '# Spec\n');
    const args = [
      'scan',
      '--project',
      project,
      '--server',
      `nats://127.0.0.1:${port}`,
      '--timeout',
      '1500',
      '--no-default-logs',
      '--no-config',
      '--no-context',
    ];
    return { args, close: () => silent.close(), project };
  }

  it('is drawn and cleared on a terminal, and absent from a pipe', async () => {
    vi.useRealTimers();
    const { args, close } = await slowScan();
    try {
      // `script` gives the CLI a pseudo-terminal, as an interactive shell would.
      const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
      const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', NATS_URL: '' },
        timeout: 30_000,
      });
      expect(tty.stdout).toContain('\r\x1b[Kreading specs 1/1 folders');
      expect(tty.stdout).toMatch(/reading specs 1\/1 folders[^]*\r\x1b\[K[^]*no NATS answer/);
      const piped = await runCli(args);
      expect(piped.code).toBe(2);
      expect(piped.stderr).not.toContain('reading');
      expect(piped.stderr).not.toContain('\x1b[K');
    } finally {
      close();
    }
  });
});

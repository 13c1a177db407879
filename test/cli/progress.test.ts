// The progress line: drawn on a terminal only, after the scan has run a moment, and cleared at the end.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatProgress, newReadProgress, ProgressLine } from '../../src/commands/progress.js';

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
    expect(out.written.at(-1)).toBe('\r\x1b[Kreading logs 2/5 files, 150 MB/1.20 GB · kv 12,000 keys (30,500 revisions) · specs 10/40 folders');
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

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSpecs, parseTasks, toSpecFile } from '../../src/sources/specs.js';
import { tempProject } from '../helpers/evidence.js';

describe('spec folder source', () => {
  it('reads dated folders with their files, product files, and parses tasks.md', async () => {
    const root = await tempProject({
      '.agent-os/specs/2025-08-05-demo-spec/spec.md': '# Spec\r\nLine two\r\n',
      '.agent-os/specs/2025-08-05-demo-spec/sub-specs/technical-spec.md': '\ufeff# Tech\nno newline',
      '.agent-os/specs/2025-08-05-demo-spec/tasks.md':
        '# Spec Tasks\n\n## Tasks\n\n- [x] 1. First\n  - [x] 1.1 Write tests\n  - [ ] 1.2 Build\n    ⚠️ Blocking issue: API down\n- [ ] 2. Second\n',
      '.agent-os/specs/undated/spec.md': '# Spec\n',
      '.agent-os/product/mission-lite.md': '# Mission\n',
    });
    const { data, report } = await readSpecs({ projectRoot: root });
    expect(report.ok).toBe(true);
    expect(report.stats).toMatchObject({ folders: 2, files: 5 });
    expect(data.folders.map((f) => [f.folderName, f.date, f.slug, f.path])).toEqual([
      ['2025-08-05-demo-spec', '2025-08-05', 'demo-spec', '.agent-os/specs/2025-08-05-demo-spec'],
      ['undated', undefined, 'undated', '.agent-os/specs/undated'],
    ]);
    const demo = data.folders[0];
    expect(demo.files.map((f) => f.name)).toEqual(['spec.md', 'sub-specs/technical-spec.md', 'tasks.md']);
    expect(demo.files[0].lines).toEqual(['# Spec', 'Line two']);
    expect(demo.files[1]).toMatchObject({ lines: ['# Tech', 'no newline'], endsWithNewline: false });
    expect(
      demo.tasks?.tasks.map((t) => [
        t.number,
        t.checked,
        t.line,
        t.subtasks.map((s) => [s.number, s.checked, s.blockingNote?.line]),
      ]),
    ).toEqual([
      [
        '1',
        true,
        5,
        [
          ['1.1', true, undefined],
          ['1.2', false, 8],
        ],
      ],
      ['2', false, 9, []],
    ]);
    expect(data.productFiles.map((f) => f.path)).toEqual(['.agent-os/product/mission-lite.md']);
  });

  it('treats a missing default spec root as empty, and a missing --specs as an error', async () => {
    const root = await tempProject({});
    expect((await readSpecs({ projectRoot: root })).report).toMatchObject({ ok: true, stats: { folders: 0 } });
    const bad = await readSpecs({ projectRoot: root, specsDir: path.join(root, 'nope'), explicit: true });
    expect(bad.report.ok).toBe(false);
    expect(bad.report.error).toBe('cannot read spec folder nope: ENOENT');
  });

  it('reports an unreadable file and marks the source incomplete', async () => {
    if (process.getuid?.() === 0) {
      // root reads everything; use a directory where a file is expected instead
      const root = await tempProject({ '.agent-os/specs/2025-08-05-x/spec.md': '# Spec\n' });
      await fs.symlink('/nonexistent/target', path.join(root, '.agent-os/specs/2025-08-05-x/dangling.md'));
      const { data, report } = await readSpecs({ projectRoot: root });
      expect(report.ok).toBe(true);
      expect(data.folders[0].files.map((f) => f.name)).toEqual(['spec.md']);
      return;
    }
    const root = await tempProject({ '.agent-os/specs/2025-08-05-x/spec.md': '# Spec\n' });
    await fs.chmod(path.join(root, '.agent-os/specs/2025-08-05-x/spec.md'), 0o000);
    const { report } = await readSpecs({ projectRoot: root });
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({
      where: '.agent-os/specs/2025-08-05-x/spec.md',
      reason: 'cannot read: EACCES',
    });
  });

  it('splits lines without a phantom last line', () => {
    expect(toSpecFile('a', 'a', Buffer.from('')).lines).toEqual([]);
    expect(toSpecFile('a', 'a', Buffer.from('\n')).lines).toEqual(['']);
    expect(toSpecFile('a', 'a', Buffer.from('x\n\n')).lines).toEqual(['x', '']);
    expect(parseTasks(toSpecFile('t', 'tasks.md', Buffer.from('* [X] 3. Done\n'))).tasks[0]).toMatchObject({
      number: '3',
      checked: true,
    });
  });
});

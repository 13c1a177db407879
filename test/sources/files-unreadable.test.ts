// A file that cannot be read (EACCES) makes the --files source incomplete. Tests run as root here, where no
// permission stops a read, so the open is refused by a mock of node:fs for that one path.
import { describe, expect, it, vi } from 'vitest';
import { auditWithModel } from '../../src/audit.js';
import { tempProject } from '../helpers/evidence.js';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = (p: import('node:fs').PathLike, ...rest: unknown[]) => {
    if (String(p).endsWith('locked.sql'))
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return (fs.openSync as (...a: unknown[]) => number)(p, ...rest);
  };
  return { ...fs, default: { ...fs, openSync }, openSync };
});

describe('repository files source: unreadable files', () => {
  it('makes the scan incomplete (exit 2) and still reports the residue it could read', async () => {
    const project = await tempProject({ 'db/locked.sql': 'EOF < /dev/null\n', 'db/open.sql': 'EOF < /dev/null\n' });
    const { result } = await auditWithModel({ project, files: ['db/*.sql'], logs: false });
    expect(result.complete).toBe(false);
    const files = result.sources.find((s) => s.kind === 'files')!;
    expect(files.ok).toBe(false);
    expect(files.problems).toEqual([{ where: 'db/locked.sql', reason: 'cannot read: EACCES' }]);
    expect(result.incompleteReasons).toEqual(['files db/*.sql: 1 part(s) could not be read']);
    expect(result.findings.filter((f) => f.ruleId === 'heredoc-artifact').map((f) => f.evidence[0].location)).toEqual([
      { kind: 'file', path: 'db/open.sql', line: 1, source: 'files' },
    ]);
  });
});

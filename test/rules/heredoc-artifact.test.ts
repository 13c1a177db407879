import { describe, expect, it } from 'vitest';
import { auditWithModel } from '../../src/audit.js';
import { findingsOf, modelOf, tempProject } from '../helpers/evidence.js';

const DIR = '.agent-os/specs/2025-08-05-demo-spec';

async function scan(files: Record<string, string>) {
  const project = await tempProject(files);
  return findingsOf(await modelOf({ project }), 'heredoc-artifact');
}

const locs = (fs: Awaited<ReturnType<typeof scan>>) =>
  fs.map((f) => f.evidence[0].location).map((l) => (l.kind === 'file' ? `${l.path}:${l.line}` : l.kind));

describe('heredoc-artifact', () => {
  it('fires on the residue as the last line, with and without a final newline', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]: '# Spec\n\nText.\nEOF < /dev/null\n',
      [`${DIR}/sub-specs/technical-spec.md`]: '# Tech\nMore.\nEOF < /dev/null',
    });
    expect(locs(fs)).toEqual([`${DIR}/spec.md:4`, `${DIR}/sub-specs/technical-spec.md:3`]);
    expect(fs.every((f) => f.ruleId === 'heredoc-artifact' && f.severity === 'error')).toBe(true);
    expect(fs[1].evidence[0].note).toBe('residue as the last line, with no newline after it');
  });

  it('fires on each occurrence mid-file, on the glued form and on the no-space form', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]:
        ['# Spec', 'EOF < /dev/null## Technical Notes', 'text', 'EOF </dev/null', 'end', '  EOF<   /dev/null'].join(
          '\n',
        ) + '\n',
    });
    expect(locs(fs)).toEqual([`${DIR}/spec.md:2`, `${DIR}/spec.md:4`, `${DIR}/spec.md:6`]);
    expect(fs[0].evidence[0].note).toBe('residue glued to the text that follows it');
    expect(fs[1].evidence[0].note).toBe('residue in the middle of the file');
    expect(new Set(fs.map((f) => f.fingerprint)).size).toBe(3);
  });

  it('checks .agent-os/product files too', async () => {
    const fs = await scan({ '.agent-os/product/roadmap.md': '# Roadmap\nEOF < /dev/null\n' });
    expect(locs(fs)).toEqual(['.agent-os/product/roadmap.md:2']);
  });

  it('does not fire on mentions in backticks or quotes, heredoc examples, or shell scripts', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]:
        [
          '# Spec',
          'Heredocs must not leave `EOF < /dev/null` in files.',
          'The string "EOF < /dev/null" is residue.',
          '> EOF < /dev/null in a quote block',
          '```bash',
          "cat > out.txt <<'EOF'",
          'hello',
          'EOF < /dev/null',
          '```',
        ].join('\n') + '\n',
      [`${DIR}/sub-specs/seed.sh`]: '#!/bin/bash\ncat <<EOF > x\nEOF < /dev/null\nEOF\nwc -l < /dev/null\n',
      [`${DIR}/notes.md`]: 'EOFs are fine < /dev/null\nEOF\n< /dev/null\n',
    });
    expect(fs).toEqual([]);
  });

  it('still fires inside an unclosed code fence (the write was cut off)', async () => {
    const fs = await scan({ [`${DIR}/spec.md`]: '# Spec\n```go\nfunc main() {}\nEOF < /dev/null\n' });
    expect(locs(fs)).toEqual([`${DIR}/spec.md:4`]);
  });

  it('takes any delimiter word the file opened, and only that word; lowercase and unopened words stay quiet', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]:
        [
          '# Spec',
          '',
          'The setup wrote `config.yml` with cat > config.yml <<ENDCFG',
          'ENDCFG < /dev/null',
          'END < /dev/null',
          'eof < /dev/null',
          'Done.',
        ].join('\n') + '\n',
    });
    expect(locs(fs)).toEqual([`${DIR}/spec.md:4`]);
    expect(fs[0].message).toBe(
      `${DIR}/spec.md:4 contains the heredoc residue "ENDCFG < /dev/null" in the middle of the file.`,
    );
  });
});

describe('heredoc-artifact in repository files (--files)', () => {
  const R = 'EOF < /dev/null';
  // A repository as agents leave it: residue in a Lean proof, a SQL migration, a declaration file, a README and
  // a backup; beside them the look-alikes that must stay quiet.
  const TREE: Record<string, string> = {
    '.gitignore': 'dist/\n*.log\n',
    'Proofs/Basic.lean': ['import Mathlib', '', 'theorem add_zero (n : Nat) : n + 0 = n := by', '  simp', R, ''].join(
      '\n',
    ),
    'db/migrations/0002_users.sql': ['CREATE TABLE users (', '  id SERIAL PRIMARY KEY', ');', R, '-- next', ''].join(
      '\n',
    ),
    'types/index.d.ts': `export declare function parse(s: string): number;\n${R}export {};\n`,
    'README.md': ['# Tool', '', 'Install it.', '', `${R}`].join('\n'),
    'notes/spec.md.bak': `# Spec\n\nOld text.\n${R}\n`,
    // Look-alikes.
    'docs/residue.md': [
      '# Residue',
      '',
      'A broken write leaves `EOF < /dev/null` at the end of a file.',
      'The line EOF < /dev/null is what the shell appended.',
      '',
      '```bash',
      "cat > notes.md <<'EOF'",
      'text',
      'EOF < /dev/null',
      '```',
      '',
    ].join('\n'),
    'scripts/clean.py': "import subprocess\nsubprocess.run(['sed', '-i', '/EOF < \\/dev\\/null/d', 'f.md'])\n",
    Makefile: "clean:\n\tsed -i '/EOF < \\/dev\\/null/d' docs/*.md\n",
    'lower.txt': 'eof < /dev/null\n',
    'gen.sh': "cat > out.txt <<'EOF'\nhello\nEOF < /dev/null\n",
    'docs/heredoc.md': '```\ncat > f <<EOF\nline\nEOF\n```\n',
    // Ignored and binary: never reported.
    'dist/bundle.d.ts': `${R}\n`,
    'debug.log': `${R}\n`,
    'assets/logo.bin': `\u0000\u0001PNG\n${R}\n`,
  };

  it('reports the residue at exact lines, and nothing for look-alikes, ignored or binary files', async () => {
    const project = await tempProject(TREE);
    const { result } = await auditWithModel({ project, files: ['**/*'], logs: false, now: '2025-08-06T00:00:00Z' });
    expect(result.complete).toBe(true);
    const found = result.findings.map((f) => [f.ruleId, ...locs([f])]).sort((a, b) => (a[1] < b[1] ? -1 : 1));
    expect(found).toEqual([
      ['heredoc-artifact', 'Proofs/Basic.lean:5'],
      ['heredoc-artifact', 'README.md:5'],
      ['heredoc-artifact', 'db/migrations/0002_users.sql:4'],
      ['heredoc-artifact', 'notes/spec.md.bak:4'],
      ['heredoc-artifact', 'types/index.d.ts:2'],
    ]);
    const files = result.sources.find((s) => s.kind === 'files')!;
    expect(files).toMatchObject({ ok: true, ref: '**/*' });
    expect(files.stats['binary files skipped']).toBe(1);
    const dts = result.findings.find((f) => f.evidence[0].location.kind === 'file' && f.message.includes('index.d'))!;
    expect(dts.message).toBe('types/index.d.ts:2 contains the heredoc residue "EOF < /dev/null" as the last line.');
    expect(dts.fix).toEqual([
      {
        kind: 'file-lines',
        path: 'types/index.d.ts',
        edits: [{ line: 2, keep: 'export {};' }],
        why: 'remove the heredoc residue at line 2',
      },
    ]);
    expect(dts.subject).toEqual({ folder: 'types' });
  });

  it('reports a spec folder file once when --files also matches it', async () => {
    const project = await tempProject({ [`${DIR}/spec.md`]: `# Spec\n${R}\n`, 'a.md': `${R}\n` });
    const { result } = await auditWithModel({ project, files: ['**/*.md'], logs: false });
    const residue = result.findings.filter((f) => f.ruleId === 'heredoc-artifact');
    expect(locs(residue).sort()).toEqual([`${DIR}/spec.md:2`, 'a.md:1']);
  });
});

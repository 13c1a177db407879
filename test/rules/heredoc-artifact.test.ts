import { describe, expect, it } from 'vitest';
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

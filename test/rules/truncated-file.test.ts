import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject } from '../helpers/evidence.js';
import { v2Cycle } from './state-fixtures.js';

const RULE = 'truncated-file';
const DIR = '.agent-os/specs/2025-08-05-demo-spec';

async function scan(files: Record<string, string>) {
  return findingsOf(await modelOf({ project: await tempProject(files) }), RULE);
}
/** The same, with a PEER cycle in the bucket for the spec: the folder is one a PEER run produced. */
async function scanWithState(files: Record<string, string>) {
  const cycle = v2Cycle('peer.spec.demo-spec', 1, 'COMPLETED', {
    plan: 'completed',
    execute: 'completed',
    express: 'completed',
    review: 'completed',
  });
  return findingsOf(
    await modelOf({ kv: kvData([['peer.spec.demo-spec.cycle.1', cycle]]), project: await tempProject(files) }),
    RULE,
  );
}
const where = (f: Finding) =>
  f.evidence.map((e) =>
    e.location.kind === 'file' ? `${e.location.path}${e.location.line ? `:${e.location.line}` : ''}` : e.location.kind,
  );

const SPEC = [
  '# Spec Requirements Document',
  '',
  '> Spec: Demo',
  '> Created: 2025-08-05',
  '',
  '## Overview',
  '',
  'Make the demo work.',
  '',
  '## User Stories',
  '',
  'As a user, I want it, so that it works.',
  '',
  '## Spec Scope',
  '',
  '1. **Thing** - Does the thing',
  '',
  '## Out of Scope',
  '',
  '- Other things',
  '',
  '## Expected Deliverable',
  '',
  '1. The thing works',
];

describe('truncated-file', () => {
  it('fires on a last line that stops mid-sentence before the heredoc residue (the seed technical-spec.md shape)', async () => {
    const tech = [
      '# Technical Specification',
      '',
      `This is the technical specification for the spec detailed in @${DIR}/spec.md`,
      '',
      '## Technical Requirements',
      '',
      '- Add an `Op` field to the entry template and render it for every entry',
      '',
      '## Approach',
      '',
      'Keep the segment format unchanged and add the operation as a new template field, so old readers ignore it and new readers fall back to',
      'EOF < /dev/null',
    ].join('\n');
    const fs = await scan({ [`${DIR}/sub-specs/technical-spec.md`]: tech });
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.ruleId).toBe(RULE);
    expect(f.severity).toBe('error');
    expect(f.subject).toEqual({ spec: 'demo-spec', folder: DIR });
    expect(where(f)).toEqual([`${DIR}/sub-specs/technical-spec.md:11`]);
    expect(f.evidence[0].excerpt).toMatch(/new readers fall back to$/);
    expect(f.evidence[0].note).toBe('last content line stops mid-sentence after "to"');
    expect(f.message).toBe(
      `The technical spec ${DIR}/sub-specs/technical-spec.md is cut short: line 11 stops mid-sentence after "to", before the heredoc residue.`,
    );
  });

  it('fires on empty and whitespace-only files, and on a file holding only heredoc residue', async () => {
    const fs = await scan({
      [`${DIR}/spec-lite.md`]: '',
      [`${DIR}/sub-specs/tests.md`]: '  \n\n',
      [`${DIR}/sub-specs/api-spec.md`]: 'EOF < /dev/null\n',
    });
    expect(fs.map((f) => [where(f)[0], f.severity, f.evidence[0].excerpt])).toEqual([
      [`${DIR}/spec-lite.md`, 'error', '0 bytes'],
      [`${DIR}/sub-specs/api-spec.md`, 'error', 'only heredoc residue'],
      [`${DIR}/sub-specs/tests.md`, 'error', '4 bytes of whitespace'],
    ]);
    expect(fs[0].message).toBe(`The spec summary ${DIR}/spec-lite.md is cut short: it is empty.`);
  });

  it('missing closing sections alone are no cut: a warning on a PEER-written spec, a note (info) on a folder no run produced', async () => {
    const text = SPEC.slice(0, 16).join('\n') + '\n';
    const peer = await scanWithState({ [`${DIR}/spec.md`]: text });
    expect(peer).toHaveLength(1);
    expect(peer[0].severity).toBe('warning');
    expect(where(peer[0])).toEqual([`${DIR}/spec.md:14`]);
    expect(peer[0].evidence[0].excerpt).toBe('## Spec Scope');
    expect(peer[0].message).toBe(
      `The spec ${DIR}/spec.md may be cut short: it has no "## Out of Scope", "## Expected Deliverable" sections (it stops after "## Spec Scope").`,
    );
    const plain = await scan({ [`${DIR}/spec.md`]: text });
    expect(plain.map((f) => [f.severity, f.message])).toEqual([
      [
        'info',
        `The spec ${DIR}/spec.md lacks sections create-spec writes: it has no "## Out of Scope", "## Expected Deliverable" sections (it stops after "## Spec Scope"); no PEER run produced this folder, so it may follow another template.`,
      ],
    ]);
  });

  it('is an error when the sections stop and the last line is cut mid-sentence', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]: [...SPEC.slice(0, 14), '', 'The scope covers the part that'].join('\n') + '\n',
    });
    expect(fs.map((f) => [f.severity, where(f)])).toEqual([['error', [`${DIR}/spec.md:16`, `${DIR}/spec.md:14`]]]);
    expect(fs[0].message).toContain('is cut short: line 16 stops mid-sentence after "that"');
  });

  it('warns on a PEER-written spec.md missing only a section in the middle (authoring, not truncation)', async () => {
    const fs = await scanWithState({ [`${DIR}/spec.md`]: [...SPEC.slice(0, 9), ...SPEC.slice(13)].join('\n') + '\n' });
    expect(fs.map((f) => [f.severity, f.message])).toEqual([
      ['warning', `The spec ${DIR}/spec.md may be cut short: it has no "## User Stories" section.`],
    ]);
  });

  it('accepts heading-level and case drift in spec.md sections', async () => {
    const drift = SPEC.map((l) =>
      l
        .replace('## Overview', '# overview')
        .replace('## User Stories', '### USER STORIES')
        .replace('## Expected Deliverable', '## Expected Deliverables')
        .replace('## Spec Scope', '## 2. Spec Scope'),
    );
    expect(await scan({ [`${DIR}/spec.md`]: drift.join('\n') + '\n' })).toEqual([]);
  });

  it('fires on spec-lite.md with no sentence, and on a code block that is never closed', async () => {
    const fs = await scan({
      [`${DIR}/spec-lite.md`]: '# Spec Summary (Lite)\n\n',
      [`${DIR}/sub-specs/technical-spec.md`]:
        '# Technical Specification\n\n## Schema\n\n```sql\nCREATE TABLE ops (\n  id bigint\n',
    });
    expect(fs.map((f) => [where(f)[0], f.severity, f.evidence[0].note])).toEqual([
      [`${DIR}/spec-lite.md:1`, 'error', 'spec-lite.md holds 1-3 sentences; there is none'],
      [
        `${DIR}/sub-specs/technical-spec.md:5`,
        'error',
        'code block opened here runs to the end of the file (last line 7)',
      ],
    ]);
    expect(fs[0].message).toBe(
      `The spec summary ${DIR}/spec-lite.md is cut short: it has no summary sentence; line 1 is a heading with nothing under it.`,
    );
    expect(fs[1].message).toContain('a code block opened at line 5 is never closed');
    expect(fs[1].evidence[0].excerpt).toBe('```sql');
  });

  it('grades the endings: comma and connector are errors; a bare word or a colon are warnings', async () => {
    const fs = await scan({
      [`${DIR}/a.md`]: '# A\n\nThe reader retries each entry,\n',
      [`${DIR}/b.md`]: '# B\n\nReplay dispatches on the stored operation and\n',
      [`${DIR}/c.md`]: '# C\n\nReplay dispatches on the stored operation\n',
      [`${DIR}/d.md`]: '# D\n\nThe following changes are needed:\n',
      [`${DIR}/e.md`]: '# E\n\nUse `wal.Op for\n',
      [`${DIR}/f.md`]: '# F\n\n- Render the op for the\n',
    });
    expect(
      fs
        .map((f) => [path.basename(where(f)[0]), f.severity, f.evidence[0].note] as const)
        .sort((a, b) => a[0].localeCompare(b[0])),
    ).toEqual([
      ['a.md:3', 'error', 'last content line stops mid-sentence on ","'],
      ['b.md:3', 'error', 'last content line stops mid-sentence after "and"'],
      ['c.md:3', 'warning', 'last content line ends without closing punctuation'],
      ['d.md:3', 'warning', 'last content line ends with a colon, and what it introduces never follows'],
      ['e.md:3', 'error', 'last content line stops inside inline code (an unmatched backtick)'],
      ['f.md:3', 'warning', 'last content line is a list item that ends with "the"'],
    ]);
  });

  it('gives one finding per file listing each sign', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]:
        [...SPEC.slice(0, 12), 'As an operator, I want replay to keep the operation, so that'].join('\n') +
        '\nEOF < /dev/null\n',
    });
    expect(fs).toHaveLength(1);
    expect(fs[0].severity).toBe('error');
    expect(where(fs[0])).toEqual([`${DIR}/spec.md:13`, `${DIR}/spec.md:10`]);
    expect(fs[0].message).toBe(
      `The spec ${DIR}/spec.md is cut short: line 13 stops mid-sentence after "that", before the heredoc residue; it has no "## Spec Scope", "## Out of Scope", "## Expected Deliverable" sections (it stops after "## User Stories").`,
    );
  });

  it('checks .agent-os/product files too', async () => {
    const fs = await scan({
      '.agent-os/product/mission-lite.md': '# Product Mission (Lite)\n\nAtlas is the team wiki for\n',
    });
    expect(fs.map((f) => [where(f)[0], f.subject])).toEqual([
      ['.agent-os/product/mission-lite.md:3', { folder: '.agent-os/product' }],
    ]);
    expect(fs[0].message).toMatch(/^The product file /);
  });

  it('does not fire on complete files: list items without a period, fields, tables, links, paths, code, quotes', async () => {
    const fs = await scan({
      [`${DIR}/spec.md`]: SPEC.join('\n') + '\nEOF < /dev/null\n',
      [`${DIR}/spec-lite.md`]: '# Spec Summary (Lite)\n\nRender the operation into every entry.\n',
      [`${DIR}/tasks.md`]:
        '# Spec Tasks\n\n## Tasks\n\n- [ ] 1. Token store\n  - [ ] 1.1 Write tests for the store\n  - [ ] 1.2 Verify all tests pass\n',
      [`${DIR}/sub-specs/api-spec.md`]:
        '# API\n\n### GET /x\n\n**Purpose:** Exchange the code\n**Errors:** 400 invalid state or verifier, 403 unverified email\n',
      [`${DIR}/sub-specs/technical-spec.md`]: `# Technical Specification\n\nThis is the technical specification for the spec detailed in @${DIR}/spec.md\n`,
      [`${DIR}/sub-specs/table.md`]: '# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
      [`${DIR}/sub-specs/links.md`]: '# L\n\n[the spec](../spec.md)\n',
      [`${DIR}/sub-specs/code.md`]: '# C\n\n```go\nfunc main() {\n```\n',
      [`${DIR}/sub-specs/quote.md`]: '# Q\n\n> Created: 2025-08-05\n',
      [`${DIR}/sub-specs/close.md`]: '# Close\n\nThe field is `Op`\n\nSee the notes (below)\n\nDone!\n',
      [`${DIR}/sub-specs/seed.sh`]: '',
      [`${DIR}/sub-specs/front.md`]: '---\ntitle: x\n---\n\nAll set.\n',
    });
    expect(fs.map((f) => f.message)).toEqual([]);
  });

  it('on the seed: spec.md (42 lines, residue on line 42) is complete; technical-spec.md cut at line 13 fires there', async () => {
    const seed = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
    const wal = '.agent-os/specs/2025-08-05-wal-operation-handling-fix';
    const asIs = await findingsOf(await modelOf({ project: seed }), RULE);
    expect(
      asIs.filter((f) => f.evidence.some((e) => e.location.kind === 'file' && e.location.path === `${wal}/spec.md`)),
    ).toEqual([]);
    expect(asIs.map((f) => [f.severity, where(f)])).toEqual([['error', [`${wal}/sub-specs/technical-spec.md:13`]]]);

    // The technical spec as it stops mid-sentence: "…new readers fall back to" on line 13, residue on line 14.
    const copy = await fsp.mkdtemp(path.join(os.tmpdir(), 'pa-seed-'));
    await fsp.cp(path.join(seed, '.agent-os'), path.join(copy, '.agent-os'), { recursive: true });
    const tech = path.join(copy, wal, 'sub-specs/technical-spec.md');
    const lines = (await fsp.readFile(tech, 'utf8')).split('\n');
    lines[12] = lines[12].replace(/ insert when it is absent\.$/, '');
    expect(lines[12]).toMatch(/new readers fall back to$/);
    await fsp.writeFile(tech, lines.join('\n'));
    const fs = await findingsOf(await modelOf({ project: copy }), RULE);
    expect(fs.map((f) => [f.severity, where(f)])).toEqual([['error', [`${wal}/sub-specs/technical-spec.md:13`]]]);
    expect(fs[0].evidence[0].excerpt).toMatch(/…new readers fall back to$|new readers fall back to$/);
  });
});

import { describe, expect, it } from 'vitest';
import { fileClaims, mayHaveWritten } from '../../src/model/claim-facts.js';
import type { ToolCall } from '../../src/model/types.js';

const F = '.agent-os/specs/2025-08-05-demo-spec';
const names = (text: string) => fileClaims(text).map((c) => `${c.folderName ?? '?'}/${c.name}`);

describe('fileClaims', () => {
  it.each([
    // The PEER agents' own wordings (bundled incidents and the fork's agent definitions).
    [
      `I've created the spec documentation:\n\n- Spec Requirements: @${F}/spec.md\n- Spec Summary: @${F}/spec-lite.md`,
      ['2025-08-05-demo-spec/spec.md', '2025-08-05-demo-spec/spec-lite.md'],
    ],
    [`tasks.md created with 3 major tasks (TDD ordering) at ${F}/tasks.md.`, ['2025-08-05-demo-spec/tasks.md']],
    [
      `Created ${F}/ with spec.md, sub-specs/api-spec.md and tasks.md (7 major tasks).`,
      ['2025-08-05-demo-spec/spec.md', '2025-08-05-demo-spec/sub-specs/api-spec.md', '2025-08-05-demo-spec/tasks.md'],
    ],
    [
      `Plan stored in phases.plan. I also drafted ${F}/spec.md, spec-lite.md and sub-specs/technical-spec.md.`,
      [
        '2025-08-05-demo-spec/spec.md',
        '2025-08-05-demo-spec/spec-lite.md',
        '2025-08-05-demo-spec/sub-specs/technical-spec.md',
      ],
    ],
    ['{"files_created": ["spec.md", "tasks.md"]}', ['?/spec.md', '?/tasks.md']],
    ['I read spec.md and updated tasks.md.', ['?/tasks.md']],
    ['Based on spec.md, I created tasks.md.', ['?/tasks.md']],
    // Not claims.
    ['Please review the spec documents before I create the task breakdown in tasks.md.', []],
    ['Once it is approved, run /create-tasks to create tasks.md.', []],
    ['tasks.md will be created after approval.', []],
    ['tasks.md was not created: the user has not approved the spec.', []],
    ['Files to be created:\n- tasks.md\n- sub-specs/tests.md', []],
    ['## Contents\n\n- spec.md\n- tasks.md', []],
    ['## 📋 Deliverables\n\n- spec.md\n- tasks.md (7 major tasks)', []],
    ['Plan for cycle 1 created (3 phases, ~30 minutes) and stored in phases.plan.', []],
    ['Created the plan:\n- step 1\n\ntasks.md is pending approval.', []],
  ])('%s', (text, want) => {
    expect(names(text)).toEqual(want);
  });
});

const bash = (command: string, isError = false): ToolCall => ({
  kind: 'tool',
  id: 't',
  name: 'Bash',
  command,
  input: {},
  actor: { spawnId: 's' },
  ref: { path: 'l', line: 1 },
  result: { isError, text: '', ref: { path: 'l', line: 2 } },
});

describe('mayHaveWritten', () => {
  const folder = '2025-08-05-demo-spec';
  it.each([
    [`cat > ${F}/tasks.md << 'EOF'\n# Tasks\nEOF`, true],
    [`cat >> ${F}/tasks.md <<EOF\nx\nEOF`, true],
    [`printf x | tee -a ${F}/tasks.md`, true],
    [`cp /tmp/tasks.md ${F}/tasks.md`, true],
    [`mv /tmp/draft ${F}`, true],
    [`sed -i 's/a/b/' ${F}/tasks.md`, true],
    [`cat ${F}/tasks.md`, false],
    [`grep -c x ${F}/tasks.md`, false],
    [`cat > ${F}/sub-specs/technical-spec.md << 'EOF'\nx\nEOF`, false],
  ])('%s', (command, want) => {
    expect(mayHaveWritten(bash(command), folder, 'tasks.md')).toBe(want);
  });

  it('a failed write wrote nothing; spec.md is not technical-spec.md', () => {
    expect(mayHaveWritten(bash(`cat > ${F}/tasks.md << 'EOF'\nEOF`, true), folder, 'tasks.md')).toBe(false);
    expect(mayHaveWritten(bash(`cat > ${F}/sub-specs/technical-spec.md <<'EOF'\nEOF`), folder, 'spec.md')).toBe(false);
  });
});

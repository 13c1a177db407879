// The library as a script uses it: `import … from 'peer-audit'` resolves through the package's own `exports` to the
// built dist/ (build first, as `npm test` does), with its type declarations; no CLI process.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { audit, auditWithModel, planRepair, type Finding, type ScanResult } from 'peer-audit';
import { REPO } from './helpers/cli.js';

const project = path.join(REPO, 'fixtures/incidents/wal-operation-handling-fix');
const options = {
  project,
  kvSnapshot: path.join(project, 'kv-snapshot.jsonl'),
  logs: [path.join(project, 'logs')],
  now: '2025-08-25T00:00:00Z',
};

describe('peer-audit as a library', () => {
  it('audit() finds what the CLI finds on the bundled incident', async () => {
    const notices: string[] = [];
    const result: ScanResult = await audit({ ...options, onNotice: (m) => notices.push(m) });
    expect(result.complete).toBe(true);
    expect(result.incompleteReasons).toEqual([]);
    expect([...new Set(result.findings.map((f: Finding) => f.ruleId))].sort()).toEqual([
      'aborted-session',
      'false-success',
      'heredoc-artifact',
      'kv-read-failure',
      'malformed-log',
      'missing-execute-phase',
      'missing-tasks-md',
      'missing-user-review',
      'phase-order-violation',
      'read-before-write',
      'script-failure',
      'spec-name-mismatch',
      'state-inconsistency',
      'truncated-file',
      'unverified-task-completion',
    ]);
    expect(result.summary).toMatchObject({ errors: 9, warnings: 8, infos: 0 });
    // What `scan --format json` adds to the findings: the runs section.
    expect(result.runs).toBeDefined();
    expect(notices).toEqual([]);
  });

  it('plans a repair without writing anything', async () => {
    const audited = await auditWithModel(options);
    const plan = await planRepair(audited, { now: '2025-08-25T00:00:00Z' });
    expect(plan.reason).toBeUndefined();
    const rules = [...new Set(plan.findings.map((f) => f.ruleId))].sort();
    expect(rules).toEqual(['false-success', 'heredoc-artifact', 'missing-execute-phase']);
    expect(plan.changes.length).toBeGreaterThan(0);
    for (const c of plan.changes) expect(c.status).toBe('planned');
    expect(plan.changes.map((c) => (c.kind === 'kv' ? `kv ${c.key}` : `file ${c.path}`))).toEqual([
      'file .agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md',
      'file .agent-os/specs/2025-08-05-wal-operation-handling-fix/sub-specs/technical-spec.md',
      'kv peer.spec.wal-operation-handling-fix.cycle.1',
      'kv peer.spec.wal-operation-handling-fix.meta',
    ]);
    expect(existsSync(path.join(project, '.peer-audit'))).toBe(false);
  });

  it('refuses to plan from an incomplete audit', async () => {
    const audited = await auditWithModel({ ...options, kvSnapshot: path.join(project, 'no-such-snapshot.jsonl') });
    expect(audited.result.complete).toBe(false);
    await expect(planRepair(audited)).rejects.toThrow(/refusing to plan a repair on partial evidence/);
  });
});

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogs } from '../../src/sources/logs.js';
import { readSnapshot } from '../../src/sources/snapshot.js';
import type { Finding, KvData, Location } from '../../src/model/types.js';
import { REPO } from '../helpers/cli.js';
import { findingsOf, kvData, modelOf, tempProject } from '../helpers/evidence.js';
import { done, v1Cycle, v1Meta } from './state-fixtures.js';

const RULE = 'placeholder-output';

async function fixture(name: string) {
  const dir = path.join(REPO, 'fixtures/incidents', name);
  const kv = (await readSnapshot(path.join(dir, 'kv-snapshot.jsonl'))).data;
  const logs = (await readLogs([path.join(dir, 'logs')], dir)).data;
  return findingsOf(await modelOf({ kv, project: dir, logs }), RULE);
}

async function scan(kv: KvData, files: Record<string, string> = {}) {
  return findingsOf(await modelOf({ kv, project: await tempProject(files) }), RULE);
}

const at = (l: Location) => (l.kind === 'kv' ? `${l.key}@${l.revision}${l.pointer ?? ''}` : l.kind);
const locs = (f: Finding) => f.evidence.map((e) => at(e.location));

const state = (spec: string, phases: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  kvData([
    [`peer.spec.${spec}.meta`, v1Meta(spec)],
    [`peer.spec.${spec}.cycle.1`, v1Cycle(phases, over)],
  ]);

/** The express output as the express agent template writes it (peer-express.md, "Update NATS KV"). */
const TEMPLATE_EXPRESS = {
  summary: 'Successfully created password reset specification',
  key_points: [
    'Complete documentation created',
    '12 tasks defined with TDD approach',
    'Security considerations documented',
  ],
  deliverables: { files_created: 5, tasks_defined: 12, decisions_made: 3 },
  formatted_output: '## 🎯 Executive Summary\n\n...',
};

const REWRITE = path.join(REPO, 'fixtures/incidents/v2-review-rewrite');

describe('placeholder-output', () => {
  it('fires on the v1.1 executor placeholder: fixed results text, nothing created, nothing completed', async () => {
    const fs = await scan(
      state('wal-fix', {
        plan: done(),
        execute: done({
          instruction: 'create-spec',
          status: 'completed',
          outputs: {
            files_created: [],
            tasks_completed: [],
            results: 'Instruction executed successfully through PEER pattern',
          },
        }),
      }),
    );
    expect(fs).toHaveLength(1);
    expect(fs[0].ruleId).toBe(RULE);
    expect(fs[0].severity).toBe('warning');
    expect(locs(fs[0])).toEqual([
      'peer.spec.wal-fix.cycle.1@2/phases/execute/output/outputs/results',
      'peer.spec.wal-fix.cycle.1@2/phases/execute/output/outputs',
    ]);
    expect(fs[0].evidence[0].excerpt).toBe('"results": "Instruction executed successfully through PEER pattern"');
    expect(fs[0].message).toBe(
      'Cycle 1\'s execute output is placeholder text, not a record of the work: the v1.1 executor placeholder "Instruction executed successfully through PEER pattern" with no files created and no tasks completed.',
    );
    expect(fs[0].subject).toMatchObject({ spec: 'wal-fix', cycle: 1 });
  });

  it('fires on a completed phase whose output is {} or only empty lists and strings, one finding per phase', async () => {
    const fs = await scan(
      state('wal-fix', {
        plan: done({}),
        execute: done({ outputs: { files_created: [], decisions_made: [] }, notes: '' }),
      }),
    );
    expect(fs.map((f) => locs(f))).toEqual([
      ['peer.spec.wal-fix.cycle.1@2/phases/plan/output'],
      ['peer.spec.wal-fix.cycle.1@2/phases/execute/output'],
    ]);
    expect(fs[0].message).toBe(
      "Cycle 1's plan output is placeholder text, not a record of the work: plan is marked complete but its output is empty ({}).",
    );
  });

  it('fires on the express template copied into a spec about something else', async () => {
    const fs = await scan(
      state('wal-operation-handling-fix', { plan: done(), execute: done(), express: done(TEMPLATE_EXPRESS) }),
    );
    expect(fs).toHaveLength(1);
    const base = 'peer.spec.wal-operation-handling-fix.cycle.1@2/phases/express/output';
    expect(locs(fs[0])).toEqual([
      `${base}/summary`,
      `${base}/key_points/0`,
      `${base}/key_points/1`,
      `${base}/key_points/2`,
      `${base}/formatted_output`,
      `${base}/deliverables`,
    ]);
    expect(fs[0].evidence[0].excerpt).toBe('"Successfully created password reset specification"');
    expect(fs[0].message).toContain(
      '4 strings of the agent template\'s password reset example ("Successfully created password reset specification", "Complete documentation created" and 2 more) on a spec about wal-operation-handling-fix',
    );
    expect(fs[0].message).toContain('"## 🎯 Executive Summary" with nothing but "..." after it');
    expect(fs[0].message).toContain('the template deliverables (5 files, 12 tasks, 3 decisions)');
  });

  it('fires on review template text and on "password reset" wording in a review of another spec', async () => {
    const fs = await scan(
      state(
        'csv-export-endpoint',
        {
          plan: done(),
          execute: done(),
          express: done(),
          review: done({
            quality_score: 'high',
            recommendations: ['Add security checklist for auth features', 'Stream rows in batches'],
          }),
        },
        { insights: { learnings: ['The password reset flow needs rate limiting'] } },
      ),
    );
    expect(fs).toHaveLength(1);
    expect(locs(fs[0])).toEqual([
      'peer.spec.csv-export-endpoint.cycle.1@2/phases/review/output/recommendations/0',
      'peer.spec.csv-export-endpoint.cycle.1@2/insights/learnings/0',
    ]);
    expect(fs[0].message).toBe(
      'Cycle 1\'s review output is placeholder text, not a record of the work: 1 string of the agent template\'s password reset example ("Add security checklist for auth features") on a spec about csv-export-endpoint; "password reset" wording from the template on a spec about csv-export-endpoint.',
    );
  });

  it('does not fire on a spec that really is about a password reset, nor on healthy-v1 ("Password reset spec created")', async () => {
    expect(
      await scan(state('password-reset-flow', { plan: done(), execute: done(), express: done(TEMPLATE_EXPRESS) })),
    ).toEqual([]);
    // The name says nothing, the spec document does.
    const files = {
      '.agent-os/specs/2025-08-05-account-recovery/spec.md':
        '# Spec Requirements Document\n\n> Spec: Password Reset Flow\n',
    };
    expect(
      await scan(
        state('account-recovery', { express: done({ summary: 'Successfully created password reset specification' }) }),
        files,
      ),
    ).toEqual([]);
    expect(await fixture('healthy-v1')).toEqual([]);
    expect(await fixture('healthy-v2')).toEqual([]);
  });

  it('does not fire on real outputs, pending phases with empty outputs, or "12 tasks defined" when tasks.md has 12 tasks', async () => {
    expect(
      await scan(
        state('wal-fix', {
          plan: done({ instruction: 'create-spec', phases: [] }),
          execute: { status: 'running', output: {} },
          express: done({
            summary: 'WAL fix spec drafted',
            deliverables: { files_created: 3, tasks_defined: 0, decisions_made: 2 },
          }),
          review: done({ quality_score: 'medium', completeness: false }),
        }),
      ),
    ).toEqual([]);
    const tasks =
      ['# Spec Tasks', '', ...Array.from({ length: 12 }, (_, i) => `- [ ] ${i + 1}. Task ${i + 1}`)].join('\n') + '\n';
    const files = { '.agent-os/specs/2025-08-05-wal-fix/tasks.md': tasks };
    expect(
      await scan(state('wal-fix', { express: done({ key_points: ['12 tasks defined with TDD approach'] }) }), files),
    ).toEqual([]);
  });

  it.skipIf(!existsSync(REWRITE))(
    'v2-review-rewrite: the v1.1 placeholder since revision 5, repeated by express and the result',
    async () => {
      const fs = await fixture('v2-review-rewrite');
      const key = 'peer.instruction.create-spec.cycle.1@10';
      expect(fs.map((f) => locs(f))).toEqual([
        [`${key}/phases/execute/output/results`, `${key}/phases/execute/output`],
        [
          `${key}/phases/express/output/summary`,
          `${key}/phases/express/output/key_points/0`,
          `${key}/phases/express/output/formatted_output`,
          `${key}/result/summary`,
        ],
      ]);
      expect(fs[0].evidence[0].note).toBe("the executor template's fixed text, there since revision 5");
      expect(fs[1].message).toContain('it repeats the executor placeholder');
    },
  );

  it('is quiet on the bundled incidents, whose outputs are real', async () => {
    expect(await fixture('wal-operation-handling-fix')).toEqual([]);
    expect(await fixture('v2-skipped-execute')).toEqual([]);
  });
});

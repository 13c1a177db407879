import rule from '../../rules/claimed-file-not-written.js';
import { ruleTester } from '../helpers/rule-tester.js';
import { ABS, FOLDER, incidentModel, subagentRun } from './claims-fixtures.js';

const SPEC = { [`${FOLDER}/spec.md`]: '# Spec\n', [`${FOLDER}/spec-lite.md`]: '# Lite\n' };
const WITH_TASKS = { ...SPEC, [`${FOLDER}/tasks.md`]: '# Tasks\n\n- [ ] 1. Do it\n' };

ruleTester(rule, {
  valid: [
    {
      name: 'tasks.md written with a heredoc (cat > path << EOF)',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', `tasks.md created with 3 major tasks at ${FOLDER}/tasks.md.`, (t) =>
        t.bash('b1', `cat > ${FOLDER}/tasks.md << 'EOF'\n# Tasks\nEOF`, ''),
      ),
    },
    {
      name: 'written with tee and cp',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', 'Created spec-lite.md and tasks.md.', (t) =>
        t
          .bash('b1', `printf '# Lite\\n' | tee ${FOLDER}/spec-lite.md`, '# Lite')
          .bash('b2', `cp /tmp/t.md ${FOLDER}/tasks.md`, ''),
      ),
    },
    {
      name: 'a file read, not written: "based on spec.md, I created tasks.md"',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', 'Based on spec.md, I created tasks.md.', (t) =>
        t.tool('w1', 'Write', { file_path: `${ABS}/tasks.md`, content: '# Tasks' }),
      ),
    },
    {
      name: 'files planned or to be created, and a review gate',
      files: SPEC,
      transcript: subagentRun(
        'peer-executor',
        'Please review the spec before I create tasks.md.\n\nFiles to be created:\n- tasks.md\n- sub-specs/tests.md',
      ),
    },
    {
      name: 'a table of contents is not a claim',
      files: SPEC,
      transcript: subagentRun('peer-executor', '## Contents\n\n- spec.md\n- tasks.md'),
    },
    {
      name: 'tasks.md written by the coordinator after the subagent returned',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', 'Created tasks.md.').tool('w9', 'Write', {
        file_path: `${ABS}/tasks.md`,
        content: '# Tasks',
      }),
    },
    {
      name: "express lists the executor's files: a summary, not its own claim",
      files: SPEC,
      transcript: subagentRun('peer-express', '### Documentation Created\n- spec.md\n- tasks.md'),
    },
    {
      name: 'no records of the subagent: its calls cannot be told',
      files: SPEC,
      transcript: subagentRun('peer-executor', 'x').task('e2', 'peer-executor', 'Created tasks.md.'),
    },
    {
      name: 'written by the instruction subagent the executor delegated to',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', 'I have created tasks.md.', (t) =>
        t
          .task('g1', 'general-purpose')
          .asAgent('g1a')
          .tool('w1', 'Write', { file_path: `${ABS}/tasks.md`, content: '# Tasks' })
          .asAgent('a1')
          .taskResult('g1', 'Done.', { status: 'completed', agentId: 'g1a', totalToolUseCount: 1 }),
      ),
    },
    {
      name: 'the seed incident: the planner wrote the spec files it claims',
      model: () => incidentModel('wal-operation-handling-fix'),
    },
    { name: 'bundled v2 run: the executor wrote every file it lists', model: () => incidentModel('v2-review-rewrite') },
  ],
  invalid: [
    {
      name: 'claims spec.md and tasks.md; wrote spec.md only, and tasks.md is not in the folder',
      files: SPEC,
      transcript: subagentRun('peer-executor', `Created ${FOLDER}/spec.md and tasks.md.`, (t) =>
        t.tool('w1', 'Write', { file_path: `${ABS}/spec.md`, content: '# Spec' }),
      ),
      findings: [
        {
          severity: 'error',
          message:
            'peer-executor (spawned at session.jsonl:2) says it wrote tasks.md, but none of its 1 tool call ' +
            "(or its subagents') wrote it; tasks.md is not in the spec folder either.",
          target: 'session.jsonl#e1',
          locations: ['log session.jsonl:2', 'log session.jsonl:5', 'log session.jsonl:3', `file ${FOLDER}`],
          evidence: [
            { note: 'peer-executor spawned; it made 1 tool call, 1 of them writing files' },
            { excerpt: `Created ${FOLDER}/spec.md and tasks.md.`, note: 'says it wrote tasks.md' },
            { excerpt: `Write ${ABS}/spec.md` },
            { excerpt: 'holds: spec-lite.md, spec.md', note: 'tasks.md is not in the folder' },
          ],
        },
      ],
    },
    {
      name: 'claims it updated tasks.md, made no write; the file is there from before (a warning)',
      files: WITH_TASKS,
      transcript: subagentRun('peer-executor', "I've updated tasks.md with the new subtasks.", (t) =>
        t.bash('b1', `ls ${FOLDER}`, 'spec.md\ntasks.md'),
      ),
      findings: [
        {
          severity: 'warning',
          messageMatch: 'says it wrote tasks.md, but none of its 1 tool call',
          locations: ['log session.jsonl:2', 'log session.jsonl:5', `file ${FOLDER}`],
          evidence: [
            { note: 'peer-executor spawned; it made 1 tool call, 0 of them writing files' },
            {},
            { note: 'tasks.md is there, written by no call in the transcript' },
          ],
        },
      ],
    },
    {
      name: 'the list after "I\'ve created the spec documentation:" names a file no call wrote',
      files: SPEC,
      transcript: subagentRun(
        'peer-planner',
        `I've created the spec documentation:\n\n- Spec: @${FOLDER}/spec.md\n- Technical Spec: @${FOLDER}/sub-specs/technical-spec.md`,
        (t) => t.tool('w1', 'Write', { file_path: `${ABS}/spec.md`, content: '# Spec' }),
      ),
      findings: [
        {
          severity: 'error',
          messageMatch: 'peer-planner (spawned at session.jsonl:2) says it wrote sub-specs/technical-spec.md',
          locations: ['log session.jsonl:2', 'log session.jsonl:5', 'log session.jsonl:3', `file ${FOLDER}`],
        },
      ],
    },
  ],
});

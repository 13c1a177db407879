import { defineRule } from '../src/engine/rule.js';
import { logLocation, cut } from '../src/model/log-facts.js';
import { brief, isRecord, metaStatements, num, type CycleState } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, KvLocation, LogSession, SpecFolder } from '../src/model/types.js';
import { isPeerRun } from '../src/model/peer-sessions.js';
import { unreadInFolder } from '../src/model/spec-folders.js';
import { createTasksEra } from '../src/model/eras.js';

const TASK_INSTRUCTIONS = new Set(['create-tasks', 'execute-tasks', 'execute-task', 'complete-tasks']);

export default defineRule({
  meta: {
    id: 'missing-tasks-md',
    severity: 'error',
    summary:
      'A spec folder has no tasks.md although the instruction that produced it, or a finished cycle, says it should.',
    sources: ['specs', 'kv', 'logs'],
    fixable: false,
    title: 'tasks.md is missing',
    causedBy: [
      { rule: 'missing-execute-phase', when: 'same-run' },
      { rule: 'claimed-file-not-written', when: 'shared-evidence' },
    ],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      for (const folder of run.folders) {
        if (folder.tasks || folder.files.some((f) => f.name === 'tasks.md')) continue;
        // A tasks.md that exists but could not be read is not missing (the specs source says it is incomplete).
        if (unreadInFolder(folder, 'tasks.md')) continue;
        const peer = isPeerRun(run);
        const eraDay = createTasksEra(run);
        const evidence: Evidence[] = [];
        const because: string[] = [];
        let expectingCycle: number | undefined;

        for (const cycle of run.cycles) {
          const meta = run.meta ? metaStatements(bucket, run.meta, cycle.number) : { claims: [], signals: [] };
          const claims = [...cycle.claims, ...meta.claims];
          const finished = claims.length > 0 || cycle.phases.execute.status === 'completed';
          const instruction = cycle.instruction ?? run.meta?.cycles[String(cycle.number)]?.instruction;
          const at = (pointer: string): KvLocation => ({
            kind: 'kv',
            bucket,
            key: cycle.key,
            revision: cycle.revision,
            pointer,
          });
          const era = (cycle.startedAt ?? folder.date ?? '').slice(0, 10);
          const instrPtr = cycle.layout === 'v2' ? '/metadata/instruction_name' : '/instruction';

          if (finished && instruction === 'create-spec' && era !== '' && era < eraDay) {
            evidence.push({
              location: at(instrPtr),
              excerpt: `"instruction": ${brief(instruction)}`,
              note:
                `create-spec cycle ${cycle.number} started ${era}; create-spec of that era writes tasks.md ` +
                '(step 12)',
            });
            if (claims[0])
              evidence.push({
                location: claims[0].location,
                excerpt: claims[0].excerpt,
                note: `cycle ${cycle.number} claims to be finished`,
              });
            because.push(
              `create-spec cycle ${cycle.number} (${era}) claims to be finished, and ${eraName(peer)} ` +
                `create-spec before ${eraDay} writes tasks.md`,
            );
            expectingCycle ??= cycle.number;
          } else if (finished && instruction && TASK_INSTRUCTIONS.has(instruction)) {
            evidence.push({
              location: at(instrPtr),
              excerpt: `"instruction": ${brief(instruction)}`,
              note: `${instruction} works on tasks.md`,
            });
            because.push(`${instruction} cycle ${cycle.number} finished, and it works on tasks.md`);
            expectingCycle ??= cycle.number;
          }
          for (const e of stateMentionsTasks(cycle, at)) {
            evidence.push(e);
            because.push(`cycle ${cycle.number} ${e.note}`);
            expectingCycle ??= cycle.number;
          }
        }

        for (const s of run.sessions) {
          const w = tasksWrite(s, folder);
          if (!w) continue;
          evidence.push(w);
          because.push(
            `the transcript writes tasks.md (${w.location.kind === 'log' ? `line ${w.location.line}` : ''}) ` +
              'but the file is not there',
          );
        }

        let severity: 'warning' | 'info' | undefined;
        if (
          because.length === 0 &&
          run.cycles.length === 0 &&
          folder.date &&
          folder.date < eraDay &&
          folder.files.some((f) => f.name === 'spec.md')
        ) {
          // No state to go by: the folder's era alone says create-spec should have written tasks.md. A folder no PEER
          // run produced may have been written by hand or by another tool: that is only a note.
          because.push(
            `the folder dates from ${folder.date}, when ${eraName(peer)} create-spec wrote tasks.md after the ` +
              `user review${peer ? '' : ' (no PEER run produced this folder, so it may not come from create-spec)'}`,
          );
          severity = peer ? 'warning' : 'info';
        }
        if (because.length === 0) continue;
        evidence.unshift({
          location: { kind: 'file', path: folder.path },
          excerpt: `files: ${folder.files.map((f) => f.name).join(', ') || '(none)'}`,
          note: 'no tasks.md in the folder',
        });
        report({
          message: `${folder.path} has no tasks.md, but ${[...new Set(because)].join('; ')}.`,
          subject: runSubject(run, expectingCycle),
          evidence,
          target: folder.path,
          severity,
        });
      }
    }
  },
});

function eraName(peer: boolean): string {
  return peer ? "the PEER fork's" : "Agent OS's";
}

/** State outputs that say tasks.md was created or tasks were defined. */
function stateMentionsTasks(cycle: CycleState, at: (p: string) => KvLocation): Evidence[] {
  const out: Evidence[] = [];
  const exec = cycle.phases.execute.output;
  const files = isRecord(exec) ? (isRecord(exec.outputs) ? exec.outputs.files_created : exec.files_created) : undefined;
  if (Array.isArray(files)) {
    const i = files.findIndex((f) => typeof f === 'string' && /(^|\/)tasks\.md$/.test(f));
    if (i >= 0) {
      const ptr =
        isRecord(exec) && isRecord(exec.outputs)
          ? `/phases/execute/output/outputs/files_created/${i}`
          : `/phases/execute/output/files_created/${i}`;
      out.push({ location: at(ptr), excerpt: brief(files[i]), note: 'lists tasks.md among the files created' });
    }
  }
  const express = cycle.phases.express.output;
  if (isRecord(express) && isRecord(express.deliverables)) {
    const n = num(express.deliverables.tasks_defined);
    if (n !== undefined && n > 0)
      out.push({
        location: at('/phases/express/output/deliverables/tasks_defined'),
        excerpt: `"tasks_defined": ${n}`,
        note: `reports ${n} tasks defined`,
      });
  }
  return out;
}

function tasksWrite(s: LogSession, folder: SpecFolder): Evidence | undefined {
  const target = `${folder.folderName}/tasks.md`;
  for (const e of s.events) {
    if (e.kind !== 'tool' || !e.result || e.result.isError) continue;
    const hit =
      (e.filePath && e.filePath.endsWith(target)) ||
      (e.command && /(>|tee)\s*['"]?[^\s'"]*tasks\.md/.test(e.command) && e.command.includes(target));
    if (hit)
      return {
        location: logLocation(e.ref),
        excerpt: cut(`${e.name} ${e.filePath ?? e.command?.split('\n')[0] ?? ''}`, 160),
        note: 'tasks.md written here',
      };
  }
  return undefined;
}

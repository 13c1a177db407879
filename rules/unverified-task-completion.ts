import { defineRule } from '../src/engine/rule.js';
import type { Run } from '../src/model/build.js';
import { cut, logLocation } from '../src/model/log-facts.js';
import { cyclesForSpec, runOrder } from '../src/model/lookup.js';
import { brief } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogSession, SpecFolder, TaskItem } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { recapOf } from '../src/model/spec-folders.js';
import { cycleFinish, isStruck, taskCycles } from '../src/model/spec-cycle-facts.js';

const TASK_NAMES = 'execute-tasks, execute-task or complete-tasks';

/** An instruction named as a command, flag, instruction file or state field — not a word in prose. */
const TASK_INSTRUCTION_TEXT = [
  /(?:^|[\s>"'`(])\/(execute-tasks?|complete-tasks)\b/m,
  /--instruction[= ]["']?(execute-tasks?|complete-tasks)\b/,
  /instructions\/(?:core\/)?(execute-tasks?|complete-tasks)\.md/,
  /\binstruction(?:_name)?["']?\s*[:=]\s*["']?(execute-tasks?|complete-tasks)\b/i,
];
const RECAP_FOLDERS = '.agent-os/recaps/ or .agent-os/product/recaps/';
const EDIT_TOOLS = /^(Write|Edit|MultiEdit|NotebookEdit)$/;

/** Every task item of the list in order, majors and subtasks, without struck-through ones. */
export function allItems(tasks: TaskItem[]): TaskItem[] {
  return tasks.flatMap((t) => [t, ...t.subtasks]).filter((t) => !isStruck(t));
}

function namesTaskInstruction(text: string | undefined): boolean {
  return !!text && TASK_INSTRUCTION_TEXT.some((re) => re.test(text));
}

/** Does the session work on this spec: a tool call, prompt or human turn names its folder? */
function touchesSpec(s: LogSession, folder: SpecFolder): boolean {
  const n = folder.folderName;
  return s.events.some(
    (e) =>
      (e.kind === 'tool' && ((e.filePath ?? '').includes(n) || (e.command ?? '').includes(n))) ||
      (e.kind === 'spawn' && (e.prompt ?? '').includes(n)) ||
      (e.kind === 'text' && e.role === 'user' && e.text.includes(n)),
  );
}

/** A project file outside .agent-os (the code the tasks are about), relative to the session's working folder. */
function projectFile(path: string, cwd: string | undefined): string | undefined {
  let rel = path.replace(/\\/g, '/');
  if (rel.startsWith('/')) {
    if (!cwd || !rel.startsWith(`${cwd.replace(/\/$/, '')}/`)) return undefined;
    rel = rel.slice(cwd.replace(/\/$/, '').length + 1);
  }
  rel = rel.replace(/^\.\//, '');
  if (rel.startsWith('~') || rel.startsWith('..') || /^(\.agent-os|\.claude|tmp)\//.test(rel)) return undefined;
  return rel;
}

/** Transcript evidence that execute-tasks work on this spec happened. */
export function transcriptWork(run: Run, folder: SpecFolder): Evidence | undefined {
  for (const s of run.sessions) {
    const ties = touchesSpec(s, folder);
    const named = (t: string | undefined) => !!t && (ties || t.includes(folder.slug));
    for (const e of s.events) {
      if (
        e.kind === 'text' &&
        e.role === 'user' &&
        e.actor === 'main' &&
        namesTaskInstruction(e.text) &&
        named(e.text)
      ) {
        return {
          location: logLocation(e.ref),
          excerpt: cut(excerptOf(e.text.trim()), 160),
          note: 'the session runs a task instruction for this spec',
        };
      }
      if (e.kind === 'spawn' && namesTaskInstruction(e.prompt) && named(e.prompt)) {
        return {
          location: logLocation(e.ref),
          excerpt: cut(`${e.toolName} ${e.subagentType}: ${e.description ?? ''}`, 160),
          note: 'a subagent was spawned for a task instruction',
        };
      }
      if (ties && e.kind === 'tool' && EDIT_TOOLS.test(e.name) && e.filePath && e.result && !e.result.isError) {
        const rel = projectFile(e.filePath, s.cwd);
        if (rel)
          return {
            location: logLocation(e.ref),
            excerpt: cut(`${e.name} ${rel}`, 160),
            note: 'project code edited in a session that works on this spec',
          };
      }
    }
  }
  return undefined;
}

export default defineRule({
  meta: {
    id: 'unverified-task-completion',
    severity: 'warning',
    summary:
      'tasks.md has checked boxes, but no execute-tasks cycle ran to completion, no transcript shows the work ' +
      'and no recap names the spec.',
    sources: ['specs', 'kv', 'logs'],
    fixable: false,
    title: 'Tasks are checked off with no record of the work',
  },
  check({ model, report }) {
    for (const run of model.runs) {
      for (const folder of run.folders) {
        const tasks = folder.tasks;
        if (!tasks) continue;
        const items = allItems(tasks.tasks);
        const checked = items.filter((t) => t.checked);
        if (checked.length === 0) continue;

        const cycles = taskCycles(model, run, folder);
        if (cycles.some((c) => c.completed)) continue;
        if (transcriptWork(run, folder)) continue;
        // complete-tasks files a recap when a spec is done: that is the work shown, with or without PEER.
        if (recapOf(model.specs, folder)) continue;

        const every = checked.length === items.length;
        const majors = tasks.tasks.filter((t) => !isStruck(t));
        const checkedMajors = majors.filter((t) => t.checked);
        const shown = (checkedMajors.length > 0 ? checkedMajors : checked).slice(0, 3);
        const evidence: Evidence[] = shown.map((t, i) => ({
          location: { kind: 'file', path: tasks.path, line: t.line },
          excerpt: excerptOf(`- [x] ${t.text}`),
          note:
            i === shown.length - 1
              ? `checked; ${checkedMajors.length} of ${majors.length} tasks ` +
                `and ${checked.length - checkedMajors.length} subtasks checked in all`
              : 'checked',
        }));

        // What was looked for in the state.
        let stateText: string;
        if (!model.kv) {
          stateText = 'no state was available (KV was not scanned) to show an execute-tasks cycle for it';
        } else {
          // Every cycle of the runs that hold state for this spec.
          const specRuns = [...new Set([run, ...cyclesForSpec(model, run, folder.slug).map((x) => x.run)])].filter(
            (r) => r === run || r.cycles.some((c) => c.spec === folder.slug),
          );
          const order = runOrder(model);
          specRuns.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
          const all = specRuns.flatMap((r) => r.cycles.map((c) => ({ r, c })));
          for (const c of cycles) {
            evidence.push({
              location: c.instructionLocation,
              excerpt: `"instruction": ${brief(c.instruction)}`,
              note:
                `${c.instruction} cycle ${c.cycle.number} did not run to completion ` +
                `(execute ${c.cycle.phases.execute.status})`,
            });
          }
          const others = all.filter(({ c }) => !cycles.some((t) => t.cycle === c));
          const otherNames = [
            ...new Set(others.map(({ r, c }) => cycleFinish(model.bucket, r, c).instruction ?? 'unnamed')),
          ];
          for (const { r, c } of others.slice(0, 2)) {
            const st = cycleFinish(model.bucket, r, c);
            evidence.push({
              location: st.instructionLocation,
              excerpt: `"instruction": ${brief(st.instruction)}`,
              note:
                `cycle ${c.number} runs ${st.instruction ?? 'an unnamed instruction'}, which does not ` +
                'check task boxes',
            });
          }
          if (all.length === 0) {
            evidence.push({
              location: { kind: 'bucket', bucket: model.kv.bucket, origin: model.kv.originRef },
              excerpt: `no keys under peer.spec.${folder.slug}`,
              note: 'no PEER state for this spec',
            });
          }
          stateText =
            cycles.length > 0
              ? `the ${cycles.map((c) => `${c.instruction} cycle ${c.cycle.number}`).join(', ')} did not run ` +
                'to completion'
              : all.length > 0
                ? `no ${TASK_NAMES} cycle for ${folder.slug} is in KV (only ${otherNames.join(', ')})`
                : `KV has no state for ${folder.slug} at all`;
        }
        const recapText = `no recap names it in ${RECAP_FOLDERS}`;
        const logText = !model.logs
          ? 'no transcripts were read'
          : 'no transcript shows the work ' +
            `(${run.sessions.length === 1 ? '1 session mentions' : `${run.sessions.length} sessions mention`} the ` +
            'spec; looked for a task instruction, a task subagent and edits to project code)';

        const boxes = every
          ? `every box checked (${checkedMajors.length} tasks, ${checked.length - checkedMajors.length} subtasks)`
          : `${checked.length} of ${items.length} boxes checked`;
        report({
          message: `${tasks.path} has ${boxes}, but ${stateText}, ${logText}, and ${recapText}.`,
          subject: runSubject(run),
          evidence,
          target: tasks.path,
          // PEER is optional: a plain /execute-tasks writes no state, so absence alone is a warning. Only a task cycle
          // the state shows unfinished contradicts a list with every box checked.
          severity: every && model.kv && cycles.length > 0 ? 'error' : 'warning',
        });
      }
    }
  },
});

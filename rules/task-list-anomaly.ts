import { defineRule } from '../src/engine/rule.js';
import { brief } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, TaskItem, TasksDoc } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import type { Model, Run } from '../src/model/build.js';
import { cyclesForSpec } from '../src/model/lookup.js';
import type { SpecFolder } from '../src/model/types.js';
import { cycleFinish, isStruck, taskCycles, type TaskCycle } from '../src/model/spec-cycle-facts.js';

/** create-spec's limits for tasks.md: 1-5 major tasks, up to 8 subtasks each. */
export const MAX_TASKS = 5;
export const MAX_SUBTASKS = 8;
const SHOW = 6;

const line = (tasks: TasksDoc, t: TaskItem, note: string): Evidence => ({
  location: { kind: 'file', path: tasks.path, line: t.line },
  excerpt: excerptOf(`- [${t.checked ? 'x' : ' '}] ${t.text}`),
  note,
});

export default defineRule({
  meta: {
    id: 'task-list-anomaly',
    severity: 'warning',
    summary:
      'tasks.md leaves tasks open without a blocking note after execute-tasks ran to completion (and, as info, ' +
      'a PEER-written list over create-spec limits).',
    sources: ['specs', 'kv'],
    fixable: false,
    title: 'The task list breaks create-spec’s limits',
  },
  check({ model, report }) {
    for (const run of model.runs) {
      for (const folder of run.folders) {
        const tasks = folder.tasks;
        if (!tasks) continue;
        const majors = tasks.tasks.filter((t) => !isStruck(t));

        // Counts over create-spec's guidance are not a failure by themselves: refine-spec adds tasks by design, and
        // lists written by hand or by other tools follow their own. They are noted (info) only when the state shows
        // the list came from a create-spec or create-tasks cycle and no refine-spec cycle ran for the spec.
        const writer = countJudged(model, run, folder);
        if (writer && majors.length > MAX_TASKS) {
          const over = majors.slice(MAX_TASKS);
          const evidence = over
            .slice(0, SHOW)
            .map((t, i) =>
              line(tasks, t, i === 0 ? `task ${MAX_TASKS + 1}, over the limit of ${MAX_TASKS}` : 'over the limit'),
            );
          if (over.length > SHOW) evidence[evidence.length - 1].note += `; ${over.length - SHOW} more after it`;
          evidence.push(writer.evidence);
          const subtotal = majors.reduce((n, t) => n + t.subtasks.filter((s) => !isStruck(s)).length, 0);
          report({
            message:
              `${tasks.path} has ${majors.length} major tasks (${subtotal} subtasks); create-spec ` +
              `writes at most ${MAX_TASKS}, and ${writer.text} with no refine-spec cycle after it.`,
            subject: runSubject(run, writer.cycle),
            evidence,
            target: `${tasks.path}#tasks`,
            severity: 'info',
          });
        }

        if (writer) {
          majors.forEach((t, i) => {
            const subs = t.subtasks.filter((s) => !isStruck(s));
            if (subs.length <= MAX_SUBTASKS) return;
            report({
              message:
                `Task ${t.number || i + 1} in ${tasks.path} has ${subs.length} subtasks; create-spec ` +
                `writes at most ${MAX_SUBTASKS} per task, and ${writer.text} with no refine-spec cycle after it.`,
              subject: runSubject(run, writer.cycle),
              evidence: [
                line(tasks, t, `${subs.length} subtasks under this task`),
                line(tasks, subs[MAX_SUBTASKS], `subtask ${MAX_SUBTASKS + 1}, over the limit of ${MAX_SUBTASKS}`),
                writer.evidence,
              ],
              target: `${tasks.path}#subtasks-${t.number || i + 1}`,
              severity: 'info',
            });
          });
        }

        const done = taskCycles(model, run, folder).filter((c) => c.completed);
        const last = done[done.length - 1];
        if (!last) continue;
        const open = openWithoutBlocker(majors, done);
        if (open.items.length === 0) continue;
        const evidence = open.items
          .slice(0, SHOW)
          .map((t) => line(tasks, t, 'unchecked, with no "⚠️ Blocking issue" note'));
        if (open.items.length > SHOW) evidence[evidence.length - 1].note += `; ${open.items.length - SHOW} more`;
        evidence.push({
          location: last.instructionLocation,
          excerpt: `"instruction": ${brief(last.instruction)}`,
          note: `${last.instruction} cycle ${last.cycle.number} ran to completion`,
        });
        const claim = last.claims[0];
        if (claim)
          evidence.push({
            location: claim.location,
            excerpt: claim.excerpt,
            note: `cycle ${last.cycle.number} claims to be finished`,
          });
        report({
          severity: 'warning',
          message:
            `${tasks.path} has ${open.items.length} unchecked task${open.items.length === 1 ? '' : 's'} ` +
            `with no "⚠️ Blocking issue" note after ${last.instruction} cycle ${last.cycle.number} ran to ` +
            `completion (${open.why}).`,
          subject: runSubject(run, last.cycle.number),
          evidence,
          target: `${tasks.path}#open`,
        });
      }
    }
  },
});

/**
 * Unchecked items with no blocker note that the finished cycles should have closed. complete-tasks wants every task
 * done or blocked. execute-tasks runs the tasks it was given (by default the next open one), so only the tasks it
 * started count: a checked task with open subtasks, or a task with some subtasks checked. When nothing is checked at
 * all, the next open task is the one it should have worked on.
 */
function openWithoutBlocker(majors: TaskItem[], done: TaskCycle[]): { items: TaskItem[]; why: string } {
  const blocked = (t: TaskItem) =>
    !!t.blockingNote || t.subtasks.some((s) => !isStruck(s) && !s.checked && s.blockingNote);
  // A blocker on the task or on one of its open subtasks accounts for the whole task.
  const openIn = (t: TaskItem) =>
    blocked(t) ? [] : [t, ...t.subtasks.filter((s) => !isStruck(s))].filter((x) => !x.checked);
  if (done.some((c) => c.instruction === 'complete-tasks')) {
    return { items: majors.flatMap(openIn), why: 'complete-tasks requires every task checked or marked blocked' };
  }
  const started = majors.filter((t) => t.checked || t.subtasks.some((s) => !isStruck(s) && s.checked));
  if (started.length > 0)
    return { items: started.flatMap(openIn), why: 'in tasks it started; a task is finished or marked blocked' };
  if (majors.some((t) => blocked(t))) return { items: [], why: '' };
  const next = majors.find((t) => !t.checked);
  return next
    ? { items: openIn(next), why: 'nothing is checked, not even the next open task' }
    : { items: [], why: '' };
}

/**
 * The create-spec or create-tasks cycle whose state shows it wrote this list, when no refine-spec cycle ran for the
 * spec: only then are create-spec's limits a fair measure.
 */
function countJudged(
  model: Model,
  run: Run,
  folder: SpecFolder,
): { cycle: number; text: string; evidence: Evidence } | undefined {
  let writer: { cycle: number; text: string; evidence: Evidence } | undefined;
  for (const { run: r, cycle } of cyclesForSpec(model, run, folder.slug)) {
    const st = cycleFinish(model.bucket, r, cycle);
    if (st.instruction === 'refine-spec') return undefined;
    if (!writer && (st.instruction === 'create-spec' || st.instruction === 'create-tasks')) {
      writer = {
        cycle: cycle.number,
        text: `${st.instruction} cycle ${cycle.number} wrote it`,
        evidence: {
          location: st.instructionLocation,
          excerpt: `"instruction": ${brief(st.instruction)}`,
          note: `${st.instruction} cycle ${cycle.number} wrote the list`,
        },
      };
    }
  }
  return writer;
}

import { defineRule } from '../src/engine/rule.js';
import { cut, logLocation } from '../src/model/log-facts.js';
import { brief } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogSession, SpecFolder } from '../src/model/types.js';
import { isPeerRun } from '../src/model/peer-sessions.js';
import { unreadInFolder } from '../src/model/spec-folders.js';
import { cycleDate, cycleFinish, filesCreated, folderOfCycle } from '../src/model/spec-cycle-facts.js';

/** From this date create-spec writes spec-lite.md and no longer writes sub-specs/tests.md. */
export const SPEC_LITE_ERA = '2025-07-29';
/** Installed copies of the instructions lag the repository: an older create-spec may still run this many days later. */
export const INSTALL_LAG_DAYS = 30;

const SPEC = 'spec.md';
const LITE = 'spec-lite.md';
const TECH = 'sub-specs/technical-spec.md';
const TESTS = 'sub-specs/tests.md';
const OLDER_SET = [SPEC, TECH];
/** Files that only create-spec writes: a folder holding one was laid out by create-spec. */
const CREATE_SPEC_ONLY = [LITE, TECH, TESTS];
const CURRENT_SET = [SPEC, LITE, TECH];
/** Instructions that work from a finished spec: when one of them finished, create-spec had finished before. */
const SPEC_USERS = new Set(['create-tasks', 'execute-tasks', 'execute-task', 'complete-tasks', 'refine-spec']);

function daysAfter(from: string, day: string): number {
  return (Date.parse(`${day}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
}

export default defineRule({
  meta: {
    id: 'missing-spec-file',
    severity: 'error',
    summary:
      'A finished spec folder lacks spec.md, spec-lite.md or sub-specs/technical-spec.md that its create-spec ' +
      'version writes.',
    sources: ['specs', 'kv', 'logs'],
    fixable: false,
    title: 'A spec document is missing',
    causedBy: [
      { rule: 'missing-execute-phase', when: 'same-run' },
      { rule: 'claimed-file-not-written', when: 'shared-evidence' },
    ],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      for (const folder of run.folders) {
        const present = new Set(folder.files.map((f) => f.name));
        const finishes: Evidence[] = [];
        const because: string[] = [];
        let eraDay: string | undefined;
        let eraFrom = `the folder date ${folder.date ?? '(none)'}`;
        let cycleNo: number | undefined;
        /** Files the state lists as created in this folder, with the evidence. */
        const listed = new Map<string, Evidence>();

        for (const cycle of run.cycles) {
          if (folderOfCycle(run, cycle) !== folder) continue;
          const st = cycleFinish(bucket, run, cycle);
          const list = filesCreated(cycle);
          list?.files.forEach((f, i) => {
            if (typeof f !== 'string') return;
            const name = nameInFolder(f, folder);
            if (!name || name === 'tasks.md' || listed.has(name)) return;
            listed.set(name, {
              location: {
                kind: 'kv',
                bucket,
                key: cycle.key,
                revision: cycle.revision,
                pointer: `${list.pointer}/${i}`,
              },
              excerpt: brief(f),
              note: `cycle ${cycle.number} lists ${name} among the files created`,
            });
          });
          if (!st.finished) continue;
          const claim = st.claims[0];
          const said = claim
            ? { location: claim.location, excerpt: claim.excerpt }
            : {
                location: { ...st.instructionLocation, pointer: '/phases/execute/status' },
                excerpt: `"status": ${brief(cycle.phases.execute.raw)}`,
              };
          if (st.instruction === 'create-spec') {
            finishes.push({ ...said, note: `create-spec cycle ${cycle.number} claims to be finished` });
            because.push(`create-spec cycle ${cycle.number} (${cycleDate(cycle) || 'undated'}) claims to be finished`);
            if (!eraDay && cycleDate(cycle)) {
              eraDay = cycleDate(cycle);
              eraFrom = `create-spec cycle ${cycle.number} started ${eraDay}`;
            }
            cycleNo ??= cycle.number;
          } else if (st.instruction && SPEC_USERS.has(st.instruction)) {
            finishes.push({
              ...said,
              note: `${st.instruction} cycle ${cycle.number} finished; it works from the finished spec`,
            });
            because.push(`${st.instruction} cycle ${cycle.number} finished, which works from the finished spec`);
            cycleNo ??= cycle.number;
          }
        }
        const tasks = folder.files.find((f) => f.name === 'tasks.md');
        if (tasks) {
          finishes.push({
            location: { kind: 'file', path: tasks.path },
            excerpt: `tasks.md, ${tasks.lines.length} lines`,
            note: 'tasks.md is written after the spec documents, so create-spec got past them',
          });
          because.push('the folder has tasks.md, which is written after the spec documents');
        }

        // What the create-spec that wrote this folder writes.
        eraDay ??= folder.date;
        let required: string[] = [];
        let eraText = '';
        if (finishes.length > 0) {
          if (!eraDay) {
            required = OLDER_SET;
            eraText =
              `every create-spec writes ${list(OLDER_SET)} ` +
              '(the folder has no date, so spec-lite.md is not judged)';
          } else if (eraDay < SPEC_LITE_ERA) {
            required = OLDER_SET;
            eraText = `create-spec before ${SPEC_LITE_ERA} writes ${list(OLDER_SET)} (${eraFrom})`;
          } else if (present.has(TESTS) && !present.has(LITE) && daysAfter(SPEC_LITE_ERA, eraDay) <= INSTALL_LAG_DAYS) {
            // Exactly what the older create-spec leaves: an installed copy that had not been updated yet.
            required = OLDER_SET;
            eraText =
              'the folder has sub-specs/tests.md and no spec-lite.md, which is what create-spec ' +
              `before ${SPEC_LITE_ERA} writes, and it writes ${list(OLDER_SET)}`;
          } else {
            required = CURRENT_SET;
            eraText = `create-spec from ${SPEC_LITE_ERA} on writes ${list(CURRENT_SET)} (${eraFrom})`;
          }
        }

        const writes = new Map<string, Evidence>();
        for (const s of run.sessions) {
          for (const [name, e] of writesInto(s, folder)) if (!writes.has(name)) writes.set(name, e);
        }

        // A folder no PEER run produced (no state, no PEER transcript) may be written by hand or by another tool, with
        // its own file set: it is held to create-spec's set only when it holds a file that only create-spec writes, and
        // then only as a note.
        const peer = isPeerRun(run);
        if (!peer && !CREATE_SPEC_ONLY.some((n) => present.has(n))) required = [];

        // A transcript write alone does not make a file expected (it may have been removed on purpose); it is cited.
        const expected = new Set([...required, ...listed.keys()]);
        for (const name of [...expected].sort(order)) {
          if (present.has(name)) continue;
          // A file that exists but could not be read is not missing (the specs source says it is incomplete).
          if (unreadInFolder(folder, name)) continue;
          const reasons: string[] = [];
          const evidence: Evidence[] = [
            {
              location: { kind: 'file', path: folder.path },
              excerpt: `files: ${folder.files.map((f) => f.name).join(', ') || '(none)'}`,
              note: `no ${name} in the folder`,
            },
          ];
          if (required.includes(name)) {
            evidence.push(...finishes);
            reasons.push(`${[...new Set(because)].join('; ')}, and ${eraText}`);
          }
          const l = listed.get(name);
          if (l) {
            evidence.push(l);
            reasons.push(`the state lists it among the files created`);
          }
          const w = writes.get(name);
          if (w) {
            evidence.push(w);
            reasons.push(
              `the transcript writes it (${w.location.kind === 'log' ? `${w.location.path}:${w.location.line}` : ''})`,
            );
          }
          const base = name.split('/').pop()!;
          const elsewhere = folder.files.find((f) => f.name !== name && f.name.split('/').pop() === base);
          if (elsewhere)
            evidence.push({
              location: { kind: 'file', path: elsewhere.path },
              excerpt: elsewhere.name,
              note: `a ${base} exists at another place in the folder`,
            });
          const there = elsewhere ? ` (there is a ${elsewhere.name})` : '';
          const otherSet = peer ? '' : '; no PEER run produced this folder, so it may follow another file set';
          report({
            message: `${folder.path} has no ${name}${there}, but ${reasons.join('; ')}${otherSet}.`,
            subject: runSubject(run, cycleNo),
            evidence,
            target: `${folder.path}/${name}`,
            severity: !peer ? 'info' : elsewhere ? 'warning' : undefined,
          });
        }
      }
    }
  },
});

function list(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function order(a: string, b: string): number {
  const rank = (n: string) => {
    const i = CURRENT_SET.indexOf(n);
    return i < 0 ? CURRENT_SET.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** The path of a state- or transcript-named file relative to the folder, when it names a file in this folder. */
function nameInFolder(p: string, folder: SpecFolder): string | undefined {
  const norm = p.replace(/\\/g, '/');
  const marker = `${folder.folderName}/`;
  const i = norm.lastIndexOf(marker);
  if (i < 0 || (i > 0 && norm[i - 1] !== '/')) return undefined;
  const rest = norm.slice(i + marker.length).replace(/^\.\//, '');
  return rest && !rest.endsWith('/') ? rest : undefined;
}

/** Successful writes into the folder in a transcript: Write/Edit file paths and shell redirections. */
function writesInto(s: LogSession, folder: SpecFolder): Map<string, Evidence> {
  const out = new Map<string, Evidence>();
  for (const e of s.events) {
    if (e.kind !== 'tool' || !e.result || e.result.isError) continue;
    let target: string | undefined;
    if (e.filePath && /^(Write|Edit|MultiEdit)$/.test(e.name)) target = e.filePath;
    else if (e.command)
      target = /(?:>>?|\btee\s+(?:-a\s+)?)\s*['"]?([^\s'"<>|;&]+)/.exec(e.command.split('\n')[0])?.[1];
    const name = target ? nameInFolder(target, folder) : undefined;
    if (!name || out.has(name)) continue;
    out.set(name, {
      location: logLocation(e.ref),
      excerpt: cut(`${e.name} ${e.filePath ?? e.command?.split('\n')[0] ?? ''}`, 160),
      note: `${name} written here`,
    });
  }
  return out;
}

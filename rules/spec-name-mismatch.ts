import { defineRule } from '../src/engine/rule.js';
import type { Model, Run } from '../src/model/build.js';
import { cut, logLocation, sessionMentions } from '../src/model/log-facts.js';
import { brief, isRecord, specSlug } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, LogRef } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { cycleDate, cycleFinish, filesCreated, folderOfCycle } from '../src/model/spec-cycle-facts.js';

/** The name create-spec falls back to when it cannot derive one from the request. */
export const FALLBACK_NAME = 'new-feature';

const NAME = '[a-z0-9][a-z0-9-]*[a-z0-9]';
/** `.agent-os/specs/<date>-<name>`: a concrete folder path. */
const FOLDER_PATH = new RegExp(`\\.agent-os/specs/(\\d{4}-\\d{2}-\\d{2})-(${NAME})(?![\\w-])`, 'g');
/** Name statements in text: `"spec_name": "x"`, `spec_name=x`, `spec "x"`, `Spec name: x`, `--spec=x`. */
const NAME_TEXT = [
  new RegExp(`["']?\\bspec_name["']?\\s*[:=]\\s*["']?(${NAME})(?![\\w-])`, 'g'),
  new RegExp(`\\bspec\\s+["“\`](${NAME})["”\`]`, 'gi'),
  new RegExp(`\\bspec name:\\s*["'\`]?(${NAME})(?![\\w-])`, 'gi'),
  new RegExp(`--spec[= ]["']?(${NAME})(?![\\w-])`, 'g'),
];
/** Folders from the same day shown for a spec with no folder; the rest are counted. */
const SAME_DAY_SHOWN = 3;
/** Kebab-case with at least one hyphen: what a spec name looks like in free text. */
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)+$/;

interface Mention {
  /** The spec name (or folder name, when only the date differs) the mention uses. */
  name: string;
  evidence: Evidence;
  cycle?: number;
  from: 'state' | 'transcript';
  /** Where the name was written, for the message: "the plan of cycle 1". */
  where?: string;
}

export default defineRule({
  meta: {
    id: 'spec-name-mismatch',
    severity: 'warning',
    summary:
      'The spec name in KV, in the plan or in the transcript differs from the spec folder name, or names no ' +
      'folder at all.',
    sources: ['kv', 'specs', 'logs'],
    fixable: false,
    title: 'The spec has more than one name',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const folderSlugs = new Set(model.folders.map((f) => f.slug));
    const folderNames = new Set(model.folders.map((f) => f.folderName));
    // A dated spec name (`--spec=2026-12-03-foo`) is the spec of its slug.
    const stateSpecs = new Set(
      model.runs.filter((r) => r.prefix && r.spec).flatMap((r) => [r.spec!, specSlug(r.spec!)]),
    );
    // Folders with no state of their own, by the day in their name.
    const strayByDay = new Map<string, typeof model.folders>();
    for (const f of model.folders) {
      if (!f.date || stateSpecs.has(f.slug)) continue;
      strayByDay.set(f.date, [...(strayByDay.get(f.date) ?? []), f]);
    }

    for (const run of model.runs) {
      const own = run.folders.map((f) => f.slug);
      const name = run.spec;
      const isSpecRun = !!run.prefix && run.prefix.startsWith('peer.spec.');

      // The fallback name: the name was never derived from the request.
      if (name === FALLBACK_NAME) {
        const key = run.keys[0];
        const folder = run.folders[0];
        const evidence: Evidence[] = [];
        if (key)
          evidence.push({
            location: { kind: 'kv', bucket, key: key.info.key, revision: key.latest.revision },
            excerpt: key.info.key,
            note: `the key uses the fallback name "${FALLBACK_NAME}"`,
          });
        for (const f of run.folders)
          evidence.push({
            location: { kind: 'file', path: f.path },
            excerpt: f.folderName,
            note: `the folder uses the fallback name "${FALLBACK_NAME}"`,
          });
        report({
          message:
            `${run.prefix ?? folder?.path} uses the spec name "${FALLBACK_NAME}", the fallback ` +
            'create-spec takes when it could not derive a name from the request; the next spec that falls back ' +
            'lands in the same place.',
          subject: runSubject(run),
          evidence,
          target: `${run.prefix ?? run.id}#${FALLBACK_NAME}`,
        });
      }

      if (!run.prefix) continue;
      // Read only by the two checks that compare names; runs without a folder often never need them.
      let found: Mention[] | undefined;
      const mentions = () => (found ??= [...stateMentions(model, run), ...transcriptMentions(run)]);

      // One key prefix, several dated folders: the key carries no date.
      if (run.folders.length > 1) {
        const evidence: Evidence[] = run.folders.map((f) => {
          const cycles = run.cycles.filter((c) => folderOfCycle(run, c) === f).map((c) => c.number);
          return {
            location: { kind: 'file', path: f.path },
            excerpt: f.folderName,
            note: cycles.length
              ? `matches cycle${cycles.length > 1 ? 's' : ''} ${cycles.join(', ')} by date`
              : 'no cycle dates match this folder',
          };
        });
        report({
          message:
            `${run.prefix} matches ${run.folders.length} spec folders ` +
            `(${run.folders.map((f) => f.folderName).join(', ')}): the key has no date, so the state of different ` +
            'specs shares one prefix.',
          subject: runSubject(run),
          evidence,
          target: `${run.prefix}#folders`,
        });
      }

      // A spec name in the state with no folder, once a cycle says it finished.
      if (isSpecRun && name && run.folders.length === 0 && model.specs && model.specs.folders.length > 0) {
        // The folder exists but joined another key prefix of the same spec (dated and undated names): not missing.
        if (folderNames.has(name) || folderSlugs.has(specSlug(name))) continue;
        const finished = run.cycles.map((c) => ({ c, st: cycleFinish(bucket, run, c) })).find(({ st }) => st.finished);
        if (finished) {
          const { c, st } = finished;
          const claim = st.claims[0];
          const evidence: Evidence[] = [
            claim
              ? {
                  location: claim.location,
                  excerpt: claim.excerpt,
                  note: `cycle ${c.number} (${st.instruction ?? 'unnamed instruction'}) claims to be finished`,
                }
              : {
                  location: { ...st.instructionLocation, pointer: '/phases/execute/status' },
                  excerpt: `"status": ${brief(c.phases.execute.raw)}`,
                  note: `cycle ${c.number} execute completed`,
                },
          ];
          // Other names the run used; a transcript naming another spec that has state of its own is about that spec.
          const elsewhere = mentions().filter(
            (m) => m.name !== name && (m.from === 'state' || (SLUG.test(m.name) && !stateSpecs.has(m.name))),
          );
          const others = [...new Set(elsewhere.map((m) => m.name))];
          for (const m of dedupe(elsewhere).slice(0, 4)) evidence.push(m.evidence);
          const day = cycleDate(c);
          const sameDay = (day && strayByDay.get(day)) || [];
          const shownDay = sameDay.slice(0, SAME_DAY_SHOWN);
          for (const f of shownDay)
            evidence.push({
              location: { kind: 'file', path: f.path },
              excerpt: f.folderName,
              note: 'a folder from the same day under another name',
            });
          if (sameDay.length > shownDay.length)
            evidence[evidence.length - 1].note += `; ${sameDay.length - shownDay.length} more from that day`;
          const more = sameDay.length > shownDay.length ? ` and ${sameDay.length - shownDay.length} more` : '';
          const dayNames = `${shownDay.map((f) => f.folderName).join(', ')}${more}`;
          const hints = [
            others.length
              ? `${others.map((o) => `"${o}"`).join(', ')} appear${others.length === 1 ? 's' : ''} in ` +
                `the ${mentionSources(elsewhere)} instead`
              : '',
            sameDay.length ? `${dayNames} ${sameDay.length > 1 ? 'were' : 'was'} created that day` : '',
          ].filter(Boolean);
          report({
            message:
              `No spec folder .agent-os/specs/*-${specSlug(name)}/ exists for ${run.prefix}, although ` +
              `cycle ${c.number} (${st.instruction ?? 'unnamed instruction'}) claims to be finished` +
              `${hints.length ? `; ${hints.join('; ')}` : ''}.`,
            subject: runSubject(run, c.number),
            evidence,
            target: `${run.prefix}#no-folder`,
          });
        }
        continue;
      }
      if (run.folders.length === 0) continue;

      // Names that differ from the folder the key matches.
      const byName = new Map<string, Mention[]>();
      for (const m of mentions()) {
        if (own.includes(m.name) || run.folders.some((f) => f.folderName === m.name)) continue;
        if (m.from === 'transcript' && (folderSlugs.has(m.name) || stateSpecs.has(m.name) || !SLUG.test(m.name)))
          continue;
        byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
      }
      for (const [other, ms] of byName) {
        const state = dedupe(ms.filter((m) => m.from === 'state'));
        const log = dedupe(ms.filter((m) => m.from === 'transcript'));
        const evidence = [...state.map((m) => m.evidence), ...log.slice(0, 3).map((m) => m.evidence)];
        if (log.length > 3) evidence[evidence.length - 1].note += `; ${log.length - 3} more in the transcript`;
        for (const f of run.folders)
          evidence.push({
            location: { kind: 'file', path: f.path },
            excerpt: f.folderName,
            note: `the folder for ${run.prefix}`,
          });
        const where = [
          ...new Set(state.map((m) => m.where!)),
          log.length
            ? `the transcript (line${log.length > 1 ? 's' : ''} ${log
                .map((m) => (m.evidence.location.kind === 'log' ? m.evidence.location.line : ''))
                .slice(0, 3)
                .join(', ')}${log.length > 3 ? ', …' : ''})`
            : '',
        ].filter(Boolean);
        const named = /^\d{4}-\d{2}-\d{2}-/.test(other)
          ? `the folder .agent-os/specs/${other}/`
          : `the spec "${other}"`;
        const fallback = other === FALLBACK_NAME ? ` ("${FALLBACK_NAME}" is the fallback name)` : '';
        report({
          message:
            `${run.prefix} names ${named}${fallback} in ${where.join(' and in ')}, ` +
            `but its folder is ${run.folders.map((f) => f.path).join(', ')}.`,
          subject: runSubject(run, state[0]?.cycle),
          evidence,
          target: `${run.prefix}#name:${other}`,
        });
      }
    }
  },
});

function mentionSources(ms: Mention[]): string {
  const s = new Set(ms.map((m) => m.from));
  return s.size > 1 ? 'state and transcript' : [...s][0];
}

function dedupe(ms: Mention[]): Mention[] {
  const seen = new Set<string>();
  return ms.filter((m) => {
    const l = m.evidence.location;
    const k = l.kind === 'kv' ? `${l.key}${l.pointer}` : l.kind === 'log' ? `${l.path}:${l.line}` : JSON.stringify(l);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Names the state of a run gives its spec: plan output, v2 metadata, v1 meta, and folders in files_created. */
function stateMentions(model: Model, run: Run): Mention[] {
  const bucket = model.bucket;
  const out: Mention[] = [];
  if (run.meta?.specName) {
    out.push({
      name: run.meta.specName,
      from: 'state',
      evidence: {
        location: { kind: 'kv', bucket, key: run.meta.key, revision: run.meta.revision, pointer: '/spec_name' },
        excerpt: `"spec_name": ${brief(run.meta.specName)}`,
        note: `the meta names the spec "${run.meta.specName}"`,
      },
      where: 'the meta',
    });
  }
  for (const c of run.cycles) {
    const at = (pointer: string) => ({ kind: 'kv' as const, bucket, key: c.key, revision: c.revision, pointer });
    const plan = c.phases.plan.output;
    if (isRecord(plan) && typeof plan.spec_name === 'string' && plan.spec_name.trim()) {
      out.push({
        name: plan.spec_name.trim(),
        cycle: c.number,
        from: 'state',
        evidence: {
          location: at('/phases/plan/output/spec_name'),
          excerpt: `"spec_name": ${brief(plan.spec_name)}`,
          note: `the plan of cycle ${c.number} names the spec "${plan.spec_name.trim()}"`,
        },
        where: `the plan of cycle ${c.number}`,
      });
    }
    const md = c.metadata?.spec_name;
    if (typeof md === 'string' && md.trim()) {
      out.push({
        name: md.trim(),
        cycle: c.number,
        from: 'state',
        evidence: {
          location: at('/metadata/spec_name'),
          excerpt: `"spec_name": ${brief(md)}`,
          note: `the metadata of cycle ${c.number} names the spec "${md.trim()}"`,
        },
        where: `the metadata of cycle ${c.number}`,
      });
    }
    const list = filesCreated(c);
    list?.files.forEach((f, i) => {
      if (typeof f !== 'string') return;
      for (const m of f.matchAll(FOLDER_PATH)) {
        const folderName = `${m[1]}-${m[2]}`;
        if (run.folders.some((x) => x.folderName === folderName)) continue;
        out.push({
          name: m[2] === run.spec ? folderName : m[2],
          cycle: c.number,
          from: 'state',
          evidence: {
            location: at(`${list.pointer}/${i}`),
            excerpt: brief(f),
            note: `cycle ${c.number} lists a file in .agent-os/specs/${folderName}/ as created`,
          },
          where: `the files created in cycle ${c.number}`,
        });
      }
    });
  }
  return out;
}

/** Spec names and folder paths in the transcripts that belong to the run (they name its key prefix). */
function transcriptMentions(run: Run): Mention[] {
  const out: Mention[] = [];
  for (const s of run.sessions) {
    if (!run.prefix || sessionMentions(s, [run.prefix]).size === 0) continue;
    const agents = new Map(
      s.events.flatMap((e) => (e.kind === 'spawn' ? [[e.id, e.subagentType || e.toolName] as const] : [])),
    );
    for (const e of s.events) {
      if (e.kind === 'text') {
        const who = e.actor === 'main' ? 'the main agent' : (agents.get(e.actor.spawnId) ?? 'a subagent');
        fromText(
          e.text,
          e.ref,
          e.role === 'assistant' ? `${who}'s text` : e.human ? 'the user' : `the prompt to ${who}`,
          out,
          run,
        );
      } else if (e.kind === 'spawn')
        fromText(e.prompt ?? '', e.ref, `the ${e.subagentType || e.toolName} prompt`, out, run);
      else if (e.kind === 'tool') {
        if (e.filePath && /^(Write|Edit|MultiEdit)$/.test(e.name))
          fromPaths(e.filePath, e.ref, `the ${e.name} path`, out, run);
        if (e.command) {
          const head = e.command.split('\n')[0];
          const target = /(?:>>?|\btee\s+(?:-a\s+)?)\s*['"]?([^\s'"<>|;&]+)/.exec(head)?.[1];
          if (target) fromPaths(target, e.ref, 'the shell write path', out, run);
          if (/^\s*mkdir\b/.test(head)) fromPaths(head, e.ref, 'the mkdir path', out, run);
          fromNames(e.command, e.ref, 'the command', out);
        }
      }
    }
  }
  return out;
}

function fromText(text: string, ref: LogRef, what: string, out: Mention[], run: Run) {
  fromPaths(text, ref, what, out, run);
  fromNames(text, ref, what, out);
}

function fromPaths(text: string, ref: LogRef, what: string, out: Mention[], run: Run) {
  for (const m of text.matchAll(FOLDER_PATH)) {
    const folderName = `${m[1]}-${m[2]}`;
    if (run.folders.some((f) => f.folderName === folderName)) continue;
    out.push({
      name: m[2] === run.spec ? folderName : m[2],
      from: 'transcript',
      evidence: {
        location: logLocation(ref),
        excerpt: excerptAround(text, m.index ?? 0),
        note: `${what} names .agent-os/specs/${folderName}/`,
      },
    });
  }
}

function fromNames(text: string, ref: LogRef, what: string, out: Mention[]) {
  for (const re of NAME_TEXT) {
    for (const m of text.matchAll(re)) {
      out.push({
        name: m[1],
        from: 'transcript',
        evidence: {
          location: logLocation(ref),
          excerpt: excerptAround(text, m.index ?? 0),
          note: `${what} names the spec "${m[1]}"`,
        },
      });
    }
  }
}

/** The line of `text` around `index`, cut to an excerpt that keeps the match. */
function excerptAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index) + 1;
  const nl = text.indexOf('\n', index);
  const raw = text.slice(start, nl < 0 ? text.length : nl);
  const at = Math.max(0, index - start - (raw.length - raw.trimStart().length));
  const from = at > 60 ? at - 60 : 0;
  return cut((from > 0 ? '…' : '') + excerptOf(raw.trim().slice(from), 1000), 160);
}

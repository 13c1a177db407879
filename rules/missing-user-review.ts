import { defineRule, type ReportInput } from '../src/engine/rule.js';
import { FORK_CREATE_TASKS_ERA } from '../src/model/eras.js';
import { callFailed, logLocation, peerSpawns, successClaims } from '../src/model/log-facts.js';
import type { KeyRecord } from '../src/model/build.js';
import { brief, isRecord, type HistoryItem } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import {
  actorLabel,
  isBefore,
  isCreateSpecSession,
  isHumanTurn,
  reviewRequest,
  sessionSubject,
  specDocWrite,
  tasksWrite,
} from '../src/model/transcript-facts.js';
import type { Actor, Evidence, LogRef, LogSession, Spawn, ToolCall } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';
import { peerSessions } from '../src/model/peer-sessions.js';

export default defineRule({
  meta: {
    id: 'missing-user-review',
    severity: 'warning',
    summary:
      "create-spec's user review gate was bypassed: tasks.md written, or the run went on, with no user answer " +
      'to the review request.',
    sources: ['logs', 'kv', 'specs'],
    fixable: false,
    title: 'The user review was skipped',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const bySession = new Map<LogSession, ReportInput>();
    for (const s of peerSessions(model)) {
      const f = judgeSession(s);
      if (f) bySession.set(s, { ...f, subject: sessionSubject(model, s), target: s.mainFile });
    }

    for (const run of model.runs) {
      const folders = run.folders.map((fo) => ({
        path: fo.path,
        hasTasks: !!fo.tasks || fo.files.some((x) => x.name === 'tasks.md'),
        date: fo.date,
      }));
      for (const rec of run.keys) {
        if (rec.info.kind !== 'cycle') continue;
        const kv = stateWithoutInteraction(bucket, rec, folders);
        if (!kv) continue;
        // A transcript that shows the user approving before tasks.md was written outweighs the state's empty list.
        if (run.sessions.some((s) => approvedInTranscript(s))) continue;
        const n = rec.info.cycle;
        const joined = run.sessions.map((s) => bySession.get(s)).find((f) => f !== undefined);
        if (joined) {
          joined.evidence.push(...kv.evidence);
          joined.message += ` The state agrees: cycle ${n} records no user interaction.`;
          continue;
        }
        report({
          message:
            `create-spec cycle ${n} wrote tasks.md (${kv.tasksWhere}) but its execute output records no ` +
            'user interaction (outputs.user_interactions is empty): the review gate before the task breakdown was ' +
            'skipped.',
          subject: runSubject(run, n),
          evidence: kv.evidence,
          target: rec.info.key,
        });
      }
    }
    for (const f of bySession.values()) report(f);
  },
});

interface Prompt {
  ref: LogRef;
  excerpt: string;
  actor: Actor;
  /** The spawn whose subagent asked, or whose Task result carries the request. */
  producer?: Spawn;
  /** The Task result that handed a subagent's request to the main agent. */
  via?: LogRef;
}

type Judged = Pick<ReportInput, 'message' | 'evidence'>;

function prompts(s: LogSession): Prompt[] {
  const out: Prompt[] = [];
  const spawns = new Map(s.events.filter((e): e is Spawn => e.kind === 'spawn').map((sp) => [sp.id, sp]));
  for (const e of s.events) {
    if (e.kind === 'text' && e.role === 'assistant') {
      const excerpt = reviewRequest(e.text);
      if (!excerpt) continue;
      const producer = e.actor === 'main' ? undefined : spawns.get(e.actor.spawnId);
      const via =
        producer?.finalText?.ref.line === e.ref.line && producer.finalText.ref.path === e.ref.path
          ? producer.result?.ref
          : undefined;
      out.push({ ref: e.ref, excerpt, actor: e.actor, producer, via });
    } else if (e.kind === 'spawn' && e.result && !(e.finalText && reviewRequest(e.finalText.text))) {
      // The subagent's own records are missing: its report is only in the Task result.
      const excerpt = reviewRequest(e.result.text);
      if (excerpt) out.push({ ref: e.result.ref, excerpt, actor: { spawnId: e.id }, producer: e });
    }
  }
  return out.sort((a, b) => (isBefore(a.ref, b.ref) ? -1 : isBefore(b.ref, a.ref) ? 1 : 0));
}

function tasksWrites(s: LogSession): ToolCall[] {
  return s.events.filter(
    (e): e is ToolCall => e.kind === 'tool' && tasksWrite(e) !== undefined && !!e.result && !callFailed(e),
  );
}

function judgeSession(s: LogSession): Judged | undefined {
  const humans = s.events.filter(isHumanTurn);
  const writes = tasksWrites(s);
  const spawns = peerSpawns(s);
  const claims = successClaims(s);
  const ps = prompts(s);

  for (const p of ps) {
    const answer = humans.find((h) => isBefore(p.ref, h.ref));
    const inGap = (r: LogRef) => isBefore(p.ref, r) && (!answer || isBefore(r, answer.ref));
    const write = writes.find((w) => inGap(w.ref));
    const spawn = spawns.find((sp) => sp !== p.producer && inGap(sp.ref));
    const claim = claims.find((c) => inGap(c.ref));
    if (!write && !spawn && !claim) continue;

    const who = p.actor === 'main' ? 'The main agent' : p.producer?.subagentType || 'A subagent';
    const evidence: Evidence[] = [
      {
        location: logLocation(p.ref),
        excerpt: excerptOf(p.excerpt),
        note: `${actorLabel(s, p.actor)} asks for a review before creating the tasks`,
      },
    ];
    if (p.via)
      evidence.push({
        location: logLocation(p.via),
        excerpt: excerptOf(p.excerpt),
        note: 'the request reaches the main agent in the Task result',
      });
    const went: string[] = [];
    const steps: Array<{ ref: LogRef; ev: Evidence; text: string }> = [];
    if (write) {
      const path = tasksWrite(write)!;
      steps.push({
        ref: write.ref,
        ev: {
          location: logLocation(write.ref),
          excerpt: excerptOf(`${write.name} ${path}`),
          note: 'tasks.md written with no user answer',
        },
        text: `tasks.md written at line ${write.ref.line}`,
      });
    }
    if (spawn) {
      steps.push({
        ref: spawn.ref,
        ev: {
          location: logLocation(spawn.ref),
          excerpt: excerptOf(`${spawn.toolName} ${spawn.subagentType}: ${spawn.description ?? ''}`),
          note: `${spawn.subagentType} spawned with no user answer`,
        },
        text: `${spawn.subagentType} spawned at line ${spawn.ref.line}`,
      });
    }
    if (claim) {
      steps.push({
        ref: claim.ref,
        ev: {
          location: logLocation(claim.ref),
          excerpt: excerptOf(claim.excerpt),
          note: 'claims success with no user answer',
        },
        text: `success claimed at line ${claim.ref.line}`,
      });
    }
    steps.sort((a, b) => (isBefore(a.ref, b.ref) ? -1 : isBefore(b.ref, a.ref) ? 1 : 0));
    for (const st of steps) {
      evidence.push(st.ev);
      went.push(st.text);
    }
    const after = answer ? `; the user's next turn only comes at line ${answer.ref.line}` : '; no user turn follows';
    return {
      message:
        `${who} asked for a review of the spec before the task breakdown (${p.ref.path}:${p.ref.line}) ` +
        `and the run went on without a user answer: ${went.join(', ')}${after}.`,
      evidence,
    };
  }

  // tasks.md written in a create-spec run that never asked for a review at all.
  if (writes.length === 0 || !isCreateSpecSession(s)) return undefined;
  for (const w of writes) {
    if (ps.some((p) => isBefore(p.ref, w.ref))) continue;
    const docs = s.events.filter((e): e is ToolCall => e.kind === 'tool' && specDocWrite(e) && isBefore(e.ref, w.ref));
    const start = docs[0]?.ref ?? spawns.find((sp) => isBefore(sp.ref, w.ref))?.ref;
    if (humans.some((h) => (!start || isBefore(start, h.ref)) && isBefore(h.ref, w.ref))) continue;
    const evidence: Evidence[] = [];
    if (docs[0])
      evidence.push({
        location: logLocation(docs[0].ref),
        excerpt: excerptOf(`${docs[0].name} ${docs[0].filePath ?? docs[0].command?.split('\n')[0] ?? ''}`),
        note: 'spec documents written',
      });
    evidence.push({
      location: logLocation(w.ref),
      excerpt: excerptOf(`${w.name} ${tasksWrite(w)}`),
      note: 'tasks.md written with no review request and no user turn before it',
    });
    return {
      message:
        `create-spec wrote tasks.md at ${w.ref.path}:${w.ref.line} without asking for a review of the ` +
        `spec${docs[0] ? ` (written from line ${docs[0].ref.line})` : ''} and with no user turn in between.`,
      evidence,
    };
  }
  return undefined;
}

/** The transcript shows a user turn between the review request (or the spec documents) and the tasks.md write. */
function approvedInTranscript(s: LogSession): boolean {
  const humans = s.events.filter(isHumanTurn);
  const ps = prompts(s);
  for (const w of tasksWrites(s)) {
    const p = [...ps].reverse().find((x) => isBefore(x.ref, w.ref));
    const start =
      p?.ref ??
      s.events.find((e): e is ToolCall => e.kind === 'tool' && specDocWrite(e) && isBefore(e.ref, w.ref))?.ref;
    if (start && humans.some((h) => isBefore(start, h.ref) && isBefore(h.ref, w.ref))) return true;
  }
  return false;
}

interface NoInteraction {
  base: string;
  tasksIndex: number;
  files: unknown[];
}

/** A create-spec cycle value whose execute output has `user_interactions: []`. */
function noInteraction(json: unknown): NoInteraction | undefined {
  if (!isRecord(json)) return undefined;
  const md = isRecord(json.metadata) ? json.metadata : undefined;
  const instruction = md ? (md.instruction_name ?? md.instruction) : json.instruction;
  if (instruction !== 'create-spec') return undefined;
  const phases = isRecord(json.phases) ? json.phases : undefined;
  const exec = phases && isRecord(phases.execute) ? phases.execute.output : undefined;
  if (!isRecord(exec)) return undefined;
  const outputs = isRecord(exec.outputs) ? exec.outputs : exec;
  const ui = outputs.user_interactions;
  if (!Array.isArray(ui) || ui.length !== 0) return undefined;
  const files = Array.isArray(outputs.files_created) ? outputs.files_created : [];
  const tasksIndex = files.findIndex((f) => typeof f === 'string' && /(?:^|\/)tasks\.md$/.test(f));
  return {
    base: isRecord(exec.outputs) ? '/phases/execute/output/outputs' : '/phases/execute/output',
    tasksIndex,
    files,
  };
}

/**
 * The latest readable value of a cycle key says create-spec recorded no user interaction although tasks.md was
 * created. Cites the revision since which the state has said so.
 */
function stateWithoutInteraction(
  bucket: string,
  rec: KeyRecord,
  folders: Array<{ path: string; hasTasks: boolean; date?: string }>,
): { evidence: Evidence[]; tasksWhere: string } | undefined {
  const readable = rec.history.filter((h) => h.operation === 'PUT' && h.decoded?.ok);
  const json = (h: HistoryItem) => (h.decoded?.ok ? h.decoded.json : undefined);
  let i = readable.length - 1;
  const found = i >= 0 ? noInteraction(json(readable[i])) : undefined;
  if (!found) return undefined;
  while (i > 0 && noInteraction(json(readable[i - 1]))?.tasksIndex === found.tasksIndex) i--;
  const since = readable[i];
  const first = noInteraction(json(since))!;
  const at = (pointer: string) => ({
    kind: 'kv' as const,
    bucket,
    key: rec.info.key,
    revision: since.revision,
    pointer,
  });
  const evidence: Evidence[] = [
    {
      location: at(`${first.base}/user_interactions`),
      excerpt: '"user_interactions": []',
      note: 'no user interaction recorded',
    },
  ];

  let tasksWhere: string | undefined;
  if (first.tasksIndex >= 0) {
    evidence.push({
      location: at(`${first.base}/files_created/${first.tasksIndex}`),
      excerpt: brief(first.files[first.tasksIndex]),
      note: 'tasks.md among the files created',
    });
    tasksWhere = 'listed in files_created';
  }
  const value = json(since);
  const md = isRecord(value) && isRecord(value.metadata) ? value.metadata : undefined;
  const started = md ? md.created_at : isRecord(value) ? value.started_at : undefined;
  const era = typeof started === 'string' ? started.slice(0, 10) : '';
  // State is written by PEER runs only: the fork's date applies (its create-spec wrote tasks.md until then).
  const folder = folders.find((f) => {
    const when = era || f.date;
    return f.hasTasks && (first.tasksIndex >= 0 || (when !== undefined && when !== '' && when < FORK_CREATE_TASKS_ERA));
  });
  if (folder) {
    evidence.push({
      location: { kind: 'file', path: `${folder.path}/tasks.md` },
      excerpt: 'tasks.md',
      note: 'the spec folder has tasks.md',
    });
    tasksWhere ??= `${folder.path}/tasks.md`;
  }
  return tasksWhere ? { evidence, tasksWhere } : undefined;
}

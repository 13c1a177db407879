import { defineRule } from '../src/engine/rule.js';
import type { Model } from '../src/model/build.js';
import {
  fileClaims,
  isWriteCall,
  mayHaveWritten,
  spawnTree,
  treeCalls,
  treeTranscribed,
  writersOf,
  type FileClaim,
} from '../src/model/claim-facts.js';
import { cut, firstLine, logLocation, peerSpawns, spawnPhase } from '../src/model/log-facts.js';
import { runsOfSession } from '../src/model/lookup.js';
import { peerSessions } from '../src/model/peer-sessions.js';
import type { PhaseName } from '../src/model/state.js';
import { excerptOf } from '../src/model/text.js';
import { actorLabel, sessionSubject } from '../src/model/transcript-facts.js';
import type { Evidence, LogRef, LogSession, SpecFolder, Spawn, ToolCall } from '../src/model/types.js';

/**
 * The phases whose agents do the work. Express and review report what the executor made ("Documentation
 * Created: spec.md, …" is their job, per the PEER agent definitions): their summaries are not claims of their own.
 */
const WORKING_PHASES = new Set<PhaseName>(['plan', 'execute']);
/** Write calls listed as evidence of what the subagent did write. */
const CALLS_SHOWN = 6;

interface Unbacked {
  claim: FileClaim;
  ref: LogRef;
  folder?: SpecFolder;
  /** Whether the file is in its spec folder now; undefined when that cannot be told (no spec folders read). */
  present?: boolean;
}

export default defineRule({
  meta: {
    id: 'claimed-file-not-written',
    severity: 'error',
    summary:
      'A PEER planner or executor says it created or updated spec files that none of its own calls wrote ' +
      '(an error when the file is not in the spec folder either).',
    sources: ['logs', 'specs'],
    fixable: false,
    title: 'A subagent claimed files it did not write',
    causedBy: [{ rule: 'subagent-no-tool-calls', when: 'shared-evidence' }],
  },
  check({ model, report }) {
    for (const s of peerSessions(model)) {
      const folders = runsOfSession(model, s).flatMap((r) => r.folders);
      for (const sp of peerSpawns(s)) {
        const phase = spawnPhase(sp);
        if (!phase || !WORKING_PHASES.has(phase) || !sp.result || sp.result.isError) continue;
        // Without the subagent's own records (and those of every subagent it spawned) its calls cannot be told.
        const tree = spawnTree(s, sp);
        if (!treeTranscribed(tree)) continue;
        const calls = treeCalls(s, tree);
        // The other agents' calls, only when a claim needs them.
        let others: ToolCall[] | undefined;
        const othersOf = (): ToolCall[] => {
          const mine = new Set<ToolCall>(calls);
          return (others ??= s.events.filter((e): e is ToolCall => e.kind === 'tool' && !mine.has(e)));
        };
        const unbacked: Unbacked[] = [];
        for (const { claim, ref } of claimsOf(sp)) {
          const folderName = claim.folderName ?? (folders.length === 1 ? folders[0].folderName : undefined);
          if (writersOf(calls, folderName, claim.name).length > 0) continue;
          // Written by another agent (the coordinator, after the subagent returned): not this subagent's claim.
          if (othersOf().some((c) => mayHaveWritten(c, folderName, claim.name))) continue;
          const where = locate(model, folders, folderName, claim.name);
          unbacked.push({ claim: { ...claim, folderName }, ref, ...where });
        }
        if (unbacked.length === 0) continue;
        report(finding(model, s, sp, calls, unbacked));
      }
    }
  },
});

/** The claims of the subagent's last reply, then of the Task result the coordinator read (first place wins). */
function claimsOf(sp: Spawn): Array<{ claim: FileClaim; ref: LogRef }> {
  const out: Array<{ claim: FileClaim; ref: LogRef }> = [];
  const seen = new Set<string>();
  const texts = [sp.finalText, sp.result && { text: sp.result.text, ref: sp.result.ref }];
  for (const t of texts) {
    if (!t) continue;
    for (const claim of fileClaims(t.text)) {
      const key = `${claim.folderName ?? ''}/${claim.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ claim, ref: t.ref });
    }
  }
  return out;
}

/** The spec folder of a claimed file and whether the file is in it now. */
function locate(
  model: Model,
  sessionFolders: SpecFolder[],
  folderName: string | undefined,
  name: string,
): { folder?: SpecFolder; present?: boolean } {
  if (!model.specs) return {};
  const candidates = folderName
    ? model.folders.filter((f) => f.folderName === folderName)
    : sessionFolders.length > 0
      ? sessionFolders
      : undefined;
  // A bare name with no folder to look in: whether it exists cannot be told.
  if (!candidates) return {};
  const base = name.split('/').pop()!;
  for (const f of candidates) {
    const has =
      f.files.some((x) => x.name === name || (!name.includes('/') && x.name.split('/').pop() === base)) ||
      (f.unread ?? []).some((u) => u === name || u.startsWith(`${name}/`));
    if (has) return { folder: f, present: true };
  }
  return { folder: candidates[0], present: false };
}

function finding(model: Model, s: LogSession, sp: Spawn, calls: ToolCall[], unbacked: Unbacked[]) {
  const who = actorLabel(s, { spawnId: sp.id });
  const writes = calls.filter(isWriteCall);
  const missing = unbacked.filter((u) => u.present === false);
  const evidence: Evidence[] = [
    {
      location: logLocation(sp.ref),
      excerpt: `${sp.toolName} ${sp.subagentType}: ${cut(sp.description ?? firstLine(sp.prompt ?? ''), 80)}`,
      note:
        `${sp.subagentType} spawned; it made ${calls.length} tool call${calls.length === 1 ? '' : 's'}` +
        `, ${writes.length} of them writing files`,
    },
  ];
  const byRef = new Map<string, Unbacked[]>();
  for (const u of unbacked) {
    const k = `${u.ref.path}:${u.ref.line}`;
    byRef.set(k, [...(byRef.get(k) ?? []), u]);
  }
  for (const group of byRef.values()) {
    evidence.push({
      location: logLocation(group[0].ref),
      excerpt: excerptOf(
        group
          .map((u) => u.claim.line)
          .filter(unique)
          .join(' / '),
        240,
      ),
      note: `says it wrote ${list(group.map((u) => u.claim.name))}`,
    });
  }
  for (const c of writes.slice(0, CALLS_SHOWN)) {
    evidence.push({
      location: logLocation(c.ref),
      excerpt: excerptOf(c.filePath ? `${c.name} ${c.filePath}` : `${c.name}: ${firstLine(c.command ?? '')}`, 160),
      note: 'a write the subagent made: not to the files it claims',
    });
  }
  if (writes.length > CALLS_SHOWN) {
    evidence.push({
      location: logLocation(writes[CALLS_SHOWN].ref),
      excerpt: `… and ${writes.length - CALLS_SHOWN} more write calls`,
      note: 'none of them to the files it claims',
    });
  }
  const root = model.specs?.root ?? '.agent-os/specs';
  const folders = new Map<string, Unbacked[]>();
  for (const u of unbacked) {
    if (u.present === undefined) continue;
    const path = u.folder?.path ?? `${root}/${u.claim.folderName}`;
    folders.set(path, [...(folders.get(path) ?? []), u]);
  }
  for (const [path, group] of folders) {
    const folder = group[0].folder && group[0].folder.path === path ? group[0].folder : undefined;
    const absent = group.filter((u) => u.present === false).map((u) => u.claim.name);
    const here = group.filter((u) => u.present === true).map((u) => u.claim.name);
    const notes: string[] = [];
    if (absent.length) notes.push(`${list(absent)} ${absent.length > 1 ? 'are' : 'is'} not in the folder`);
    if (here.length)
      notes.push(`${list(here)} ${here.length > 1 ? 'are' : 'is'} there, written by no call in the transcript`);
    evidence.push({
      location: { kind: 'file', path },
      excerpt: folder
        ? `holds: ${cut(folder.files.map((f) => f.name).join(', ') || '(nothing)', 200)}`
        : '(no such folder)',
      note: notes.join('; '),
    });
  }
  const names = unbacked.map((u) => u.claim.name);
  const absentNote = missing.length
    ? `; ${list(missing.map((u) => u.claim.name))} ${missing.length > 1 ? 'are' : 'is'} not in the spec folder either`
    : '';
  return {
    message:
      `${who} says it wrote ${list(names)}, but none of its ${calls.length} tool call` +
      `${calls.length === 1 ? '' : 's'} (or its subagents') wrote ${names.length > 1 ? 'them' : 'it'}${absentNote}.`,
    subject: sessionSubject(model, s),
    evidence,
    target: `${sp.ref.path}#${sp.id}`,
    severity: missing.length > 0 ? ('error' as const) : ('warning' as const),
  };
}

function unique<T>(v: T, i: number, a: T[]): boolean {
  return a.indexOf(v) === i;
}

function list(items: string[]): string {
  const u = items.filter(unique);
  return u.length <= 1 ? (u[0] ?? '') : `${u.slice(0, -1).join(', ')} and ${u[u.length - 1]}`;
}

// What a subagent says it did, and what its calls show: the spec files its final reply claims to have written,
// the calls of a subagent (and of the subagents it spawned in turn), and whether a call wrote a given file.
import { cut } from './log-facts.js';
import type { LogSession, Spawn, ToolCall } from './types.js';

// ---------------------------------------------------------------- claims of written files

/** A spec file a text says was written: by its folder name when the text names it, and its path in the folder. */
export interface FileClaim {
  /** `2025-08-05-foo` when the text names the folder, else undefined (a bare `tasks.md`). */
  folderName?: string;
  /** Path inside the spec folder (`tasks.md`, `sub-specs/technical-spec.md`). */
  name: string;
  /** The line of the text that makes the claim, trimmed and cut short. */
  line: string;
}

/** Past-tense words for writing a file; `files_created` as a JSON key too. */
const WRITE_WORD =
  /\b(?:created|wrote|written|updated|generated|drafted|saved|added|modified|produced|rewrote|rewritten|edited)\b|\bfiles?_(?:created|modified|written|updated)\b/gi;
/** Words after which a path is one the agent looked at or used, not one it wrote. */
const READ_WORD =
  /\b(?:read|reading|reviewed|checked|consulted|loaded|opened|inspected|verified|referenced|based on|from|using|per|see|against|following)\b/gi;
/** A line that plans, promises, denies or asks: nothing on it is a claim of work done. */
const NOT_DONE =
  /\b(?:not|never|no|cannot|can't|couldn't|didn't|wasn't|weren't|haven't|hasn't|failed|unable|missing|pending|will|would|should|must|shall|to be|to create|to write|to update|need(?:s|ed)? to|going to|planned|plan to|todo|next|if|once|after approval)\b|\?\s*$/i;
/** A spec folder path in text, then what follows it inside the folder. */
const FOLDER_PATH = /\.agent-os\/specs\/([\w.-]+)\/?((?:[\w.-]+\/)*[\w.-]+\.\w+)?/g;
/** A spec document named without its folder. */
const BARE_DOC = /(?<![\w./-])@?((?:sub-specs\/)?[\w-]+\.(?:md|json|sh|ya?ml|txt))\b/g;
const LIST_ITEM = /^\s*(?:[-*+•]|\d+[.)])\s+/;

interface Mention {
  index: number;
  claim: Omit<FileClaim, 'line'>;
}

/**
 * The spec files a subagent's reply says it wrote: a path (or a bare spec document name) whose nearest preceding
 * word on its line is a write word ("Created spec.md, tasks.md"), or that a write word follows ("tasks.md created"),
 * and the items of a list introduced by a line that ends in such a word and a colon ("I've created the spec
 * documentation:"). A path after a read word ("based on spec.md"), and every path on a line that plans, promises,
 * denies or asks ("tasks.md will be created", "before I create", "not written"), is not a claim.
 */
export function fileClaims(text: string): FileClaim[] {
  const out: FileClaim[] = [];
  const seen = new Set<string>();
  const add = (c: Omit<FileClaim, 'line'>, line: string): void => {
    const key = `${c.folderName ?? ''}/${c.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ...c, line: cut(line.trim(), 200) });
  };
  let listOpen = false;
  let listFolder: string | undefined;
  for (const raw of text.split('\n')) {
    // Markdown emphasis and code spans around a path are not part of it.
    const line = raw.replace(/`|\*\*/g, '');
    if (line.trim() === '') {
      // A blank line between the introducing line and its list is usual; a blank line after list items ends it.
      continue;
    }
    const isItem = LIST_ITEM.test(line);
    if (listOpen && !isItem) listOpen = false;
    const mentions = mentionsOf(line, listFolder);
    if (listOpen && isItem) {
      if (!NOT_DONE.test(line) && !hasWord(line, READ_WORD)) for (const m of mentions) add(m.claim, line);
      continue;
    }
    if (NOT_DONE.test(line)) continue;
    const writes = wordPositions(line, WRITE_WORD);
    if (writes.length === 0) continue;
    const reads = wordPositions(line, READ_WORD);
    for (const m of mentions) {
      const before = Math.max(-1, ...writes.filter((w) => w < m.index));
      const readBefore = Math.max(-1, ...reads.filter((r) => r < m.index));
      const after = writes.find((w) => w > m.index);
      if (before > readBefore || (before === -1 && readBefore === -1 && after !== undefined)) add(m.claim, line);
    }
    // "I've created the spec documentation:" opens a list of what was written.
    if (/:\s*$/.test(line) && Math.max(...writes) > Math.max(-1, ...reads)) {
      listOpen = true;
      listFolder = mentions.find((m) => m.claim.folderName)?.claim.folderName ?? listFolder;
    }
  }
  return out;
}

function hasWord(line: string, re: RegExp): boolean {
  return wordPositions(line, re).length > 0;
}

function wordPositions(line: string, re: RegExp): number[] {
  return [...line.matchAll(re)].map((m) => m.index);
}

/** Spec paths on a line: `.agent-os/specs/<folder>/<file>`, and bare document names (in the folder named before). */
function mentionsOf(line: string, folder: string | undefined): Mention[] {
  const out: Mention[] = [];
  const taken: Array<[number, number]> = [];
  let lastFolder = folder;
  for (const m of line.matchAll(FOLDER_PATH)) {
    taken.push([m.index, m.index + m[0].length]);
    lastFolder = m[1];
    if (m[2]) out.push({ index: m.index, claim: { folderName: m[1], name: m[2] } });
  }
  for (const m of line.matchAll(BARE_DOC)) {
    if (taken.some(([s, e]) => m.index >= s && m.index < e)) continue;
    const name = m[1];
    // A bare name belongs to the folder named before it on the line (or by the list's opening line).
    const owner = lastFolderBefore(line, m.index) ?? lastFolder;
    if (!SPEC_DOC.test(name) && owner === undefined) continue;
    out.push({ index: m.index, claim: { folderName: owner, name } });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Names a spec folder holds by convention (create-spec and create-tasks write these). */
const SPEC_DOC = /^(?:sub-specs\/[\w.-]+|spec\.md|spec-lite\.md|tasks\.md|(?:technical|api|database|tests?)-spec\.md)$/;

function lastFolderBefore(line: string, index: number): string | undefined {
  let found: string | undefined;
  for (const m of line.slice(0, index).matchAll(FOLDER_PATH)) found = m[1];
  return found;
}

// ---------------------------------------------------------------- the calls behind a subagent

const childrenCache = new WeakMap<LogSession, Map<string, Spawn[]>>();

/** The spawns a subagent made itself, by the spawn id of their parent. Indexed once per session. */
function childrenOf(s: LogSession): Map<string, Spawn[]> {
  let map = childrenCache.get(s);
  if (map) return map;
  map = new Map();
  for (const e of s.events) {
    if (e.kind !== 'spawn' || e.actor === 'main') continue;
    const list = map.get(e.actor.spawnId) ?? [];
    list.push(e);
    map.set(e.actor.spawnId, list);
  }
  childrenCache.set(s, map);
  return map;
}

/** A spawn and every subagent below it (the instruction subagents an executor delegates to). */
export function spawnTree(s: LogSession, root: Spawn): Spawn[] {
  const children = childrenOf(s);
  const out: Spawn[] = [];
  const stack = [root];
  const seen = new Set<string>();
  while (stack.length) {
    const sp = stack.pop()!;
    if (seen.has(sp.id)) continue;
    seen.add(sp.id);
    out.push(sp);
    stack.push(...(children.get(sp.id) ?? []));
  }
  return out;
}

const callsCache = new WeakMap<LogSession, Map<string, Array<{ call: ToolCall; at: number }>>>();

/** The tool calls a spawn and its own subagents made, in session order (indexed by subagent once per session). */
export function treeCalls(s: LogSession, tree: Spawn[]): ToolCall[] {
  let bySpawn = callsCache.get(s);
  if (!bySpawn) {
    const index = new Map<string, Array<{ call: ToolCall; at: number }>>();
    s.events.forEach((e, at) => {
      if (e.kind !== 'tool' || e.actor === 'main') return;
      const list = index.get(e.actor.spawnId) ?? [];
      list.push({ call: e, at });
      index.set(e.actor.spawnId, list);
    });
    callsCache.set(s, (bySpawn = index));
  }
  const all = tree.flatMap((sp) => bySpawn.get(sp.id) ?? []);
  return all.sort((a, b) => a.at - b.at).map((x) => x.call);
}

/** Every subagent of the tree has records of its own: its calls can be told. */
export function treeTranscribed(tree: Spawn[]): boolean {
  return tree.every((sp) => sp.transcript !== undefined && sp.transcript !== 'none');
}

// ---------------------------------------------------------------- calls that write a file

const EDIT_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/**
 * A shell command that can write a file it names: a redirection (`>`, `>>`, `&>`, a heredoc into a file), tee,
 * cp/mv/rsync/install/ln/touch/dd, sed -i / perl -i, a patch or git restore, or a script interpreter.
 */
const SHELL_WRITE =
  /(?:^|[^0-9&>])>{1,2}(?!&)|&>|\btee\b|\b(?:cp|mv|rsync|install|ln|touch|dd|patch|truncate)\b|\bsed\s+(?:-\w+\s+)*-i|\bperl\s+-\w*i|\bgit\s+(?:checkout|restore|apply|mv|stash)\b|\b(?:python3?|node|ruby|deno|bun)\b/;

/**
 * The call may have written `name` in the spec folder `folderName` (any spec folder when undefined): an edit tool
 * on that path, or a shell command that names the file (or copies or moves the folder) and can write. A call
 * whose result is an error wrote nothing. Generous on purpose: a call that may have written the file is taken to.
 */
export function mayHaveWritten(c: ToolCall, folderName: string | undefined, name: string): boolean {
  if (c.result?.isError) return false;
  const inFolder = (p: string): boolean => {
    const norm = p.replace(/\\/g, '/');
    const tail = folderName ? `${folderName}/${name}` : name;
    return norm === tail || norm.endsWith(`/${tail}`) || (!folderName && norm.split('/').pop() === name);
  };
  if (EDIT_TOOLS.has(c.name)) return c.filePath !== undefined && inFolder(c.filePath);
  const cmd = c.command;
  if (!cmd || !SHELL_WRITE.test(cmd)) return false;
  const base = name.split('/').pop()!;
  if (namesFile(cmd, name) || namesFile(cmd, base)) return true;
  // The whole folder copied or moved into place.
  return folderName !== undefined && cmd.includes(folderName) && /\b(?:cp|mv|rsync)\b/.test(cmd);
}

/** The command names the file as a word of its own (`technical-spec.md` does not name `spec.md`). */
function namesFile(cmd: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|[\\s/'"=@])${escaped}(?=$|[\\s'";|&)<>])`).test(cmd);
}

/** The calls of a list that may have written the file, in order. */
export function writersOf(calls: ToolCall[], folderName: string | undefined, name: string): ToolCall[] {
  return calls.filter((c) => mayHaveWritten(c, folderName, name));
}

/** A call that writes files at all (for the "calls it made" evidence): an edit tool, or a shell write. */
export function isWriteCall(c: ToolCall): boolean {
  return EDIT_TOOLS.has(c.name) || (c.command !== undefined && SHELL_WRITE.test(c.command));
}

// `peer-audit hook`: one Claude Code hook event in, at most one decision out. A session or subagent about to finish
// is judged on its own run (its transcript, its spec folder, the KV keys of its spec) and sent back to work when
// the run has errors it can still fix; a file just written with heredoc residue, or a state write that just
// failed, is reported at once. The hook never traps the agent: it blocks a session at most --max-blocks times,
// again only for a different reason, and on its own failure it says so in a systemMessage and blocks nothing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Finding, Severity } from '../model/types.js';
import { callFailed, classifyStateCommand, cut } from '../model/log-facts.js';
import { findResidue, heredocWords } from '../model/residue.js';
import { displayPath } from '../sources/paths.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { parseHookEvent, type HookEvent } from './hook-event.js';

import { recordBlock, sessionState } from './hook-state.js';
import { PhaseTimes } from './progress.js';

/** What the hook prints: a decision, a message for the user, or nothing. */
export type HookAnswer = { decision: 'block'; reason: string } | { systemMessage: string } | undefined;

export interface HookArgs extends ConnectArgs {
  kvSnapshot?: string;
  /** false: judge files and transcripts only (`--no-kv`). */
  useKv: boolean;
  maxBlocks: number;
  severities?: Record<string, Severity | 'off'>;
  /** The time rules judge by; default now. */
  now?: string;
}

/** A failure of the hook itself: said in a systemMessage, never a block. */
class HookFailure extends Error {}

export function failureAnswer(msg: string): HookAnswer {
  return { systemMessage: `peer-audit hook: ${msg.replace(/\s*[\r\n]+\s*/g, ' ').trim()}` };
}

export async function runHook(a: HookArgs, input: string): Promise<HookAnswer> {
  const parsed = parseHookEvent(input);
  if ('error' in parsed) return failureAnswer(parsed.error);
  const event = parsed.event;
  try {
    switch (event.hook_event_name) {
      case 'Stop':
      case 'SubagentStop':
        return await judgeStop(a, event);
      case 'PostToolUse':
      case 'PostToolUseFailure':
        return await judgeToolUse(event);
      default:
        return undefined;
    }
  } catch (e) {
    return failureAnswer(e instanceof HookFailure ? e.message : `internal error: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- Stop, SubagentStop

/** Spec names (and v1 instruction names) looked for in a transcript, at most this many of each (the most named). */
const MAX_NAMES = 20;
/** What comes before a run's name in a transcript: its keys, its spec folders, the /peer command's flag. */
const NAME_MARKS: Array<{ mark: string; kind: 'spec' | 'instruction'; date?: true }> = [
  { mark: 'peer.spec.', kind: 'spec' },
  { mark: 'peer.instruction.', kind: 'instruction' },
  { mark: 'specs/', kind: 'spec', date: true },
  { mark: '--spec=', kind: 'spec' },
];
const NAME_BYTE = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-') NAME_BYTE[c.charCodeAt(0)] = 1;
const DATE_PREFIX = /^\d{4}-\d{2}-\d{2}-/;

/**
 * The runs a transcript names, from its raw bytes (a byte search per mark, no parsing, no decoding): the spec
 * names of its keys (`peer.spec.<name>`), spec folders (`specs/<date>-<name>`) and `/peer --spec=<name>`; and v1
 * instruction names (`peer.instruction.<name>`).
 */
export function namedRuns(buf: Buffer): { specs: string[]; instructions: string[] } {
  const found = { spec: new Map<string, number>(), instruction: new Map<string, number>() };
  for (const { mark, kind, date } of NAME_MARKS) {
    const needle = Buffer.from(mark);
    for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 1)) {
      let end = at + needle.length;
      while (end < buf.length && NAME_BYTE[buf[end]] === 1) end++;
      let name = buf.toString('latin1', at + needle.length, end);
      if (date) {
        if (!DATE_PREFIX.test(name)) continue;
        name = name.slice(11);
      }
      if (name === '' || name.startsWith('-')) continue;
      found[kind].set(name, (found[kind].get(name) ?? 0) + 1);
    }
  }
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
      .slice(0, MAX_NAMES)
      .map(([n]) => n);
  return { specs: top(found.spec), instructions: top(found.instruction) };
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** How many bytes of a sibling agent file are read to see whose session it belongs to. */
const HEAD_BYTES = 8192;

/**
 * The transcript files of the session: its main file, its subagents' folder (`<session>/subagents/`, Claude Code
 * 2.1.2+), the sibling `agent-<id>.jsonl` files whose first records name the session (2.0.28–2.1.1), and the
 * subagent transcript of a SubagentStop.
 */
async function sessionFiles(transcript: string, sessionId: string, agentTranscript?: string): Promise<string[]> {
  const files = [transcript];
  const dir = path.dirname(transcript);
  const subagents = path.join(dir, path.basename(transcript, '.jsonl'), 'subagents');
  if (await exists(subagents)) files.push(subagents);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const needle = `"sessionId":"${sessionId}"`;
  for (const name of names) {
    if (!/^agent-.+\.jsonl$/.test(name)) continue;
    const abs = path.join(dir, name);
    if (abs === transcript) continue;
    const fh = await fs.open(abs, 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
      if (
        buf
          .subarray(0, bytesRead)
          .toString('utf8')
          .replace(/":\s+"/g, '":"')
          .includes(needle)
      )
        files.push(abs);
    } finally {
      await fh.close();
    }
  }
  if (agentTranscript) {
    const abs = path.resolve(agentTranscript);
    const covered = files.some((f) => abs === f || abs.startsWith(f + path.sep));
    if (!covered) {
      if (!(await exists(abs))) throw new HookFailure(`the subagent transcript ${agentTranscript} does not exist`);
      files.push(abs);
    }
  }
  return files;
}

async function judgeStop(a: HookArgs, event: HookEvent): Promise<HookAnswer> {
  const project = path.resolve(event.cwd);
  if (!event.transcript_path) throw new HookFailure(`the ${event.hook_event_name} event names no transcript_path`);
  const transcript = path.resolve(project, event.transcript_path);
  const text = await fs.readFile(transcript).catch((e: NodeJS.ErrnoException) => {
    throw new HookFailure(`cannot read the transcript ${event.transcript_path}: ${e.code ?? e.message}`);
  });
  const subagent = event.hook_event_name === 'SubagentStop';
  const agentFile = subagent ? event.agent_transcript_path : undefined;
  let names = namedRuns(text);
  if (agentFile) {
    const agentText = await fs.readFile(path.resolve(project, agentFile)).catch(() => Buffer.alloc(0));
    const more = namedRuns(agentText);
    names = {
      specs: [...new Set([...names.specs, ...more.specs])],
      instructions: [...new Set([...names.instructions, ...more.instructions])],
    };
  }
  // A session that names no PEER run is none of the hook's business.
  if (names.specs.length === 0 && names.instructions.length === 0) return undefined;

  // The audit and its rules are loaded only here: a PostToolUse event, the most frequent, needs none of them.
  const [{ auditWithModel }, { BLOCKING_RULES, blockingFindings, sessionScope }] = await Promise.all([
    import('../audit.js'),
    import('./hook-judge.js'),
  ]);
  const logs = await sessionFiles(transcript, event.session_id, agentFile && path.resolve(project, agentFile));
  const kvKeys = [
    ...names.specs.map((n) => `peer.spec.${n}.>`),
    ...names.instructions.map((n) => `peer.instruction.${n}.>`),
  ];
  const times = new PhaseTimes();
  const { result, model } = await auditWithModel({
    timings: times,
    // Only the rules that can block: the others' findings would be dropped anyway.
    rules: Object.keys(BLOCKING_RULES),
    project,
    logs,
    specNames: names.specs,
    kvKeys,
    kvSnapshot: a.kvSnapshot ? path.resolve(a.kvSnapshot) : undefined,
    kv: a.kvSnapshot || !a.useKv ? undefined : () => kvOptions(a),
    bucket: a.bucket,
    severities: a.severities,
    now: a.now,
  }).catch((e: Error) => {
    throw new HookFailure(e.message);
  });
  times.print();
  // Evidence that could not be read at all: no judgement (a block on part of the evidence could be wrong).
  const unread = result.sources.find((s) => s.error !== undefined);
  if (unread) throw new HookFailure(`not judged: ${unread.error}`);

  const scope = sessionScope(model, event.session_id);
  if (!scope) return undefined;
  let blocking = blockingFindings(result.findings, scope);
  if (subagent) blocking = blocking.filter((f) => subagentCanFix(f, agentFile && path.resolve(project, agentFile)));
  if (blocking.length === 0) return undefined;
  return limitBlocks(a, event, project, blocking);
}

/**
 * What a subagent can put right itself: files and state it writes, and a read or script of its own transcript.
 * Spawning a missing phase, or taking back the run's claim, is the main session's work.
 */
const SUBAGENT_RULES = new Set([
  'heredoc-artifact',
  'truncated-file',
  'missing-spec-file',
  'missing-tasks-md',
  'invalid-state-value',
]);

function subagentCanFix(f: Finding, agentFile: string | undefined): boolean {
  if (SUBAGENT_RULES.has(f.ruleId)) return true;
  if (f.ruleId !== 'kv-read-failure' && f.ruleId !== 'script-failure') return false;
  return (
    agentFile !== undefined &&
    f.evidence.some((e) => e.location.kind === 'log' && path.resolve(e.location.path) === agentFile)
  );
}

/** Blocks unless the session has had its blocks, or was already sent back for these same findings. */
async function limitBlocks(a: HookArgs, event: HookEvent, project: string, blocking: Finding[]): Promise<HookAnswer> {
  const { BLOCKING_RULES, blockReason } = await import('./hook-judge.js');
  const fingerprints = [...new Set(blocking.map((f) => f.fingerprint))].sort();
  const prev = await sessionState(project, event.session_id);
  const heads = [...new Set(blocking.map((f) => BLOCKING_RULES[f.ruleId].head))].join('; ');
  if (prev && prev.blocks >= a.maxBlocks) {
    return failureAnswer(
      `not blocking again (${prev.blocks} block${prev.blocks === 1 ? '' : 's'} in this session, ` +
        `--max-blocks ${a.maxBlocks}); still open: ${heads}. Run peer-audit scan for the evidence.`,
    );
  }
  if (event.stop_hook_active && prev && sameList(prev.fingerprints, fingerprints)) {
    return failureAnswer(
      `not blocking again for the same ${blocking.length === 1 ? 'error' : 'errors'}; still open: ${heads}. ` +
        'Run peer-audit scan for the evidence.',
    );
  }
  await recordBlock(project, event.session_id, fingerprints, new Date()).catch((e: NodeJS.ErrnoException) => {
    // Without the counter the limit cannot be kept: not blocking is the safe side.
    throw new HookFailure(`cannot write the block counter under ${project}/.peer-audit: ${e.code ?? e.message}`);
  });
  return {
    decision: 'block',
    reason: blockReason(blocking, event.hook_event_name === 'SubagentStop' ? 'subagent' : 'session'),
  };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------- PostToolUse

/** A path as a shell word: double-quoted, single-quoted or bare. */
const PATH_WORD = String.raw`(?:"([^"]+)"|'([^']+)'|([^\s"'|;&<>()]+))`;
/** `> file`, `>> file`, `tee [-a] file`: where a shell command writes. */
const WRITTEN = new RegExp(String.raw`(?:^|[^<>&\d])>>?\s*${PATH_WORD}|\btee\s+(?:-a\s+)?${PATH_WORD}`, 'g');

/** The files a Bash command writes by redirection or tee. */
export function filesWritten(command: string): string[] {
  const out = new Set<string>();
  for (const m of command.matchAll(WRITTEN)) {
    const file = m.slice(1).find((g) => g !== undefined);
    if (file && file !== '/dev/null' && !file.startsWith('&')) out.add(file);
  }
  return [...out];
}

/** Inside <project>/.agent-os/ (the files PEER writes), as a project-relative path; else undefined. */
function agentOsPath(project: string, file: string): string | undefined {
  const home = process.env.HOME;
  const expanded = file.startsWith('~/') && home ? path.join(home, file.slice(2)) : file;
  const abs = path.resolve(project, expanded);
  const rel = path.relative(project, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep)[0] === '.agent-os' ? displayPath(abs, project) : undefined;
}

/** The text of a tool's response, whatever its shape (Bash: stdout and stderr; others: a string or an object). */
function responseText(r: unknown): { text: string; isError: boolean } {
  if (typeof r === 'string') return { text: r, isError: false };
  if (!r || typeof r !== 'object') return { text: '', isError: false };
  const o = r as Record<string, unknown>;
  const parts = ['stdout', 'stderr', 'output', 'error', 'content']
    .map((k) => o[k])
    .filter((v) => typeof v === 'string');
  const code = o.exit_code ?? o.exitCode ?? o.returnCode;
  const isError =
    o.is_error === true || o.isError === true || o.interrupted === true || (typeof code === 'number' && code !== 0);
  return { text: parts.join('\n'), isError };
}

async function judgeToolUse(event: HookEvent): Promise<HookAnswer> {
  const project = path.resolve(event.cwd);
  const input = event.tool_input ?? {};
  const tool = event.tool_name;
  const problems: string[] = [];
  let targets: string[] = [];
  let words: string[] = [];
  if (tool === 'Write' || tool === 'Edit' || tool === 'MultiEdit') {
    if (typeof input.file_path === 'string') targets = [input.file_path];
  } else if (tool === 'Bash' && typeof input.command === 'string') {
    const command = input.command;
    targets = filesWritten(command);
    words = heredocWords(command);
    const op = classifyStateCommand(command);
    const response = responseText(event.tool_response);
    const failed =
      event.hook_event_name === 'PostToolUseFailure' ||
      callFailed({ result: { isError: response.isError, text: response.text } } as Parameters<typeof callFailed>[0]);
    if (op?.kind === 'write' && failed) {
      const said = response.text.split('\n').find((l) => l.trim() !== '') ?? 'no output';
      problems.push(
        `the state write failed: \`${cut(command.split('\n')[0], 160)}\` answered "${cut(said.trim(), 160)}"` +
          `${op.rawKey ? ` (key ${op.rawKey})` : ''}; the state was not written: fix the cause and run it again ` +
          'before going on.',
      );
    }
  } else return undefined;

  for (const target of targets) {
    const rel = agentOsPath(project, target);
    if (!rel) continue;
    const abs = path.join(project, rel);
    const buf = await fs.readFile(abs).catch(() => undefined);
    if (!buf) continue;
    // Loaded only for a file to check: most calls write nothing under .agent-os/.
    const { toSpecFile } = await import('../sources/specs.js');
    const file = toSpecFile(rel, path.basename(abs), buf);
    for (const r of findResidue(file, words)) {
      problems.push(
        `${rel}:${r.line} holds the heredoc residue "${cut(r.text.trim(), 80)}"` +
          `${r.lastLine ? ' as its last line' : ''}: the heredoc's end marker was written into the file. Delete ` +
          `${r.glued ? 'the residue from that line (keep the text after it)' : 'that line'}` +
          `${r.lastLine ? ' and check that the text before it is complete' : ''}.`,
      );
    }
  }
  if (problems.length === 0) return undefined;
  return { decision: 'block', reason: ['peer-audit: fix what was just written:', ...problems].join('\n') };
}

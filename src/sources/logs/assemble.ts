// Joins the ParsedFiles of a scan into sessions: drops the records a resumed session copied from an earlier
// file, attaches each subagent file to the spawn it belongs to (by its .meta.json tool use id, its agent id, or
// for old versions its prompt), attributes legacy inline sidechains to their spawns, lets agent_progress mirrors
// stand in only for a spawn without a file of its own, pairs tool calls with their first result, and orders
// each session's events by time (an event without a timestamp keeps its place beside its predecessor).
import path from 'node:path';
import type { Actor, ActorUsage, LogEvent, LogSession, Spawn, TextEvent, ToolCall } from '../../model/types.js';
import { VIEW_RESULT_MAX, VIEW_TOOLS } from './decode-record.js';
import { materialiseMirror } from './parse-file.js';
import { mergeUsage } from './parsed.js';
import type {
  ChainRoot,
  EventUnit,
  LinkUnit,
  LocalActor,
  MirrorUnit,
  ParsedFile,
  ResultUnit,
  UsageUnit,
} from './parsed.js';
import { cut, ownCopy, stripPlugin, toMs } from './values.js';

/**
 * Resumed sessions copy earlier records into the new file: keep each uuid's first occurrence,
 * reading files oldest first. Returns how many records were dropped.
 */
export function dropDuplicateRecords(files: ParsedFile[]): number {
  const order = [...files].sort(
    (a, b) =>
      (a.first?.ms ?? Infinity) - (b.first?.ms ?? Infinity) || a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path),
  );
  const seen = new Set<string>();
  let dropped = 0;
  for (const file of order) {
    let duplicates: Set<string> | undefined;
    for (const u of file.uuids) if (seen.has(u)) (duplicates ??= new Set()).add(u);
    if (duplicates) {
      const dup = duplicates;
      file.units = file.units.filter((u) => !u.uuid || !dup.has(u.uuid));
      dropped += dup.size;
    }
    for (const u of file.uuids) seen.add(u);
  }
  // Needed no more: most of them are the uuids of records that made no event.
  for (const file of files) file.uuids.clear();
  return dropped;
}

export function assembleSessions(files: ParsedFile[]): { sessions: LogSession[]; unlinked: number } {
  const isAgentFile = (f: ParsedFile): boolean => f.role.kind === 'agent' && f.format === 'transcript';
  const hosts = new Map<string, ParsedFile[]>();
  for (const f of files.filter((f) => !isAgentFile(f))) {
    const id = sessionIdOf(f);
    hosts.set(id, [...(hosts.get(id) ?? []), f]);
  }
  const candidates = new Map<ParsedFile, ParsedFile[]>();
  const orphans: ParsedFile[] = [];
  for (const f of files.filter(isAgentFile)) {
    const host = pickHost(hosts.get(parentSessionId(f)));
    if (host) candidates.set(host, [...(candidates.get(host) ?? []), f]);
    else orphans.push(f);
  }

  const sessions: LogSession[] = [];
  let unlinked = 0;
  for (const main of [...files.filter((f) => !isAgentFile(f)), ...orphans]) {
    const builder = new SessionBuilder(main);
    unlinked += builder.linkAgentFiles(candidates.get(main) ?? []);
    sessions.push(builder.finish());
  }
  const firstMs = (s: LogSession): number => toMs(s.firstTimestamp) ?? Infinity;
  sessions.sort((a, b) => firstMs(a) - firstMs(b) || a.mainFile.localeCompare(b.mainFile));
  return { sessions, unlinked };
}

function sessionIdOf(f: ParsedFile): string {
  return f.sessionId ?? (f.role.kind === 'agent' ? f.role.dirSessionId : undefined) ?? path.basename(f.abs, '.jsonl');
}

function parentSessionId(f: ParsedFile): string {
  return (f.role.kind === 'agent' ? f.role.dirSessionId : undefined) ?? sessionIdOf(f);
}

/** The main file subagent files attach to: a transcript named after the session, else any transcript. */
function pickHost(mains: ParsedFile[] | undefined): ParsedFile | undefined {
  if (!mains) return undefined;
  const transcripts = mains.filter((m) => m.format === 'transcript');
  return transcripts.find((m) => path.basename(m.abs, '.jsonl') === m.sessionId) ?? transcripts[0];
}

interface Item {
  event: LogEvent;
  seq: number;
  ms?: number;
  /** The spawn an agent_progress copy belongs to. */
  mirrorOf?: string;
}

class SessionBuilder {
  private items: Item[] = [];
  private readonly calls = new Map<string, ToolCall | Spawn>();
  private readonly spawns = new Map<string, Spawn>();
  private readonly pendingResults: ResultUnit[] = [];
  /** agent_progress records, in read order, with the sequence number of their place. */
  private readonly mirrors: Array<{ unit: MirrorUnit; file: ParsedFile; seq: number }> = [];
  private readonly files: ParsedFile[] = [];
  /** Each API response once, by its key, with the actor it was made by. */
  private readonly usage = new Map<string, { unit: UsageUnit; actor: Actor }>();
  private seq = 0;

  constructor(private readonly main: ParsedFile) {
    this.addFile(main, 'main');
  }

  /**
   * Attaches every subagent file that links to a spawn; a linked file may hold spawns other files link to.
   * Returns how many stayed unlinked.
   */
  linkAgentFiles(candidates: ParsedFile[]): number {
    const pending = [...candidates];
    let linked = true;
    while (linked && pending.length) {
      linked = false;
      for (const file of [...pending]) {
        const spawn = this.spawnFor(file);
        if (!spawn || file.role.kind !== 'agent') continue;
        pending.splice(pending.indexOf(file), 1);
        spawn.agentId ??= file.role.agentId;
        spawn.transcript = file.role.layout;
        if (spawn.subagentType === '' && file.meta?.agentType) spawn.subagentType = stripPlugin(file.meta.agentType);
        if (spawn.description === undefined && file.meta?.description) spawn.description = file.meta.description;
        this.addFile(file, { spawnId: spawn.id });
        linked = true;
      }
    }
    return pending.length;
  }

  /** Linking order: meta.json toolUseId, then the agent id, then (old versions) the prompt. */
  private spawnFor(file: ParsedFile): Spawn | undefined {
    if (file.role.kind !== 'agent') return undefined;
    const byMeta = file.meta?.toolUseId ? this.spawns.get(file.meta.toolUseId) : undefined;
    if (byMeta) return byMeta;
    const agentId = file.role.agentId;
    const spawns = [...this.spawns.values()];
    const byAgent = spawns.find((s) => s.agentId === agentId);
    if (byAgent) return byAgent;
    const prompt = file.firstUserText;
    if (!prompt) return undefined;
    return spawns.find((s) => !s.agentId && !s.transcript && s.prompt && prompt.startsWith(s.prompt));
  }

  private addFile(file: ParsedFile, owner: Actor): void {
    this.files.push(file);
    // Sequence numbers follow read order, so events without a timestamp keep their place.
    const base = this.seq;
    this.seq += file.units.length;
    const chained: Array<{ unit: EventUnit | UsageUnit; seq: number }> = [];
    const links: LinkUnit[] = [];
    file.units.forEach((unit, index) => {
      if (unit.kind === 'usage') {
        if (isChainActor(unit.local)) chained.push({ unit, seq: base + index });
        else this.addUsage(unit, unit.local === 'main' ? owner : unit.local);
      } else if (unit.kind === 'event') {
        if (isChainActor(unit.local)) chained.push({ unit, seq: base + index });
        else this.addEvent(unit, unit.local === 'main' ? owner : unit.local, base + index);
      } else if (unit.kind === 'result') {
        this.attachResult(unit);
      } else if (unit.kind === 'mirror') {
        if (unit.agentId !== undefined) links.push({ kind: 'link', spawnId: unit.spawnId, agentId: unit.agentId });
        this.mirrors.push({ unit, file, seq: base + index });
      } else links.push(unit);
    });
    for (const link of links) {
      const spawn = this.spawns.get(link.spawnId);
      if (spawn) spawn.agentId ??= link.agentId;
    }
    this.retryPendingResults();
    if (chained.length) this.resolveInlineChains(file, chained);
    // The events live on in this session; the units that carried them are done with.
    file.units = [];
  }

  private addEvent(unit: EventUnit, actor: Actor, seq: number): void {
    const event = unit.event;
    if (event.kind !== 'result') event.actor = actor;
    const item: Item = { event, seq, ms: toMs(event.ref.timestamp) };
    if (unit.mirror && typeof unit.local === 'object' && 'spawnId' in unit.local) {
      item.mirrorOf = unit.local.spawnId;
    } else if (event.kind === 'tool' || event.kind === 'spawn') {
      this.registerCall(event);
    }
    this.items.push(item);
  }

  /** A response seen again (an agent_progress copy, a record in another file) is merged, not counted twice. */
  private addUsage(unit: UsageUnit, actor: Actor): void {
    const known = this.usage.get(unit.key);
    if (!known) {
      this.usage.set(unit.key, { unit, actor });
      return;
    }
    mergeUsage(known.unit, unit);
  }

  /** The responses summed per actor and model, in the order they were first read. */
  private usageTotals(): ActorUsage[] {
    const totals = new Map<string, ActorUsage>();
    for (const { unit, actor } of this.usage.values()) {
      const id = `${actor === 'main' ? '' : actor.spawnId}\u0000${unit.model ?? ''}`;
      let t = totals.get(id);
      if (!t) {
        const who: Actor = actor === 'main' ? 'main' : { spawnId: actor.spawnId };
        t = { actor: who, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, responses: 0 };
        if (unit.model !== undefined) t.model = unit.model;
        totals.set(id, t);
      }
      t.input += unit.input;
      t.output += unit.output;
      t.cacheRead += unit.cacheRead;
      t.cacheWrite += unit.cacheWrite;
      t.responses++;
      if (unit.ms !== undefined) {
        if (t.firstMs === undefined || unit.ms < t.firstMs) t.firstMs = unit.ms;
        if (t.lastMs === undefined || unit.ms > t.lastMs) t.lastMs = unit.ms;
      }
    }
    this.usage.clear();
    return [...totals.values()];
  }

  private registerCall(call: ToolCall | Spawn): void {
    if (this.calls.has(call.id)) return;
    this.calls.set(call.id, call);
    if (call.kind === 'spawn') this.spawns.set(call.id, call);
  }

  /** First result wins; one whose call is not known yet waits for it. */
  private attachResult(unit: ResultUnit): void {
    const call = this.calls.get(unit.toolUseId);
    if (!call) this.pendingResults.push(unit);
    else if (call.result) return;
    else if (call.kind === 'tool') {
      call.result =
        VIEW_TOOLS.has(call.name) && !unit.viewCut
          ? { ...unit.result, text: ownCopy(cut(unit.result.text, VIEW_RESULT_MAX)) }
          : unit.result;
    } else {
      call.result = unit.spawnText === undefined ? unit.result : { ...unit.result, text: unit.spawnText };
      call.agentId ??= unit.agentId;
      if (unit.spawnDetail) call.resultDetail = unit.spawnDetail;
    }
  }

  private retryPendingResults(): void {
    const waiting = this.pendingResults.splice(0);
    for (const unit of waiting) this.attachResult(unit);
  }

  /**
   * ≤2.0.27 sidechains carry no agent id: a chain belongs to the spawn whose prompt its root repeats,
   * else to the latest spawn still running when the chain started. Chains matching no spawn are dropped.
   */
  private resolveInlineChains(file: ParsedFile, units: Array<{ unit: EventUnit | UsageUnit; seq: number }>): void {
    const owner = new Map<string, Spawn>();
    const taken = new Set<Spawn>();
    const roots = [...file.chains.values()].sort((a, b) => (a.ms ?? 0) - (b.ms ?? 0));
    for (const root of roots) {
      const spawn = this.spawnByPrompt(root, taken) ?? this.spawnRunningAt(root, taken);
      if (!spawn) continue;
      owner.set(root.id, spawn);
      taken.add(spawn);
    }
    for (const { unit, seq } of units) {
      const local = unit.local as { chain: string } | { agentId: string };
      const spawn =
        'chain' in local ? owner.get(local.chain) : [...this.spawns.values()].find((s) => s.agentId === local.agentId);
      if (!spawn) continue;
      if (unit.kind === 'usage') {
        this.addUsage(unit, { spawnId: spawn.id });
        continue;
      }
      spawn.transcript ??= 'inline';
      this.addEvent(unit, { spawnId: spawn.id }, seq);
    }
    this.retryPendingResults();
  }

  private spawnByPrompt(root: ChainRoot, taken: Set<Spawn>): Spawn | undefined {
    if (!root.prompt) return undefined;
    const prompt = root.prompt;
    const matches = [...this.spawns.values()].filter(
      (s) => !taken.has(s) && !s.transcript && s.prompt && prompt.startsWith(s.prompt),
    );
    return latestBefore(matches, root.ms) ?? matches[0];
  }

  private spawnRunningAt(root: ChainRoot, taken: Set<Spawn>): Spawn | undefined {
    const at = root.ms;
    if (at === undefined) return undefined;
    const running = [...this.spawns.values()].filter((s) => {
      if (taken.has(s) || s.transcript) return false;
      const end = s.result ? toMs(s.result.ref.timestamp) : undefined;
      return end === undefined || end >= at;
    });
    return latestBefore(running, at);
  }

  finish(): LogSession {
    this.keepMirrors();
    const events = this.orderedEvents();
    this.setTranscripts(events);
    const main = this.main;
    const session: LogSession = {
      sessionId: sessionIdOf(main),
      format: main.format,
      mainFile: main.path,
      files: this.files.map((f) => f.path),
      events,
      corrupt: this.files.flatMap((f) => f.corrupt),
    };
    if (main.version) session.version = main.version;
    if (main.cwd) session.cwd = main.cwd;
    const firsts = this.files.map((f) => f.first).filter((t) => t !== undefined);
    const lasts = this.files.map((f) => f.last).filter((t) => t !== undefined);
    if (firsts.length) session.firstTimestamp = firsts.reduce((a, b) => (b.ms < a.ms ? b : a)).iso;
    if (lasts.length) session.lastTimestamp = lasts.reduce((a, b) => (b.ms > a.ms ? b : a)).iso;
    if (main.truncatedTail) session.truncatedTail = true;
    const usage = this.usageTotals();
    if (usage.length) session.usage = usage;
    for (const f of this.files) {
      if (f.corruptTotal > f.corrupt.length) (session.corruptCounts ??= {})[f.path] = f.corruptTotal;
    }
    return session;
  }

  /** agent_progress copies stand in only for a spawn whose own file is missing, and never repeat a call. */
  private keepMirrors(): void {
    const hasFile = (spawnId: string): boolean => {
      const t = this.spawns.get(spawnId)?.transcript;
      return t === 'sibling-file' || t === 'subagents-dir';
    };
    const kept: Item[] = [...this.items];
    // In read order: a mirror's results, or (for a spawn with its own file) the mirror to read them from if needed.
    const results: Array<ResultUnit | { unit: MirrorUnit; file: ParsedFile }> = [];
    for (const mirror of this.mirrors) {
      if (hasFile(mirror.unit.spawnId)) {
        results.push(mirror);
        continue;
      }
      for (const unit of materialiseMirror(mirror.file, mirror.unit)) {
        if (unit.kind === 'result') results.push(unit);
        if (unit.kind === 'usage') this.addUsage(unit, { spawnId: mirror.unit.spawnId });
        if (unit.kind !== 'event') continue;
        const item = this.mirrorItem(unit, mirror.seq);
        if (item.event.kind === 'tool' || item.event.kind === 'spawn') {
          if (this.calls.has(item.event.id)) continue;
          this.registerCall(item.event);
        }
        kept.push(this.markMirror(item));
      }
    }
    this.items = kept;
    for (const unit of this.pendingResults.splice(0)) this.attachResult(unit);
    // The first result wins: a mirror copy of a result can only matter to a call that is still without one.
    const open = new Set([...this.calls.values()].filter((c) => !c.result).map((c) => c.id));
    const attach = (unit: ResultUnit): void => {
      this.attachResult(unit);
      if (this.calls.get(unit.toolUseId)?.result) open.delete(unit.toolUseId);
    };
    for (const entry of results) {
      if ('kind' in entry) attach(entry);
      else if (open.size > 0) {
        for (const unit of materialiseMirror(entry.file, entry.unit)) if (unit.kind === 'result') attach(unit);
      }
    }
  }

  private mirrorItem(unit: EventUnit, seq: number): Item {
    const event = unit.event;
    const local = unit.local as { spawnId: string };
    if (event.kind !== 'result') event.actor = local;
    return { event, seq, ms: toMs(event.ref.timestamp), mirrorOf: local.spawnId };
  }

  private markMirror(item: Item): Item {
    const spawn = this.spawns.get(item.mirrorOf!);
    if (spawn) spawn.transcript ??= 'progress-mirror';
    return item;
  }

  /** By timestamp; an event without one takes its predecessor's, so it stays next to it. */
  private orderedEvents(): LogEvent[] {
    const items = [...this.items].sort((a, b) => a.seq - b.seq);
    let previous: number | undefined;
    const effective = new Map<Item, number | undefined>();
    for (const item of items) {
      previous = item.ms ?? previous;
      effective.set(item, previous);
    }
    const firstKnown = items.find((i) => i.ms !== undefined)?.ms ?? 0;
    const key = (i: Item): number => effective.get(i) ?? firstKnown;
    return items.sort((a, b) => key(a) - key(b) || a.seq - b.seq).map((i) => i.event);
  }

  private setTranscripts(events: LogEvent[]): void {
    const lastText = new Map<string, TextEvent>();
    const streamed = new Set<string>();
    for (const e of events) {
      if (e.kind === 'result' || e.actor === 'main') continue;
      if (e.kind === 'text' && e.role === 'assistant') lastText.set(e.actor.spawnId, e);
      if (this.main.format === 'stream-json') streamed.add(e.actor.spawnId);
    }
    for (const spawn of this.spawns.values()) {
      if (!spawn.transcript && streamed.has(spawn.id)) spawn.transcript = 'stream-json';
      spawn.transcript ??= 'none';
      const text = lastText.get(spawn.id);
      if (text) spawn.finalText = { text: text.text, ref: text.ref };
    }
  }
}

function isChainActor(local: LocalActor): local is { chain: string } | { agentId: string } {
  return typeof local === 'object' && ('chain' in local || 'agentId' in local);
}

function latestBefore(spawns: Spawn[], ms: number | undefined): Spawn | undefined {
  let best: Spawn | undefined;
  let bestMs = -Infinity;
  for (const s of spawns) {
    const at = toMs(s.ref.timestamp);
    if (at === undefined || (ms !== undefined && at > ms)) continue;
    if (at >= bestMs) {
      best = s;
      bestMs = at;
    }
  }
  return best;
}

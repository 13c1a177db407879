// What a run cost, from its transcripts: tokens (each API response once), wall time and tool calls, per PEER
// phase (the subagents of that phase's agent type), per subagent, for the coordinator (the main agent) and for
// the whole run; money when prices are configured; and what repeated or skipped phases cost (waste).
import { logLocation, spawnPhase } from './log-facts.js';
import { PHASE_AGENT, PHASES, type PhaseName } from './state.js';
import { isHumanTurn } from './transcript-facts.js';
import type { Actor, ActorUsage, LogEvent, LogLocation, LogSession, Spawn } from './types.js';

export interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface CostLine {
  tokens: TokenCounts;
  /** Wall time in milliseconds. */
  wallMs: number;
  /** tool_use blocks (subagent spawns included). */
  toolCalls: number;
  /** In the configured currency; absent without prices, or when a model of the line has no price. */
  money?: number;
}

export type CostPhase = PhaseName | 'coordinator';

export interface PhaseCost extends CostLine {
  phase: CostPhase;
  /** Subagents counted under the phase. */
  agents: number;
}

export interface SubagentCost extends CostLine {
  /** subagent_type of the spawn ("" when absent). */
  agentType: string;
  /** The PEER phase it is counted under (its own, or that of the subagent that spawned it); absent: coordinator. */
  phase?: PhaseName;
  /** The spawn's log line. */
  location: LogLocation;
}

export interface RunCost extends CostLine {
  /** API responses counted. */
  responses: number;
  /** When prices are configured. */
  currency?: string;
  /** Models of the run with no configured price (their lines have no money). */
  unpriced?: string[];
  phases: PhaseCost[];
  subagents: SubagentCost[];
  /** What repeated phases, and phases that ran after a skipped one, cost; `why` says which, in words. */
  waste?: CostLine & { why: string[] };
}

/** Price per million tokens of one model. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Prices {
  currency: string;
  /** By model name: `message.model` exactly, else the longest name that is a `-`-separated prefix of it. */
  models: Record<string, ModelPrice>;
}

/** A line being summed: tokens, tool calls, the money of its priced responses and whether any had no price. */
class Acc {
  tokens: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  toolCalls = 0;
  responses = 0;
  money = 0;
  unpriced = false;

  addUsage(u: ActorUsage, price: ModelPrice | undefined): void {
    this.tokens.input += u.input;
    this.tokens.output += u.output;
    this.tokens.cacheRead += u.cacheRead;
    this.tokens.cacheWrite += u.cacheWrite;
    this.responses += u.responses;
    if (price)
      this.money +=
        (u.input * price.input +
          u.output * price.output +
          u.cacheRead * price.cacheRead +
          u.cacheWrite * price.cacheWrite) /
        1e6;
    else if (u.input + u.output + u.cacheRead + u.cacheWrite > 0) this.unpriced = true;
  }

  add(o: Acc): void {
    this.tokens.input += o.tokens.input;
    this.tokens.output += o.tokens.output;
    this.tokens.cacheRead += o.tokens.cacheRead;
    this.tokens.cacheWrite += o.tokens.cacheWrite;
    this.toolCalls += o.toolCalls;
    this.responses += o.responses;
    this.money += o.money;
    this.unpriced ||= o.unpriced;
  }

  line(wallMs: number, prices: Prices | undefined): CostLine {
    const l: CostLine = {
      tokens: { ...this.tokens },
      wallMs: Math.max(0, Math.round(wallMs)),
      toolCalls: this.toolCalls,
    };
    if (prices && !this.unpriced) l.money = Math.round(this.money * 1e6) / 1e6;
    return l;
  }
}

type Interval = [number, number];

/** Total length of the union of intervals. */
function unionMs(intervals: Interval[]): number {
  const sorted = intervals.filter(([a, b]) => b >= a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: Interval | undefined;
  for (const [a, b] of sorted) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

const ms = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/** The price of a model: its own name, else the longest configured name that is a `-`-separated prefix of it. */
export function priceOf(prices: Prices | undefined, model: string | undefined): ModelPrice | undefined {
  if (!prices || model === undefined) return undefined;
  const exact = prices.models[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(prices.models))
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  return best === undefined ? undefined : prices.models[best];
}

/** A session and its stream-json capture share one id: counted once, the transcript preferred. */
function distinctSessions(sessions: LogSession[]): LogSession[] {
  const byId = new Map<string, LogSession>();
  for (const s of sessions) {
    const had = byId.get(s.sessionId);
    if (!had || (had.format !== 'transcript' && s.format === 'transcript')) byId.set(s.sessionId, s);
  }
  return [...byId.values()];
}

interface SpawnFacts {
  spawn: Spawn;
  phase?: PhaseName;
  acc: Acc;
  interval?: Interval;
}

/** Per session: each spawn's tokens, tool calls and time, and the coordinator's own. */
function sessionFacts(s: LogSession, prices: Prices | undefined): { main: Acc; spawns: SpawnFacts[]; span?: Interval } {
  const main = new Acc();
  const byId = new Map<string, SpawnFacts>();
  const spawns: SpawnFacts[] = [];
  for (const e of s.events)
    if (e.kind === 'spawn' && !byId.has(e.id)) {
      const f: SpawnFacts = { spawn: e, acc: new Acc() };
      byId.set(e.id, f);
      spawns.push(f);
    }
  // The phase of a subagent: its own type's, else that of the subagent that spawned it.
  const phaseOf = (f: SpawnFacts, depth = 0): PhaseName | undefined => {
    const own = spawnPhase(f.spawn);
    if (own || f.spawn.actor === 'main' || depth > 8) return own;
    const parent = byId.get(f.spawn.actor.spawnId);
    return parent ? phaseOf(parent, depth + 1) : undefined;
  };
  for (const f of spawns) f.phase = phaseOf(f);
  const accOf = (a: Actor): Acc => (a === 'main' ? main : (byId.get(a.spawnId)?.acc ?? main));
  // Times of each actor's records, for a subagent that never returned.
  const lastSeen = new Map<string, number>();
  const seen = (a: Actor, t: number | undefined): void => {
    if (a === 'main' || t === undefined) return;
    lastSeen.set(a.spawnId, Math.max(lastSeen.get(a.spawnId) ?? t, t));
  };
  for (const e of s.events) {
    if (e.kind === 'result') continue;
    if (e.kind === 'tool' || e.kind === 'spawn') accOf(e.actor).toolCalls++;
    seen(e.actor, ms(e.ref.timestamp));
  }
  for (const u of s.usage ?? []) {
    accOf(u.actor).addUsage(u, priceOf(prices, u.model));
    seen(u.actor, u.lastMs);
  }
  for (const f of spawns) {
    const start = ms(f.spawn.ref.timestamp);
    const end = ms(f.spawn.result?.ref.timestamp) ?? lastSeen.get(f.spawn.id);
    if (start !== undefined && end !== undefined && end >= start) f.interval = [start, end];
  }
  const first = ms(s.firstTimestamp);
  const last = ms(s.lastTimestamp);
  return { main, spawns, span: first !== undefined && last !== undefined && last >= first ? [first, last] : undefined };
}

/**
 * Segments of a session's PEER spawns, one per cycle it ran: a planner spawned after a later phase starts a new
 * one (as the phase-order rule reads them).
 */
function segments(spawns: SpawnFacts[]): SpawnFacts[][] {
  const out: SpawnFacts[][] = [];
  let cur: SpawnFacts[] | undefined;
  for (const f of spawns) {
    const own = spawnPhase(f.spawn);
    if (!own) continue;
    if (!cur || (own === 'plan' && cur.some((x) => spawnPhase(x.spawn) !== 'plan'))) out.push((cur = []));
    cur.push(f);
  }
  return out;
}

/**
 * Repeated phases and phases that ran after a skipped one: the spawns whose cost is waste, with the reasons. A phase
 * spawned again after the person answered (a continuation once the user approved, or declined) is not a repeat.
 */
function wasted(s: LogSession, spawns: SpawnFacts[]): { spawns: Set<SpawnFacts>; why: string[] } {
  const out = new Set<SpawnFacts>();
  const why: string[] = [];
  const lines = (fs: SpawnFacts[]) => fs.map((f) => f.spawn.ref.line).join(', ');
  const at = new Map<LogEvent, number>(s.events.map((e, i) => [e, i]));
  const humans = s.events.flatMap((e, i) => (isHumanTurn(e) ? [i] : []));
  const answeredBetween = (a: SpawnFacts, b: SpawnFacts): boolean => {
    const from = at.get(a.spawn) ?? -1;
    const to = at.get(b.spawn) ?? -1;
    return humans.some((i) => i > from && i < to);
  };
  for (const seg of segments(spawns)) {
    for (const phase of PHASES) {
      const of = seg.filter((f) => spawnPhase(f.spawn) === phase);
      const repeats = of.filter((f, i) => i > 0 && !answeredBetween(of[i - 1], f));
      if (repeats.length === 0) continue;
      for (const f of repeats) out.add(f);
      why.push(
        `${PHASE_AGENT[phase]} was spawned ${of.length} times for one cycle (lines ${lines(of)}) with no answer ` +
          `from the user between: the repeat${repeats.length === 1 ? '' : 's'} at ` +
          `line${repeats.length === 1 ? '' : 's'} ${lines(repeats)}`,
      );
    }
    // Only a segment that starts with the planner shows a whole cycle: a resumed one may rely on earlier sessions.
    if (spawnPhase(seg[0].spawn) !== 'plan') continue;
    const ran = new Set(seg.map((f) => spawnPhase(f.spawn)));
    const skipped = PHASES.find((p, i) => !ran.has(p) && PHASES.slice(i + 1).some((q) => ran.has(q)));
    if (!skipped) continue;
    const after = PHASES.slice(PHASES.indexOf(skipped) + 1);
    const later = seg.filter((f) => after.includes(spawnPhase(f.spawn)!));
    for (const f of later) out.add(f);
    const agents = [...new Set(later.map((f) => f.spawn.subagentType))];
    why.push(
      `${PHASE_AGENT[skipped]} was never spawned, yet ${agents.join(' and ')} ran without it ` +
        `(line${later.length === 1 ? '' : 's'} ${lines(later)}): their work must be done again once ${skipped} has run`,
    );
  }
  return { spawns: out, why };
}

/** What the run's transcripts cost; undefined when it has none. */
export function runCost(sessions: LogSession[], prices?: Prices): RunCost | undefined {
  const distinct = distinctSessions(sessions);
  if (distinct.length === 0) return undefined;
  const phaseAcc = new Map<CostPhase, { acc: Acc; agents: number; intervals: Interval[] }>();
  const slot = (p: CostPhase) => {
    let x = phaseAcc.get(p);
    if (!x) phaseAcc.set(p, (x = { acc: new Acc(), agents: 0, intervals: [] }));
    return x;
  };
  const coordinator = slot('coordinator');
  const total = new Acc();
  const spans: Interval[] = [];
  const peerIntervals: Interval[] = [];
  const subagents: SubagentCost[] = [];
  const waste = { acc: new Acc(), intervals: [] as Interval[], why: [] as string[] };
  const unpriced = new Set<string>();
  for (const s of distinct) {
    const facts = sessionFacts(s, prices);
    if (prices)
      for (const u of s.usage ?? [])
        if (!priceOf(prices, u.model) && u.input + u.output + u.cacheRead + u.cacheWrite > 0)
          unpriced.add(u.model ?? '(no model)');
    if (facts.span) spans.push(facts.span);
    coordinator.acc.add(facts.main);
    total.add(facts.main);
    for (const f of facts.spawns) {
      const p = slot(f.phase ?? 'coordinator');
      p.acc.add(f.acc);
      p.agents++;
      total.add(f.acc);
      if (f.interval && f.phase) {
        p.intervals.push(f.interval);
        peerIntervals.push(f.interval);
      }
      const wall = f.interval ? f.interval[1] - f.interval[0] : 0;
      subagents.push({
        ...f.acc.line(wall, prices),
        agentType: f.spawn.subagentType,
        ...(f.phase ? { phase: f.phase } : {}),
        location: logLocation(f.spawn.ref),
      });
    }
    const w = wasted(s, facts.spawns);
    for (const f of w.spawns) {
      waste.acc.add(f.acc);
      if (f.interval) waste.intervals.push(f.interval);
    }
    waste.why.push(...w.why);
  }
  const wallMs = unionMs(spans);
  // The coordinator's time is the run's time when no PEER subagent was running.
  const coordinatorMs = Math.max(0, wallMs - unionMs(peerIntervals));
  const phases: PhaseCost[] = [];
  for (const name of [...PHASES, 'coordinator'] as CostPhase[]) {
    const x = phaseAcc.get(name);
    if (!x) continue;
    const wall = name === 'coordinator' ? coordinatorMs : unionMs(x.intervals);
    phases.push({ phase: name, agents: x.agents, ...x.acc.line(wall, prices) });
  }
  const cost: RunCost = { ...total.line(wallMs, prices), responses: total.responses, phases, subagents };
  if (prices) cost.currency = prices.currency;
  if (unpriced.size) cost.unpriced = [...unpriced].sort();
  if (waste.why.length) cost.waste = { ...waste.acc.line(unionMs(waste.intervals), prices), why: waste.why };
  return cost;
}

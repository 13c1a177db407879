// A run's timeline, from the runs section of a scan result only: every KV revision and phase time, and the
// transcript's key events, as rows for a table and as bars for a Mermaid gantt chart.
import { PHASE_AGENT, PHASES, type PhaseName } from '../model/state.js';
import { msOf as ms } from '../model/transcript-facts.js';
import type { CycleRecord, KeyEventRecord, RunRecord } from './result.js';
import { shortCount, totalTokens } from './cost-format.js';

export interface TimelineRow {
  /** ISO time, when known. */
  at?: string;
  source: 'KV' | 'transcript';
  what: string;
  /** Where to look: key@revision[/pointer] or file:line. */
  where: string;
}

export type GanttTag = 'done' | 'active' | 'crit' | 'milestone';

export interface GanttBar {
  section: string;
  name: string;
  tags: GanttTag[];
  /** Milliseconds since the epoch. */
  start: number;
  end: number;
}

/** "2025-08-05 16:00:14" (UTC), with milliseconds when the source has them. */
export function humanTime(iso: string | undefined): string {
  const t = ms(iso);
  if (t === undefined) return '—';
  const s = new Date(t).toISOString();
  const frac = /\.(\d+)Z$/.exec(s)?.[1];
  return `${s.slice(0, 10)} ${s.slice(11, 19)}${frac && frac !== '000' ? `.${frac}` : ''}`;
}

// ---------------------------------------------------------------- rows

export function timelineRows(run: RunRecord): TimelineRow[] {
  const rows: TimelineRow[] = [];
  for (const c of run.cycles) rows.push(...cycleRows(c));
  if (run.meta) {
    let prev: (typeof run.meta.revisions)[number] | undefined;
    for (const r of run.meta.revisions) {
      const where = `${run.meta.key}@${r.revision}`;
      const changes: string[] = [];
      if (r.operation !== 'PUT') changes.push(`${r.operation === 'DEL' ? 'deleted' : 'purged'}`);
      else if (r.invalid) changes.push(`unreadable value (${r.invalid})`);
      else {
        if (!prev) changes.push('meta created');
        if (r.currentCycle !== prev?.currentCycle && r.currentCycle !== undefined)
          changes.push(`current_cycle ${prev?.currentCycle ?? '—'} → ${r.currentCycle}`);
        if (r.currentPhase !== prev?.currentPhase)
          changes.push(`current_phase ${prev?.currentPhase ?? '—'} → ${r.currentPhase ?? '—'}`);
        for (const [n, e] of Object.entries(r.cycles ?? {})) {
          const p = prev?.cycles?.[n];
          if (e.status !== p?.status) changes.push(`cycle ${n} status ${p?.status ?? '—'} → ${e.status ?? '—'}`);
          if (e.notes !== p?.notes && e.notes) changes.push(`cycle ${n} notes "${e.notes}"`);
          if (e.completedAt !== p?.completedAt && e.completedAt)
            changes.push(`cycle ${n} completed_at ${e.completedAt}`);
        }
      }
      if (changes.length === 0) changes.push('rewritten, no tracked field changed');
      rows.push({ at: r.created, source: 'KV', what: `meta revision ${r.revision}: ${changes.join('; ')}`, where });
      if (r.operation === 'PUT' && !r.invalid) prev = r;
    }
  }
  for (const s of run.sessions) for (const e of s.events) rows.push(eventRow(e));
  return rows.sort((a, b) => {
    const ta = ms(a.at);
    const tb = ms(b.at);
    if (ta === undefined || tb === undefined) return ta === undefined ? (tb === undefined ? 0 : 1) : -1;
    return ta - tb;
  });
}

function cycleRows(c: CycleRecord): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let prev: CycleRecord['revisions'][number] | undefined;
  for (const r of c.revisions) {
    const changes: string[] = [];
    if (r.operation !== 'PUT') changes.push(r.operation === 'DEL' ? 'deleted' : 'purged');
    else if (r.invalid) changes.push(`unreadable value (${r.invalid})`);
    else {
      if (!prev) changes.push(`cycle ${c.number} created${c.instruction ? ` (${c.instruction})` : ''}`);
      if (r.status !== prev?.status) changes.push(`status ${prev?.status ?? '—'} → ${r.status ?? '—'}`);
      for (const p of PHASES) {
        const a = prev?.phases?.[p];
        const b = r.phases?.[p];
        if (a !== b) changes.push(`${p} ${a ?? 'absent'} → ${b ?? 'absent'}`);
      }
    }
    if (changes.length === 0) changes.push('rewritten, no phase or status changed');
    rows.push({
      at: r.created,
      source: 'KV',
      what: `cycle ${c.number} revision ${r.revision}: ${changes.join('; ')}`,
      where: `${c.key}@${r.revision}`,
    });
    if (r.operation === 'PUT' && !r.invalid) prev = r;
  }
  if (c.startedAt)
    rows.push({
      at: c.startedAt,
      source: 'KV',
      what: `cycle ${c.number} started (started_at)`,
      where: `${c.key}@${c.revision}`,
    });
  for (const p of c.phases) {
    if (p.startedAt)
      rows.push({
        at: p.startedAt,
        source: 'KV',
        what: `${p.name} started (started_at)`,
        where: `${c.key}@${c.revision}/phases/${p.name}/started_at`,
      });
    if (p.completedAt)
      rows.push({
        at: p.completedAt,
        source: 'KV',
        what: `${p.name} completed (completed_at)`,
        where: `${c.key}@${c.revision}/phases/${p.name}/completed_at`,
      });
  }
  if (c.completedAt)
    rows.push({
      at: c.completedAt,
      source: 'KV',
      what: `cycle ${c.number} completed (completed_at)`,
      where: `${c.key}@${c.revision}`,
    });
  return rows;
}

function eventRow(e: KeyEventRecord): TimelineRow {
  const where = `${e.location.path}:${e.location.line}`;
  const who = e.agent ?? 'subagent';
  let what: string;
  switch (e.kind) {
    case 'request':
      what = `the user asks: ${e.text}`;
      break;
    case 'spawn':
      what = `${who} spawned (${e.text})`;
      break;
    case 'return':
      what = `${who} ${e.failed ? 'fails' : 'returns'}: ${e.text}`;
      break;
    case 'failed-call':
      what =
        `${e.agent ? `${e.agent}: ` : ''}call failed: ${e.text} — ${e.command ?? ''}` +
        `${e.retriedAt ? ` (succeeded on retry at line ${e.retriedAt.line})` : ' (never retried)'}`;
      break;
    case 'claim':
      what = `success claimed: ${e.text}`;
      break;
    case 'final-text':
      what = `last message: ${e.text}`;
      break;
    case 'cut-off':
      what = `transcript cut off: ${e.text}`;
      break;
  }
  return { at: e.location.timestamp, source: 'transcript', what, where };
}

// ---------------------------------------------------------------- gantt

const MAX_TRANSCRIPT_BARS = 60;

export function ganttBars(run: RunRecord): GanttBar[] {
  const bars: GanttBar[] = [];
  const events = run.sessions.flatMap((s) => s.events);
  // When each phase's agent was spawned: the same for every cycle of the run.
  const spawnTimes = new Map(
    PHASES.map((name) => [
      name,
      events
        .filter((e) => e.kind === 'spawn' && (e.phase === name || e.agent === PHASE_AGENT[name]))
        .map((e) => ms(e.location.timestamp))
        .filter((t): t is number => t !== undefined),
    ]),
  );
  for (const c of run.cycles) {
    const section = `Cycle ${c.number} state`;
    const cycleStart = ms(c.startedAt) ?? ms(c.revisions[0]?.created);
    let prevEnd = cycleStart;
    const notDone: PhaseName[] = [];
    for (const p of c.phases) {
      const spawnAt = spawnTimes.get(p.name) ?? [];
      const end =
        ms(p.completedAt) ??
        ms(p.completedRevision?.created) ??
        (p.status === 'running' || p.status === 'failed' || p.status === 'cancelled' ? ms(c.created) : undefined);
      const start = ms(p.startedAt) ?? lastBefore(spawnAt, end) ?? prevEnd ?? ms(p.firstRevision?.created);
      if (p.status === 'absent' || p.status === 'pending') {
        notDone.push(p.name);
        const at = prevEnd ?? start;
        if (at !== undefined)
          bars.push({
            section,
            name: `${p.name} ${p.status === 'absent' ? 'never ran' : 'pending'}`,
            tags: ['crit', 'milestone'],
            start: at,
            end: at,
          });
        continue;
      }
      if (start === undefined) continue;
      const e = end !== undefined && end >= start ? end : start;
      const tags: GanttTag[] = p.status === 'completed' ? ['done'] : p.status === 'running' ? ['active'] : ['crit'];
      bars.push({ section, name: `${p.name} ${p.raw ?? p.status}`, tags, start, end: e });
      if (end !== undefined) prevEnd = Math.max(prevEnd ?? end, end);
    }
    const claimedAt = ms(c.completedAt) ?? ms(c.metaEntry?.completedAt);
    if (claimedAt !== undefined && c.claims.length > 0) {
      bars.push({
        section,
        name: `cycle ${c.number} marked complete`,
        tags: notDone.length > 0 ? ['crit', 'milestone'] : ['milestone'],
        start: claimedAt,
        end: claimedAt,
      });
    }
  }
  let n = 0;
  for (const s of run.sessions) {
    const section = run.sessions.length > 1 ? `Transcript ${s.id.slice(0, 8)}` : 'Transcript';
    for (const e of s.events) {
      if (n >= MAX_TRANSCRIPT_BARS) break;
      const t = ms(e.location.timestamp);
      if (t === undefined) continue;
      const line = e.location.line;
      switch (e.kind) {
        case 'request':
          bars.push({ section, name: `request (line ${line})`, tags: ['milestone'], start: t, end: t });
          break;
        case 'spawn': {
          const ret = s.events.find((x) => x.kind === 'return' && x.spawnId === e.spawnId);
          // What the subagent used, on its bar: the chart's bars are sized by wall time already.
          const used = run.cost?.subagents.find((x) => x.location.line === line && x.location.path === e.location.path);
          const tokens = used ? ` ${shortCount(totalTokens(used.tokens))} tokens` : '';
          const end = ms(ret?.location.timestamp);
          const failed = !ret || ret.failed;
          bars.push(
            end !== undefined && end >= t
              ? {
                  section,
                  name: `${e.agent ?? 'subagent'} (line ${line})${tokens}`,
                  tags: failed ? ['crit'] : [],
                  start: t,
                  end,
                }
              : {
                  section,
                  name: `${e.agent ?? 'subagent'} never returned (line ${line})${tokens}`,
                  tags: ['crit', 'milestone'],
                  start: t,
                  end: t,
                },
          );
          break;
        }
        case 'failed-call':
          bars.push({
            section,
            name: `failed call (line ${line})${e.retriedAt ? ', retried' : ''}`,
            tags: e.retriedAt ? ['milestone'] : ['crit', 'milestone'],
            start: t,
            end: t,
          });
          break;
        case 'claim':
          bars.push({ section, name: `success claimed (line ${line})`, tags: ['crit', 'milestone'], start: t, end: t });
          break;
        case 'cut-off':
          bars.push({ section, name: `cut off (line ${line})`, tags: ['crit', 'milestone'], start: t, end: t });
          break;
        default:
          continue;
      }
      n++;
    }
  }
  return bars;
}

function lastBefore(times: number[], limit: number | undefined): number | undefined {
  const ok = times.filter((t) => limit === undefined || t <= limit).sort((a, b) => a - b);
  return ok.at(-1);
}

const KEYWORDS =
  /^(gantt|title|section|dateformat|axisformat|tickinterval|todaymarker|excludes|includes|weekday|weekend|inclusiveenddates|topaxis|click|acctitle|accdescr|displaymode)(\s|$)/i;

/** A gantt task or section name: only characters the grammar cannot read as syntax. */
export function mermaidName(s: string): string {
  let t = s
    .replace(/[^A-Za-z0-9 ._()/+-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t.length > 60) t = `${t.slice(0, 57).trim()}...`;
  if (t === '') t = 'event';
  return KEYWORDS.test(t) ? `task ${t}` : t;
}

/** "2025-08-05T16:00:14" in UTC: the chart's dateFormat. */
export function mermaidTime(t: number): string {
  return new Date(t).toISOString().slice(0, 19);
}

/** A Mermaid gantt block (without the fence), or undefined when there is nothing with a time to draw. */
export function mermaidGantt(title: string, bars: GanttBar[]): string | undefined {
  if (bars.length === 0) return undefined;
  const lines = [
    'gantt',
    `    title ${mermaidName(title)}`,
    '    dateFormat YYYY-MM-DDTHH:mm:ss',
    '    axisFormat %H:%M',
    '    todayMarker off',
  ];
  let section: string | undefined;
  bars.forEach((b, i) => {
    if (b.section !== section) {
      section = b.section;
      lines.push(`    section ${mermaidName(b.section)}`);
    }
    const tags = b.tags.length ? `${b.tags.join(', ')}, ` : '';
    lines.push(
      `    ${mermaidName(b.name)} :${tags}e${i + 1}, ${mermaidTime(b.start)}, ${mermaidTime(Math.max(b.end, b.start))}`,
    );
  });
  return lines.join('\n');
}

import { defineRule } from '../src/engine/rule.js';
import type { Run } from '../src/model/build.js';
import { brief, isRecord, PHASES, type CycleState, type PhaseName } from '../src/model/state.js';
import { runSubject } from '../src/model/subject.js';
import type { Evidence, KvLocation } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

/** What the v1.1 executor stores instead of real results (peer-executor.md.bak, "Store Execution Results"). */
const EXECUTOR_PLACEHOLDER = 'Instruction executed successfully through PEER pattern';

/** The placeholder, or a paraphrase of it, passed on by the express or review agent. */
const PLACEHOLDER_ECHO = /\bexecuted successfully through (?:the )?PEER pattern\b/i;

type Topic = 'password' | 'count12';

/**
 * Example text of the express and review agent templates (a password reset spec with 12 tasks). Copied into
 * another spec, it describes work that was never done. Compared case-insensitively, without a final period.
 */
const TEMPLATE_TEXT: Array<{ text: string; topic: Topic }> = [
  { text: 'Successfully created password reset specification', topic: 'password' },
  { text: 'Password reset specification successfully created with 12 implementation tasks', topic: 'password' },
  { text: 'Complete documentation created', topic: 'password' },
  { text: '12 tasks defined with TDD approach', topic: 'count12' },
  { text: 'Security considerations documented', topic: 'password' },
  { text: 'Comprehensive security approach', topic: 'password' },
  { text: 'Clear implementation path', topic: 'password' },
  { text: 'All documentation complete', topic: 'password' },
  { text: 'Add security checklist for auth features', topic: 'password' },
  { text: 'Include rate limiting in standard considerations', topic: 'password' },
  { text: 'Create API documentation template', topic: 'password' },
  { text: 'User prefers comprehensive security documentation', topic: 'password' },
  { text: 'TDD approach yields better task organization', topic: 'password' },
  { text: 'Rate limiting is common requirement for auth features', topic: 'password' },
  { text: 'SMS vs email decision needed', topic: 'password' },
  { text: 'User chose email-only initially', topic: 'password' },
  { text: 'Should we create standard security checklist?', topic: 'password' },
  { text: 'Would API documentation templates be helpful?', topic: 'password' },
  { text: 'Create auth feature template', topic: 'password' },
  { text: 'Add security review step to process', topic: 'password' },
  { text: 'Consider automated API doc generation', topic: 'password' },
];

/** "## 🎯 Executive Summary" followed by nothing but an ellipsis (or the template's cut-off sentence). */
const SUMMARY_STUB =
  /^\s*##\s*🎯\s*Executive Summary\s*(?:\.\.\.|…|Successfully created password reset spec(?:\.\.\.|…))\s*$/i;

export default defineRule({
  meta: {
    id: 'placeholder-output',
    severity: 'warning',
    summary:
      'A phase output is agent template text or an empty shell: the v1.1 executor placeholder, {} for a ' +
      'completed phase, template examples on another spec.',
    sources: ['kv'],
    fixable: false,
    title: 'Phase outputs are placeholders',
    causedBy: [{ rule: 'missing-execute-phase', when: 'same-cycle' }],
  },
  check({ model, report }) {
    const bucket = model.bucket;
    for (const run of model.runs) {
      const topic = topicOf(run);
      for (const cycle of run.cycles) {
        const at = (pointer: string): KvLocation => ({
          kind: 'kv',
          bucket,
          key: cycle.key,
          revision: cycle.revision,
          pointer,
        });
        for (const phase of PHASES) {
          const found = [
            ...executorPlaceholder(cycle, phase, at),
            ...emptyShell(cycle, phase, at),
            ...templateText(cycle, phase, at, topic),
          ];
          if (found.length === 0) continue;
          const quotes = [...new Set(found.flatMap((f) => (f.quote ? [f.quote] : [])))];
          const what = [...new Set(found.flatMap((f) => (f.quote ? [] : [f.what])))];
          if (quotes.length > 0) {
            const shown = quotes
              .slice(0, 2)
              .map((q) => `"${q}"`)
              .join(', ');
            const more = quotes.length > 2 ? ` and ${quotes.length - 2} more` : '';
            what.unshift(
              `${quotes.length} string${quotes.length === 1 ? '' : 's'} of the agent template's password reset ` +
                `example (${shown}${more}) on a spec about ${topic.label}`,
            );
          }
          report({
            message:
              `Cycle ${cycle.number}'s ${phase} output is placeholder text, not a record of the ` +
              `work: ${what.join('; ')}.`,
            subject: runSubject(run, cycle.number),
            evidence: found.map((f) => f.evidence),
            target: `${cycle.key}#${phase}`,
          });
        }
      }
    }
  },
});

interface Found {
  what: string;
  /** Template text found verbatim (listed together in the message). */
  quote?: string;
  evidence: Evidence;
}

type At = (pointer: string) => KvLocation;

function executorPlaceholder(cycle: CycleState, phase: PhaseName, at: At): Found[] {
  if (phase !== 'execute') return [];
  const out = cycle.phases.execute.output;
  if (!isRecord(out)) return [];
  const inner = isRecord(out.outputs) ? out.outputs : undefined;
  const [holder, base] =
    typeof out.results === 'string'
      ? [out, '/phases/execute/output']
      : inner && typeof inner.results === 'string'
        ? [inner, '/phases/execute/output/outputs']
        : [undefined, ''];
  if (!holder || !(holder.results as string).includes(EXECUTOR_PLACEHOLDER)) return [];
  const lists = ['files_created', 'tasks_completed']
    .flatMap((k) => [out[k], inner?.[k]])
    .filter((v) => v !== undefined);
  if (lists.some((v) => !isEmpty(v))) return [];
  const what = `the v1.1 executor placeholder "${EXECUTOR_PLACEHOLDER}" with no files created and no tasks completed`;
  const since = firstRevisionWithPlaceholder(cycle);
  const sinceNote = since !== undefined && since !== cycle.revision ? `, there since revision ${since}` : '';
  return [
    {
      what,
      evidence: {
        location: at(`${base}/results`),
        excerpt: excerptOf(`"results": ${brief(holder.results)}`),
        note: `the executor template's fixed text${sinceNote}`,
      },
    },
    {
      what,
      evidence: {
        location: at(base),
        excerpt: excerptOf(brief(holder, 200)),
        note: 'files_created and tasks_completed are empty',
      },
    },
  ];
}

/** The first revision of the cycle whose execute output holds the placeholder. */
function firstRevisionWithPlaceholder(cycle: CycleState): number | undefined {
  for (const h of cycle.history) {
    if (h.operation !== 'PUT' || !h.decoded?.ok) continue;
    const json = h.decoded.json;
    const exec =
      isRecord(json) && isRecord(json.phases) && isRecord(json.phases.execute) ? json.phases.execute.output : undefined;
    if (exec !== undefined && JSON.stringify(exec).includes(EXECUTOR_PLACEHOLDER)) return h.revision;
  }
  return undefined;
}

function emptyShell(cycle: CycleState, phase: PhaseName, at: At): Found[] {
  const ph = cycle.phases[phase];
  if (ph.status !== 'completed' || !isRecord(ph.entry) || !('output' in ph.entry)) return [];
  if (!isEmpty(ph.entry.output)) return [];
  return [
    {
      what: `${phase} is marked ${ph.raw ?? 'completed'} but its output is empty (${brief(ph.entry.output, 60)})`,
      evidence: {
        location: at(`/phases/${phase}/output`),
        excerpt: excerptOf(`"output": ${brief(ph.entry.output)}`),
        note: `${phase} completed with an empty output`,
      },
    },
  ];
}

/**
 * Template text in what the express agent (phase output, root result) or the review agent (output, insights,
 * cycle_summary) wrote.
 */
function templateText(cycle: CycleState, phase: PhaseName, at: At, topic: SpecTopic): Found[] {
  const roots: Array<[string, unknown]> = [];
  const json = cycle.json;
  if (phase === 'express')
    roots.push(['/phases/express/output', cycle.phases.express.output], ['/result', json.result]);
  else if (phase === 'review')
    roots.push(
      ['/phases/review/output', cycle.phases.review.output],
      ['/insights', json.insights],
      ['/cycle_summary', json.cycle_summary],
    );
  else return [];
  const found: Found[] = [];
  for (const [base, value] of roots) {
    if (value === undefined) continue;
    for (const [pointer, text] of strings(value, base)) {
      const hit = matchTemplate(text, topic);
      if (hit)
        found.push({
          what: hit.what,
          quote: hit.quote,
          evidence: {
            location: at(pointer),
            excerpt: excerptOf(brief(text)),
            note: hit.note ?? 'text from the agent template',
          },
        });
    }
    if (phase === 'express' && base === '/phases/express/output' && isRecord(value) && isRecord(value.deliverables)) {
      const d = value.deliverables;
      if (d.files_created === 5 && d.tasks_defined === 12 && d.decisions_made === 3 && countIsForeign(topic)) {
        found.push({
          what: 'the template deliverables (5 files, 12 tasks, 3 decisions)',
          evidence: {
            location: at(`${base}/deliverables`),
            excerpt: excerptOf(brief(d)),
            note: `the template's counts${topic.tasks !== undefined ? `; tasks.md has ${topic.tasks} tasks` : ''}`,
          },
        });
      }
    }
  }
  return found;
}

function matchTemplate(text: string, topic: SpecTopic): { what: string; quote?: string; note?: string } | undefined {
  if (PLACEHOLDER_ECHO.test(text)) {
    return {
      what: `it repeats the executor placeholder ("${EXECUTOR_PLACEHOLDER}") instead of describing results`,
      note: "the executor template's fixed text, passed on",
    };
  }
  // The template's examples describe a password reset spec: on such a spec they may be the real text.
  if (SUMMARY_STUB.test(text))
    return topic.password ? undefined : { what: `an "## 🎯 Executive Summary" with nothing but "..." after it` };
  const norm = normalise(text);
  const t = templateByText().get(norm);
  if (t) {
    if (t.topic === 'password' && topic.password) return undefined;
    if (t.topic === 'count12' && !countIsForeign(topic)) return undefined;
    return { what: '', quote: t.text };
  }
  if (!topic.password && /\bpassword reset\b/i.test(text))
    return { what: `"password reset" wording from the template on a spec about ${topic.label}` };
  if (countIsForeign(topic) && /\b12 tasks defined\b/i.test(text))
    return {
      what:
        '"12 tasks defined" from the template' +
        (topic.tasks !== undefined ? `, but tasks.md has ${topic.tasks} tasks` : ''),
    };
  return undefined;
}

/**
 * The template's "12 tasks" cannot be this spec's: tasks.md has another count, or (no tasks.md) the spec is not the
 * template's password reset.
 */
function countIsForeign(topic: SpecTopic): boolean {
  return topic.tasks !== undefined ? topic.tasks !== 12 : !topic.password;
}

interface SpecTopic {
  /** The spec is about passwords, so the password-reset example text may be real. */
  password: boolean;
  /** Major tasks in tasks.md, when there is one. */
  tasks?: number;
  label: string;
}

/** What the spec is about: its name, the user requirements, the planned spec name, the spec documents' titles. */
function topicOf(run: Run): SpecTopic {
  const texts: string[] = [run.spec ?? '', run.prefix ?? '', run.meta?.specName ?? ''];
  for (const c of run.cycles) {
    const ctx = c.json.context;
    if (isRecord(ctx) && typeof ctx.user_requirements === 'string') texts.push(ctx.user_requirements);
    const plan = c.phases.plan.output;
    if (isRecord(plan) && typeof plan.spec_name === 'string') texts.push(plan.spec_name);
    if (c.metadata && typeof c.metadata.spec_name === 'string') texts.push(c.metadata.spec_name);
  }
  let tasks: number | undefined;
  for (const f of run.folders) {
    texts.push(f.slug);
    for (const file of f.files)
      if (/^(spec|spec-lite)\.md$/.test(file.name)) texts.push(file.lines.slice(0, 12).join('\n'));
    if (f.tasks) tasks = f.tasks.tasks.length;
  }
  const all = texts.join('\n');
  const label = run.spec ?? run.prefix ?? 'another subject';
  return { password: /password/i.test(all), tasks, label };
}

/** Every string leaf with its JSON pointer. */
function strings(v: unknown, pointer: string): Array<[string, string]> {
  if (typeof v === 'string') return [[pointer, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => strings(x, `${pointer}/${i}`));
  if (isRecord(v))
    return Object.entries(v).flatMap(([k, x]) =>
      strings(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    );
  return [];
}

/** null, "", [], {} or containers of nothing but those. Numbers and booleans are content. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (Array.isArray(v)) return v.every(isEmpty);
  if (isRecord(v)) return Object.values(v).every(isEmpty);
  return false;
}

let templates: Map<string, (typeof TEMPLATE_TEXT)[number]> | undefined;
/** The template strings by their normalised text (the first of equal ones), made once. */
function templateByText(): Map<string, (typeof TEMPLATE_TEXT)[number]> {
  if (!templates) {
    templates = new Map();
    for (const x of TEMPLATE_TEXT) if (!templates.has(normalise(x.text))) templates.set(normalise(x.text), x);
  }
  return templates;
}

function normalise(s: string): string {
  return s
    .trim()
    .replace(/[.!]+$/, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

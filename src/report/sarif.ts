// SARIF 2.1.0 for GitHub code scanning. GitHub rejects a whole file when any result lacks a physical location,
// so every finding is anchored to a file in the project: the spec file or log line it concerns, else a file
// of its spec folder, else a fallback (README.md); KV keys ride along as logical locations and properties.
import path from 'node:path';
import type { Location, Severity } from '../model/types.js';
import { formatLocation } from './location.js';
import type { ReportedFinding, RunRecord, ScanResult } from './result.js';
import { plainText, type RuleDoc } from './rule-docs.js';
import { escapeControl, safeJson } from '../model/text.js';
import { describeSource } from './stylish.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifOptions {
  /** Every rule the tool has, with its documentation. */
  rules: Map<string, RuleDoc>;
  /** Project-relative file for results whose evidence names no project file (default README.md). */
  fallbackAnchor?: string;
  /** Absolute base for rule help links (helpUri must be an absolute URI in SARIF 2.1.0). */
  docsBaseUri?: string;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };
const SRCROOT = '%SRCROOT%';

interface Anchor {
  path: string;
  startLine: number;
  endLine?: number;
  /** What the anchor is: the evidence itself, or a stand-in for evidence that has no file. */
  why: string;
}

export function formatSarif(result: ScanResult, opts: SarifOptions): string {
  return `${safeJson(toSarif(result, opts))}\n`;
}

export function toSarif(result: ScanResult, opts: SarifOptions) {
  // The severity of each rule's first finding; a saved scan may name a rule this version does not have: it
  // still gets a descriptor.
  const firstSeverity = new Map<string, ReportedFinding['severity']>();
  // With a baseline, the findings it accepts are listed too, as unchanged and suppressed with the team's reason,
  // so code scanning and SARIF viewers show what is new.
  const accepted = result.baseline?.accepted ?? [];
  for (const f of [...result.findings, ...accepted])
    if (!firstSeverity.has(f.ruleId)) firstSeverity.set(f.ruleId, f.severity);
  const ruleIds = [...opts.rules.keys(), ...[...firstSeverity.keys()].filter((id) => !opts.rules.has(id))];
  const index = new Map(ruleIds.map((id, i) => [id, i]));
  const knownFiles = projectFiles(result);
  const fallback = opts.fallbackAnchor ?? 'README.md';

  const rules = ruleIds.map((id) =>
    ruleDescriptor(id, opts.rules.get(id), firstSeverity.get(id) ?? 'warning', opts.docsBaseUri),
  );

  const justification = new Map(result.baseline?.suppressed.map((x) => [x.fingerprint, x.justification]));
  const toResult = (f: ReportedFinding, state: 'new' | 'unchanged' | undefined) => {
    const anchor = anchorOf(f, result, knownFiles, fallback);
    const kv = f.evidence.flatMap((e) => (e.location.kind === 'kv' ? [e.location] : []));
    // Logical locations name each key once; properties keep every key@revision the evidence cites.
    const keys = [...new Map(kv.map((l) => [`${l.bucket}/${l.key}`, l])).values()];
    const revisions = [...new Map(kv.map((l) => [`${l.bucket}/${l.key}@${l.revision}`, l])).values()];
    const related = f.evidence
      .map((e) => ({ e, a: physicalOf(e.location, knownFiles) }))
      .filter(
        (x): x is { e: (typeof f.evidence)[number]; a: Anchor } =>
          x.a !== undefined && !(x.a.path === anchor.path && x.a.startLine === anchor.startLine),
      )
      .slice(0, 10);
    return {
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId)!,
      level: LEVEL[f.severity],
      kind: 'fail',
      message: { text: escapeControl(f.message) },
      locations: [
        {
          physicalLocation: physical(anchor),
          ...(keys.length > 0
            ? {
                logicalLocations: keys.map((l) => ({
                  name: l.key,
                  fullyQualifiedName: `nats-kv://${l.bucket}/${l.key}`,
                  kind: 'resource',
                })),
              }
            : {}),
          message: { text: anchor.why },
        },
      ],
      ...(related.length > 0
        ? {
            relatedLocations: related.map((x, i) => ({
              id: i + 1,
              physicalLocation: physical(x.a),
              message: {
                text: escapeControl([x.e.note, x.e.excerpt].filter(Boolean).join(': ')) || formatLocation(x.e.location),
              },
            })),
          }
        : {}),
      // GitHub reads primaryLocationLineHash; ours comes from the rule and target, never from the anchor line,
      // so KV findings that share an anchor do not merge into one alert, and line moves do not split one.
      partialFingerprints: { primaryLocationLineHash: `${f.fingerprint}:1`, 'peerAudit/v1': f.fingerprint },
      ...(state ? { baselineState: state } : {}),
      ...(state === 'unchanged'
        ? {
            suppressions: [
              {
                kind: 'external',
                status: 'accepted',
                justification: escapeControl(justification.get(f.fingerprint) ?? ''),
              },
            ],
          }
        : {}),
      properties: {
        fingerprint: f.fingerprint,
        subject: f.subject,
        ...(revisions.length > 0
          ? { kv: revisions.map((l) => ({ bucket: l.bucket, key: l.key, revision: l.revision })) }
          : {}),
        evidence: f.evidence.map((e) => ({
          location: escapeControl(formatLocation(e.location)),
          ...(e.note ? { note: escapeControl(e.note) } : {}),
          excerpt: escapeControl(e.excerpt),
          ...(e.redacted ? { redacted: true } : {}),
        })),
      },
    };
  };
  const state = result.baseline ? 'new' : undefined;
  const results = [...result.findings.map((f) => toResult(f, state)), ...accepted.map((f) => toResult(f, 'unchanged'))];

  const notifications = [
    // A source with nothing to read (no transcripts for the project) is no failure, but it is said.
    ...result.sources
      .filter((s) => s.absent)
      .map((s) => ({
        level: 'note' as const,
        message: { text: escapeControl(describeSource(s)) },
        descriptor: { id: 'source-absent' },
      })),
    ...result.incompleteReasons.map((r) => ({
      level: 'error' as const,
      message: { text: escapeControl(r) },
      descriptor: { id: 'source-unreadable' },
    })),
    ...result.sources.flatMap((s) =>
      s.problems.slice(0, 100).map((p) => {
        const loc = relativePath(p.where);
        return {
          level: 'warning' as const,
          message: {
            text: escapeControl(`${s.kind} ${p.where}${p.line !== undefined ? `:${p.line}` : ''}: ${p.reason}`),
          },
          descriptor: { id: 'evidence-skipped' },
          ...(loc
            ? {
                locations: [
                  { physicalLocation: physical({ path: loc, startLine: Math.max(1, p.line ?? 1), why: '' }) },
                ],
              }
            : {}),
        };
      }),
    ),
  ];

  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0' as const,
    runs: [
      {
        tool: {
          driver: {
            name: 'peer-audit',
            version: result.tool.version,
            semanticVersion: result.tool.version,
            rules,
          },
        },
        automationDetails: { id: `peer-audit/${result.bucket}/` },
        originalUriBaseIds: { [SRCROOT]: { uri: pathToFileUri(result.projectRoot, true) } },
        invocations: [
          {
            executionSuccessful: result.complete,
            endTimeUtc: result.generatedAt,
            ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}),
          },
        ],
        results,
        properties: {
          complete: result.complete,
          summary: result.summary,
          // What was read, in the words of the other formats' Sources line.
          sources: result.sources.map(describeSource).join(' · ') || 'none',
        },
      },
    ],
  };
}

function ruleDescriptor(id: string, doc: RuleDoc | undefined, seen: Severity, docsBaseUri?: string) {
  const severity = doc?.severity ?? seen;
  const summary = doc?.summary ?? id;
  const catches = doc?.sections['What it catches'];
  const todo = doc?.sections['What to do'];
  const why = doc?.sections['Why it matters'];
  const helpMarkdown = [
    `**${id}** (${severity}): ${summary}`,
    catches && `### What it catches\n\n${catches}`,
    why && `### Why it matters\n\n${why}`,
    todo && `### What to do\n\n${todo}`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const docPath = doc?.docPath ?? `rules/${id}.md`;
  return {
    id,
    name: id
      .split('-')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(''),
    shortDescription: { text: summary },
    fullDescription: { text: catches ? plainText(catches) : summary },
    help: { text: todo ? plainText(todo) : summary, markdown: helpMarkdown },
    ...(docsBaseUri ? { helpUri: new URL(docPath, docsBaseUri).href } : {}),
    defaultConfiguration: { level: LEVEL[severity] },
    properties: {
      tags: ['peer-audit', ...(doc?.sources ?? [])],
      precision: 'high',
      'problem.severity': severity === 'info' ? 'recommendation' : severity,
      docPath,
    },
  };
}

// ---------------------------------------------------------------- anchors

/** Every file the scan saw in spec folders (project-relative). */
function projectFiles(result: ScanResult): Set<string> {
  const out = new Set<string>();
  for (const r of result.runs?.items ?? []) for (const f of r.folders) for (const x of f.files) out.add(x.path);
  return out;
}

function relativePath(p: string): string | undefined {
  if (!p || path.isAbsolute(p) || /^[a-z][a-z0-9+.-]*:/i.test(p)) return undefined;
  const n = path.posix.normalize(p.replace(/\\/g, '/'));
  return n.startsWith('../') || n === '..' || n === '.' ? undefined : n;
}

/** A physical place in the project for one evidence location, if it has one. */
function physicalOf(l: Location, known: Set<string>): Anchor | undefined {
  if (l.kind === 'file') {
    const p = relativePath(l.path);
    if (!p) return undefined;
    if (l.line !== undefined)
      return {
        path: p,
        startLine: Math.max(1, l.line),
        ...(l.endLine && l.endLine > l.line ? { endLine: l.endLine } : {}),
        why: 'the evidence',
      };
    if (known.has(p)) return { path: p, startLine: 1, why: 'the file concerned' };
    return undefined;
  }
  if (l.kind === 'log') {
    const p = relativePath(l.path);
    return p ? { path: p, startLine: Math.max(1, l.line), why: 'the transcript record' } : undefined;
  }
  return undefined;
}

export function anchorOf(f: ReportedFinding, result: ScanResult, known: Set<string>, fallback: string): Anchor {
  // 1. A file line; 2. a known file; 3. a transcript line inside the project.
  const byKind = (pred: (l: Location) => boolean) => {
    for (const e of f.evidence) {
      if (!pred(e.location)) continue;
      const a = physicalOf(e.location, known);
      if (a) return a;
    }
    return undefined;
  };
  const direct =
    byKind((l) => l.kind === 'file' && l.line !== undefined) ??
    byKind((l) => l.kind === 'file') ??
    byKind((l) => l.kind === 'log');
  if (direct) return direct;
  // 4. A file of the spec folder the finding (or its run) concerns: KV state is about that spec.
  const folders = [
    ...(f.subject.folder ? [f.subject.folder] : []),
    ...f.evidence.flatMap((e) => (e.location.kind === 'file' ? [e.location.path] : [])),
    ...runsOf(f, result).flatMap((r) => r.folders.map((x) => x.path)),
  ];
  for (const folder of folders) {
    const rel = relativePath(folder);
    if (!rel) continue;
    const file = firstFileIn(known, rel);
    if (file !== undefined) return { path: file, startLine: 1, why: `the spec the state concerns (${file})` };
  }
  // 5. The snapshot the state came from, when it is in the project.
  for (const s of result.sources) {
    if (s.kind !== 'kv-snapshot') continue;
    const rel = relativePath(path.isAbsolute(s.ref) ? path.relative(result.projectRoot, s.ref) : s.ref);
    if (rel) return { path: rel, startLine: 1, why: `the KV snapshot the state was read from (${rel})` };
  }
  return { path: fallback, startLine: 1, why: `no project file holds this evidence; anchored to ${fallback}` };
}

const firstFiles = new WeakMap<Set<string>, Map<string, string | undefined>>();
/** The first file of a folder (spec.md first), worked out once per folder: many findings anchor on the same spec. */
function firstFileIn(known: Set<string>, rel: string): string | undefined {
  let byFolder = firstFiles.get(known);
  if (!byFolder) firstFiles.set(known, (byFolder = new Map()));
  if (!byFolder.has(rel)) byFolder.set(rel, [...known].filter((p) => p.startsWith(`${rel}/`)).sort(specFirst)[0]);
  return byFolder.get(rel);
}

function specFirst(a: string, b: string): number {
  const rank = (p: string) =>
    p.endsWith('/spec.md') ? 0 : p.endsWith('/spec-lite.md') ? 1 : p.endsWith('/tasks.md') ? 2 : 3;
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** The runs a finding names by key prefix, spec or session, in the order of the runs section. */
function runsOf(f: ReportedFinding, result: ScanResult): RunRecord[] {
  let index = runIndex.get(result);
  if (!index) runIndex.set(result, (index = indexRuns(result.runs?.items ?? [])));
  const s = f.subject;
  const hits = new Set<number>();
  for (const [map, k] of [
    [index.byPrefix, s.keyPrefix],
    [index.bySpec, s.spec],
    [index.bySession, s.session],
  ] as const) {
    if (k !== undefined) for (const i of map.get(k) ?? []) hits.add(i);
  }
  return [...hits].sort((a, b) => a - b).map((i) => index.items[i]);
}

interface RunIndex {
  items: RunRecord[];
  byPrefix: Map<string, number[]>;
  bySpec: Map<string, number[]>;
  bySession: Map<string, number[]>;
}
const runIndex = new WeakMap<ScanResult, RunIndex>();

function indexRuns(items: RunRecord[]): RunIndex {
  const add = (m: Map<string, number[]>, k: string | undefined, i: number) => {
    if (k === undefined) return;
    const list = m.get(k);
    if (!list) m.set(k, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  const index: RunIndex = { items, byPrefix: new Map(), bySpec: new Map(), bySession: new Map() };
  items.forEach((r, i) => {
    add(index.byPrefix, r.keyPrefix, i);
    add(index.bySpec, r.spec, i);
    for (const x of r.sessions) add(index.bySession, x.id, i);
  });
  return index;
}

function physical(a: Anchor) {
  return {
    artifactLocation: { uri: encodePath(a.path), uriBaseId: SRCROOT },
    region: { startLine: a.startLine, ...(a.endLine ? { endLine: a.endLine } : {}) },
  };
}

function encodePath(p: string): string {
  return p
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

function pathToFileUri(p: string, dir: boolean): string {
  const posix = p.replace(/\\/g, '/');
  const abs = posix.startsWith('/') ? posix : `/${posix}`;
  return `file://${encodePath(abs)}${dir && !abs.endsWith('/') ? '/' : ''}`;
}

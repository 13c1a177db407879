// Reading back a scan saved with `scan --format json`: checked to be a peer-audit scan of a version this
// release can render, so `report --from` fails with a clear message instead of rendering nonsense.
import { constants as fsConstants, promises as fs } from 'node:fs';
import { z } from 'zod';
import { JsonReader, JsonSyntaxError, lineAndColumn } from './json-reader.js';
import type { ScanResult } from './result.js';

// The .describe() texts document the format: `npm run docs` writes docs/formats.md's field tables from them.
const kvLoc = z
  .looseObject({
    kind: z.literal('kv'),
    bucket: z.string().describe('The KV bucket.'),
    key: z.string().describe('The key.'),
    revision: z.number().describe('The revision cited.'),
    pointer: z.string().optional().describe('JSON pointer into the value, e.g. "/phases/execute".'),
  })
  .describe('A KV key at a revision.');
const fileLoc = z
  .looseObject({
    kind: z.literal('file'),
    path: z.string().describe('Path relative to the project root (forward slashes).'),
    line: z.number().optional().describe('1-based line.'),
    endLine: z.number().optional().describe('Last line of a range.'),
    source: z
      .literal('files')
      .optional()
      .describe('`files`: a repository file read by `--files`; absent: a spec or product folder file.'),
  })
  .describe('A file (of a spec folder, the product folder, or `--files`).');
const logLocFields = {
  kind: z.literal('log'),
  path: z.string().describe('Transcript path, relative to the project root when inside it, else absolute.'),
  line: z.number().describe('1-based physical line in the JSONL file.'),
  timestamp: z.string().optional().describe("The record's time."),
};
const loc = z
  .discriminatedUnion('kind', [
    kvLoc,
    fileLoc,
    z
      .looseObject({ ...logLocFields, uuid: z.string().optional().describe("The record's uuid.") })
      .describe('A transcript line.'),
    z
      .looseObject({
        kind: z.literal('bucket'),
        bucket: z.string().describe('The bucket.'),
        origin: z.string().describe('Server URL or snapshot file the configuration was read from.'),
        field: z.string().optional().describe('The configuration field concerned, e.g. "history".'),
      })
      .describe('The bucket itself (its configuration).'),
  ])
  .describe('Where the evidence is: a KV key at a revision, a file line, a transcript line, or the bucket.');
const logLoc = z.looseObject(logLocFields).describe('A transcript line.');
const severity = z.enum(['error', 'warning', 'info']).describe('How serious the finding is.');
const rev = z.looseObject({
  revision: z.number().describe('The revision.'),
  created: z.string().describe('Its time.'),
  operation: z.string().describe('PUT, DEL or PURGE.'),
});

const tokenCounts = z
  .looseObject({
    input: z.number().describe('Input tokens not read from the cache (`usage.input_tokens`).'),
    output: z.number().describe('Output tokens (`usage.output_tokens`).'),
    cacheRead: z.number().describe('Input tokens read from the cache (`usage.cache_read_input_tokens`).'),
    cacheWrite: z.number().describe('Input tokens written to the cache (`usage.cache_creation_input_tokens`).'),
  })
  .describe('Tokens, each API response counted once.');
const costLine = {
  tokens: tokenCounts,
  wallMs: z.number().describe('Wall time in milliseconds.'),
  toolCalls: z.number().describe('Tool calls made (tool_use blocks, subagent spawns included).'),
  money: z
    .number()
    .optional()
    .describe('Cost in the configured currency; absent without prices, or when a model of the line has no price.'),
};
const runCost = z
  .looseObject({
    ...costLine,
    responses: z.number().describe('API responses counted.'),
    currency: z.string().optional().describe('The currency of `money` (when prices are configured).'),
    unpriced: z.array(z.string()).optional().describe('Models used with no configured price.'),
    phases: z
      .array(
        z.looseObject({
          phase: z
            .enum(['plan', 'execute', 'express', 'review', 'coordinator'])
            .describe('The PEER phase, or the coordinator (the main agent and subagents of no phase).'),
          agents: z.number().describe('Subagents counted under it.'),
          ...costLine,
        }),
      )
      .describe('Per phase that ran, then the coordinator; wall time of a phase: while its subagents ran.'),
    subagents: z
      .array(
        z.looseObject({
          agentType: z.string().describe('subagent_type of the spawn ("" when absent).'),
          phase: z.string().optional().describe('The PEER phase it is counted under; absent: the coordinator.'),
          location: logLoc.describe("The spawn's log line."),
          ...costLine,
        }),
      )
      .describe('Per subagent, in spawn order; wall time: from its spawn to its result.'),
    waste: z
      .looseObject({
        ...costLine,
        why: z.array(z.string()).describe('Which phases were repeated or ran after a skipped phase, in words.'),
      })
      .optional()
      .describe('What repeated phases, and phases that ran after a skipped one, cost.'),
  })
  .optional()
  .describe("What the run's transcripts cost; absent when the run has no transcripts.");

/** One run of the runs section: `report --from` checks each as it is read. */
export const runSchema = z.looseObject({
  id: z.string().describe('The run: its key prefix, else spec name, folder or session.'),
  folders: z
    .array(
      z.looseObject({
        path: z.string().describe('Spec folder, relative to the project root.'),
        files: z
          .array(
            z.looseObject({
              path: z.string().describe('File path.'),
              lines: z.number().describe('Line count.'),
              bytes: z.number().describe('Size in bytes.'),
              endsWithNewline: z.boolean().describe('Whether the file ends with a newline.'),
            }),
          )
          .describe("The folder's files."),
      }),
    )
    .describe("The run's spec folders."),
  meta: z
    .looseObject({
      key: z.string().describe('The meta key.'),
      revision: z.number().describe('Its latest revision.'),
      created: z.string().describe("That revision's time."),
      revisions: z.array(rev).describe('Every retained revision, with what it said.'),
    })
    .optional()
    .describe('The v1 meta key.'),
  cycles: z
    .array(
      z.looseObject({
        number: z.number().describe('Cycle number.'),
        key: z.string().describe('The cycle key.'),
        revision: z.number().describe('Latest revision.'),
        created: z.string().describe('Its time.'),
        phases: z
          .array(
            z.looseObject({
              name: z.enum(['plan', 'execute', 'express', 'review']).describe('The phase.'),
              status: z.string().describe('Normalised: completed, running, pending, failed, absent, unknown.'),
            }),
          )
          .describe('The four phases in order.'),
        revisions: z.array(rev).describe('Every retained revision, with the status and phases it held.'),
        claims: z
          .array(z.looseObject({ location: kvLoc, excerpt: z.string().describe('The statement.') }))
          .describe('Statements in the state that the cycle finished.'),
        signals: z
          .array(
            z.looseObject({
              location: kvLoc,
              excerpt: z.string().describe('The statement.'),
              what: z.string().describe('What it says, in words.'),
            }),
          )
          .describe('Statements in the state that it did not.'),
      }),
    )
    .describe("The run's cycles, ascending."),
  sessions: z
    .array(
      z.looseObject({
        id: z.string().describe('Session id.'),
        mainFile: z.string().describe("The session's main transcript file."),
        files: z.number().describe('How many files the session spans (subagent files included).'),
        corruptLines: z.number().describe('Corrupt lines skipped.'),
        events: z
          .array(
            z.looseObject({
              kind: z.string().describe('request, spawn, return, failed-call, claim, final-text or cut-off.'),
              location: logLoc,
              text: z.string().describe('One line, escaped.'),
            }),
          )
          .describe("The transcript's key events, in time order."),
      }),
    )
    .describe('Transcripts of the run.'),
  request: z
    .looseObject({ text: z.string().describe('The request, escaped and cut.'), location: logLoc })
    .optional()
    .describe('What the user asked for: the first human turn of the transcript.'),
  cost: runCost,
});

const runsSchema = z
  .looseObject({
    version: z.literal(1).describe('Version of the runs section.'),
    items: z
      .array(runSchema)
      .describe('One run: a key prefix, else a spec folder or a session, with what the report shows of it.'),
  })
  .describe(
    'The context of each run the findings are about, from which `report --from` renders timelines and summaries.',
  );

/** One source of the scan: `report --from` checks each as it is read. */
export const sourceSchema = z.looseObject({
  kind: z.string().describe('kv, kv-snapshot, specs, logs or files.'),
  ref: z.string().describe('What was asked for: server URL + bucket, snapshot path, spec root, log glob.'),
  ok: z.boolean().describe('False when the source could not be read at all, or evidence in it was lost.'),
  error: z.string().optional().describe('One line: why the source could not be read.'),
  absent: z
    .string()
    .optional()
    .describe('Set when there was nothing of this kind to read (e.g. no transcripts): what was found.'),
  stats: z
    .record(z.string(), z.number())
    .describe('Counts of what was read: keys, revisions, files, bytes, lines, records, sessions, …'),
  problems: z
    .array(
      z.looseObject({
        where: z.string().describe('File path, key, or other place the problem is at.'),
        line: z.number().optional().describe('Line, for a corrupt line.'),
        reason: z.string().describe('What is wrong.'),
      }),
    )
    .describe('Readable-but-damaged pieces (corrupt lines, unreadable files).'),
});

/** One finding: `report --from` checks each as it is read. */
export const findingSchema = z
  .looseObject({
    ruleId: z.string().describe('The rule that made the finding.'),
    severity,
    message: z.string().describe('What is wrong and where.'),
    subject: z
      .looseObject({
        spec: z.string().optional().describe('Spec name.'),
        cycle: z.number().optional().describe('Cycle number.'),
        keyPrefix: z.string().optional().describe('Key prefix of the run, e.g. peer.spec.<name>.'),
        folder: z.string().optional().describe('Spec folder path relative to the project root.'),
        session: z.string().optional().describe('Transcript session id.'),
      })
      .describe('What the finding is about.'),
    fingerprint: z.string().describe('Stable across runs: rule id + spec + cycle + target, never line text.'),
    evidence: z
      .array(
        z.looseObject({
          location: loc,
          excerpt: z.string().describe('A short, human-checkable quote of what is at the location.'),
          note: z.string().optional().describe('What this piece of evidence shows.'),
        }),
      )
      .describe('Where to look, each with a short excerpt.'),
  })
  .describe('One problem, with its evidence.');

const baselineSchema = z
  .looseObject({
    file: z.string().describe('The baseline file.'),
    matched: z.number().describe('Findings the baseline accepted (not in `findings`, not in `summary`).'),
    suppressed: z
      .array(
        z.looseObject({
          fingerprint: z.string().describe('The accepted finding.'),
          ruleId: z.string().describe('Its rule.'),
          severity: z.string().describe('Its severity.'),
          justification: z.string().describe("The team's reason for accepting it."),
        }),
      )
      .describe('Each accepted finding, with its justification.'),
    stale: z
      .array(
        z.looseObject({
          fingerprint: z.string().describe('The entry.'),
          ruleId: z.string().describe('Its rule.'),
          subject: z.string().optional().describe('What it was about.'),
          message: z.string().optional().describe('What it said.'),
        }),
      )
      .describe('Entries that no longer match any finding.'),
    unchecked: z.number().describe('Entries this scan could not judge (rule off, or its sources not read).'),
    accepted: z
      .array(findingSchema)
      .optional()
      .describe('The accepted findings in full, as in `findings`: SARIF lists them as unchanged and suppressed.'),
  })
  .describe('The baseline applied (`scan` and `report` with a peer-audit-baseline.json).');

export const savedScanSchema = z
  .looseObject({
    version: z.literal(1).describe('Format version. Version 1 only gains optional fields.'),
    tool: z
      .looseObject({
        name: z.literal('peer-audit'),
        version: z.string().describe('The peer-audit version that wrote the file.'),
      })
      .describe('The tool that wrote the file.'),
    generatedAt: z.string().describe('When the scan ran (ISO 8601).'),
    projectRoot: z.string().describe('Absolute path of the project root; file paths are relative to it.'),
    bucket: z.string().describe('The KV bucket audited.'),
    complete: z.boolean().describe('False when any requested source (or rule) failed.'),
    incompleteReasons: z.array(z.string()).describe('One line per failure.'),
    sources: z.array(sourceSchema).describe('What was read, what failed.'),
    summary: z
      .looseObject({
        errors: z.number().describe('Findings of severity error.'),
        warnings: z.number().describe('Findings of severity warning.'),
        infos: z.number().describe('Findings of severity info.'),
        redacted: z.number().optional().describe('How many secrets were masked (absent: none).'),
      })
      .describe('How many findings of each severity.'),
    findings: z.array(findingSchema).describe('What was found, each with evidence a person can open.'),
    runs: runsSchema.optional(),
    baseline: baselineSchema.optional(),
  })
  .describe('A scan saved with `scan --format json` (version 1), as `report --from` reads it.');

export class SavedScanError extends Error {}

/**
 * Reads and checks a saved JSON scan; throws SavedScanError with one line saying what is wrong (and where, for a
 * damaged file). The file is read as a stream: each source, finding and run is parsed and checked with its part of
 * the schema as it is read, so a scan of hundreds of megabytes is never one string, nor one document to check.
 */
export async function loadSavedScan(file: string): Promise<ScanResult> {
  try {
    await fs.access(file, fsConstants.R_OK);
  } catch (e) {
    throw new SavedScanError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const reader = new JsonReader(file);
  try {
    return await readSavedScan(file, reader);
  } catch (e) {
    // An error at the first character: the file is not JSON at all, rather than a damaged scan.
    if (e instanceof JsonSyntaxError) throw await syntaxProblem(file, e, e.offset <= (reader.start ?? e.offset));
    if (e instanceof SavedScanError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new SavedScanError(`cannot read ${file}: ${code}`);
    throw e;
  }
}

/** The top-level arrays read an item at a time, with the schema of their items. */
const STREAMED = {
  sources: { schema: sourceSchema, what: 'source' },
  findings: { schema: findingSchema, what: 'finding' },
} as const;

/** An item that failed its schema: reported at once, unless the top level may still turn out not to be version 1. */
interface ItemProblem {
  path: PropertyKey[];
  message: string;
  offset: number;
  what: string;
}

async function readSavedScan(file: string, r: JsonReader): Promise<ScanResult> {
  if ((await r.peek()) !== '{') {
    // Not an object: whatever it is, it is small or not JSON; the whole-document check words the error.
    const value = await r.value();
    await r.end();
    return checkSavedScan(value, file);
  }
  await r.expect('{', "'{'");
  const top: Record<string, unknown> = {};
  const arrays: Record<string, unknown[]> = {};
  let runItems: unknown[] | undefined;
  let runsIsArray = false;
  let problem: ItemProblem | undefined;
  const strings = new Map<string, string>();

  // A newer format or a SARIF file is said as soon as the top level shows it, before any item is judged.
  const early = () => {
    if ('version' in top || runsIsArray) topLevelChecks({ ...top, runs: runsIsArray ? [] : top.runs }, file);
  };
  const versionKnown = () => 'version' in top && 'tool' in top;
  const readItems = async (what: string, schema: z.ZodType, path: PropertyKey[]): Promise<unknown[]> => {
    const items: unknown[] = [];
    await r.expect('[', "'['");
    if ((await r.peek()) === ']') {
      await r.expect(']', "']'");
      return items;
    }
    for (;;) {
      await r.peek();
      const offset = r.offset; // where the item starts, after the white space before it
      const value = await r.value();
      if (!problem) {
        const parsed = schema.safeParse(value);
        if (parsed.success) items.push(intern(parsed.data, strings));
        else {
          const issue = parsed.error.issues[0];
          problem = { path: [...path, items.length, ...(issue?.path ?? [])], message: issue?.message, offset, what };
          if (versionKnown()) throw await itemProblem(file, problem);
        }
      }
      const c = await r.peek();
      if (c === ']') break;
      await r.expect(',', `',' or ']' after a ${what}`);
    }
    await r.expect(']', "']'");
    return items;
  };

  if ((await r.peek()) !== '}')
    for (;;) {
      const key = await r.key();
      const next = await r.peek();
      if (key in STREAMED && next === '[') {
        const { schema, what } = STREAMED[key as keyof typeof STREAMED];
        arrays[key] = await readItems(what, schema, [key]);
        setKey(top, key, []);
      } else if (key === 'runs' && next === '[') {
        // A SARIF file's runs: not built, only said to be an array.
        await r.skip();
        runsIsArray = true;
        setKey(top, key, []);
      } else if (key === 'runs' && next === '{') {
        runsIsArray = false;
        const runs: Record<string, unknown> = {};
        await r.expect('{', "'{'");
        if ((await r.peek()) !== '}')
          for (;;) {
            const k = await r.key();
            if (k === 'items' && (await r.peek()) === '[') {
              runItems = await readItems('run', runSchema, ['runs', 'items']);
              setKey(runs, k, []);
            } else setKey(runs, k, await r.value());
            if ((await r.peek()) === '}') break;
            await r.expect(',', "',' or '}' after a member of runs");
          }
        await r.expect('}', "'}'");
        setKey(top, key, runs);
      } else {
        if (key === 'runs') runsIsArray = false;
        setKey(top, key, await r.value());
        delete arrays[key];
      }
      if (key === 'version' || key === 'tool' || key === 'runs') early();
      if ((await r.peek()) === '}') break;
      await r.expect(',', "',' or '}' after a top-level member");
    }
  await r.expect('}', "'}'");
  await r.end();

  topLevelChecks(top, file);
  if (problem) throw await itemProblem(file, problem);
  // The top level, with the items already checked standing in as empty arrays.
  const result = checkSavedScan(top, file) as unknown as Record<string, unknown>;
  for (const [key, items] of Object.entries(arrays)) result[key] = items;
  if (runItems && result.runs) (result.runs as Record<string, unknown>).items = runItems;
  return result as unknown as ScanResult;
}

/** Short strings repeat across thousands of items (times, kinds, paths, names): one copy of each is kept. */
const INTERN_MAX = 100;

function intern<T>(value: T, table: Map<string, string>): T {
  if (typeof value === 'string') {
    if (value.length > INTERN_MAX) return value;
    const known = table.get(value);
    if (known !== undefined) return known as T;
    table.set(value, value);
    return value;
  }
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = intern(value[i], table);
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = intern(o[k], table);
      if (v !== o[k] && k !== '__proto__') o[k] = v;
    }
  }
  return value;
}

/** Sets a member the way JSON.parse does: an own property, even for "__proto__". */
function setKey(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

async function itemProblem(file: string, p: ItemProblem): Promise<SavedScanError> {
  const { line, column } = await lineAndColumn(file, p.offset);
  return new SavedScanError(
    `${file} is not a peer-audit scan: ${p.path.map(String).join('.')}: ${p.message} ` +
      `(the ${p.what} at line ${line}, column ${column})`,
  );
}

async function syntaxProblem(file: string, e: JsonSyntaxError, atStart: boolean): Promise<SavedScanError> {
  if (atStart)
    return new SavedScanError(
      `${file} is not a peer-audit scan: it is not JSON (save one with: peer-audit scan --format json -o ${file})`,
    );
  const { line, column } = await lineAndColumn(file, e.offset);
  if (e.truncated)
    return new SavedScanError(
      `${file} is cut off: it ends at line ${line}, column ${column}, before the JSON does ` +
        `(was the scan interrupted while it was saved? save it again with: peer-audit scan --format json -o ${file})`,
    );
  return new SavedScanError(
    `${file} is not a peer-audit scan: it is not valid JSON at line ${line}, column ${column}: ${e.reason}`,
  );
}

/** The checks that come before the schema: a SARIF file, a newer format version. */
function topLevelChecks(json: unknown, file: string): void {
  const o = json as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.version === '2.1.0' && Array.isArray(o.runs)) {
    throw new SavedScanError(`${file} is a SARIF file, not a peer-audit scan: save the scan with --format json`);
  }
  if (
    o &&
    typeof o === 'object' &&
    (o.tool as { name?: unknown } | undefined)?.name === 'peer-audit' &&
    o.version !== 1
  ) {
    throw new SavedScanError(
      `${file} is a peer-audit scan of format version ${JSON.stringify(o.version)}; this peer-audit reads version 1`,
    );
  }
}

/** Checks a whole saved scan already in memory. */
export function checkSavedScan(json: unknown, file: string): ScanResult {
  topLevelChecks(json, file);
  const parsed = savedScanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new SavedScanError(`${file} is not a peer-audit scan: ${where}: ${issue?.message ?? 'unexpected content'}`);
  }
  return parsed.data as unknown as ScanResult;
}

// Reading back a scan saved with `scan --format json`: checked to be a peer-audit scan of a version this
// release can render, so `report --from` fails with a clear message instead of rendering nonsense.
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { ScanResult } from './result.js';

const loc = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('kv'), bucket: z.string(), key: z.string(), revision: z.number(), pointer: z.string().optional() }),
  z.looseObject({ kind: z.literal('file'), path: z.string(), line: z.number().optional(), endLine: z.number().optional() }),
  z.looseObject({ kind: z.literal('log'), path: z.string(), line: z.number(), uuid: z.string().optional(), timestamp: z.string().optional() }),
  z.looseObject({ kind: z.literal('bucket'), bucket: z.string(), origin: z.string(), field: z.string().optional() }),
]);
const logLoc = z.looseObject({ kind: z.literal('log'), path: z.string(), line: z.number(), timestamp: z.string().optional() });
const kvLoc = z.looseObject({ kind: z.literal('kv'), bucket: z.string(), key: z.string(), revision: z.number(), pointer: z.string().optional() });
const severity = z.enum(['error', 'warning', 'info']);
const rev = z.looseObject({ revision: z.number(), created: z.string(), operation: z.string() });

const runsSchema = z.looseObject({
  version: z.literal(1),
  items: z.array(
    z.looseObject({
      id: z.string(),
      folders: z.array(
        z.looseObject({
          path: z.string(),
          files: z.array(z.looseObject({ path: z.string(), lines: z.number(), bytes: z.number(), endsWithNewline: z.boolean() })),
        }),
      ),
      meta: z.looseObject({ key: z.string(), revision: z.number(), created: z.string(), revisions: z.array(rev) }).optional(),
      cycles: z.array(
        z.looseObject({
          number: z.number(),
          key: z.string(),
          revision: z.number(),
          created: z.string(),
          phases: z.array(z.looseObject({ name: z.enum(['plan', 'execute', 'express', 'review']), status: z.string() })),
          revisions: z.array(rev),
          claims: z.array(z.looseObject({ location: kvLoc, excerpt: z.string() })),
          signals: z.array(z.looseObject({ location: kvLoc, excerpt: z.string(), what: z.string() })),
        }),
      ),
      sessions: z.array(
        z.looseObject({
          id: z.string(),
          mainFile: z.string(),
          files: z.number(),
          corruptLines: z.number(),
          events: z.array(z.looseObject({ kind: z.string(), location: logLoc, text: z.string() })),
        }),
      ),
      request: z.looseObject({ text: z.string(), location: logLoc }).optional(),
    }),
  ),
});

export const savedScanSchema = z.looseObject({
  version: z.literal(1),
  tool: z.looseObject({ name: z.literal('peer-audit'), version: z.string() }),
  generatedAt: z.string(),
  projectRoot: z.string(),
  bucket: z.string(),
  complete: z.boolean(),
  incompleteReasons: z.array(z.string()),
  sources: z.array(
    z.looseObject({
      kind: z.string(),
      ref: z.string(),
      ok: z.boolean(),
      error: z.string().optional(),
      absent: z.string().optional(),
      stats: z.record(z.string(), z.number()),
      problems: z.array(z.looseObject({ where: z.string(), line: z.number().optional(), reason: z.string() })),
    }),
  ),
  summary: z.looseObject({ errors: z.number(), warnings: z.number(), infos: z.number(), redacted: z.number().optional() }),
  findings: z.array(
    z.looseObject({
      ruleId: z.string(),
      severity,
      message: z.string(),
      subject: z.looseObject({
        spec: z.string().optional(),
        cycle: z.number().optional(),
        keyPrefix: z.string().optional(),
        folder: z.string().optional(),
        session: z.string().optional(),
      }),
      fingerprint: z.string(),
      evidence: z.array(z.looseObject({ location: loc, excerpt: z.string(), note: z.string().optional() })),
    }),
  ),
  runs: runsSchema.optional(),
});

export class SavedScanError extends Error {}

/** Reads and checks a saved JSON scan; throws SavedScanError with one line saying what is wrong. */
export async function loadSavedScan(file: string): Promise<ScanResult> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new SavedScanError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SavedScanError(`${file} is not a peer-audit scan: it is not JSON (save one with: peer-audit scan --format json -o ${file})`);
  }
  return checkSavedScan(json, file);
}

export function checkSavedScan(json: unknown, file: string): ScanResult {
  const o = json as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.version === '2.1.0' && Array.isArray(o.runs)) {
    throw new SavedScanError(`${file} is a SARIF file, not a peer-audit scan: save the scan with --format json`);
  }
  if (o && typeof o === 'object' && (o.tool as { name?: unknown } | undefined)?.name === 'peer-audit' && o.version !== 1) {
    throw new SavedScanError(`${file} is a peer-audit scan of format version ${JSON.stringify(o.version)}; this peer-audit reads version 1`);
  }
  const parsed = savedScanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new SavedScanError(`${file} is not a peer-audit scan: ${where}: ${issue?.message ?? 'unexpected content'}`);
  }
  return parsed.data as unknown as ScanResult;
}

// What a repair journal holds: its zod schema and types. Writing and loading it is repair's (src/repair/journal.ts);
// reports read it too, so the format lives in the model.
import { z } from 'zod';

export const JOURNAL_FORMAT = 'peer-audit-journal/1';

const base = {
  why: z.array(z.string()),
  rules: z.array(z.string()),
  status: z.enum(['planned', 'applying', 'applied', 'conflict', 'failed', 'undone']),
  error: z.string().optional(),
};

export const kvChangeSchema = z.object({
  kind: z.literal('kv'),
  key: z.string(),
  /** Revision the plan was made from; 0 when the key did not exist. */
  revisionSeen: z.number().int().nonnegative(),
  /** Exact bytes before (base64); null when the key did not exist. */
  before_b64: z.string().nullable(),
  after_b64: z.string(),
  revisionWritten: z.number().int().positive().optional(),
  revisionRestored: z.number().int().positive().optional(),
  ...base,
});

export const fileChangeSchema = z.object({
  kind: z.literal('file'),
  /** Path relative to the project root. */
  path: z.string(),
  sha256Before: z.string(),
  sha256After: z.string(),
  before_b64: z.string(),
  after_b64: z.string(),
  ...base,
});

export const journalSchema = z.object({
  format: z.literal(JOURNAL_FORMAT),
  id: z.string(),
  command: z.enum(['repair', 'reopen', 'undo']),
  createdAt: z.string(),
  reason: z.string(),
  actor: z.string(),
  projectRoot: z.string(),
  bucket: z.string(),
  server: z.string().nullable(),
  changes: z.array(z.discriminatedUnion('kind', [kvChangeSchema, fileChangeSchema])),
});

export type KvChange = z.infer<typeof kvChangeSchema>;
export type FileChange = z.infer<typeof fileChangeSchema>;
export type Change = KvChange | FileChange;
export type Journal = z.infer<typeof journalSchema>;

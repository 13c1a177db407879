// The config file itself: its schema (zod) and reading one with every problem said. Loaded only when a config file
// is in use (config.ts finds it), so commands run without one do not load the schema library.
import { isUtf8 } from 'node:buffer';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { closest } from './suggest.js';
import { displayPath, SEVERITY_SETTINGS } from './config.js';

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  rules: z.record(z.string(), z.enum(SEVERITY_SETTINGS)).optional(),
  ruleOptions: z
    .strictObject({
      staleAfter: z.string().regex(DURATION, { error: 'expected a duration such as 6h, 90m or 2d' }).optional(),
      expectReplicas: z.number().int().min(1).optional(),
      expectHistory: z.number().int().min(1).optional(),
    })
    .optional(),
  prices: z
    .strictObject({
      currency: z.string().min(1),
      models: z.record(
        z.string().min(1),
        z.strictObject({
          input: z.number().min(0),
          output: z.number().min(0),
          cacheRead: z.number().min(0),
          cacheWrite: z.number().min(0),
        }),
      ),
    })
    .optional(),
  sources: z
    .strictObject({
      server: z.string().min(1).optional(),
      bucket: z
        .string()
        .regex(/^[-\w]+$/, { error: 'expected a bucket name (letters, digits, "-" and "_")' })
        .optional(),
      project: z.string().min(1).optional(),
      specs: z.string().min(1).optional(),
      logs: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
      files: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
      allRuns: z.boolean().optional(),
      allowUnknownKeys: z.boolean().optional(),
    })
    .optional(),
});

export type PeerAuditConfig = z.infer<typeof configSchema>;

function describeInput(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Known setting names at each level, for "did you mean". */
const KNOWN_KEYS: Record<string, string[]> = {
  '': ['$schema', 'rules', 'ruleOptions', 'prices', 'sources'],
  prices: ['currency', 'models'],
  ruleOptions: ['staleAfter', 'expectReplicas', 'expectHistory'],
  sources: ['server', 'bucket', 'project', 'specs', 'logs', 'files', 'allRuns', 'allowUnknownKeys'],
};

/** One line per problem: `<where>: <what>`. */
export function describeIssues(issues: z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const where = issue.path.map(String).join('.');
    const at = (p: string) => (p ? `${p}: ` : '');
    switch (issue.code) {
      case 'invalid_value':
        lines.push(`${at(where)}expected one of ${issue.values.map(String).join('|')}`);
        break;
      case 'invalid_type':
        lines.push(
          `${at(where)}expected ${issue.expected === 'int' ? 'a whole number' : issue.expected}, ` +
            `got ${describeInput(issue.input)}`,
        );
        break;
      case 'unrecognized_keys':
        for (const k of issue.keys) {
          const hint = closest(k, KNOWN_KEYS[where] ?? []);
          lines.push(`${at(where ? `${where}.${k}` : k)}unknown setting${hint ? ` (did you mean ${hint}?)` : ''}`);
        }
        break;
      case 'invalid_union':
        lines.push(`${at(where)}expected a string or a list of strings`);
        break;
      case 'too_small':
        lines.push(
          at(where) + (issue.origin === 'string' ? 'must not be empty' : `expected at least ${String(issue.minimum)}`),
        );
        break;
      default:
        lines.push(`${at(where)}${issue.message}`);
    }
  }
  return lines;
}

/** Read and validate a config file. Throws ConfigError (exit 2) with the path and every problem. */
export async function loadConfigFile(
  file: string,
  knownRuleIds: string[] | (() => Promise<string[]>),
): Promise<PeerAuditConfig> {
  const shown = displayPath(file);
  const fail = (lines: string[]): never => {
    throw new ConfigError(lines.map((l) => `${shown}: ${l}`).join('\n'));
  };
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    return fail([`cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  if (!isUtf8(buf)) return fail(['not valid UTF-8']);
  const text = buf.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return fail([`not valid JSON: ${(e as Error).message.replace(/[\u0000-\u001f]+/g, ' ')}`]);
  }
  const parsed = configSchema.safeParse(json, { reportInput: true });
  const lines = parsed.success ? [] : describeIssues(parsed.error.issues);
  // Unknown rule ids are checked even when something else is wrong too: every problem in one go.
  const rules = (json as { rules?: unknown } | null)?.rules;
  const ids = rules !== null && typeof rules === 'object' && !Array.isArray(rules) ? Object.keys(rules) : [];
  // The rule modules are loaded only when there are rule ids to check.
  const ruleIds = ids.length === 0 ? [] : Array.isArray(knownRuleIds) ? knownRuleIds : await knownRuleIds();
  for (const id of ids.filter((i) => !ruleIds.includes(i))) {
    const hint = closest(id, ruleIds);
    lines.push(
      `rules.${id}: unknown rule id${hint ? ` (did you mean ${hint}?)` : ''}; \`peer-audit rules\` lists them`,
    );
  }
  if (lines.length > 0 || !parsed.success) return fail(lines.sort());
  return parsed.data;
}

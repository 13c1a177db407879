// The official SARIF 2.1.0 schema (2.1.0-rtm.5, the released version, as Microsoft's SARIF test matchers ship it),
// compiled once with ajv.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { REPO } from './cli.js';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export const SARIF_SCHEMA_FILE = path.join(
  REPO,
  'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
);

export async function loadSarifSchema(): Promise<{ schema: Record<string, unknown>; validate: ValidateFunction }> {
  const schema = JSON.parse(await fs.readFile(SARIF_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  const { id, $schema: _draft, ...rest } = schema;
  // The schema declares draft-04. Nothing in it means something else under draft-07 (boolean exclusiveMinimum/Maximum
  // would; sarif.test.ts checks): only its two header fields need the draft-07 spelling. One pattern in it ("…]?$")
  // is not valid in unicode mode; JSON Schema regexes are ECMA-262 without it.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile({ $schema: 'http://json-schema.org/draft-07/schema#', $id: id as string, ...rest });
  return { schema, validate };
}

// A field table (path, type, required, description) from a zod schema, by way of z.toJSONSchema(): the same
// schema that reads a format documents it.
import { z } from 'zod';
import { cell } from './blocks.js';

type Json = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  description?: string;
  properties?: Record<string, Json>;
  required?: string[];
  items?: Json;
  anyOf?: Json[];
  oneOf?: Json[];
  additionalProperties?: Json | boolean;
};

interface Row {
  path: string;
  type: string;
  required: boolean;
  description: string;
}

const isNull = (s: Json) => s.type === 'null';

/** The variants of a union, null left out (it shows as "or null" in the type). */
function variants(s: Json): Json[] {
  return (s.anyOf ?? s.oneOf ?? []).filter((v) => !isNull(v));
}

function nullable(s: Json): boolean {
  return (Array.isArray(s.type) && s.type.includes('null')) || (s.anyOf ?? s.oneOf ?? []).some((v) => isNull(v));
}

function typeOf(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const vs = variants(s);
  if (vs.length === 1) return typeOf(vs[0]);
  if (vs.length > 1) {
    const kinds = vs.map((v) => v.properties?.kind?.const).filter((k) => k !== undefined);
    if (kinds.length === vs.length) return `object, by kind: ${kinds.map((k) => JSON.stringify(k)).join(' | ')}`;
    return vs.map(typeOf).join(' | ');
  }
  const types = (Array.isArray(s.type) ? s.type : [s.type ?? 'any']).filter((t) => t !== 'null');
  if (types.length === 1 && types[0] === 'array') return s.items ? `array of ${typeOf(s.items)}` : 'array';
  if (types.length === 1 && types[0] === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
    return `object of ${typeOf(s.additionalProperties)}`;
  }
  return types.join(' | ');
}

/** The object a field holds, directly, inside an array, or as the single non-null variant of a union. */
function inner(s: Json): { schema: Json; suffix: string } | undefined {
  const vs = variants(s);
  if (vs.length === 1) return inner(vs[0]);
  if (s.items) {
    const i = inner(s.items);
    return i && { schema: i.schema, suffix: `[]${i.suffix}` };
  }
  if (s.properties || vs.length > 1) return { schema: s, suffix: '' };
  return undefined;
}

function walk(s: Json, prefix: string, rows: Row[]): void {
  const vs = variants(s);
  if (vs.length > 1) {
    // A union of objects told apart by `kind`: each variant's fields, under its kind.
    for (const v of vs) {
      const kind = v.properties?.kind?.const;
      walk(v, kind === undefined ? prefix : `${prefix}{kind=${String(kind)}}`, rows);
    }
    return;
  }
  for (const [name, field] of Object.entries(s.properties ?? {})) {
    if (name === 'kind' && field.const !== undefined && prefix.endsWith('}')) continue; // said by the path
    const path = prefix ? `${prefix}.${name}` : name;
    const required = (s.required ?? []).includes(name);
    const type = typeOf(field) + (nullable(field) ? ' or null' : '');
    const vs = variants(field);
    const description = field.description ?? (vs.length === 1 ? vs[0].description : undefined) ?? '';
    rows.push({ path, type, required, description });
    const sub = inner(field);
    if (sub) walk(sub.schema, path + sub.suffix, rows);
  }
}

/** The Markdown table of every field the schema names, depth first, in the schema's order. */
export function fieldTable(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Json;
  const rows: Row[] = [];
  walk(json, '', rows);
  const lines = rows.map(
    (r) => `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.description)} |`,
  );
  return ['| field | type | required | description |', '|---|---|---|---|', ...lines].join('\n');
}

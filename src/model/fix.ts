// Fixes are data: rules describe the change, the repair planner turns it into exact bytes.

/** A change to one field of a JSON value, addressed by JSON pointer. */
export type JsonOp = { op: 'set'; path: string; value: unknown } | { op: 'remove'; path: string };

export type Fix =
  | {
      kind: 'kv-json';
      key: string;
      /** The revision the rule judged; the repair refuses to apply a fix to any other. */
      revision: number;
      ops: JsonOp[];
      why: string;
    }
  | {
      kind: 'kv-text';
      key: string;
      /** 0 when the key does not exist yet. */
      revision: number;
      value: string;
      why: string;
    }
  | {
      kind: 'file-lines';
      /** Project-relative path. */
      path: string;
      /** Each line (1-based) is replaced by `keep`; an empty `keep` removes the line. */
      edits: { line: number; keep: string }[];
      why: string;
    };

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function pointerOf(...tokens: (string | number)[]): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export function getAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of parsePointer(pointer)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[t];
  }
  return cur;
}

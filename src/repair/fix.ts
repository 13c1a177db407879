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

/** Applies ops to a deep copy; creates missing objects on the way for `set`. Returns the copy. */
export function applyOps(doc: unknown, ops: JsonOp[]): unknown {
  const root = structuredClone(doc);
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    if (tokens.length === 0) throw new Error('cannot replace the whole value with a JSON op');
    let cur = root as Record<string, unknown>;
    for (const t of tokens.slice(0, -1)) {
      if (cur[t] === null || typeof cur[t] !== 'object') {
        if (op.op === 'remove') {
          cur = undefined as unknown as Record<string, unknown>;
          break;
        }
        cur[t] = {};
      }
      cur = cur[t] as Record<string, unknown>;
    }
    if (!cur) continue;
    const last = tokens[tokens.length - 1];
    if (op.op === 'set') cur[last] = structuredClone(op.value);
    else if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  }
  return root;
}

/** Applies line edits to text, keeping its line endings; a removed last line leaves a final newline. */
export function applyLineEdits(text: string, edits: { line: number; keep: string }[]): string {
  const parts = text.split('\n');
  const byLine = new Map(edits.map((e) => [e.line, e.keep]));
  const out: string[] = [];
  let removedLast = false;
  parts.forEach((p, i) => {
    const line = i + 1;
    if (!byLine.has(line)) {
      out.push(p);
      return;
    }
    const keep = byLine.get(line)!;
    const cr = p.endsWith('\r') ? '\r' : '';
    if (keep === '') {
      if (i === parts.length - 1) removedLast = true;
      return;
    }
    out.push(keep + cr);
  });
  let result = out.join('\n');
  if (removedLast && result !== '' && !result.endsWith('\n')) result += '\n';
  return result;
}

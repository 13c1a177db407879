// Applying fixes: the repair planner turns a fix's ops and line edits into new bytes.
import { parsePointer, type JsonOp } from '../model/fix.js';

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

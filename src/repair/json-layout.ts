// A rewritten value keeps the layout its writer chose: compact stays compact, `jq` output stays indented
// (with its indent), a trailing newline stays, CRLF stays.

export interface JsonLayout {
  /** Indent of the first nested line ("" for compact JSON). */
  indent: string;
  finalNewline: boolean;
  crlf: boolean;
}

export const COMPACT: JsonLayout = { indent: '', finalNewline: false, crlf: false };

const dec = new TextDecoder();

export function layoutOf(bytes: Uint8Array | string | null | undefined): JsonLayout {
  if (bytes === null || bytes === undefined) return COMPACT;
  const text = typeof bytes === 'string' ? bytes : dec.decode(bytes);
  // The first line break inside the value, followed by the indent of the first member.
  const m = /^\s*[{[]\r?\n([ \t]+)\S/.exec(text);
  return { indent: m ? m[1] : '', finalNewline: /\n$/.test(text), crlf: /\r\n/.test(text) };
}

export function formatJson(value: unknown, layout: JsonLayout): string {
  let text = JSON.stringify(value, null, layout.indent || undefined);
  if (layout.crlf) text = text.replace(/\n/g, '\r\n');
  if (layout.finalNewline) text += layout.crlf ? '\r\n' : '\n';
  return text;
}

/**
 * A v2 counter: the new number in the old one's place, keeping quotes and newline. With no old value, what
 * PEER itself writes: `echo "$CYCLE_NUMBER" | nats kv put` (HEAD instructions/core/peer.md L257-259), "N\n".
 */
export function formatCounter(before: Uint8Array | null, n: number): string {
  const old = before ? dec.decode(before) : undefined;
  const m = old === undefined ? null : /^(\s*"?)\d+("?\s*)$/.exec(old);
  return m ? `${m[1]}${n}${m[2]}` : `${n}\n`;
}

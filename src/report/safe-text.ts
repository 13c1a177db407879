// Text from logs, files and KV values is shown to people: control characters are made visible, never executed.

/** Escapes C0/C1 control characters (ESC included) and DEL; keeps tabs as \t and newlines as \n. */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    switch (ch) {
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      case '\r':
        return '\\r';
      default: {
        const c = ch.charCodeAt(0);
        return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/** One-line, escaped, bounded excerpt. */
export function excerptOf(s: string, max = 160): string {
  const e = escapeControl(s);
  return e.length > max ? `${e.slice(0, max - 1)}…` : e;
}

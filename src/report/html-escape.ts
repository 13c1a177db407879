// Text from the evidence placed in HTML: control and invisible characters made visible (as in every other
// format), then the five characters HTML reads as markup written as entities. The same escape serves text and
// quoted attribute values, so no evidence string can open a tag, close one, end an attribute or start an entity.
// Evidence never goes into a script, a style, a URL or an unquoted attribute: the report puts none there.
import { escapeControl } from '../model/text.js';

const SPECIAL = /[&<>"']/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** One line of text for HTML text or a quoted attribute: controls escaped, markup characters as entities. */
export function esc(s: string): string {
  return escapeControl(s).replace(SPECIAL, (c) => ENTITY[c]);
}

/** Lines for a <pre>: each escaped as `esc` does, the line breaks between them kept. */
export function escLines(s: string | string[]): string {
  return (Array.isArray(s) ? s : s.split('\n')).map(esc).join('\n');
}

/** A number for HTML text (a count from a saved scan could be anything: it is written through `esc` too). */
export function num(n: number): string {
  return esc(Number.isFinite(n) ? n.toLocaleString('en-US') : String(n));
}

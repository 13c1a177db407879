// Generated blocks: the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` belongs to the
// generator; everything around it is written by hand.

const BLOCK = /<!-- generated:([a-z0-9-]+) -->([\s\S]*?)<!-- \/generated:\1 -->/g;

/**
 * Replaces the content of every generated block in `text` with what `render` gives for its name. A block
 * written on one line stays on one line; a block on lines of its own gets the content on lines of its own.
 * Throws when the file names a block the generator does not know, or lacks one it must hold.
 */
export function fillBlocks(text: string, file: string, render: Record<string, string>): string {
  const seen = new Set<string>();
  const out = text.replace(BLOCK, (_whole, name: string, old: string) => {
    const content = render[name];
    if (content === undefined) throw new Error(`${file}: no generator for the block "${name}"`);
    seen.add(name);
    const body = old.includes('\n') ? `\n${content.replace(/\n$/, '')}\n` : content;
    return `<!-- generated:${name} -->${body}<!-- /generated:${name} -->`;
  });
  const missing = Object.keys(render).filter((n) => !seen.has(n));
  if (missing.length > 0) {
    throw new Error(`${file}: the markers of ${missing.map((n) => `"${n}"`).join(', ')} are missing`);
  }
  return out;
}

/** Escapes text for one cell of a Markdown table. */
export function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

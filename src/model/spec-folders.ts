// What a spec folder's surroundings say about it: entries that exist but could not be read, and the recap that
// complete-tasks writes when a spec is done.
import type { SpecData, SpecFile, SpecFolder } from './types.js';

/**
 * True when `name` (relative to the folder) exists in some form but was not read: the entry itself, a folder above
 * it that could not be listed, or the whole folder. Such a file is never missing.
 */
export function unreadInFolder(folder: SpecFolder, name: string): boolean {
  return (folder.unread ?? []).some((u) => u === '' || u === name || name.startsWith(`${u}/`));
}

const DATED = /^\d{4}-\d{2}-\d{2}-/;
/** Words a recap's name may add after the spec's name (`v1-4-1-migration-completion`). */
const RECAP_SUFFIX = /^-(recap|completion|complete|completed|summary|done)$/;

const recapCache = new WeakMap<SpecData, Map<string, SpecFile[]>>();

/** Recaps by the name they are filed under: the file name without `.md`, and that name without its date. */
function recapIndex(specs: SpecData): Map<string, SpecFile[]> {
  let index = recapCache.get(specs);
  if (index) return index;
  index = new Map();
  const add = (k: string, f: SpecFile) => {
    const list = index!.get(k);
    if (list) {
      if (!list.includes(f)) list.push(f);
    } else index!.set(k, [f]);
  };
  for (const f of specs.recaps ?? []) {
    const base = (f.name.split('/').pop() ?? '').replace(/\.(md|markdown)$/i, '');
    add(base, f);
    add(base.replace(DATED, ''), f);
    const suffix = /-[a-z]+$/.exec(base.replace(DATED, ''));
    if (suffix && RECAP_SUFFIX.test(suffix[0])) add(base.replace(DATED, '').slice(0, -suffix[0].length), f);
  }
  recapCache.set(specs, index);
  return index;
}

/**
 * The recap of a spec folder, with the line that ties it to the folder: a recap filed under the folder's name (with
 * or without its date, or with a word like "completion" after it), or one whose text names the folder.
 */
export function recapOf(
  specs: SpecData | undefined,
  folder: SpecFolder,
): { file: SpecFile; line?: number } | undefined {
  if (!specs?.recaps?.length) return undefined;
  const index = recapIndex(specs);
  const named = index.get(folder.folderName)?.[0] ?? index.get(folder.slug)?.[0];
  if (named) return { file: named };
  for (const f of specs.recaps) {
    if (!f.text.includes(folder.folderName)) continue;
    const i = f.lines.findIndex((l) => l.includes(folder.folderName));
    return { file: f, line: i >= 0 ? i + 1 : undefined };
  }
  return undefined;
}

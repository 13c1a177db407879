import path from 'node:path';

/** Forward-slash path relative to the project root when inside it, else absolute. */
export function displayPath(absPath: string, projectRoot: string): string {
  const rel = path.relative(projectRoot, absPath);
  if (rel === '') return '.';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return absPath.split(path.sep).join('/');
  return rel.split(path.sep).join('/');
}

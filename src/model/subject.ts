import type { Run } from './build.js';
import type { Subject } from './types.js';

export function runSubject(run: Run, cycle?: number): Subject {
  const s: Subject = {};
  if (run.spec) s.spec = run.spec;
  if (run.prefix) s.keyPrefix = run.prefix;
  if (run.folders.length === 1) s.folder = run.folders[0].path;
  if (cycle !== undefined) s.cycle = cycle;
  return s;
}

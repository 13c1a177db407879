import type { Location } from '../model/types.js';

/** How a location is written for people: something they can open or query. */
export function formatLocation(l: Location): string {
  switch (l.kind) {
    case 'kv':
      return `${l.key}@${l.revision}${l.pointer ?? ''}`;
    case 'file':
      return l.line !== undefined
        ? `${l.path}:${l.line}${l.endLine !== undefined && l.endLine !== l.line ? `-${l.endLine}` : ''}`
        : l.path;
    case 'log':
      return `${l.path}:${l.line}`;
    case 'bucket':
      return `bucket ${l.bucket}${l.field ? ` ${l.field}` : ''} (${l.origin})`;
  }
}

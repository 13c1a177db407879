// Which KV keys a subject filter takes: NATS subject matching, `*` one token and `>` every remaining token.
import type { KvData } from '../model/types.js';

/** Does `key` match the subject `filter` (`peer.spec.x.>`, `peer.*.x.meta`)? */
export function subjectMatches(filter: string, key: string): boolean {
  const f = filter.split('.');
  const k = key.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return k.length > i;
    if (i >= k.length || (f[i] !== '*' && f[i] !== k[i])) return false;
  }
  return f.length === k.length;
}

/** The data with only the keys some filter matches; undefined filters: all of it. */
export function keepKeys(data: KvData, filters: string[] | undefined): KvData {
  if (!filters) return data;
  const keys = new Map([...data.keys].filter(([key]) => filters.some((f) => subjectMatches(f, key))));
  return { ...data, keys };
}

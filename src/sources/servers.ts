// A NATS server list as given (flags, NATS_URL, a context): split, userinfo pulled out, and the form shown in
// messages. Kept apart from kv.ts so that showing a server needs no NATS client loaded.

export interface ParsedServers {
  /** host:port entries for the client (scheme and userinfo removed). */
  hostPorts: string[];
  /** What to show in messages and report refs: the URLs as given, without userinfo. */
  display: string;
  user?: string;
  pass?: string;
  token?: string;
}

function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Split a comma-separated server list, strip schemes, and pull `user:pass@` / `token@` userinfo out. */
export function parseServerList(servers: string): ParsedServers {
  const hostPorts: string[] = [];
  const shown: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  let sawUserinfo = false;
  for (const raw of servers.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(part)?.[0] ?? '';
    const rest = part.slice(scheme.length);
    const end = rest.search(/[/?#]/);
    const authority = end === -1 ? rest : rest.slice(0, end);
    const at = authority.lastIndexOf('@');
    const host = at === -1 ? authority : authority.slice(at + 1);
    if (at !== -1 && !sawUserinfo) {
      // The first URL that carries userinfo decides; the client itself ignores userinfo entirely.
      sawUserinfo = true;
      const info = authority.slice(0, at);
      const colon = info.indexOf(':');
      if (colon === -1) {
        token = decodePart(info);
      } else {
        user = decodePart(info.slice(0, colon));
        pass = decodePart(info.slice(colon + 1));
      }
    }
    if (host === '') continue;
    hostPorts.push(host);
    shown.push(scheme + host);
  }
  return { hostPorts, display: shown.join(','), user, pass, token };
}

/** The server list as it may appear in messages: userinfo removed, so secrets never reach a report. */
export function displayServers(servers: string): string {
  const d = parseServerList(servers).display;
  return d === '' ? servers.trim() : d;
}

// "Did you mean …?": the closest known name to a misspelled flag, rule or config key.
/** Edit distance where swapping two neighbouring letters counts as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate within a few edits, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * yargs' "Unknown argument(s): formt" with a hint for each misspelled flag: "(did you mean --format?)".
 * `known` holds the option names of the command that failed.
 */
export function withFlagHints(msg: string, known: string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const names = known.filter((k) => k.length > 1 && !/[A-Z$]/.test(k));
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  // yargs lists a misspelled --max-warning twice (as max-warning and maxWarning): once is enough.
  const args = [...new Set(m[1].split(', ').map((a) => kebab(a.replace(/=.*$/, ''))))];
  const parts = args.map((arg) => {
    const flag = arg.replace(/^-+/, '');
    const hint = closest(flag, names);
    return hint && hint !== flag ? `${arg} (did you mean --${hint}?)` : arg;
  });
  return `Unknown argument${parts.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

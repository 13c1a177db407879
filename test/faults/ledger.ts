// Counts the faults the suite injects, how many were handled as specified, and how many values were lost.
// A fault counts as handled only when every assertion about it passed; values lost are counted from what the
// stores hold afterwards (a key or file that is neither wholly old nor wholly new, a report cut short in place,
// a write the journal calls done that is not there).

export interface LedgerEntry {
  fault: string;
  handled: boolean;
  lost: number;
}

const entries: LedgerEntry[] = [];

/**
 * Runs one fault: `inject` returns the number of values lost; it throws when the fault was not handled as
 * specified. The fault is recorded either way, and the error is rethrown so the test fails.
 */
export async function fault(name: string, inject: () => Promise<number | void>): Promise<void> {
  const entry: LedgerEntry = { fault: name, handled: false, lost: 0 };
  entries.push(entry);
  const lost = (await inject()) ?? 0;
  entry.lost = lost;
  entry.handled = lost === 0;
  if (lost > 0) throw new Error(`${name}: ${lost} value(s) lost`);
}

export function summaryLine(): string {
  const handled = entries.filter((e) => e.handled).length;
  const lost = entries.reduce((n, e) => n + e.lost, 0);
  return `faults: ${entries.length} injected, ${handled} handled as specified, ${lost} values lost`;
}

export function ledger(): readonly LedgerEntry[] {
  return entries;
}

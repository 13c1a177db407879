// How many inputs each property test generates. The defaults keep `npm test` to seconds;
// PEER_AUDIT_FUZZ_RUNS=100000 runs long; PEER_AUDIT_FUZZ_SEED and PEER_AUDIT_FUZZ_PATH replay a reported failure.
import fc from 'fast-check';

const envRuns = Number(process.env.PEER_AUDIT_FUZZ_RUNS ?? '');
const envSeed = process.env.PEER_AUDIT_FUZZ_SEED;

/** Runs for one property: the default, or PEER_AUDIT_FUZZ_RUNS when set. */
export function runs(defaultRuns: number): number {
  return Number.isFinite(envRuns) && envRuns > 0 ? Math.floor(envRuns) : defaultRuns;
}

/** fast-check parameters for a property with `defaultRuns` runs by default. */
export function params(defaultRuns: number): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = { numRuns: runs(defaultRuns) };
  if (envSeed !== undefined && envSeed !== '') p.seed = Number(envSeed);
  // With the seed, the path fast-check printed replays the one failing case.
  if (p.seed !== undefined && process.env.PEER_AUDIT_FUZZ_PATH) p.path = process.env.PEER_AUDIT_FUZZ_PATH;
  return p;
}

/** Long runs need a longer vitest timeout: about 5 ms per run for file-based properties, never below 60 s. */
export function timeoutFor(defaultRuns: number, msPerRun = 5): number {
  return Math.max(60_000, runs(defaultRuns) * msPerRun * 2);
}

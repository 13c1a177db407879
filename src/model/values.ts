// Reading decoded JSON: one definition of the small type guards every layer uses on values of unknown shape.

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

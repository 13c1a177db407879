import type { ScanResult } from './result.js';
import { safeJson } from './safe-text.js';

export function formatJson(result: ScanResult): string {
  return `${safeJson(result)}\n`;
}

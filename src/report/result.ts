import type { Finding, Severity, SourceReport } from '../model/types.js';
import { SEVERITY_RANK } from '../model/types.js';

/** The versioned scan result: the JSON output, and what every other format is rendered from. */
export interface ScanResult {
  version: 1;
  tool: { name: 'peer-audit'; version: string };
  generatedAt: string;
  projectRoot: string;
  bucket: string;
  /** True only when every requested source was read in full and every rule ran. */
  complete: boolean;
  /** Why the scan is incomplete, one line each. */
  incompleteReasons: string[];
  sources: SourceReport[];
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
}

export function summarise(findings: Finding[]): ScanResult['summary'] {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}

/** 0: complete and nothing at or above failOn; 1: findings at or above it; 2: evidence could not be read. */
export function exitCodeFor(result: ScanResult, failOn: Severity): 0 | 1 | 2 {
  if (!result.complete) return 2;
  return result.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}

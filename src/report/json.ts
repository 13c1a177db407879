import type { ScanResult } from './result.js';
import { safeJson } from '../model/text.js';

export function formatJson(result: ScanResult): string {
  return [...jsonChunks(result)].join('');
}

/**
 * The JSON report in pieces: the same text as `safeJson(result) + "\n"`, written one finding and one run at a
 * time. A scan of a large bucket makes hundreds of megabytes of JSON; one string of it (and its UTF-8 copy for
 * the write) was most of the time and memory of such a scan.
 */
export function* jsonChunks(result: ScanResult): Generator<string> {
  yield* streamValue(result, '', 0);
  yield '\n';
}

/** Containers this deep are written member by member; deeper ones in one piece. */
const STREAM_DEPTH = 3;

function* streamValue(value: unknown, indent: string, depth: number): Generator<string> {
  const inner = `${indent}  `;
  if (depth < STREAM_DEPTH && Array.isArray(value) && value.length > 0) {
    yield '[\n';
    for (let i = 0; i < value.length; i++) {
      yield inner;
      const item = value[i];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
      else yield* streamValue(item, inner, depth + 1);
      yield i < value.length - 1 ? ',\n' : '\n';
    }
    yield `${indent}]`;
    return;
  }
  if (depth < STREAM_DEPTH && isPlain(value)) {
    const keys = Object.keys(value).filter((k) => {
      const v = value[k];
      return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
    });
    if (keys.length > 0) {
      yield '{\n';
      for (let i = 0; i < keys.length; i++) {
        yield `${inner}${safeJson(keys[i])}: `;
        yield* streamValue(value[keys[i]], inner, depth + 1);
        yield i < keys.length - 1 ? ',\n' : '\n';
      }
      yield `${indent}}`;
      return;
    }
  }
  const text = safeJson(value);
  // JSON.stringify puts raw newlines only between members (newlines in strings are escaped): indent them.
  yield indent === '' ? text : text.replace(/\n/g, `\n${indent}`);
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

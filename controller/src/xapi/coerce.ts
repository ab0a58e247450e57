import type { StringMap } from './xapi-records.js';

/**
 * The one set of coercions for values that come from XAPI or from the journal untyped. int64
 * arrives as a JSON number over JSON-RPC and as a decimal string over XML-RPC; booleans as true
 * or "true"; maps and sets may be missing.
 */
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

export const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
};

export const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

export const strList = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : []);

export const strMap = (v: unknown): StringMap => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) out[k] = str(value);
  return out;
};

/** A plain object (a journaled outcome, an event's data), or {} for anything else. */
export const obj = (v: unknown): Readonly<Record<string, unknown>> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

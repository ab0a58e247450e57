import { XapiFailure } from '../xapi-failure.js';

/** XAPI's reply to an argument of the wrong wire type. */
function typeError(expected: string, value: unknown): XapiFailure {
  return new XapiFailure('FIELD_TYPE_ERROR', [expected, JSON.stringify(value) ?? String(value)]);
}

export function stringArg(args: readonly unknown[], index: number): string {
  const value = args[index];
  if (typeof value !== 'string') throw typeError('string', value);
  return value;
}

export function numberArg(args: readonly unknown[], index: number): number {
  const value = args[index];
  // XML-RPC clients send int64 and floats as strings; accept both like XAPI's unmarshaller.
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw typeError('float', value);
  return n;
}

export function stringListArg(args: readonly unknown[], index: number): string[] {
  const value = args[index];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw typeError('string set', value);
  return value;
}

export function stringMapArg(args: readonly unknown[], index: number): Record<string, string> {
  const value = args[index];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('(string -> string) map', value);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw typeError('(string -> string) map', value);
    out[k] = v;
  }
  return out;
}

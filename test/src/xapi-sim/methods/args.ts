import { rpcToString } from '../wire-value.js';
import { XapiFailure } from '../xapi-failure.js';

/**
 * Argument readers for handlers. Methods in xapi's datamodel get arguments already unmarshalled
 * by the dispatcher, so these only fail for simulator-only methods; they fail as xapi's
 * unmarshallers do (rpc.ml `failwith "Expected ..."`, which becomes INTERNAL_ERROR).
 */
function typeError(expected: string, value: unknown): XapiFailure {
  return new XapiFailure('INTERNAL_ERROR', [`Failure(${JSON.stringify(`Expected ${expected}, got '${rpcToString(value)}'`)})`]);
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

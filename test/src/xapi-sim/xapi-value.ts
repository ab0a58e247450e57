import { randomUUID } from 'node:crypto';

/** A value as XAPI's JSON-RPC puts it on the wire: int64 and float as numbers, maps as objects, sets as arrays. */
export type XapiValue = string | number | boolean | XapiValue[] | { [key: string]: XapiValue };
export type XapiRecord = Record<string, XapiValue>;

export const NULL_REF = 'OpaqueRef:NULL';
export const REF_PREFIX = 'OpaqueRef:';

export function newRef(): string {
  return REF_PREFIX + randomUUID();
}

export function isRef(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(REF_PREFIX);
}

export function isLiveRef(value: unknown): value is string {
  return isRef(value) && value !== NULL_REF;
}

export function cloneValue<T extends XapiValue>(value: T): T {
  return structuredClone(value);
}

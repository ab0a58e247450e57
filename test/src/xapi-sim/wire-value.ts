import { datamodel, enumValues, fieldsIn, type XapiRelease } from './datamodel.js';
import { XapiFailure } from './xapi-failure.js';

/**
 * Values between the wire and the simulator, typed the way xapi's generated code types them.
 *
 * Incoming: xapi unmarshals each parameter with the `<type>_of_rpc` functions of mirage/ocaml-rpc
 * (src/lib/rpc.ml): int64 accepts an Int or a String (so XML-RPC clients may send int64 as an
 * untyped string), float accepts Float, Int or String, bool only Bool, string only String. A
 * mismatch is `failwith "Expected <t>, got '<value>'"`, which server_helpers.ml's
 * dispatch_exn_wrapper turns into INTERNAL_ERROR via ExnHelper.error_of_exn (exnHelper.ml).
 *
 * Outgoing: results are marshalled by their declared type (rpc_of_<type>), which XML-RPC needs:
 * int64 is an untyped `<value>` there, float a `<double>`, DateTime a `<dateTime.iso8601>`.
 */

/** An XML-RPC `<dateTime.iso8601>` value as received, so DateTime parameters can tell it from a string. */
export class WireDateTime {
  constructor(readonly value: string) {}
}

/** An XML-RPC `<double>` whose value is integral, so it is not mistaken for an Int. */
export class WireDouble {
  constructor(readonly value: number) {}
}

export type DmType =
  | { k: 'string' | 'int' | 'float' | 'bool' | 'datetime' | 'void' | 'event_batch' | 'unknown' }
  | { k: 'ref'; cls: string }
  | { k: 'record'; cls: string }
  | { k: 'enum'; name: string }
  | { k: 'set'; of: DmType }
  | { k: 'option'; of: DmType }
  | { k: 'map'; key: DmType; value: DmType };

const typeCache = new Map<string, DmType>();

/** Parses a xenapi.json type spelling ("(string -> VM ref) map", "enum vm_power_state set"). */
export function parseType(text: string): DmType {
  const cached = typeCache.get(text);
  if (cached !== undefined) return cached;
  const t = parseTypeUncached(text.trim());
  typeCache.set(text, t);
  return t;
}

function parseTypeUncached(s: string): DmType {
  if (s.endsWith(' set')) return { k: 'set', of: parseType(s.slice(0, -4)) };
  if (s.endsWith(' option')) return { k: 'option', of: parseType(s.slice(0, -7)) };
  if (s.endsWith(' map') && s.startsWith('(')) {
    const inner = s.slice(1, s.length - 5);
    let depth = 0;
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i];
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (depth === 0 && inner.startsWith(' -> ', i)) return { k: 'map', key: parseType(inner.slice(0, i)), value: parseType(inner.slice(i + 4)) };
    }
    return { k: 'unknown' };
  }
  if (s.startsWith('enum ')) return { k: 'enum', name: s.slice(5) };
  if (s.endsWith(' ref')) return { k: 'ref', cls: s.slice(0, -4) };
  if (s.endsWith(' record')) return { k: 'record', cls: s.slice(0, -7) };
  switch (s) {
    case 'string':
    case 'int':
    case 'float':
    case 'bool':
    case 'datetime':
    case 'void':
      return { k: s };
    case 'an event batch':
      return { k: 'event_batch' };
    default:
      return { k: 'unknown' };
  }
}

/** rpc.ml's to_string, used in its error messages: S(x), I(5), B(true), [a;b], {k:v}, N. */
export function rpcToString(value: unknown): string {
  if (value instanceof WireDateTime) return `D(${value.value})`;
  if (value instanceof WireDouble) return `F(${formatG(value.value)})`;
  if (typeof value === 'string') return `S(${value})`;
  if (typeof value === 'boolean') return `B(${String(value)})`;
  if (typeof value === 'number') return Number.isInteger(value) ? `I(${value})` : `F(${formatG(value)})`;
  if (value === null || value === undefined) return 'N';
  if (Array.isArray(value)) return `[${value.map(rpcToString).join(';')}]`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}:${rpcToString(v)}`).join(';')}}`;
}

/** C's %g, as OCaml's Printf prints floats in rpc.ml's to_string. */
function formatG(n: number): string {
  const p = Number(n.toPrecision(6));
  const abs = Math.abs(p);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return p.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(p);
}

/** The INTERNAL_ERROR a failed `_of_rpc` produces: Printexc.to_string (Failure msg). */
function unmarshalFailure(message: string): XapiFailure {
  return new XapiFailure('INTERNAL_ERROR', [`Failure(${JSON.stringify(message)})`]);
}

const expected = (what: string, value: unknown): XapiFailure => unmarshalFailure(`Expected ${what}, got '${rpcToString(value)}'`);

/** OCaml's Int64.of_string: decimal (or 0x/0o/0b) with an optional sign, else Failure "Int64.of_string". */
function int64OfString(s: string): number {
  if (!/^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$/.test(s)) throw unmarshalFailure('Int64.of_string');
  const clean = s.replace(/_/g, '');
  const n = /^[-+]?0[xXoObB]/.test(clean) ? Number(clean.replace(/^([-+]?)0/, '$10')) : Number(clean);
  return n;
}

function floatOfString(s: string): number {
  const n = Number(s.replace(/_/g, ''));
  if (s.trim() === '' || Number.isNaN(n)) throw unmarshalFailure('float_of_string');
  return n;
}

/**
 * A wire parameter converted to the simulator's representation of `type` (int64 and float as
 * numbers, DateTime as its string, maps as objects, sets as arrays), or the INTERNAL_ERROR xapi
 * answers when the generated unmarshaller rejects it.
 */
export function unmarshal(type: DmType, value: unknown): unknown {
  switch (type.k) {
    case 'string':
    case 'ref':
      if (typeof value !== 'string') throw expected('string', value);
      return value;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string') return int64OfString(value);
      throw expected('int64', value);
    case 'float':
      if (value instanceof WireDouble) return value.value;
      if (typeof value === 'number') return value;
      if (typeof value === 'string') return floatOfString(value);
      throw expected('float', value);
    case 'bool':
      if (typeof value !== 'boolean') throw expected('bool', value);
      return value;
    case 'datetime':
      if (value instanceof WireDateTime) return value.value;
      if (typeof value === 'string') return value;
      throw expected('DateTime', value);
    case 'enum': {
      if (typeof value !== 'string') throw expected('string', value);
      const values = enumValues(type.name);
      // ppx_deriving_rpc matches enum constructors case-insensitively and answers the
      // datamodel's spelling.
      const hit = values?.find((v) => v.toLowerCase() === value.toLowerCase());
      if (values !== undefined && hit === undefined) throw unmarshalFailure(`Unknown tag '${value}'`);
      return hit ?? value;
    }
    case 'set':
      if (!Array.isArray(value)) throw unmarshalFailure(`Expected Enum, got '${rpcToString(value)}'`);
      return value.map((v) => unmarshal(type.of, v));
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof WireDateTime || value instanceof WireDouble) {
        throw unmarshalFailure(`Expected Dict, got '${rpcToString(value)}'`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (type.key.k === 'int') int64OfString(k);
        out[k] = unmarshal(type.value, v);
      }
      return out;
    }
    case 'record':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unmarshalFailure(`Expected Dict, got '${rpcToString(value)}'`);
      return value;
    case 'option':
      return value === null || value === undefined ? undefined : unmarshal(type.of, value);
    default:
      return value instanceof WireDateTime || value instanceof WireDouble ? value.value : value;
  }
}

// ---------------------------------------------------------------- outgoing

/** An XML-RPC value with its wire type, as ocaml-rpc's Rpc.t. */
export type Rpc =
  | { t: 'string'; v: string }
  | { t: 'int'; v: number }
  | { t: 'int32'; v: number }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'datetime'; v: string }
  | { t: 'array'; v: Rpc[] }
  | { t: 'struct'; v: Array<[string, Rpc]> }
  | { t: 'nil' };

/** A JS value whose type nobody declared (simulator-only methods): marshalled by its shape. */
export function inferRpc(value: unknown): Rpc {
  if (value instanceof WireDateTime) return { t: 'datetime', v: value.value };
  if (value instanceof WireDouble) return { t: 'float', v: value.value };
  if (typeof value === 'string') return { t: 'string', v: value };
  if (typeof value === 'boolean') return { t: 'bool', v: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { t: 'int', v: value } : { t: 'float', v: value };
  if (value === null || value === undefined) return { t: 'nil' };
  if (Array.isArray(value)) return { t: 'array', v: value.map(inferRpc) };
  return { t: 'struct', v: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, inferRpc(v)]) };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0);

/** `value` marshalled as `type` (rpc_of_<type>), record fields typed by the release's datamodel. */
export function toRpc(type: DmType, value: unknown, release: XapiRelease): Rpc {
  switch (type.k) {
    case 'void':
      // gen_server.ml: a void result is marshalled as Rpc.String "".
      return { t: 'string', v: '' };
    case 'string':
    case 'ref':
    case 'enum':
      return typeof value === 'string' ? { t: 'string', v: value } : inferRpc(value);
    case 'int':
      return { t: 'int', v: Math.trunc(num(value)) };
    case 'float':
      return { t: 'float', v: num(value) };
    case 'bool':
      return typeof value === 'boolean' ? { t: 'bool', v: value } : inferRpc(value);
    case 'datetime':
      return typeof value === 'string' ? { t: 'datetime', v: value } : inferRpc(value);
    case 'set':
      return Array.isArray(value) ? { t: 'array', v: value.map((v) => toRpc(type.of, v, release)) } : inferRpc(value);
    case 'option':
      return value === undefined || value === null ? { t: 'nil' } : toRpc(type.of, value, release);
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return inferRpc(value);
      return { t: 'struct', v: Object.entries(value).map(([k, v]) => [k, toRpc(type.value, v, release)]) };
    case 'record':
      return recordToRpc(type.cls, value, release);
    case 'event_batch':
      return eventBatchToRpc(value, release);
    default:
      return inferRpc(value);
  }
}

export function recordToRpc(cls: string, value: unknown, release: XapiRelease): Rpc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return inferRpc(value);
  const types = new Map(fieldsIn(cls, release).map(([name, f]) => [name, f.type]));
  return {
    t: 'struct',
    v: Object.entries(value).map(([k, v]) => {
      const declared = types.get(k);
      return [k, declared === undefined ? inferRpc(v) : toRpc(parseType(declared), v, release)];
    }),
  };
}

/** event.from's result: xapi_event.ml's event_from record (valid_ref_counts are int32). */
function eventBatchToRpc(value: unknown, release: XapiRelease): Rpc {
  const batch = (value ?? {}) as { events?: unknown[]; valid_ref_counts?: Record<string, unknown>; token?: unknown };
  const classOf = (lower: string): string => lowerClassNames().get(lower) ?? lower;
  const events: Rpc[] = (batch.events ?? []).map((e) => {
    const ev = e as Record<string, unknown>;
    const members: Array<[string, Rpc]> = [];
    for (const [k, v] of Object.entries(ev)) {
      if (k === 'snapshot') members.push([k, recordToRpc(classOf(String(ev['class'] ?? '')), v, release)]);
      else members.push([k, inferRpc(v)]);
    }
    return { t: 'struct', v: members };
  });
  const counts: Array<[string, Rpc]> = Object.entries(batch.valid_ref_counts ?? {}).map(([k, v]) => [k, { t: 'int32', v: num(v) }]);
  return {
    t: 'struct',
    v: [
      ['events', { t: 'array', v: events }],
      ['valid_ref_counts', { t: 'struct', v: counts }],
      ['token', { t: 'string', v: String(batch.token ?? '') }],
    ],
  };
}

let lowerNames: Map<string, string> | undefined;
function lowerClassNames(): Map<string, string> {
  lowerNames ??= new Map(Object.keys(datamodel().classes).map((cls) => [cls.toLowerCase(), cls]));
  return lowerNames;
}

import { dmClass, fieldsIn, type DmField, type XapiRelease } from './datamodel.js';
import { parseType, type DmType } from './wire-value.js';
import { NULL_REF, type XapiRecord, type XapiValue } from './xapi-value.js';

/**
 * A record as a xapi of `release` returns it from get_record, get_all_records and event
 * snapshots: exactly the datamodel's fields of that release, in datamodel order
 * (rpc_of_<class>_t is generated from the field list), so
 * - every field is present, one-to-many sets included (`[]` when empty), with its default when
 *   the stored row lacks it (a column that release's database upgrade would have added);
 * - internal-only columns (VBD.reserved, PIF.device_name, task.session, ...) never appear: the
 *   datamodel's public field list does not have them;
 * - fields of a later release do not appear in an earlier one.
 * Classes the datamodel does not know are returned as stored.
 */
export function shapeRecord(cls: string, stored: XapiRecord, release: XapiRelease): XapiRecord {
  if (dmClass(cls) === undefined) return stored;
  const out: XapiRecord = {};
  for (const [name, field] of fieldsIn(cls, release)) {
    const value = stored[name];
    out[name] = value === undefined ? defaultOf(field) : coerce(parseType(field.type), value);
  }
  return out;
}

/** The value a field has when nothing set it: its datamodel default, else its type's zero. */
export function defaultOf(field: DmField): XapiValue {
  const type = parseType(field.type);
  if (field.default !== undefined) {
    const parsed = parseDefault(type, field.default);
    if (parsed !== undefined) return parsed;
  }
  return zeroOf(type);
}

export function zeroOf(type: DmType): XapiValue {
  switch (type.k) {
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'datetime':
      return '19700101T00:00:00Z';
    case 'ref':
      return NULL_REF;
    case 'set':
      return [];
    case 'map':
    case 'record':
      return {};
    default:
      return '';
  }
}

/** Parses xenapi.json's rendering of a default (gen_json.ml string_of_default). */
function parseDefault(type: DmType, text: string): XapiValue | undefined {
  switch (type.k) {
    case 'string':
      return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
    case 'int':
    case 'float': {
      const n = Number(text.replace(/\.$/, ''));
      return Number.isFinite(n) ? n : undefined;
    }
    case 'bool':
      return text === 'true';
    case 'datetime':
      return text;
    case 'ref':
      return text === 'Null' || text === '' ? NULL_REF : text;
    case 'enum':
      return text;
    case 'set': {
      const inner = text.replace(/^\{/, '').replace(/\}$/, '').trim();
      if (inner === '') return [];
      return inner.split(/,\s*/).map((item) => {
        const v = item.replace(/^"|"$/g, '');
        return type.of.k === 'int' ? Number(v) : v;
      });
    }
    case 'map': {
      const inner = text.replace(/^\{/, '').replace(/\}$/, '').trim();
      const out: Record<string, XapiValue> = {};
      if (inner === '') return out;
      for (const pair of inner.split(/,\s*/)) {
        const m = /^"?([^"]*)"?\s*->\s*"?([^"]*)"?$/.exec(pair);
        if (m !== null) out[m[1] ?? ''] = m[2] ?? '';
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Stored values that came in with another wire type (a dump's text, an int64 sent as a string). */
function coerce(type: DmType, value: XapiValue): XapiValue {
  switch (type.k) {
    case 'string':
    case 'enum':
    case 'datetime':
    case 'ref':
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    case 'int':
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return value;
    case 'bool':
      return typeof value === 'string' ? value === 'true' : value;
    default:
      return value;
  }
}

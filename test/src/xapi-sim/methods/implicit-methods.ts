import { dmClass, fieldsIn, type XapiRelease } from '../datamodel.js';
import type { MethodContext, MethodRegistry, MethodSpec } from '../method-registry.js';
import { defaultOf, shapeRecord } from '../record-shape.js';
import { XapiFailure } from '../xapi-failure.js';
import type { XapiDb } from '../xapi-db.js';
import { newRef, type XapiRecord, type XapiValue } from '../xapi-value.js';

/**
 * The messages xapi's datamodel generates for every class (datamodel_utils.ml
 * messages_of_obj and new_messages_of_field), served from the database for any class and field
 * of the release: get_record, get_all, get_all_records, get_by_uuid, get_by_name_label, create,
 * destroy, get_<field> for every field, set_<field> for every RW field, add_to_/remove_from_
 * for RW maps and add_/remove_ for RW sets. The dispatcher has already checked that the message
 * exists in the release and unmarshalled its arguments. A hand-written method registered under
 * the same name (VM.set_memory_static_max with its checks, ...) takes precedence.
 */

/** The API view of one row: the datamodel's fields of the release, as get_record returns them. */
export function apiRecord(db: XapiDb, cls: string, ref: string, release: XapiRelease): XapiRecord {
  return shapeRecord(cls, db.getRecord(cls, ref), release);
}

export function apiRecords(db: XapiDb, cls: string, release: XapiRelease): Record<string, XapiRecord> {
  const out: Record<string, XapiRecord> = {};
  for (const [ref, record] of Object.entries(db.getAllRecords(cls))) out[ref] = shapeRecord(cls, record, release);
  return out;
}

const str = (args: readonly unknown[], i: number): string => String(args[i]);

/** One field as get_record would show it (typed by the datamodel, its default if never set). */
function fieldValue(ctx: MethodContext, cls: string, ref: string, field: string): XapiValue {
  const record = ctx.db.getRecord(cls, ref);
  const def = dmClass(cls)?.fields[field];
  return def === undefined ? (record[field] ?? '') : (shapeRecord(cls, record, ctx.release)[field] ?? defaultOf(def));
}

function fieldOfMessage(cls: string, message: string, prefix: string, release: XapiRelease): string | undefined {
  if (!message.startsWith(prefix)) return undefined;
  const field = message.slice(prefix.length);
  return fieldsIn(cls, release).some(([name]) => name === field) ? field : undefined;
}

export function resolveImplicit(name: string, _db: XapiDb): MethodSpec | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const cls = name.slice(0, dot);
  const message = name.slice(dot + 1);
  const model = dmClass(cls);
  const modelled = model?.messages[message];
  if (model === undefined || modelled === undefined) return undefined;
  if (!modelled.implicit) {
    // A hand-written setter of a field (VM.set_ha_restart_priority, VM.set_VCPUs_max, ...):
    // until the simulator models its checks, it stores the value as the generated one would.
    const field = message.startsWith('set_') ? message.slice(4) : undefined;
    const def = field === undefined ? undefined : model.fields[field];
    if (field === undefined || def === undefined || modelled.params.length !== 2) return undefined;
    return { handler: (ctx, args) => void ctx.db.update(cls, str(args, 0), { [field]: args[1] as XapiValue }) };
  }
  switch (message) {
    case 'get_record':
      return { handler: (ctx, args) => apiRecord(ctx.db, cls, str(args, 0), ctx.release) };
    case 'get_all_records':
      return { handler: (ctx) => apiRecords(ctx.db, cls, ctx.release) };
    case 'get_all':
      return { handler: (ctx) => ctx.db.refs(cls) };
    case 'get_by_uuid':
      return {
        handler: (ctx, args) => {
          const uuid = str(args, 0);
          const ref = ctx.db.findRefByUuid(cls, uuid);
          // Db_exn.Read_missing_uuid (tbl, _, uuid) -> UUID_INVALID [tbl; uuid] (exnHelper.ml).
          if (ref === undefined) throw new XapiFailure('UUID_INVALID', [cls, uuid]);
          return ref;
        },
      };
    case 'get_by_name_label':
      return { handler: (ctx, args) => ctx.db.find(cls, (r) => r['name_label'] === str(args, 0)).map(([ref]) => ref) };
    case 'create':
      return {
        handler: (ctx, args) => {
          const given = (args[0] ?? {}) as Record<string, XapiValue>;
          const record: XapiRecord = { uuid: newRef().slice('OpaqueRef:'.length) };
          for (const [field, def] of fieldsIn(cls, ctx.release)) record[field] = given[field] ?? record[field] ?? defaultOf(def);
          return ctx.db.create(cls, record);
        },
      };
    case 'destroy':
      return { handler: (ctx, args) => void ctx.db.destroy(cls, str(args, 0)) };
    default:
      break;
  }
  // Which field a get_/set_/add_to_/... message is about; the dispatcher has checked the release.
  const release = { kind: 'numbered', version: '999999' } as const;
  let field = fieldOfMessage(cls, message, 'get_', release);
  if (field !== undefined) {
    const f = field;
    return { handler: (ctx, args) => fieldValue(ctx, cls, str(args, 0), f) };
  }
  field = fieldOfMessage(cls, message, 'set_', release);
  if (field !== undefined) {
    const f = field;
    return { handler: (ctx, args) => void ctx.db.update(cls, str(args, 0), { [f]: args[1] as XapiValue }) };
  }
  field = fieldOfMessage(cls, message, 'add_to_', release);
  if (field !== undefined) {
    const f = field;
    return {
      handler: (ctx, args) => {
        const ref = str(args, 0);
        const key = str(args, 1);
        const current = (fieldValue(ctx, cls, ref, f) ?? {}) as Record<string, XapiValue>;
        // db_cache_impl.ml: Duplicate_key (tbl, fld, objref, key) -> MAP_DUPLICATE_KEY.
        if (Object.hasOwn(current, key)) throw new XapiFailure('MAP_DUPLICATE_KEY', [cls, f, ref, key]);
        ctx.db.update(cls, ref, { [f]: { ...current, [key]: args[2] as XapiValue } });
      },
    };
  }
  field = fieldOfMessage(cls, message, 'remove_from_', release);
  if (field !== undefined) {
    const f = field;
    return {
      handler: (ctx, args) => {
        const ref = str(args, 0);
        const current = { ...((fieldValue(ctx, cls, ref, f) ?? {}) as Record<string, XapiValue>) };
        const key = str(args, 1);
        if (!Object.hasOwn(current, key)) return;
        delete current[key];
        ctx.db.update(cls, ref, { [f]: current });
      },
    };
  }
  field = fieldOfMessage(cls, message, 'add_', release);
  if (field !== undefined) {
    const f = field;
    return {
      handler: (ctx, args) => {
        const ref = str(args, 0);
        const current = (fieldValue(ctx, cls, ref, f) ?? []) as XapiValue[];
        if (current.includes(args[1] as XapiValue)) return;
        ctx.db.update(cls, ref, { [f]: [...current, args[1] as XapiValue] });
      },
    };
  }
  field = fieldOfMessage(cls, message, 'remove_', release);
  if (field !== undefined) {
    const f = field;
    return {
      handler: (ctx, args) => {
        const ref = str(args, 0);
        const current = (fieldValue(ctx, cls, ref, f) ?? []) as XapiValue[];
        ctx.db.update(cls, ref, { [f]: current.filter((v) => v !== args[1]) });
      },
    };
  }
  return undefined;
}

export function registerImplicitMethods(registry: MethodRegistry): void {
  registry.addResolver(resolveImplicit);
}

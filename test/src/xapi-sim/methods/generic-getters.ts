import { knownFieldKind } from '../field-kinds.js';
import type { MethodRegistry, MethodSpec } from '../method-registry.js';
import { isDerivedField } from '../relations.js';
import { XapiFailure } from '../xapi-failure.js';
import type { XapiDb } from '../xapi-db.js';
import { stringArg } from './args.js';

/** Classes the database holds that the API does not enumerate (no get_all_records in XAPI). */
const notEnumerable = new Set(['session', 'event', 'auth', 'data_source', 'user']);
/** Classes that are database bookkeeping only, with no API at all. */
const internalOnly = new Set(['event', 'auth', 'data_source']);

export function enumerableClasses(db: XapiDb): string[] {
  return db.classNames.filter((cls) => !notEnumerable.has(cls));
}

function fieldExists(db: XapiDb, cls: string, field: string): boolean {
  if (isDerivedField(cls, field) || knownFieldKind(cls, field) !== undefined) return true;
  return db.refs(cls).some((ref) => db.tryGetRecord(cls, ref)?.[field] !== undefined);
}

/**
 * `<class>.get_all_records`, `get_all`, `get_record`, `get_by_uuid`, `get_by_name_label` and
 * `get_<field>` for every class in the database, as XAPI generates them for every class.
 */
export function resolveGetter(name: string, db: XapiDb): MethodSpec | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const cls = name.slice(0, dot);
  const message = name.slice(dot + 1);
  if (!db.hasClass(cls) || internalOnly.has(cls) || !message.startsWith('get_')) return undefined;
  switch (message) {
    case 'get_all_records':
      return notEnumerable.has(cls) ? undefined : { arity: 0, handler: (ctx) => ctx.db.getAllRecords(cls) };
    case 'get_all':
      return notEnumerable.has(cls) ? undefined : { arity: 0, handler: (ctx) => ctx.db.refs(cls) };
    case 'get_record':
      return { arity: 1, handler: (ctx, args) => ctx.db.getRecord(cls, stringArg(args, 0)) };
    case 'get_by_uuid':
      return {
        arity: 1,
        handler: (ctx, args) => {
          const uuid = stringArg(args, 0);
          const ref = ctx.db.findRefByUuid(cls, uuid);
          if (ref === undefined) throw new XapiFailure('UUID_INVALID', [cls, uuid]);
          return ref;
        },
      };
    case 'get_by_name_label':
      if (!fieldExists(db, cls, 'name_label')) return undefined;
      return {
        arity: 1,
        handler: (ctx, args) => {
          const label = stringArg(args, 0);
          return ctx.db.find(cls, (r) => r['name_label'] === label).map(([ref]) => ref);
        },
      };
    default: {
      const field = message.slice('get_'.length);
      if (!fieldExists(db, cls, field)) return undefined;
      return {
        arity: 1,
        handler: (ctx, args) => {
          const value = ctx.db.getRecord(cls, stringArg(args, 0))[field];
          // A field this database version lacks: the real method would not exist either.
          if (value === undefined) throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [name]);
          return value;
        },
      };
    }
  }
}

export function registerGenericGetters(registry: MethodRegistry): void {
  registry.addResolver(resolveGetter);
}

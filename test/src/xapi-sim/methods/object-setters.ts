import type { MethodRegistry, MethodSpec } from '../method-registry.js';
import { XapiFailure } from '../xapi-failure.js';
import type { XapiDb } from '../xapi-db.js';
import { stringArg, stringListArg, stringMapArg } from './args.js';

/**
 * The read-write fields XAPI lets any client change on most classes: name, description, tags and
 * other_config (xen-api's barrier() writes pool.other_config). Operation-specific setters belong in
 * their own files.
 */
export function resolveSetter(name: string, db: XapiDb): MethodSpec | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const cls = name.slice(0, dot);
  const message = name.slice(dot + 1);
  if (!db.hasClass(cls)) return undefined;
  const record = (ref: string): Record<string, unknown> => db.getRecord(cls, ref);
  const needField = (ref: string, field: string): void => {
    if (!(field in record(ref))) throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [name]);
  };
  switch (message) {
    case 'set_name_label':
    case 'set_name_description': {
      const field = message.slice('set_'.length);
      return {
        arity: 2,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, field);
          ctx.db.update(cls, ref, { [field]: stringArg(args, 1) });
        },
      };
    }
    case 'set_other_config':
      return {
        arity: 2,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, 'other_config');
          ctx.db.update(cls, ref, { other_config: stringMapArg(args, 1) });
        },
      };
    case 'add_to_other_config':
      return {
        arity: 3,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, 'other_config');
          const key = stringArg(args, 1);
          const current = ctx.db.getRecord(cls, ref)['other_config'] as Record<string, string>;
          if (key in current) throw new XapiFailure('MAP_DUPLICATE_KEY', [cls, 'other_config', ref, key]);
          ctx.db.update(cls, ref, { other_config: { ...current, [key]: stringArg(args, 2) } });
        },
      };
    case 'remove_from_other_config':
      return {
        arity: 2,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, 'other_config');
          const key = stringArg(args, 1);
          const current = { ...(ctx.db.getRecord(cls, ref)['other_config'] as Record<string, string>) };
          if (!(key in current)) return;
          delete current[key];
          ctx.db.update(cls, ref, { other_config: current });
        },
      };
    case 'set_tags':
      return {
        arity: 2,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, 'tags');
          ctx.db.update(cls, ref, { tags: stringListArg(args, 1) });
        },
      };
    case 'add_tags':
    case 'remove_tags':
      return {
        arity: 2,
        handler: (ctx, args) => {
          const ref = stringArg(args, 0);
          needField(ref, 'tags');
          const tag = stringArg(args, 1);
          const tags = (ctx.db.getRecord(cls, ref)['tags'] as string[]).filter((t) => t !== tag);
          ctx.db.update(cls, ref, { tags: message === 'add_tags' ? [...tags, tag] : tags });
        },
      };
    default:
      return undefined;
  }
}

export function registerObjectSetters(registry: MethodRegistry): void {
  registry.addResolver(resolveSetter);
}

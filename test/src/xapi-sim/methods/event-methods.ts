import type { MethodContext, MethodRegistry } from '../method-registry.js';
import { XapiFailure } from '../xapi-failure.js';
import { parseEventToken, type XapiEvent } from '../xapi-db.js';
import { numberArg, stringArg, stringListArg } from './args.js';

type Subscription = { kind: 'all' } | { kind: 'class'; cls: string } | { kind: 'object'; cls: string; ref: string };

function parseSubscription(text: string): Subscription {
  if (text === '*') return { kind: 'all' };
  const slash = text.indexOf('/');
  if (slash === 0 || text === '') throw new XapiFailure('EVENT_SUBSCRIPTION_PARSE_FAILURE', [text]);
  if (slash < 0) return { kind: 'class', cls: text.toLowerCase() };
  return { kind: 'object', cls: text.slice(0, slash).toLowerCase(), ref: text.slice(slash + 1) };
}

function matcher(subs: readonly Subscription[]): (lowerClass: string, ref: string) => boolean {
  return (lowerClass, ref) =>
    subs.some((s) => s.kind === 'all' || (s.cls === lowerClass && (s.kind === 'class' || s.ref === ref)));
}

export interface EventBatch {
  events: XapiEvent[];
  valid_ref_counts: Record<string, number>;
  token: string;
}

/**
 * XAPI's event.from: returns at once if anything matching changed after `token`, else waits until
 * something does or `timeout` seconds pass (then returns no events and a fresh token). A logout
 * of the caller's session ends the wait with SESSION_INVALID.
 */
async function eventFrom(ctx: MethodContext, args: readonly unknown[]): Promise<EventBatch> {
  const subs = stringListArg(args, 0).map(parseSubscription);
  const token = stringArg(args, 1);
  const timeoutSeconds = numberArg(args, 2);
  const from = parseEventToken(token);
  if (from === undefined) throw new XapiFailure('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
  const matches = matcher(subs);
  const deadline = ctx.clock.now() + Math.max(0, timeoutSeconds) * 1000;
  for (;;) {
    if (!ctx.db.has('session', ctx.sessionRef)) throw new XapiFailure('SESSION_INVALID', [ctx.sessionRef]);
    const { events, token: next } = ctx.db.eventsSince(from, matches);
    const remaining = deadline - ctx.clock.now();
    if (events.length > 0 || remaining <= 0 || ctx.signal.aborted) {
      return { events, valid_ref_counts: ctx.db.validRefCounts(), token: next };
    }
    // A simulator shutting down answers with what it has rather than leaving the caller hanging.
    await ctx.db.waitForChange(remaining, ctx.signal).catch(() => undefined);
  }
}

export function registerEventMethods(registry: MethodRegistry): void {
  registry.register('event.from', { arity: 3, handler: eventFrom });
  registry.register('event.inject', {
    arity: 2,
    handler: (ctx, args) => {
      const name = stringArg(args, 0);
      const ref = stringArg(args, 1);
      const cls = ctx.db.resolveClass(name);
      if (cls === undefined) throw new XapiFailure('HANDLE_INVALID', [name, ref]);
      return ctx.db.inject(cls, ref);
    },
  });
  registry.register('event.get_current_id', { arity: 0, handler: (ctx) => ctx.db.generation });
}

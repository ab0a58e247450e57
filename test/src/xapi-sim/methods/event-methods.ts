import type { MethodContext, MethodRegistry } from '../method-registry.js';
import { shapeRecord } from '../record-shape.js';
import { XapiFailure } from '../xapi-failure.js';
import { formatEventToken, parseEventToken, type XapiEvent } from '../xapi-db.js';

type Subscription = { kind: 'all' } | { kind: 'class'; cls: string } | { kind: 'object'; cls: string; ref: string };

/**
 * xapi_event.ml Subscription.of_string: "*", "<class>" or "<class>/<ref>", the class
 * lower-cased. A split on the first '/' always yields one or two parts, so every string parses.
 */
function parseSubscription(text: string): Subscription {
  if (text === '*') return { kind: 'all' };
  const slash = text.indexOf('/');
  if (slash < 0) return { kind: 'class', cls: text.toLowerCase() };
  return { kind: 'object', cls: text.slice(0, slash).toLowerCase(), ref: text.slice(slash + 1) };
}

function matcher(subs: readonly Subscription[]): (lowerClass: string, ref: string) => boolean {
  return (lowerClass, ref) => subs.some((s) => s.kind === 'all' || (s.cls === lowerClass && (s.kind === 'class' || s.ref === ref)));
}

export interface EventBatch {
  events: XapiEvent[];
  valid_ref_counts: Record<string, number>;
  token: string;
}

/**
 * xapi_event.ml `from`: returns at once if anything matching changed after `token`, else waits
 * until something does or `timeout` seconds pass, then returns no events and the token of the
 * last matching change (from_inner's `last`), not the database's newest generation. Snapshots
 * are the records as get_record returns them. A logout of the caller's session ends the wait
 * with SESSION_INVALID.
 */
async function eventFrom(ctx: MethodContext, args: readonly unknown[]): Promise<EventBatch> {
  const subs = (args[0] as string[]).map(parseSubscription);
  const token = String(args[1]);
  const timeoutSeconds = Number(args[2]);
  const from = parseEventToken(token);
  if (from === undefined) throw new XapiFailure('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
  const matches = matcher(subs);
  const deadline = ctx.clock.now() + Math.max(0, timeoutSeconds) * 1000;
  for (;;) {
    if (!ctx.db.has('session', ctx.sessionRef)) throw new XapiFailure('SESSION_INVALID', [ctx.sessionRef]);
    const { events, last } = ctx.db.eventsSince(from, matches);
    const remaining = deadline - ctx.clock.now();
    if (events.length > 0 || remaining <= 0 || ctx.signal.aborted) {
      const shaped = events.map((e) => {
        if (e.snapshot === undefined) return e;
        const cls = ctx.db.resolveClass(e.class) ?? e.class;
        return { ...e, snapshot: shapeRecord(cls, e.snapshot, ctx.release) };
      });
      return { events: shaped, valid_ref_counts: ctx.db.validRefCounts(), token: formatEventToken(last) };
    }
    // A simulator shutting down answers with what it has rather than leaving the caller hanging.
    await ctx.db.waitForChange(remaining, ctx.signal).catch(() => undefined);
  }
}

export function registerEventMethods(registry: MethodRegistry): void {
  registry.register('event.from', { handler: eventFrom });
  registry.register('event.inject', {
    handler: (ctx, args) => {
      const name = String(args[0]);
      const ref = String(args[1]);
      // xapi_event.ml inject: the row must be in the table named exactly so, else HANDLE_INVALID.
      if (!ctx.db.has(name, ref)) throw new XapiFailure('HANDLE_INVALID', [name, ref]);
      return ctx.db.inject(name, ref);
    },
  });
  registry.register('event.get_current_id', { handler: (ctx) => ctx.db.generation });
}

import type { MethodRegistry } from './method-registry.js';
import type { XapiDb } from './xapi-db.js';

export interface RecordedCall {
  method: string;
  /** The name_label of the host whose own listener took the call; 'main' for the main listener. */
  on: string;
  /** The arguments after the session ref, as the method received them. */
  args: readonly unknown[];
}

/**
 * Wraps the registered `names` of `registry` so that every call that reaches them is appended to
 * the returned list, in arrival order, before the method runs (a call that then fails is listed
 * too). For `startXapiSimulator({ methods })`: a test reads the order of a client's calls from the
 * simulator's side, not from the client's code.
 */
export function recordCalls(registry: MethodRegistry, db: XapiDb, names: readonly string[]): RecordedCall[] {
  const calls: RecordedCall[] = [];
  for (const name of names) {
    const spec = registry.resolve(name, db);
    if (spec === undefined) throw new Error(`recordCalls: the simulator has no ${name}`);
    registry.register(name, {
      ...spec,
      handler: (ctx, args) => {
        const host = ctx.server.listenerHostRef;
        calls.push({ method: name, on: host === undefined ? 'main' : String(ctx.db.getRecord('host', host)['name_label']), args });
        return spec.handler(ctx, args);
      },
    });
  }
  return calls;
}

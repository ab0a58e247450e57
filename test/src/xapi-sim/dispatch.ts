import type { Clock } from './clock.js';
import { acceptsArgCount, expectedArgCount, type ServerInfo } from './method-registry.js';
import { XapiFailure } from './xapi-failure.js';
import type { XapiDb } from './xapi-db.js';

export interface DispatchEnv {
  readonly db: XapiDb;
  readonly clock: Clock;
  readonly server: ServerInfo;
  /** Aborted when the simulator closes; tasks outlive their request but not the simulator. */
  readonly closing: AbortSignal;
}

/** Runs one XAPI call: slave check, method lookup, session check, argument count, then the handler. */
export async function dispatch(env: DispatchEnv, name: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown> {
  const { db, server } = env;
  if (server.listenerHostRef !== undefined && server.listenerHostRef !== db.masterRef()) {
    // A slave refuses API calls and names the master, which is how clients find it.
    const address = db.getRecord('host', db.masterRef())['address'];
    throw new XapiFailure('HOST_IS_SLAVE', [typeof address === 'string' ? address : '']);
  }
  const isAsync = name.startsWith('Async.');
  const method = isAsync ? name.slice('Async.'.length) : name;
  const spec = server.registry.resolve(method, db);
  if (spec === undefined || (isAsync && spec.async !== true)) throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [name]);

  let sessionRef = '';
  let args = params;
  if (spec.session !== false) {
    const session = params[0];
    if (typeof session !== 'string' || !db.has('session', session)) {
      throw new XapiFailure('SESSION_INVALID', [typeof session === 'string' ? session : '']);
    }
    sessionRef = session;
    args = params.slice(1);
  }
  if (!acceptsArgCount(spec, args.length)) {
    throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', [name, String(expectedArgCount(spec)), String(params.length)]);
  }
  const base = { db, clock: env.clock, method, sessionRef, server };
  if (isAsync) {
    return server.tasks.start(name, env.closing, async (task, taskSignal) =>
      spec.handler({ ...base, signal: taskSignal, task }, args),
    );
  }
  return spec.handler({ ...base, signal, task: undefined }, args);
}

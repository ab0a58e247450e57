import type { Clock } from './clock.js';
import type { XapiRelease } from './datamodel.js';
import type { TaskHandle, TaskRunner } from './task-runner.js';
import type { XapiDb } from './xapi-db.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** What a method handler can see of the simulator besides the database. */
export interface ServerInfo {
  readonly credentials: Credentials;
  readonly registry: MethodRegistry;
  readonly tasks: TaskRunner;
  /**
   * The host whose address the request came in on, when the simulator listens on host addresses;
   * undefined on the main listener, which always acts as the pool master.
   */
  readonly listenerHostRef: string | undefined;
}

export interface MethodContext {
  readonly db: XapiDb;
  readonly clock: Clock;
  /** The method as registered, without any `Async.` prefix. */
  readonly method: string;
  /** The caller's session ref, already validated; '' for methods that take no session. */
  readonly sessionRef: string;
  /** Aborted when the client goes away, the simulator closes, or (for tasks) task.cancel is called. */
  readonly signal: AbortSignal;
  readonly server: ServerInfo;
  /**
   * The call's database task: present when the message has an async mode (xapi gives those a
   * task even when called synchronously); lets the method report progress and start subtasks.
   */
  readonly task: TaskHandle | undefined;
  /** The xapi release the pool answers as (datamodel_types.ml release, or a numbered xapi). */
  readonly release: XapiRelease;
}

/**
 * Receives the arguments after the session ref, unmarshalled by the datamodel's parameter types
 * (int64 as numbers whatever the wire sent) with defaulted trailing parameters filled in; returns
 * the result (undefined for void).
 */
export type MethodHandler = (ctx: MethodContext, args: readonly unknown[]) => unknown;

export interface MethodSpec {
  readonly handler: MethodHandler;
  /** Whether the first wire argument is a session ref. Default true. */
  readonly session?: boolean;
  /**
   * Accepted argument counts after the session ref. Only for methods xapi's datamodel does not
   * have (simulator controls): for the others the datamodel decides, as xapi's generated server.
   */
  readonly arity?: number | readonly [min: number, max: number];
  /** Whether `Async.<name>` exists. Only for methods the datamodel does not have, like `arity`. */
  readonly async?: boolean;
  /**
   * Answered by a slave's own xapi too, even while the master is down (slave-local logins and the
   * emergency calls, xapi_session.ml / xapi_pool.ml), where every other call answers HOST_IS_SLAVE.
   */
  readonly slaveLocal?: boolean;
}

/** Answers for a whole family of names (e.g. every `<class>.get_<field>`); consulted after exact names. */
export type MethodResolver = (name: string, db: XapiDb) => MethodSpec | undefined;

/**
 * Every XAPI method the simulator answers, keyed `class.method`. A new operation is one file that
 * exports `register(registry)` and adds itself here; nothing in the transport needs to change.
 */
export class MethodRegistry {
  private readonly methods = new Map<string, MethodSpec>();
  private readonly resolvers: MethodResolver[] = [];

  register(name: string, spec: MethodSpec | MethodHandler): this {
    this.methods.set(name, typeof spec === 'function' ? { handler: spec } : spec);
    return this;
  }

  addResolver(resolver: MethodResolver): this {
    this.resolvers.push(resolver);
    return this;
  }

  resolve(name: string, db: XapiDb): MethodSpec | undefined {
    const exact = this.methods.get(name);
    if (exact !== undefined) return exact;
    for (const resolver of this.resolvers) {
      const spec = resolver(name, db);
      if (spec !== undefined) return spec;
    }
    return undefined;
  }

  /** Exactly registered names (resolver families are listed by system.listMethods itself). */
  names(): string[] {
    return [...this.methods.keys()];
  }

  asyncNames(): string[] {
    return [...this.methods].filter(([, spec]) => spec.async === true).map(([name]) => `Async.${name}`);
  }
}

export function acceptsArgCount(spec: MethodSpec, count: number): boolean {
  if (spec.arity === undefined) return true;
  if (typeof spec.arity === 'number') return count === spec.arity;
  return count >= spec.arity[0] && count <= spec.arity[1];
}

export function expectedArgCount(spec: MethodSpec): number {
  const base = spec.arity === undefined ? 0 : typeof spec.arity === 'number' ? spec.arity : spec.arity[1];
  return base + (spec.session === false ? 0 : 1);
}

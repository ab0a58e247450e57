import type { Clock } from './clock.js';
import { resolveMessage, type ResolvedMessage, type XapiRelease } from './datamodel.js';
import { acceptsArgCount, expectedArgCount, type MethodSpec, type ServerInfo } from './method-registry.js';
import { listMethods } from './methods/system-methods.js';
import { currentRelease } from './pool-release.js';
import { parseType, unmarshal, type DmType } from './wire-value.js';
import { xapiState } from './xapi-process.js';
import { unknownMethodChecksSession } from './xapi-release.js';
import { XapiFailure } from './xapi-failure.js';
import type { XapiDb } from './xapi-db.js';

export interface DispatchEnv {
  readonly db: XapiDb;
  readonly clock: Clock;
  readonly server: ServerInfo;
  /** Aborted when the simulator closes; tasks outlive their request but not the simulator. */
  readonly closing: AbortSignal;
}

/** What a call returned and the type xapi marshals it as (XML-RPC needs the type). */
export interface DispatchResult {
  readonly value: unknown;
  readonly type: DmType;
  /** system.listMethods: api_server.ml answers it without the Status/Value struct. */
  readonly bare?: boolean;
}

/**
 * The pool master's xapi is not running (the host is rebooting): nothing answers on its socket.
 * The HTTP listener is closed then, so only in-process callers see this, as a socket error.
 */
export class SimConnectionRefused extends Error {
  readonly code = 'ECONNREFUSED';
  constructor(readonly address: string) {
    super(`connect ECONNREFUSED ${address}`);
    this.name = 'SimConnectionRefused';
  }
}

/** Runs one XAPI call and returns its value (in-process callers and tests). */
export async function dispatch(env: DispatchEnv, name: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown> {
  return (await dispatchCall(env, name, params, signal)).value;
}

const asyncPrefix = 'Async.';
const internalAsyncPrefix = 'InternalAsync.';

/**
 * One XAPI call as xapi's generated server (ocaml/idl/ocaml_backend/gen_server.ml) and
 * server_helpers.ml run it:
 * 1. `Async.`/`InternalAsync.` is stripped (sync_ty_and_maybe_remove_prefix); errors name the
 *    message without it;
 * 2. system.listMethods answers before anything is checked;
 * 3. the parameter count (MESSAGE_PARAMETER_COUNT_MISMATCH [name, expected, received], both
 *    without the session; parameters with defaults may be left out, extra ones are ignored);
 * 4. every parameter is unmarshalled by its type (INTERNAL_ERROR on a mismatch), session first;
 * 5. Session_check (SESSION_INVALID), then MESSAGE_REMOVED for removed messages;
 * 6. do_dispatch: an Async call of a message without an async mode is a Fault; a message that has
 *    one runs in a database task (Context.of_http_req with supports_async), sync calls included.
 * Unknown names: since dundee, the session is checked first (the fallback forwards to xapi
 * extensions, xapi_extensions.ml), then MESSAGE_METHOD_UNKNOWN.
 */
export async function dispatchCall(env: DispatchEnv, wireName: string, params: readonly unknown[], signal: AbortSignal): Promise<DispatchResult> {
  const { db, server } = env;
  const master = db.count('pool') > 0 ? db.masterRef() : '';
  const isAsync = wireName.startsWith(asyncPrefix) || wireName.startsWith(internalAsyncPrefix);
  const name = wireName.startsWith(asyncPrefix) ? wireName.slice(asyncPrefix.length) : wireName.startsWith(internalAsyncPrefix) ? wireName.slice(internalAsyncPrefix.length) : wireName;
  const onSlave = server.listenerHostRef !== undefined && server.listenerHostRef !== master;
  // A slave's own xapi answers its slave-local calls whatever the master's state (failover).
  const slaveLocal = onSlave && server.registry.resolve(name, db)?.slaveLocal === true;
  // A password login on a slave is refused by the slave itself, naming the master from its own
  // pool.conf, without asking the master: xapi_session.ml login_with_password, `if
  // Pool_role.is_slave () then raise (Server_error (host_is_slave, [Pool_role.get_master_address
  // ()]))` before any authentication. So it answers even while the master is dead (the
  // simulator cut the socket there); a client learns the master's address and fails there.
  if (onSlave && name === 'session.login_with_password') throw hostIsSlave(db);
  if (!slaveLocal && master !== '' && xapiState(db, master) === 'down') throw new SimConnectionRefused(String(db.peek('host', master)?.['address'] ?? ''));
  if (onSlave && !slaveLocal) {
    // A slave refuses API calls and names the master, which is how clients find it.
    const address = db.getRecord('host', db.masterRef())['address'];
    throw new XapiFailure('HOST_IS_SLAVE', [typeof address === 'string' ? address : '']);
  }
  if (name === 'system.listMethods') return { value: listMethods(env), type: parseType('string set'), bare: true };

  const release = currentRelease(db);
  const resolved = resolveWireName(name, release);
  const spec = server.registry.resolve(resolved?.wire ?? name, db);
  if (resolved !== undefined) return runModelled(env, resolved.message, isAsync, wireName, params, spec, release, signal);
  if (spec !== undefined) return runLegacy(env, name, isAsync, wireName, spec, params, release, signal);

  if (unknownMethodChecksSession(release) && params.length > 0) {
    const session = unmarshal(parseType('session ref'), params[0]) as string;
    checkSession(db, session);
  }
  throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [name]);
}

/** HOST_IS_SLAVE [the master's address], as a slave names it (Pool_role.get_master_address). */
function hostIsSlave(db: XapiDb): XapiFailure {
  const address = db.getRecord('host', db.masterRef())['address'];
  return new XapiFailure('HOST_IS_SLAVE', [typeof address === 'string' ? address : '']);
}

/** `VM.start`, or gen_server.ml's alternative wire name `VM_start`. */
function resolveWireName(name: string, release: XapiRelease): { wire: string; message: ResolvedMessage } | undefined {
  const dot = name.indexOf('.');
  if (dot > 0) {
    const message = resolveMessage(name.slice(0, dot), name.slice(dot + 1), release);
    return message === undefined ? undefined : { wire: name, message };
  }
  for (let i = name.indexOf('_'); i > 0; i = name.indexOf('_', i + 1)) {
    const message = resolveMessage(name.slice(0, i), name.slice(i + 1), release);
    if (message !== undefined) return { wire: `${message.cls}.${message.name}`, message };
  }
  return undefined;
}

function checkSession(db: XapiDb, session: string): void {
  if (!db.has('session', session)) throw new XapiFailure('SESSION_INVALID', [session]);
}

async function runModelled(
  env: DispatchEnv,
  m: ResolvedMessage,
  isAsync: boolean,
  label: string,
  params: readonly unknown[],
  spec: MethodSpec | undefined,
  release: XapiRelease,
  signal: AbortSignal,
): Promise<DispatchResult> {
  const wire = `${m.cls}.${m.name}`;
  const sessionCount = m.message.session ? 1 : 0;
  const received = params.length - sessionCount;
  const hasDefaults = m.required < m.params.length;
  if (received < m.required || (!hasDefaults && received !== m.required)) {
    throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', [wire, String(m.required), String(received)]);
  }
  let sessionRef = '';
  if (m.message.session) sessionRef = unmarshal(parseType('session ref'), params[0]) as string;
  const args: unknown[] = [];
  m.params.forEach((p, i) => {
    const raw = sessionCount + i < params.length ? params[sessionCount + i] : defaultWireValue(p.default);
    args.push(unmarshal(parseType(p.type), raw));
  });
  if (m.message.session) checkSession(env.db, sessionRef);
  if (m.removed) throw new XapiFailure('MESSAGE_REMOVED', []);
  // server_helpers.ml do_dispatch: response_of_fault gives ErrorDescription ["Fault", msg].
  if (isAsync && !m.message.async) throw new XapiFailure('Fault', [`No async mode for this operation (rpc: ${wire})`]);
  if (spec === undefined) throw new XapiFailure('NOT_IMPLEMENTED', [wire]);
  const type = parseType(m.message.result);
  const run = spec.handler;
  const base = { db: env.db, clock: env.clock, method: wire, sessionRef, server: env.server, release };
  if (!m.message.async) return { value: await run({ ...base, signal, task: undefined }, args), type };
  if (isAsync) {
    const ref = env.server.tasks.start(label, env.closing, async (task, taskSignal) => run({ ...base, signal: taskSignal, task }, args), { resultType: type, release, session: sessionRef });
    return { value: ref, type: parseType('task ref') };
  }
  // A sync call of an async-capable message still gets a database task, destroyed at the end.
  const value = await env.server.tasks.runSync(wire, signal, (task, taskSignal) => run({ ...base, signal: taskSignal, task }, args), { session: sessionRef });
  return { value, type };
}

/** The wire form of a datamodel default, so it goes through the same unmarshaller. */
function defaultWireValue(d: ResolvedMessage['params'][number]['default']): unknown {
  if (d === undefined) return undefined;
  if (d.bool !== undefined) return d.bool;
  if (d.int !== undefined) return d.int;
  if (d.float !== undefined) return d.float;
  if (d.string !== undefined) return d.string;
  if (d.ref !== undefined) return d.ref;
  if (d.enum !== undefined) return d.enum;
  if (d.datetime !== undefined) return d.datetime;
  if (d.set !== undefined) return [];
  if (d.map !== undefined) return {};
  return undefined;
}

/** Methods the datamodel of this release does not have (simulator controls, newer messages). */
async function runLegacy(
  env: DispatchEnv,
  name: string,
  isAsync: boolean,
  label: string,
  spec: MethodSpec,
  params: readonly unknown[],
  release: XapiRelease,
  signal: AbortSignal,
): Promise<DispatchResult> {
  const { db } = env;
  let sessionRef = '';
  let args = params;
  if (!acceptsArgCount(spec, params.length - (spec.session === false ? 0 : 1))) {
    throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', [name, String(expectedArgCount(spec) - (spec.session === false ? 0 : 1)), String(params.length - (spec.session === false ? 0 : 1))]);
  }
  if (spec.session !== false) {
    sessionRef = unmarshal(parseType('session ref'), params[0]) as string;
    checkSession(db, sessionRef);
    args = params.slice(1);
  }
  if (isAsync && spec.async !== true) throw new XapiFailure('Fault', [`No async mode for this operation (rpc: ${name})`]);
  const base = { db, clock: env.clock, method: name, sessionRef, server: env.server, release };
  const type = parseType('unknown');
  if (isAsync) {
    const ref = env.server.tasks.start(label, env.closing, async (task, taskSignal) => spec.handler({ ...base, signal: taskSignal, task }, args), { resultType: type, release, session: sessionRef });
    return { value: ref, type: parseType('task ref') };
  }
  return { value: await spec.handler({ ...base, signal, task: undefined }, args), type };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPoolFromDescription } from './build-pool-from-description.js';
import { dispatch, dispatchCall, type DispatchEnv } from './dispatch.js';
import { readPoolDescriptionFile } from './pool-description.js';
import { demoPoolFile } from './fixture-paths.js';
import { MethodRegistry } from './method-registry.js';
import { registerCoreMethods } from './methods/index.js';
import { pinRelease } from './pool-release.js';
import { TaskRunner } from './task-runner.js';
import { releaseOfProduct } from './xapi-release.js';
import type { XapiDb } from './xapi-db.js';

// The dispatcher against xapi's generated server (ocaml/idl/ocaml_backend/gen_server.ml) and
// server_helpers.ml, in process. The expected values are read off those sources, not computed by
// the simulator: each case names the place.

let db: XapiDb;
let env: DispatchEnv;
let session: string;
const closing = new AbortController();
const signal = new AbortController().signal;

async function failure(name: string, params: unknown[]): Promise<unknown[]> {
  try {
    await dispatch(env, name, params, signal);
  } catch (error) {
    const e = error as { code?: string; params?: string[] };
    return [e.code, ...(e.params ?? [])];
  }
  throw new Error(`${name} succeeded`);
}

beforeAll(async () => {
  db = buildPoolFromDescription(await readPoolDescriptionFile(demoPoolFile));
  const registry = registerCoreMethods(new MethodRegistry());
  env = { db, clock: db.clock, server: { credentials: { user: 'root', password: 'pw' }, registry, tasks: new TaskRunner(db), listenerHostRef: undefined }, closing: closing.signal };
  session = String(await dispatch(env, 'session.login_with_password', ['root', 'pw'], signal));
});

afterAll(() => closing.abort());

describe('parameter counts (gen_server.ml parameter_count_mismatch_failure)', () => {
  it('counts without the session, names the message without Async., and checks before the session', async () => {
    // Expected: the count of parameters without defaults; received: params minus the session.
    expect(await failure('host.get_record', ['OpaqueRef:not-a-session'])).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.get_record', '1', '0']);
    expect(await failure('Async.VM.pool_migrate', ['OpaqueRef:not-a-session', 'a', 'b'])).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.pool_migrate', '3', '2']);
  });

  it('accepts the defaulted trailing parameters of login (uname, pwd, version, originator)', async () => {
    // datamodel session.login_with_password: version (miami) and originator (clearwater) have defaults;
    // `uname :: pwd :: default_args` also ignores extra ones.
    for (const args of [['root', 'pw'], ['root', 'pw', '1.0'], ['root', 'pw', '1.0', 'x'], ['root', 'pw', '1.0', 'x', 'extra']]) {
      expect(String(await dispatch(env, 'session.login_with_password', args, signal))).toMatch(/^OpaqueRef:/);
    }
    expect(await failure('session.login_with_password', ['root'])).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.login_with_password', '2', '1']);
  });

  it('knows the arity of the release: host.evacuate(host, network, batch) only from xapi 23.27', async () => {
    const host = db.masterRef();
    // XenServer 7.1 (ely): evacuate has one parameter and no defaults, so two is a mismatch.
    expect(await failure('host.evacuate', [session, host, 'OpaqueRef:NULL'])).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.evacuate', '1', '2']);
    pinRelease(db, { kind: 'numbered', version: '25.33.0' });
    try {
      // network (1.297.0) and evacuate_batch_size (23.27.0) have defaults: 1 to 3 parameters.
      expect(await failure('host.disable', [session])).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.disable', '1', '0']);
      await dispatch(env, 'host.disable', [session, host, false], signal);
      await dispatch(env, 'host.enable', [session, host], signal);
    } finally {
      pinRelease(db, undefined);
    }
  });
});

describe('types, sessions and removed messages', () => {
  it('answers a mistyped argument with INTERNAL_ERROR from the unmarshaller (rpc.ml, exnHelper.ml)', async () => {
    expect(await failure('host.get_record', [session, 42])).toEqual(['INTERNAL_ERROR', `Failure("Expected string, got 'I(42)'")`]);
    expect(await failure('host.set_name_label', [session, db.masterRef(), true])).toEqual(['INTERNAL_ERROR', `Failure("Expected string, got 'B(true)'")`]);
    // The session parameter is unmarshalled first, so a non-string session is not SESSION_INVALID.
    expect(await failure('host.get_all', [7])).toEqual(['INTERNAL_ERROR', `Failure("Expected string, got 'I(7)'")`]);
  });

  it('accepts int64 sent as a string, as int64_of_rpc does', async () => {
    const host = db.masterRef();
    await dispatch(env, 'host.set_name_label', [session, host, 'xs-demo-1'], signal);
    const vm = db.refByName('VM', 'web-1');
    await dispatch(env, 'VM.set_user_version', [session, vm, '4'], signal);
    expect(db.getRecord('VM', vm)['user_version']).toBe(4);
    expect(await failure('VM.set_user_version', [session, vm, 'four'])).toEqual(['INTERNAL_ERROR', 'Failure("Int64.of_string")']);
  });

  it('checks the session after the count and types, then MESSAGE_REMOVED', async () => {
    expect(await failure('host.get_record', ['OpaqueRef:gone', db.masterRef()])).toEqual(['SESSION_INVALID', 'OpaqueRef:gone']);
    const metrics = String(db.getRecord('host', db.masterRef())['metrics']);
    // host_metrics.memory_free is Removed since tampa: the getter answers MESSAGE_REMOVED with no params.
    expect(await failure('host_metrics.get_memory_free', [session, metrics])).toEqual(['MESSAGE_REMOVED']);
  });

  it('answers Async. of a message without an async mode with a Fault (server_helpers.ml do_dispatch)', async () => {
    expect(await failure('Async.host.get_record', [session, db.masterRef()])).toEqual(['Fault', 'No async mode for this operation (rpc: host.get_record)']);
  });

  it('checks the session of an unknown message from dundee on, not before', async () => {
    expect(await failure('host.frobnicate', ['OpaqueRef:gone'])).toEqual(['SESSION_INVALID', 'OpaqueRef:gone']);
    expect(await failure('Async.host.frobnicate', [session])).toEqual(['MESSAGE_METHOD_UNKNOWN', 'host.frobnicate']);
    pinRelease(db, releaseOfProduct('6.0.0'));
    try {
      expect(await failure('host.frobnicate', ['OpaqueRef:gone'])).toEqual(['MESSAGE_METHOD_UNKNOWN', 'host.frobnicate']);
    } finally {
      pinRelease(db, undefined);
    }
  });

  it('lists sync names only in system.listMethods, before any check', async () => {
    const result = await dispatchCall(env, 'system.listMethods', ['anything'], signal);
    const names = result.value as string[];
    expect(names).toContain('VM.start');
    expect(names).toContain('VM.set_affinity');
    expect(names).toContain('host.evacuate');
    expect(names.some((n) => n.startsWith('Async.'))).toBe(false);
    expect(result.bare).toBe(true);
  });
});

describe('tasks (Context.of_http_req: a database task for every async-capable message)', () => {
  it('gives a sync call its own task for the duration of the call', async () => {
    const seen: string[] = [];
    const stop = db.onChange(() => {
      for (const ref of db.refs('task')) {
        const t = db.getRecord('task', ref);
        if (t['name_label'] === 'host.enable') seen.push(String(t['status']));
      }
    });
    try {
      await dispatch(env, 'host.enable', [session, db.masterRef()], signal);
    } finally {
      stop();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(db.find('task', (t) => t['name_label'] === 'host.enable')).toEqual([]);
  });

  it('stores a void Async result as <value></value> and type "<none/>"', async () => {
    const task = String(await dispatch(env, 'Async.host.enable', [session, db.masterRef()], signal));
    for (let i = 0; i < 50 && db.getRecord('task', task)['status'] === 'pending'; i++) await new Promise((r) => setTimeout(r, 10));
    const record = db.getRecord('task', task);
    expect(record).toMatchObject({ status: 'success', result: '<value></value>', type: '<none/>', name_label: 'Async.host.enable', progress: 1 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Xapi } from 'xen-api';
import { asRef, XapiClient } from '@xsctl/controller/xapi/index';
import { demoPoolFile, sharedDumpFile } from '../src/xapi-sim/fixture-paths.js';
import { DEFAULT_SIM_CREDENTIALS, startXapiSimulator, type StartXapiSimulatorOptions, type XapiSimulator } from '../src/xapi-sim/index.js';
import { configureUpgradeSim } from '../src/xapi-sim/methods/upgrade/index.js';

import { ok, plain, post, runXenApiPy, type ProbeStep, type Tagged } from './fidelity-helpers.js';

// The simulator measured against xapi itself, with two clients nobody here wrote: XenAPI.py, the
// reference Python client from xapi-project/xen-api (vendored unmodified in
// test/fixtures/xenapi-py, run with python3), and the xen-api npm client the controller uses.
// Every expectation is read off xapi's source (github.com/xapi-project/xen-api, and
// mirage/ocaml-rpc for the codecs); each case names the file. Nothing here is computed by the
// simulator's own code.

const { user, password } = DEFAULT_SIM_CREDENTIALS;
const login = [user, password];

const sims: XapiSimulator[] = [];
async function sim(options: StartXapiSimulatorOptions): Promise<XapiSimulator> {
  const s = await startXapiSimulator(options);
  sims.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

function xenApi(url: string): Xapi {
  return createClient({ url, auth: { user, password }, allowUnauthorized: true, watchEvents: false });
}

const step = (id: string, method: string, args: unknown[] = [], mode: ProbeStep['mode'] = 'xenapi'): ProbeStep => ({ id, method, args, mode });

describe('wire protocol on XenServer 7.1 (the demo pool): XML-RPC at / and /RPC2, JSON-RPC v1', () => {
  let s: XapiSimulator;
  let out: Awaited<ReturnType<typeof runXenApiPy>>;
  let master: string;

  beforeAll(async () => {
    s = await sim({ source: { descriptionFile: demoPoolFile } });
    master = s.db.masterRef();
    const metrics = String(s.db.getRecord('host', master)['metrics']);
    const cpu = s.db.find('host_cpu', (c) => c['host'] === master)[0]![0];
    out = await runXenApiPy(s.url, {
      login,
      steps: [
        step('api_major', 'host.get_API_version_major', [master]),
        step('enabled', 'host.get_enabled', [master]),
        step('utilisation', 'host_cpu.get_utilisation', [cpu]),
        step('last_updated', 'host_metrics.get_last_updated', [metrics]),
        step('vms', 'VM.get_all_records'),
        step('raw_bad_session', 'host.get_all', ['OpaqueRef:no-such-session'], 'raw'),
        { ...step('rpc2', 'host.get_all', [], 'raw_session'), path: '/RPC2' },
        step('list', 'system.listMethods', [], 'raw'),
        step('token', 'event.inject', ['pool', s.db.poolRef()]),
        step('events', 'event.from', [['pool'], '$token', { $double: 5 }]),
        step('async', 'Async.host.enable', [master]),
        { id: 'async_done', mode: 'wait_task', args: ['$async'] },
      ],
    });
  });

  it('XenAPI.py logs in over XML-RPC at /', () => {
    // api_server.ml `callback` is registered at "/" and "/RPC2" (xapi.ml post_root, post_RPC2).
    expect(plain(ok(out['login']))).toMatch(/^OpaqueRef:/);
    expect(plain(ok(out['rpc2']))).toMatchObject({ Status: 'Success' });
  });

  it('sends int64 as an untyped <value> (a string to Python), bool as <boolean>, float as <double>, DateTime as <dateTime.iso8601>', () => {
    // ocaml-rpc xmlrpc.ml add_value, non-strict: Int -> <value>%Ld</value>; Bool -> <boolean>;
    // Float -> <double>; DateTime -> <dateTime.iso8601>.
    expect(ok(out['api_major'])).toEqual({ s: '2' });
    expect(ok(out['enabled'])).toEqual({ b: true });
    expect('f' in ok(out['utilisation'])).toBe(true);
    expect('dt' in ok(out['last_updated'])).toBe(true);
  });

  it('wraps results in Status/Value and failures in Status/ErrorDescription', () => {
    // xmlrpc.ml add_response.
    expect(plain(ok(out['raw_bad_session']))).toEqual({ Status: 'Failure', ErrorDescription: ['SESSION_INVALID', 'OpaqueRef:no-such-session'] });
  });

  it('answers system.listMethods with the bare list, sync names only', () => {
    // api_server.ml callback: listMethods is written without the Status struct; gen_server.ml
    // lists DU.wire_name ~sync:true of every message.
    const names = plain(ok(out['list'])) as string[];
    expect(Array.isArray(names)).toBe(true);
    expect(names).toContain('VM.get_all_records');
    expect(names.filter((n) => n.startsWith('Async.'))).toEqual([]);
  });

  it('lets XenAPI.py read get_all_records, follow event.from and run an Async call to a void task result', () => {
    const vms = plain(ok(out['vms'])) as Record<string, { name_label: string }>;
    expect(Object.values(vms).map((v) => v.name_label)).toContain('web-1');
    const batch = plain(ok(out['events'])) as { events: Array<{ class: string; operation: string; timestamp: string }>; token: string };
    // xapi_event.ml from_inner: ts= "0.0" for database events.
    expect(batch.events).toEqual([expect.objectContaining({ class: 'pool', operation: 'mod', timestamp: '0.0' })]);
    const task = plain(ok(out['async_done'])) as { status: string; result: string; name_label: string };
    // taskHelper.ml complete: result = Xmlrpc.to_string (rpc_of unit = Rpc.String "").
    expect(task).toMatchObject({ status: 'success', result: '<value></value>', name_label: 'Async.host.enable' });
  });

  it('answers /jsonrpc in the v1 shape with id 0, whatever the request says (api_server.ml before CA-261166)', async () => {
    const good = await post(s.url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: login, id: 42 }));
    expect(good.type).toBe('application/json');
    expect(good.json).toEqual({ result: expect.stringMatching(/^OpaqueRef:/), error: null, id: 0 });
    const bad = await post(s.url, '/jsonrpc', JSON.stringify({ method: 'host.get_all', params: ['OpaqueRef:x'], id: 1 }));
    expect(bad.json).toEqual({ result: null, error: ['SESSION_INVALID', 'OpaqueRef:x'], id: 0 });
  });

  it('lets the xen-api client log in and read records over that v1 JSON-RPC', async () => {
    const x = xenApi(s.url);
    await x.connect();
    try {
      const hosts = (await x.call('host.get_all_records')) as Record<string, { API_version_major: number }>;
      // Over JSON-RPC int64 is a JSON number (jsonrpc.ml: Int -> `Intlit).
      expect(hosts[master]?.API_version_major).toBe(2);
      await expect(x.call('host.get_record', 'OpaqueRef:nope')).rejects.toMatchObject({ code: 'HANDLE_INVALID', params: ['host', 'OpaqueRef:nope'] });
    } finally {
      await x.disconnect();
    }
  });
});

describe('wire protocol by release', () => {
  it('XenServer 6.0 (state1.xml, boston-db.xml) has no /jsonrpc: a JSON body there reaches the XML-RPC handler', async () => {
    for (const dump of ['state1.xml', 'boston-db.xml']) {
      const s = await sim({ source: { dumpFile: sharedDumpFile(dump) } });
      // xapi.ml registered post_jsonrpc in November 2012 (after 6.1); Http_svr picks the handler
      // with the longest URI prefix, "/". The 2011 api_server.ml answered XML it could not parse
      // with Fault(1, "Failed to parse supplied XML").
      const r = await post(s.url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: login, id: 0 }));
      expect(r.status).toBe(200);
      expect(r.type).toBe('text/xml');
      expect(r.body).toContain('<fault>');
      expect(r.body).toContain('Failed to parse supplied XML');
      // The xen-api client takes the text/xml answer as "no JSON-RPC" and falls back to XML-RPC.
      const x = xenApi(s.url);
      await x.connect();
      try {
        expect(await x.call('host.get_API_version_major', s.db.masterRef())).toBe('2');
      } finally {
        await x.disconnect();
      }
      const py = await runXenApiPy(s.url, { login, steps: [step('hosts', 'host.get_all_records')] });
      expect(Object.keys(plain(ok(py['hosts'])) as object).sort()).toEqual(s.db.refs('host').sort());
    }
  });

  it('XenServer 7.3 answers v2 requests in v2 with error code 0; 7.4 on with code 1 (api_server.ml, CA-274994)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'host.get_all', params: ['OpaqueRef:x'], id: 'abc' });
    const inverness = await sim({ source: { descriptionFile: demoPoolFile }, release: { kind: 'named', code: 'inverness' } });
    expect((await post(inverness.url, '/jsonrpc', body)).json).toEqual({ jsonrpc: '2.0', error: { code: 0, message: 'SESSION_INVALID', data: ['OpaqueRef:x'] }, id: 'abc' });
    const stockholm = await sim({ source: { descriptionFile: demoPoolFile }, release: { kind: 'named', code: 'stockholm' } });
    expect((await post(stockholm.url, '/jsonrpc', body)).json).toEqual({ jsonrpc: '2.0', error: { code: 1, message: 'SESSION_INVALID', data: ['OpaqueRef:x'] }, id: 'abc' });
    // A v1 request gets a v1 answer with its own id (jsonrpc.ml json_of_response ~id).
    const v1 = await post(stockholm.url, '/jsonrpc', JSON.stringify({ method: 'host.get_all', params: ['OpaqueRef:x'], id: 5 }));
    expect(v1.json).toEqual({ result: null, error: ['SESSION_INVALID', 'OpaqueRef:x'], id: 5 });
    const okCall = await post(stockholm.url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: login, id: 9 }));
    expect(okCall.json).toEqual({ jsonrpc: '2.0', result: expect.stringMatching(/^OpaqueRef:/), id: 9 });
  });

  it('answers malformed JSON-RPC with HTTP 500 (jsonrpc.ml Malformed_method_request reaches Http_svr)', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile }, release: { kind: 'named', code: 'stockholm' } });
    const bodies = [
      { jsonrpc: '2.0', method: 'session.login_with_password', params: login },
      { jsonrpc: '2.0', method: 'session.login_with_password', params: login, id: null },
      { jsonrpc: '1.0', method: 'session.login_with_password', params: login, id: 1 },
      { method: 'session.login_with_password', id: 1 },
    ];
    for (const b of bodies) expect((await post(s.url, '/jsonrpc', JSON.stringify(b))).status).toBe(500);
    expect((await post(s.url, '/jsonrpc', '{not json')).status).toBe(500);
    // v2 may leave params out (jsonrpc.ml: None | Some Null -> []).
    expect((await post(s.url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'system.listMethods', id: 1 }))).status).toBe(200);
  });
});

describe("xapi's dispatcher (gen_server.ml, server_helpers.ml) through XenAPI.py", () => {
  let s: XapiSimulator;
  let out: Awaited<ReturnType<typeof runXenApiPy>>;
  let master: string;
  let vm: string;

  beforeAll(async () => {
    s = await sim({ source: { descriptionFile: demoPoolFile } });
    master = s.db.masterRef();
    vm = s.db.refByName('VM', 'web-2');
    const halted = s.db.refByName('VM', 'web-1');
    s.db.update('VM', halted, { power_state: 'Halted', resident_on: 'OpaqueRef:NULL' });
    out = await runXenApiPy(s.url, {
      login,
      steps: [
        step('count', 'VM.get_record', [vm, 'extra']),
        step('count_async', 'Async.VM.get_record', []),
        step('count_before_session', 'VM.get_record', ['OpaqueRef:bad-session', vm, 'x'], 'raw'),
        step('login5', 'session.login_with_password', [user, password, '1.0', 'probe', 'extra'], 'raw'),
        step('login1', 'session.login_with_password', [user], 'raw'),
        step('evacuate3', 'host.evacuate', [master, 'OpaqueRef:NULL', '0']),
        step('disable2', 'host.disable', [master, false]),
        step('no_async', 'Async.host.get_record', [master]),
        step('mistyped', 'host.get_record', [42]),
        step('unknown_bad_session', 'host.frobnicate', ['OpaqueRef:bad-session', 'x'], 'raw'),
        step('unknown', 'host.frobnicate', [master]),
        step('set_affinity', 'VM.set_affinity', [vm, master]),
        step('block', 'VM.add_to_blocked_operations', [vm, 'pool_migrate', 'kept here']),
        step('priority', 'VM.set_ha_restart_priority', [vm, 'restart']),
        step('after', 'VM.get_record', [vm]),
        step('start', 'VM.start', [halted, false, false]),
        step('started', 'VM.get_power_state', [halted]),
      ],
    });
  });

  it('counts parameters without the session and names the message without Async.', () => {
    expect(out['count']).toEqual({ failure: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_record', '1', '2'] });
    expect(out['count_async']).toEqual({ failure: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_record', '1', '0'] });
  });

  it('checks the count before the session', () => {
    expect(plain(ok(out['count_before_session']))).toEqual({ Status: 'Failure', ErrorDescription: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_record', '1', '2'] });
  });

  it('accepts login with defaulted trailing parameters, and counts the required ones', () => {
    // datamodel session.login_with_password: version and originator have param_default; the
    // generated pattern `uname :: pwd :: default_args` ignores what follows.
    expect(plain(ok(out['login5']))).toMatchObject({ Status: 'Success' });
    expect(plain(ok(out['login1']))).toEqual({ Status: 'Failure', ErrorDescription: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.login_with_password', '2', '1'] });
  });

  it('has the arities of XenServer 7.1: host.evacuate(host) and host.disable(host) only', () => {
    // datamodel_host.ml: network since xapi 1.297.0, evacuate_batch_size since 23.27.0,
    // auto_enable since 25.31.0, all later than 7.1 (ely).
    expect(out['evacuate3']).toEqual({ failure: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.evacuate', '1', '3'] });
    expect(out['disable2']).toEqual({ failure: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.disable', '1', '2'] });
  });

  it('answers Async. of a message without an async mode with a Fault', () => {
    expect(out['no_async']).toEqual({ failure: ['Fault', 'No async mode for this operation (rpc: host.get_record)'] });
  });

  it('answers a mistyped argument with INTERNAL_ERROR (rpc.ml string_of_rpc, exnHelper.ml)', () => {
    expect(out['mistyped']).toEqual({ failure: ['INTERNAL_ERROR', `Failure("Expected string, got 'I(42)'")`] });
  });

  it('checks the session of an unknown message first (xapi extensions fallback, since dundee)', () => {
    expect(plain(ok(out['unknown_bad_session']))).toEqual({ Status: 'Failure', ErrorDescription: ['SESSION_INVALID', 'OpaqueRef:bad-session'] });
    expect(out['unknown']).toEqual({ failure: ['MESSAGE_METHOD_UNKNOWN', 'host.frobnicate'] });
  });

  it('serves the setters of RW fields and VM.start', () => {
    for (const id of ['set_affinity', 'block', 'priority', 'start']) expect(out[id]).toEqual({ ok: { s: '' } });
    expect(plain(ok(out['after']))).toMatchObject({ affinity: master, blocked_operations: { pool_migrate: 'kept here' }, ha_restart_priority: 'restart' });
    expect(plain(ok(out['started']))).toBe('Running');
  });
});

describe('arities of newer releases through the xen-api client', () => {
  it('takes host.evacuate(host, network, batch) from xapi 23.27 and host.disable(host, auto_enable) from 25.31', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile }, release: { kind: 'numbered', version: '25.33.0' } });
    const x = createClient({ url: s.url, auth: { user, password }, allowUnauthorized: true, watchEvents: ['task'] });
    await x.connect();
    try {
      const host = s.db.refByName('host', 'xs-demo-2');
      await x.call('host.disable', host, false);
      await x.callAsync('host.evacuate', host, 'OpaqueRef:NULL', 2);
      expect(s.db.find('VM', (v) => v['resident_on'] === host && v['is_control_domain'] !== true)).toEqual([]);
      await x.call('host.enable', host);
      // datamodel: the defaults fill what is left out.
      await x.call('host.disable', host);
      await x.call('host.enable', host);
    } finally {
      await x.disconnect();
    }
  });
});

describe('records (rpc_of_<class>_t from the datamodel field list)', () => {
  it('shows every field of the release, set fields included, and no internal column', async () => {
    const s = await sim({ source: { dumpFile: sharedDumpFile('boston-db.xml') } });
    const vbd = s.db.refs('VBD')[0]!;
    const pif = s.db.refs('PIF')[0]!;
    const vm = s.db.find('VM', (v) => v['is_control_domain'] !== true && v['is_a_template'] !== true)[0]![0];
    const out = await runXenApiPy(s.url, {
      login,
      steps: [step('vbd', 'VBD.get_record', [vbd]), step('pif', 'PIF.get_record', [pif]), step('vm', 'VM.get_record', [vm]), step('task', 'task.create', ['probe', ''])],
    });
    const vbdRecord = plain(ok(out['vbd'])) as Record<string, unknown>;
    const pifRecord = plain(ok(out['pif'])) as Record<string, unknown>;
    const vmRecord = ok(out['vm']) as { d: Record<string, Tagged> };
    // datamodel.ml: VBD.reserved and PIF.device_name are internal_only (not in xenapi.json).
    expect(vbdRecord).not.toHaveProperty('reserved');
    expect(pifRecord).not.toHaveProperty('device_name');
    expect(pifRecord['VLAN_slave_of']).toEqual([]);
    // VBD.userdevice is a string in the datamodel even when it looks like a number.
    expect(vbdRecord['userdevice']).toMatch(/^\d+$/);
    expect(typeof vbdRecord['userdevice']).toBe('string');
    // VM.last_booted_record is a string; crash_dumps a set that is always there.
    expect('s' in vmRecord.d['last_booted_record']!).toBe(true);
    expect(vmRecord.d['crash_dumps']).toEqual({ l: [] });
    // int64 over XML-RPC: untyped <value> (a string for Python).
    expect('s' in vmRecord.d['memory_static_max']!).toBe(true);
  });

  it('gives a pool of release R the fields of R only', async () => {
    // VM.domain_type was published in kolkata (7.5): a 7.1 pool has no such field, an 8.2 one has.
    const ely = await sim({ source: { descriptionFile: demoPoolFile } });
    const stockholm = await sim({ source: { descriptionFile: demoPoolFile }, release: { kind: 'named', code: 'stockholm' } });
    const vm = ely.db.refByName('VM', 'web-1');
    const a = await runXenApiPy(ely.url, { login, steps: [step('vm', 'VM.get_record', [vm])] });
    const b = await runXenApiPy(stockholm.url, { login, steps: [step('vm', 'VM.get_record', [vm])] });
    expect(plain(ok(a['vm']))).not.toHaveProperty('domain_type');
    expect(plain(ok(b['vm']))).toHaveProperty('domain_type');
  });

  it('keeps a removed field in the record but answers its getter with MESSAGE_REMOVED', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    const metrics = String(s.db.getRecord('host', s.db.masterRef())['metrics']);
    const out = await runXenApiPy(s.url, { login, steps: [step('rec', 'host_metrics.get_record', [metrics]), step('get', 'host_metrics.get_memory_free', [metrics])] });
    // datamodel.ml: host_metrics.memory_free Removed in tampa; gen_server.ml answers
    // MESSAGE_REMOVED for a Removed_s message; the record type keeps the field.
    expect(plain(ok(out['rec']))).toHaveProperty('memory_free');
    expect(out['get']).toEqual({ failure: ['MESSAGE_REMOVED'] });
  });
});

describe('event.from (xapi_event.ml)', () => {
  it('reports a new object as one add, with timestamp "0.0", and hands back the last matching generation on timeout', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    const out = await runXenApiPy(s.url, {
      login,
      steps: [
        step('token', 'event.inject', ['pool', s.db.poolRef()]),
        step('first', 'event.from', [['task', 'pool'], '$token', { $double: 1 }]),
        step('task', 'task.create', ['probe', 'made after the token']),
        step('renamed', 'task.set_name_description', ['$task', 'changed']),
        step('second', 'event.from', [['task'], '$token', { $double: 1 }]),
        step('host_change', 'host.set_name_description', [s.db.masterRef(), 'unrelated']),
        step('quiet', 'event.from', [['pool'], '$first.token', { $double: 0.3 }]),
      ],
    });
    const first = plain(ok(out['first'])) as { token: string };
    const second = plain(ok(out['second'])) as { events: Array<{ operation: string; ref: string; timestamp: string }> };
    const task = plain(ok(out['task']));
    // collect_events: created > token -> creates only, never also a mod.
    expect(second.events.filter((e) => e.ref === task).map((e) => e.operation)).toEqual(['add']);
    expect(second.events.every((e) => e.timestamp === '0.0')).toBe(true);
    // from_inner: on timeout the token is `last`, the newest matching change (the pool's, from
    // the inject), not the database's newest generation (the host change after it).
    const quiet = plain(ok(out['quiet'])) as { events: unknown[]; token: string };
    expect(quiet.events).toEqual([]);
    expect(quiet.token).toBe(first.token);
  });
});

describe('tasks (Context.of_http_req, xapi_host.ml evacuate)', () => {
  it('runs a sync call of an async-capable message in a task, and host.evacuate as Async.VM.pool_migrate subtasks keyed in current_operations', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    // Slow migrations (simulated time at wall speed: 2 s setup each) so the watcher sees them.
    configureUpgradeSim(s.db, { migrationSetupMs: 2000, migrationBytesPerSecond: 2 ** 40, evacuateBatchSize: 10 });
    const source = s.db.refByName('host', 'xs-demo-2');
    const seen = { sync: [] as string[], subtasks: [] as Array<{ name: string; parent: string }>, vmOps: [] as Array<[string, Record<string, string>]> };
    const stop = s.db.onChange(() => {
      for (const ref of s.db.refs('task')) {
        const t = s.db.getRecord('task', ref);
        if (t['name_label'] === 'host.evacuate') seen.sync.push(ref);
        if (t['name_label'] === 'Async.VM.pool_migrate') seen.subtasks.push({ name: ref, parent: String(t['subtask_of']) });
      }
      for (const [vm, r] of s.db.find('VM', (v) => Object.keys((v['current_operations'] ?? {}) as object).length > 0)) seen.vmOps.push([vm, r['current_operations'] as Record<string, string>]);
    });
    try {
      const out = await runXenApiPy(s.url, { login, steps: [step('disable', 'host.disable', [source]), step('evacuate', 'host.evacuate', [source])] });
      expect(out['evacuate']).toEqual({ ok: { s: '' } });
    } finally {
      stop();
    }
    const evacuateTask = seen.sync[0];
    // The sync call had a database task (named after the call, without Async.), gone at the end.
    expect(evacuateTask).toMatch(/^OpaqueRef:/);
    expect(s.db.has('task', evacuateTask!)).toBe(false);
    // One Async.VM.pool_migrate per VM, each a subtask of the evacuation's task, destroyed after.
    const subtasks = new Set(seen.subtasks.map((t) => t.name));
    expect(subtasks.size).toBe(3);
    expect(new Set(seen.subtasks.map((t) => t.parent))).toEqual(new Set([evacuateTask]));
    for (const ref of subtasks) expect(s.db.has('task', ref)).toBe(false);
    // with_vm_operation keys VM.current_operations by the migration's own task.
    for (const [, ops] of seen.vmOps) for (const [key, op] of Object.entries(ops)) if (op === 'pool_migrate') expect(subtasks.has(key)).toBe(true);
    expect(seen.vmOps.some(([, ops]) => Object.values(ops).includes('pool_migrate'))).toBe(true);
  });
});

describe('reboots and dead hosts', () => {
  it('closes the master socket while it reboots: connections are refused, not answered', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    // Simulated time 1000x: the 10 s shutdown delay is 10 ms; down for 1.5 s; xapi starting for 6 s.
    configureUpgradeSim(s.db, { timeFactor: 1000, rebootMs: 1_500_000, agentStartMs: 1_000_000, storageMs: 6_000_000 });
    const master = s.db.masterRef();
    await runXenApiPy(s.url, { login, steps: [step('d', 'host.disable', [master]), step('r', 'host.reboot', [master])] });
    let refused: unknown;
    const deadline = Date.now() + 5000;
    while (refused === undefined && Date.now() < deadline) {
      refused = await fetch(`${s.url}/jsonrpc`, { method: 'POST', body: '{}' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // fetch may reuse a keep-alive socket from before the reboot: the dying host resets it
      // (ECONNRESET), as a real one does. The claim is about a new connection, so ask again.
      if ((refused as { cause?: { code?: string } } | undefined)?.cause?.code === 'ECONNRESET') refused = undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
    // A host whose xapi is not running has nothing listening: ECONNREFUSED, not an XAPI error.
    expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    // xapi.ml brings the management interface up before startup completes: the master answers
    // again, and host.enable says HOST_STILL_BOOTING (xapi_host.ml assert_safe_to_reenable).
    let during: Awaited<ReturnType<typeof runXenApiPy>> | undefined;
    for (let i = 0; i < 200 && during === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      during = await runXenApiPy(s.url, { login, steps: [step('enable', 'host.enable', [master])] }).catch(() => undefined);
      if (during !== undefined && 'exception' in (during['login'] ?? {})) during = undefined;
    }
    expect(during?.['enable']).toEqual({ failure: ['HOST_STILL_BOOTING'] });
  });

  it('keeps a dead but enabled host as an evacuation target: every VM fails with HOST_NOT_LIVE', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    const dead = s.db.refByName('host', 'xs-demo-3');
    s.db.update('host_metrics', String(s.db.getRecord('host', dead)['metrics']), { live: false });
    const source = s.db.refByName('host', 'xs-demo-2');
    const out = await runXenApiPy(s.url, { login, steps: [step('blockers', 'host.get_vms_which_prevent_evacuation', [source])] });
    // xapi_host.ml compute_evacuation_plan_no_wlb: targets are the enabled hosts; assert_can_boot_here
    // on each raises host_not_live with no parameters (xapi_vm_helpers.ml assert_host_is_live).
    const blockers = plain(ok(out['blockers'])) as Record<string, string[]>;
    const guests = s.db.find('VM', (v) => v['resident_on'] === source && v['is_control_domain'] !== true).map(([ref]) => ref);
    expect(Object.keys(blockers).sort()).toEqual(guests.sort());
    for (const reasons of Object.values(blockers)) expect(reasons).toEqual(['HOST_NOT_LIVE']);
  });

  it('reports OTHER_OPERATION_IN_PROGRESS with four parameters and checks blocked_operations before the power state', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    const vm = s.db.refByName('VM', 'app-1');
    s.db.update('VM', vm, { current_operations: { 'OpaqueRef:busy-task': 'clean_shutdown' } });
    const halted = s.db.refByName('VM', 'app-2');
    s.db.update('VM', halted, { power_state: 'Halted', resident_on: 'OpaqueRef:NULL', blocked_operations: { pool_migrate: 'no' } });
    const to = s.db.refByName('host', 'xs-demo-3');
    const out = await runXenApiPy(s.url, { login, steps: [step('busy', 'VM.pool_migrate', [vm, to, {}]), step('blocked', 'VM.pool_migrate', [halted, to, {}])] });
    // xapi_vm_lifecycle.ml report_concurrent_operations_error: ["VM"; ref; op; op's task].
    expect(out['busy']).toEqual({ failure: ['OTHER_OPERATION_IN_PROGRESS', 'VM', vm, 'clean_shutdown', 'OpaqueRef:busy-task'] });
    // check_operation_error looks at blocked_operations first.
    expect(out['blocked']).toEqual({ failure: ['OPERATION_BLOCKED', halted, 'no'] });
  });

  it('refuses a migration to an older host only while rolling_upgrade_in_progress is set, on the full version tuple', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    const older = s.db.refByName('host', 'xs-demo-3');
    const sv = s.db.getRecord('host', older)['software_version'] as Record<string, string>;
    // Same platform_version, older xen: still "older" (Checks.Migration compares platform_version,
    // xapi_build and xen).
    s.db.update('host', older, { software_version: { ...sv, xen: '4.7.0-1-d' } });
    const vm = s.db.refByName('VM', 'web-1');
    const pool = s.db.poolRef();
    const out = await runXenApiPy(s.url, {
      login,
      steps: [
        step('flag', 'pool.add_to_other_config', [pool, 'rolling_upgrade_in_progress', 'true']),
        step('during', 'VM.pool_migrate', [vm, older, {}]),
        step('unflag', 'pool.remove_from_other_config', [pool, 'rolling_upgrade_in_progress']),
        step('after', 'VM.pool_migrate', [vm, older, {}]),
      ],
    });
    // message_forwarding.ml VM.pool_migrate: only rolling_upgrade_in_progress && not
    // host_versions_not_decreasing raises it.
    expect(out['during']).toEqual({ failure: ['NOT_SUPPORTED_DURING_UPGRADE'] });
    expect(out['after']).toEqual({ ok: { s: '' } });
  });

  it('host.reboot evacuates the guests that can move and shuts down the rest, and writes host_disabled_until_reboot only when the host goes down', async () => {
    const s = await sim({ source: { descriptionFile: demoPoolFile } });
    // Simulated time 1000x: the 10 s delay before the host goes down is 10 ms of wall time, but
    // the three XenAPI.py calls after host.reboot come sooner than the time it takes to empty it.
    configureUpgradeSim(s.db, { timeFactor: 1000, shutdownDelayMs: 300_000, rebootMs: 60_000_000 });
    const h3 = s.db.refByName('host', 'xs-demo-3');
    const out = await runXenApiPy(s.url, {
      login,
      steps: [step('d', 'host.disable', [h3]), step('r', 'host.reboot', [h3]), step('enable_now', 'host.enable', [h3]), step('d2', 'host.disable', [h3])],
    });
    // xapi_host.ml prepare_for_poweroff writes host_disabled_until_reboot, not the call.
    expect(out['enable_now']).toEqual({ ok: { s: '' } });
    const metrics = String(s.db.getRecord('host', h3)['metrics']);
    for (let i = 0; i < 200 && s.db.getRecord('host_metrics', metrics)['live'] !== false; i++) await new Promise((r) => setTimeout(r, 25));
    expect(s.db.getRecord('host_metrics', metrics)['live']).toBe(false);
    // vm_evacuation.ml ensure_no_vms: build-1 and mon-1 (shared SR) moved, ci-scratch-1 (local SR) shut down.
    for (const name of ['build-1', 'mon-1']) {
      const r = s.db.getRecord('VM', s.db.refByName('VM', name));
      expect(r['power_state']).toBe('Running');
      expect(r['resident_on']).not.toBe(h3);
    }
    expect(s.db.getRecord('VM', s.db.refByName('VM', 'ci-scratch-1'))['power_state']).toBe('Halted');
  });
});

describe("the controller's XapiClient over XML-RPC (a XenServer 6.0 pool)", () => {
  it('reads typed records and follows an Async call to its end through event.from', async () => {
    const s = await sim({ source: { dumpFile: sharedDumpFile('state1.xml') } });
    configureUpgradeSim(s.db, { timeFactor: 1000 });
    const client = await XapiClient.connect({ url: s.url, user, password, allowPlainHttp: true });
    try {
      const master = asRef<'host'>(s.db.masterRef());
      const host = await client.getRecord('host', master);
      // XML-RPC brought these as untyped strings; the adapter's records are numbers.
      expect(host.API_version_major).toBe(2);
      expect(typeof host.memory_overhead).toBe('number');
      const metrics = await client.getRecord('host_metrics', host.metrics);
      expect(metrics.memory_total).toBeGreaterThan(0);
      const other = [...(await client.getAllRecords('host')).keys()].find((h) => h !== master)!;
      await client.call('host.disable', [other]);
      // An Async call followed with event.from on task/<ref> over XML-RPC; void result.
      await expect(client.callAsync('host.disable', [other])).resolves.toBeUndefined();
      await client.call('host.enable', [other]);
    } finally {
      await client.close();
    }
  });
});

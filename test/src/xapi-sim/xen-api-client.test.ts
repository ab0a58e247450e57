import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Xapi } from 'xen-api';
import { demoPoolFile, sharedDumpFile } from './fixture-paths.js';
import { XapiFailure } from './xapi-failure.js';
import { DEFAULT_SIM_CREDENTIALS, startXapiSimulator, type XapiSimulator } from './start-xapi-simulator.js';
import { setXapiState } from './xapi-process.js';

// These tests drive the simulator with the unmodified xen-api client, default transport, so
// they break if the simulator stops speaking XAPI the way the real product's client expects.

const auth = DEFAULT_SIM_CREDENTIALS;

function client(url: string, options: { watchEvents?: boolean | string[]; password?: string } = {}): Xapi {
  return createClient({
    url,
    auth: { user: auth.user, password: options.password ?? auth.password },
    allowUnauthorized: true,
    watchEvents: options.watchEvents ?? false,
  });
}

async function rawCall(url: string, body: unknown): Promise<{ status: number; type: string | null; json: unknown }> {
  const res = await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), json: res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text };
}

describe.each(['state1.xml', 'boston-db.xml'])('xen-api against a simulator loaded from %s', (dump) => {
  let sim: XapiSimulator;
  let xapi: Xapi;

  beforeAll(async () => {
    sim = await startXapiSimulator({ source: { dumpFile: sharedDumpFile(dump) } });
    xapi = client(sim.url);
    await xapi.connect();
  });

  afterAll(async () => {
    await xapi?.disconnect();
    await sim?.close();
  });

  // XenServer 6.0 had no /jsonrpc (xapi.ml registered it in 2012): xen-api falls back to XML-RPC.
  it('logs in and reads the hosts through XML-RPC', async () => {
    expect(xapi.status).toBe('connected');
    expect(xapi.pool?.$ref).toBe(sim.db.poolRef());
    const hosts = await xapi.getAllRecords('host');
    expect(hosts.map((h) => h['name_label']).sort()).toEqual(['incubus', 'inflames']);
    const byRef = (await xapi.call('host.get_all_records')) as Record<string, { address: string; resident_VMs: string[] }>;
    expect(Object.keys(byRef).sort()).toEqual(sim.db.refs('host').sort());
    expect(byRef[sim.db.masterRef()]?.address).toBe('10.80.224.75');
    expect(byRef[sim.db.masterRef()]?.resident_VMs.length).toBeGreaterThan(0);
  });

  it('answers get_<field>, get_by_uuid and get_all like XAPI', async () => {
    const master = sim.db.masterRef();
    expect(await xapi.call('host.get_name_label', master)).toBe('inflames');
    // XML-RPC carries int64 as an untyped <value> (ocaml-rpc xmlrpc.ml, non-strict): a string.
    expect(await xapi.call('host.get_API_version_major', master)).toBe('2');
    const uuid = sim.db.getRecord('host', master)['uuid'] as string;
    expect(await xapi.call('host.get_by_uuid', uuid)).toBe(master);
    expect(((await xapi.call('VM.get_all')) as string[]).length).toBe(sim.db.count('VM'));
    expect(await xapi.call('pool.get_master', sim.db.poolRef())).toBe(master);
  });
});

describe('xen-api against the demo pool', () => {
  let sim: XapiSimulator;

  beforeAll(async () => {
    sim = await startXapiSimulator({
      source: { descriptionFile: demoPoolFile },
      hostListeners: true,
      methods: (registry) => {
        // A stand-in long operation, to check the task plumbing Async.* methods will use.
        registry.register('host.test_sleep', {
          arity: 2,
          async: true,
          handler: async (ctx, args) => {
            const ms = Number(args[1]);
            ctx.task?.setProgress(0.5);
            await ctx.clock.sleep(ms, ctx.signal);
            if (ms === 13) throw new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', ['13', '12']);
            return args[0];
          },
        });
      },
    });
  });

  afterAll(async () => {
    await sim?.close();
  });

  it('sees three hosts and the expected guests', async () => {
    const xapi = client(sim.url);
    await xapi.connect();
    try {
      const hosts = await xapi.getAllRecords('host');
      expect(hosts.map((h) => h['hostname']).sort()).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
      const vms = await xapi.getAllRecords('VM');
      const guests = vms.filter((vm) => vm['is_control_domain'] === false && vm['power_state'] === 'Running');
      expect(guests).toHaveLength(9);
      expect(vms.filter((vm) => vm['is_control_domain'] === true)).toHaveLength(3);
    } finally {
      await xapi.disconnect();
    }
  });

  it('refuses a wrong password with SESSION_AUTHENTICATION_FAILED', async () => {
    const xapi = client(sim.url, { password: 'wrong' });
    const error = (await xapi.connect().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; params?: string[]; message?: string };
    expect(error?.code).toBe('SESSION_AUTHENTICATION_FAILED');
    expect(error?.params).toEqual(['root', 'Authentication failure']);
    expect(JSON.stringify(error)).not.toContain('wrong');
  });

  it('returns HANDLE_INVALID, MESSAGE_METHOD_UNKNOWN and SESSION_INVALID as XAPI does', async () => {
    const xapi = client(sim.url);
    await xapi.connect();
    try {
      await expect(xapi.call('host.get_record', 'OpaqueRef:nope')).rejects.toMatchObject({ code: 'HANDLE_INVALID', params: ['host', 'OpaqueRef:nope'] });
      await expect(xapi.call('host.frobnicate', 'x')).rejects.toMatchObject({ code: 'MESSAGE_METHOD_UNKNOWN', params: ['host.frobnicate'] });
      await expect(xapi.call('VM.get_by_uuid', 'no-such-uuid')).rejects.toMatchObject({ code: 'UUID_INVALID', params: ['VM', 'no-such-uuid'] });
    } finally {
      await xapi.disconnect();
    }
    // XenServer 7.1's /jsonrpc answers in the v1 shape with id 0 whatever the request's version
    // (api_server.ml before CA-261166).
    const raw = await rawCall(sim.url, { jsonrpc: '2.0', method: 'host.get_all', params: ['OpaqueRef:stale'], id: 7 });
    expect(raw).toEqual({ status: 200, type: 'application/json', json: { result: null, error: ['SESSION_INVALID', 'OpaqueRef:stale'], id: 0 } });
    const v1 = await rawCall(sim.url, { method: 'host.get_all', params: ['OpaqueRef:stale'], id: 8 });
    expect(v1.json).toEqual({ result: null, error: ['SESSION_INVALID', 'OpaqueRef:stale'], id: 0 });
  });

  it('reports a change through event.from after a db update and after event.inject', async () => {
    const xapi = client(sim.url);
    await xapi.connect();
    try {
      const hostRef = sim.db.refByName('host', 'xs-demo-2');
      const token = (await xapi.call('event.inject', 'pool', sim.db.poolRef())) as string;
      const first = (await xapi.call('event.from', ['pool'], token, 5)) as { events: Array<{ class: string; operation: string; ref: string }>; token: string; valid_ref_counts: Record<string, number> };
      expect(first.events.map((e) => [e.class, e.operation, e.ref])).toEqual([['pool', 'mod', sim.db.poolRef()]]);
      expect(first.valid_ref_counts['host']).toBe(3);
      expect(first.token).toMatch(/^\d{20},\d{20}$/);

      const waiting = xapi.call('event.from', ['host', 'vm'], first.token, 30) as Promise<{ events: Array<{ class: string; operation: string; ref: string; snapshot: { enabled: boolean } }>; token: string }>;
      setTimeout(() => sim.db.update('host', hostRef, { enabled: false }), 50);
      const second = await waiting;
      expect(second.events).toHaveLength(1);
      expect(second.events[0]).toMatchObject({ class: 'host', operation: 'mod', ref: hostRef, snapshot: { enabled: false } });

      const started = Date.now();
      const quiet = (await xapi.call('event.from', ['host'], second.token, 0.2)) as { events: unknown[]; token: string };
      expect(quiet.events).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      sim.db.update('host', hostRef, { enabled: true });
    } finally {
      await xapi.disconnect();
    }
  });

  it("updates xen-api's object cache from the event loop", async () => {
    const xapi = client(sim.url, { watchEvents: ['host', 'VM', 'pool', 'task'] });
    await xapi.connect();
    try {
      await xapi.objectsFetched;
      const vmRef = sim.db.refByName('VM', 'mon-1');
      expect(xapi.getObjectByRef(vmRef)?.['name_label']).toBe('mon-1');
      const seen = new Promise<void>((resolve) => {
        const check = (): void => {
          if (xapi.getObjectByRef(vmRef)?.['name_label'] === 'mon-renamed') resolve();
          else setTimeout(check, 20);
        };
        check();
      });
      sim.db.update('VM', vmRef, { name_label: 'mon-renamed' });
      await seen;
      sim.db.update('VM', vmRef, { name_label: 'mon-1' });
    } finally {
      await xapi.disconnect();
    }
  });

  it('runs Async.* methods as tasks xen-api can watch', async () => {
    const xapi = client(sim.url, { watchEvents: ['task', 'pool'] });
    await xapi.connect();
    try {
      await xapi.objectsFetched;
      const host = sim.db.masterRef();
      expect(await xapi.callAsync('host.test_sleep', host, 30)).toBe(host);
      await expect(xapi.callAsync('host.test_sleep', host, 13)).rejects.toMatchObject({ code: 'HOST_NOT_ENOUGH_FREE_MEMORY', params: ['13', '12'] });
      // server_helpers.ml do_dispatch: response_of_fault ["Fault"; "No async mode ..."].
      await expect(xapi.call('Async.host.get_record', host)).rejects.toMatchObject({ code: 'Fault', params: ['No async mode for this operation (rpc: host.get_record)'] });
    } finally {
      await xapi.disconnect();
    }
  });

  it('a slave answers a password login with HOST_IS_SLAVE even while its master is dead (xapi_session.ml)', async () => {
    // xapi_session.ml login_with_password: `if Pool_role.is_slave () then raise (Server_error
    // (host_is_slave, [Pool_role.get_master_address ()]))`, before authentication and without
    // asking the master (the address is the slave's own pool.conf). The simulator cut the socket.
    const slaveUrl = sim.hostUrls.get('127.0.0.12');
    expect(slaveUrl).toBeDefined();
    const master = sim.db.masterRef();
    setXapiState(sim.db, master, 'down');
    try {
      const raw = await rawCall(slaveUrl!, { jsonrpc: '2.0', method: 'session.login_with_password', params: [auth.user, 'not-even-the-password'], id: 1 });
      expect(raw.json).toEqual({ result: null, error: ['HOST_IS_SLAVE', '127.0.0.11'], id: 0 });
      // The unmodified client follows it to the dead master and fails there, not on the slave.
      const xapi = client(slaveUrl!);
      const err = await xapi.connect().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ECONNREFUSED' });
      expect(String((err as { address?: unknown }).address ?? (err as Error).message)).toContain('127.0.0.11');
    } finally {
      setXapiState(sim.db, master, 'up');
    }
  });

  it("sends a client that logs in on a slave's address to the master", async () => {
    const slaveUrl = sim.hostUrls.get('127.0.0.12');
    expect(slaveUrl).toBeDefined();
    const raw = await rawCall(slaveUrl!, { jsonrpc: '2.0', method: 'session.login_with_password', params: [auth.user, auth.password], id: 1 });
    expect(raw.json).toEqual({ result: null, error: ['HOST_IS_SLAVE', '127.0.0.11'], id: 0 });
    const xapi = client(slaveUrl!);
    await xapi.connect();
    try {
      expect(await xapi.call('host.get_name_label', sim.db.masterRef())).toBe('xs-demo-1');
    } finally {
      await xapi.disconnect();
    }
  });

  it('answers unparseable bodies with HTTP 500 like XAPI', async () => {
    const res = await fetch(`${sim.url}/jsonrpc`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(500);
    // Any other POST path reaches the XML-RPC handler at "/" (Http_svr longest-prefix match),
    // whose parser rejects a JSON body.
    expect((await fetch(`${sim.url}/other`, { method: 'POST', body: '{}' })).status).toBe(500);
  });
});

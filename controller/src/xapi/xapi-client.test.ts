import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from 'nice-grpc';
import { XsctlError } from '@xsctl/common/errors/index';
// The simulator is a test double in the test package (a devDependency: it depends on the controller).
import { DEFAULT_SIM_CREDENTIALS, demoPoolFile, setXapiState, startXapiSimulator, XapiFailure, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import { asRef, NULL_REF } from './ref.js';
import { callPolicy, callTable } from './xapi-call-table.js';
import { XapiCancelledError } from './xapi-cancelled-error.js';
import { XapiClient, type XapiConnectOptions, type XapiTransportFactory } from './xapi-client.js';
import { XapiError } from './xapi-error.js';
import { XapiReadOnlyError } from './xapi-read-only-error.js';
import { XapiTimeoutError } from './xapi-timeout-error.js';
import { XapiUnreachableError } from './xapi-unreachable-error.js';
import { emergencyTransitionToMaster } from './emergency-transition.js';
import { XapiInsecureTransportError } from './xapi-transport-policy.js';
import { takeMetadataBackup } from '../prechecks/metadata-backup.js';

const GiB = 2 ** 30;
const { user, password } = DEFAULT_SIM_CREDENTIALS;

let sim: XapiSimulator;
const clients: XapiClient[] = [];

async function connect(extra: Partial<XapiConnectOptions> = {}): Promise<XapiClient> {
  const client = await XapiClient.connect({ url: sim.url, user, password, allowPlainHttp: true, ...extra });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  sim = await startXapiSimulator({
    source: { descriptionFile: demoPoolFile },
    hostListeners: true,
    methods: (registry) => {
      // Stand-ins with XAPI's names and signatures, enough to exercise the client's plumbing.
      registry.register('host.evacuate', {
        arity: 1,
        async: true,
        handler: async (ctx, args) => {
          const host = ctx.db.getRecord('host', String(args[0]));
          if (host['name_label'] === 'xs-demo-3') throw new XapiFailure('CANNOT_EVACUATE_HOST', ['VM_REQUIRES_SR', 'OpaqueRef:vm', 'OpaqueRef:sr']);
          if (host['name_label'] === 'xs-demo-2') await ctx.clock.sleep(60_000, ctx.signal);
          await ctx.clock.sleep(20, ctx.signal);
        },
      });
      registry.register('host.assert_can_evacuate', {
        arity: 1,
        async: true,
        handler: (ctx) => ctx.clock.sleep(60_000, ctx.signal),
      });
      registry.register('host.disable', {
        arity: 1,
        async: true,
        handler: (ctx, args) => ctx.db.update('host', String(args[0]), { enabled: false }),
      });
    },
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim?.close();
});

describe('XapiClient records', () => {
  it('returns typed host records keyed by branded refs', async () => {
    const xapi = await connect();
    const hosts = await xapi.getAllRecords('host');
    expect(hosts.size).toBe(3);
    const [ref, host] = [...hosts].find(([, h]) => h.name_label === 'xs-demo-1')!;
    expect(ref).toBe(sim.db.masterRef());
    expect(host).toMatchObject({ hostname: 'xs-demo-1', address: '127.0.0.11', enabled: true, API_version_major: 2, API_version_minor: 6 });
    expect(host.software_version['product_version']).toBe('7.1.0');
    expect(typeof host.memory_overhead).toBe('number');
    expect(host.resident_VMs.length).toBe(4);
    expect(host.updates).toHaveLength(2);

    const dom0 = await xapi.getRecord('VM', host.control_domain);
    expect(dom0.is_control_domain).toBe(true);
    expect(dom0.resident_on).toBe(ref);
    const metrics = await xapi.getRecord('host_metrics', host.metrics);
    expect(metrics).toMatchObject({ live: true, memory_total: 32 * GiB });

    const [pool] = (await xapi.getAllRecords('pool')).values();
    expect(pool).toMatchObject({ name_label: 'demo', master: ref, ha_enabled: false, wlb_enabled: false });
  });

  it('normalises numbers that arrive as strings once', async () => {
    const metricsRef = sim.db.getRecord('host', sim.db.masterRef())['metrics'] as string;
    const before = sim.db.getRecord('host_metrics', metricsRef)['memory_free'] as number;
    sim.db.update('host_metrics', metricsRef, { memory_free: String(before) });
    try {
      const xapi = await connect();
      const metrics = await xapi.getRecord('host_metrics', asRef<'host_metrics'>(metricsRef));
      expect(metrics.memory_free).toBe(before);
      // The field stays in the record, but its getter was removed in XenServer 6.1 (tampa): xapi's
      // datamodel marks host_metrics.memory_free Removed, and gen_server.ml answers MESSAGE_REMOVED.
      await expect(xapi.call('host_metrics.get_memory_free', [asRef<'host_metrics'>(metricsRef)])).rejects.toMatchObject({ code: 'MESSAGE_REMOVED' });
    } finally {
      sim.db.update('host_metrics', metricsRef, { memory_free: before });
    }
  });

  it('types field getters and SR/PBD records', async () => {
    const xapi = await connect();
    const vm = asRef<'VM'>(sim.db.refByName('VM', 'db-1'));
    expect(await xapi.call('VM.get_memory_static_max', [vm])).toBe(8 * GiB);
    expect(await xapi.call('VM.get_power_state', [vm])).toBe('Running');
    const srs = await xapi.getAllRecords('SR');
    const shared = [...srs.values()].find((s) => s.name_label === 'iscsi-shared')!;
    expect(shared).toMatchObject({ shared: true, type: 'lvmoiscsi' });
    expect(shared.PBDs).toHaveLength(3);
    const pbd = await xapi.getRecord('PBD', shared.PBDs[0]!);
    expect(pbd.currently_attached).toBe(true);
    expect(pbd.device_config['targetIQN']).toMatch(/^iqn\./);
  });
});

describe('XapiClient errors', () => {
  it('maps HANDLE_INVALID to XapiError with its params', async () => {
    const xapi = await connect();
    const error = await xapi.getRecord('host', asRef('OpaqueRef:no-such-host')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiError);
    expect(error).toBeInstanceOf(XsctlError);
    expect(error).toMatchObject({ code: 'HANDLE_INVALID', params: ['host', 'OpaqueRef:no-such-host'], method: 'host.get_record' });
    expect((error as XapiError).status).toBe(Status.NOT_FOUND);
  });

  it('reports a bad password as SESSION_AUTHENTICATION_FAILED without the password', async () => {
    const secret = 'not-the-password-xyzzy';
    const error = await XapiClient.connect({ url: sim.url, user, password: secret, allowPlainHttp: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiError);
    expect((error as XapiError).code).toBe('SESSION_AUTHENTICATION_FAILED');
    expect((error as XapiError).status).toBe(Status.UNAUTHENTICATED);
    expect(`${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ''}`).not.toContain(secret);
  });

  it('reports nothing listening as XapiUnreachableError', async () => {
    const closed = await startXapiSimulator({ source: { db: sim.db } });
    const url = closed.url;
    await closed.close();
    const error = await XapiClient.connect({ url, user, password, allowPlainHttp: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiUnreachableError);
    expect(error).toMatchObject({ code: 'XAPI_UNREACHABLE', reason: 'ECONNREFUSED' });
  });

  it('refuses credentials in the URL', async () => {
    await expect(XapiClient.connect({ url: `http://root:pw@127.0.0.1:1`, user, password })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('XapiClient read-only mode', () => {
  it('refuses host.disable before sending it, and still reads', async () => {
    const xapi = await connect({ readOnly: true });
    const host = asRef<'host'>(sim.db.masterRef());
    const error = await xapi.call('host.disable', [host]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiReadOnlyError);
    expect(error).toMatchObject({ code: 'XAPI_READ_ONLY', method: 'host.disable' });
    expect((error as XapiReadOnlyError).status).toBe(Status.PERMISSION_DENIED);
    await expect(xapi.callAsync('host.disable', [host])).rejects.toBeInstanceOf(XapiReadOnlyError);
    expect(sim.db.getRecord('host', host)['enabled']).toBe(true);
    expect((await xapi.getAllRecords('host')).size).toBe(3);
    const batch = await xapi.call('event.from', [['host'], '', 0.1]);
    expect(batch.events.length).toBeGreaterThan(0);
  });
});

describe('XapiClient timeouts', () => {
  it('fires the timeout from the call table', async () => {
    const xapi = await connect({ callTable: { 'host.assert_can_evacuate': { timeoutMs: 150 } } });
    const host = asRef<'host'>(sim.db.masterRef());
    const started = Date.now();
    const error = await xapi.callAsync('host.assert_can_evacuate', [host]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiTimeoutError);
    expect(error).toMatchObject({ code: 'XAPI_TIMEOUT', method: 'host.assert_can_evacuate', timeoutMs: 150 });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps every timeout in the one table', () => {
    expect(callPolicy('host.evacuate').timeoutMs).toBe(callTable['host.evacuate']!.timeoutMs);
    expect(callPolicy('host.get_record')).toMatchObject({ idempotent: true, readOnly: true });
    expect(callPolicy('host.disable')).toMatchObject({ idempotent: false, readOnly: false, retries: 0 });
    expect(callPolicy('event.from', [[], '', 60]).timeoutMs).toBeGreaterThan(60_000);
  });
});

describe('XapiClient Async calls', () => {
  it('waits for the task and returns its result', async () => {
    const xapi = await connect();
    const host = asRef<'host'>(sim.db.refByName('host', 'xs-demo-1'));
    await expect(xapi.callAsync('host.evacuate', [host])).resolves.toBeUndefined();
  });

  it("throws the task's error_info as XapiError", async () => {
    const xapi = await connect();
    const host = asRef<'host'>(sim.db.refByName('host', 'xs-demo-3'));
    await expect(xapi.callAsync('host.evacuate', [host])).rejects.toMatchObject({
      code: 'CANNOT_EVACUATE_HOST',
      params: ['VM_REQUIRES_SR', 'OpaqueRef:vm', 'OpaqueRef:sr'],
      method: 'host.evacuate',
    });
  });

  it('cancels the task when the signal aborts', async () => {
    const xapi = await connect();
    const host = asRef<'host'>(sim.db.refByName('host', 'xs-demo-2'));
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    await expect(xapi.callAsync('host.evacuate', [host], { signal: abort.signal })).rejects.toBeInstanceOf(XapiCancelledError);
    const tasks = sim.db.find('task', (t) => t['name_label'] === 'Async.host.evacuate' && t['status'] !== 'success' && t['status'] !== 'failure');
    expect(tasks.map(([, t]) => t['status'])).toEqual(['cancelled']);
  });
});

describe('XapiClient tasks a durable caller follows', () => {
  it('hands over the task ref before following it, reports progress, and follows an existing task again', async () => {
    const xapi = await connect();
    const host = asRef<'host'>(sim.db.refByName('host', 'xs-demo-1'));
    const seen: string[] = [];
    const progress: number[] = [];
    await xapi.callAsync('host.evacuate', [host], { onTask: (t) => seen.push(t), onProgress: (f) => progress.push(f) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^OpaqueRef:/);
    expect(progress.at(-1)).toBe(1);
    // A task started by someone else (a controller that died): its status, then followed to the end.
    const other = await connect();
    const task = asRef<'task'>(String(await other.call('Async.host.evacuate' as never, [host] as never)));
    // The host is already empty, so the simulator may finish the task before the status is read.
    expect(['pending', 'success']).toContain((await xapi.taskStatus(task))?.status);
    await expect(xapi.awaitTask('host.evacuate', task)).resolves.toBeUndefined();
    expect(await xapi.taskStatus(asRef<'task'>('OpaqueRef:no-such-task'))).toBeUndefined();
  });
});

describe('XapiClient on another transport', () => {
  it('drives whatever implements the xen-api client contract (the in-process simulator plugs in here)', async () => {
    const calls: string[] = [];
    const transport: XapiTransportFactory = () => ({
      status: 'connected',
      connect: async () => undefined,
      disconnect: async () => undefined,
      call: async (method: string) => {
        calls.push(method);
        if (method === 'host.get_record') throw Object.assign(new Error('x'), { code: 'HANDLE_INVALID', params: ['host', 'OpaqueRef:x'] });
        return { 'OpaqueRef:p': { uuid: 'p', name_label: 'other', master: 'OpaqueRef:h', ha_enabled: 'true' } };
      },
    });
    const xapi = await XapiClient.connect({ url: 'http://nowhere.invalid', user: 'root', password: 'x', transport });
    const pools = await xapi.getAllRecords('pool');
    expect([...pools.values()][0]).toMatchObject({ name_label: 'other', ha_enabled: true, ha_statefiles: [] });
    await expect(xapi.getRecord('host', asRef<'host'>('OpaqueRef:x'))).rejects.toMatchObject({ code: 'HANDLE_INVALID', params: ['host', 'OpaqueRef:x'] });
    expect(calls).toEqual(['pool.get_all_records', 'host.get_record']);
    await xapi.close();
  });
});

describe('XapiClient sessions and masters', () => {
  it('logs in again once when the session is gone', async () => {
    const xapi = await connect();
    for (const ref of sim.db.refs('session')) sim.db.destroy('session', ref);
    expect((await xapi.getAllRecords('host')).size).toBe(3);
  });

  it('follows HOST_IS_SLAVE at login and when the master moves', async () => {
    const slaveUrl = sim.hostUrls.get('127.0.0.12')!;
    const xapi = await XapiClient.connect({ url: slaveUrl, user, password, allowPlainHttp: true, followMasterRedirect: true });
    clients.push(xapi);
    expect(xapi.url).toBe(`http://127.0.0.11:${sim.port}`);

    const poolRef = sim.db.poolRef();
    const oldMaster = sim.db.masterRef();
    sim.db.update('pool', poolRef, { master: sim.db.refByName('host', 'xs-demo-2') });
    try {
      const master = await xapi.call('pool.get_master', [asRef<'pool'>(poolRef)]);
      expect(master).toBe(sim.db.refByName('host', 'xs-demo-2'));
      expect(xapi.url).toBe(`http://127.0.0.12:${sim.port}`);
    } finally {
      sim.db.update('pool', poolRef, { master: oldMaster });
    }
    expect(NULL_REF).toBe('OpaqueRef:NULL');
  });
});

describe('the XAPI password never travels unverified unless the config says so (issue 10, defect 12)', () => {
  const sessions = (): number => sim.db.refs('session').length;

  it('refuses http:// before sending anything, in every door that carries the password', async () => {
    const before = sessions();
    const login = await XapiClient.connect({ url: sim.url, user, password }).catch((e: unknown) => e);
    expect(login).toBeInstanceOf(XapiInsecureTransportError);
    expect(login).toMatchObject({ code: 'XAPI_INSECURE_TRANSPORT', setting: 'allowPlainHttp' });
    expect((login as Error).message).not.toContain(password);
    await expect(emergencyTransitionToMaster({ hostUrl: sim.url, user, password })).rejects.toMatchObject({ code: 'XAPI_INSECURE_TRANSPORT' });
    await expect(takeMetadataBackup({ url: sim.url, user, password, allowUnauthorized: false }, 'lab', '/nonexistent')).rejects.toMatchObject({ code: 'XAPI_INSECURE_TRANSPORT' });
    expect(sessions()).toBe(before);
  });

  it('refuses HOST_IS_SLAVE at login: the password does not go on to the master the slave names', async () => {
    const slaveUrl = sim.hostUrls.get('127.0.0.12')!;
    const before = sessions();
    const err = await XapiClient.connect({ url: slaveUrl, user, password, allowPlainHttp: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XapiInsecureTransportError);
    expect(err).toMatchObject({ setting: 'followMasterRedirect' });
    expect((err as Error).message).toContain('127.0.0.11');
    expect(sessions()).toBe(before);
  });

  it('a slave whose master is dead: HOST_IS_SLAVE, then the dead master is unreachable (typed, bounded); without the redirect, refused naming it', async () => {
    // What a failover meets when it logs in to the survivor before pool.emergency_transition_to_master.
    const slaveUrl = sim.hostUrls.get('127.0.0.12')!;
    const master = sim.db.masterRef();
    setXapiState(sim.db, master, 'down');
    try {
      const start = performance.now();
      const follow = await XapiClient.connect({ url: slaveUrl, user, password, allowPlainHttp: true, followMasterRedirect: true }).catch((e: unknown) => e);
      expect(follow).toBeInstanceOf(XapiUnreachableError);
      // The unreachable one is the dead master the slave named, not the slave that answered.
      expect(follow).toMatchObject({ code: 'XAPI_UNREACHABLE', url: `http://127.0.0.11:${sim.port}` });
      expect((follow as XapiUnreachableError).reason).toBe(`ECONNREFUSED (named the pool master by http://127.0.0.12:${sim.port}, HOST_IS_SLAVE)`);
      expect(performance.now() - start).toBeLessThan(15_000);
      const refused = await XapiClient.connect({ url: slaveUrl, user, password, allowPlainHttp: true }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(XapiInsecureTransportError);
      expect(refused).toMatchObject({ setting: 'followMasterRedirect' });
      expect((refused as Error).message).toContain('127.0.0.11');
    } finally {
      setXapiState(sim.db, master, 'up');
    }
  });

  it('refuses to follow the master when it moves mid-session', async () => {
    const masterUrl = sim.hostUrls.get('127.0.0.11')!;
    const xapi = await connect({ url: masterUrl });
    const poolRef = sim.db.poolRef();
    const oldMaster = sim.db.masterRef();
    sim.db.update('pool', poolRef, { master: sim.db.refByName('host', 'xs-demo-2') });
    try {
      const before = sessions();
      await expect(xapi.call('pool.get_master', [asRef<'pool'>(poolRef)])).rejects.toMatchObject({ code: 'XAPI_INSECURE_TRANSPORT', setting: 'followMasterRedirect' });
      expect(xapi.url).toBe(`http://127.0.0.11:${sim.port}`);
      expect(sessions()).toBe(before);
    } finally {
      sim.db.update('pool', poolRef, { master: oldMaster });
    }
  });
});

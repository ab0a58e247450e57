import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import type { PoolConfig } from '../../config/inventory.js';
import { parsePoolStorageConfig } from '../../config/pool-storage-config.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import { keepHeartbeat, STORAGE_FAILOVER, type FailoverParams } from '../../workflows/storage/failover-workflow.js';
import type { StorageHost } from '../../workflows/storage/storage-pool.js';
import { hostsAfterFailover, survivorPollMs, WitnessMonitor } from './witness-monitor.js';

const storage = parsePoolStorageConfig(
  {
    spec: { drbdResources: ['iscsi1'], target: { tid: 1, iqn: 'iqn.2013-05.com.example:x', luns: [{ lun: 10, backingStore: '/dev/drbd1' }] }, floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1' } },
    hosts: {
      xs1: { replicationAddress: '10.10.10.1', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
      xs2: { replicationAddress: '10.10.10.2', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
    },
    failover: { automatic: true, pollIntervalMs: 50 },
    fencing: { method: 'self' },
  },
  'pools[0].storage',
  'controller.yaml',
  '/etc/xsctl',
)!;
const pool = { name: 'lab', xapi: { url: 'https://192.0.2.1', user: 'root', password: '' }, agentPort: 7443, storage } as unknown as PoolConfig;

// xs1 was the pool master and the storage master; the failover promoted xs2.
const failover: FailoverParams = {
  failed: { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: true },
  survivor: { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: false },
  reason: 'storage master xs1 lost',
  automatic: true,
  detectedAt: '2026-12-05T01:00:00.000Z',
};

const view = (heldRole: string): PeerView => ({ hostname: '', drbd: [], replicationConnected: false, replicationReachable: false, managementReachable: false, heldRole, witnessSilenceMs: 0, selfFenced: false, selfFencedAt: '', observedAgeMs: 0, warnings: [], floatingIpPresent: heldRole === 'master', floatingIpAnswersElsewhere: false, peerFencedHold: false, peerFencedHoldSince: '' });

/** A context whose XAPI is unreachable (the configured host is the dead master) and whose agents record heartbeats. */
function deadMasterContext(answering: Record<string, string>, known: { hosts: StorageHost[]; seenAt: string } | null = null, poolHosts: () => Promise<never> = async () => {
  throw new Error('connect ECONNREFUSED 192.0.2.1:443');
}) {
  const heartbeats: string[] = [];
  /** The signals of the calls a 'held' host was asked, in order. */
  const held: AbortSignal[] = [];
  const ctx = {
    logger: pino({ level: 'silent' }),
    poolHosts,
    knownPoolHosts: () => (known === null ? null : { hosts: known.hosts.map((h) => ({ ...h, nameLabel: h.name })), seenAt: known.seenAt }),
    agents: {
      get: (endpoint: { serverName: string }) => ({
        client: () => ({
          getPeerView: async (_request: unknown, options: { signal?: AbortSignal }) => {
            const role = answering[endpoint.serverName];
            if (role === undefined) throw new Error(`${endpoint.serverName}: UNAVAILABLE`);
            heartbeats.push(endpoint.serverName);
            // A host that went away mid-call: the call never comes back (its deadline is the caller's).
            if (role === 'hang') return new Promise<never>(() => undefined);
            // A host that never answers, as a real gRPC client sees it: the call ends when its signal aborts.
            if (role === 'held') {
              const signal = options.signal!;
              held.push(signal);
              return new Promise<never>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
            }
            // A slave whose replication link is up (rule 3: its peer is alive).
            if (role === 'connected') return { view: { ...view('slave'), replicationConnected: true } };
            // A loaded survivor: each answer takes 200 ms.
            if (role === 'slow') return new Promise((r) => setTimeout(() => r({ view: view('master') }), 200));
            return { view: view(role) };
          },
        }),
      }),
    },
  } as unknown as ControllerContext;
  return { ctx, heartbeats, held };
}

/** XAPI's host list as the witness reads it at start: xs1 the pool master (fresh rows: tests move the master in them). */
const xapiListing = () => [failover.failed, failover.survivor].map((h) => ({ ...h, nameLabel: h.name }));
/** The pool with no hold-down after a failover, so a second one may start at once. */
const noHoldDown = { ...pool, storage: { ...storage, failover: { ...storage.failover, holdDownMs: 0 } } } as PoolConfig;
/** An engine with an empty journal that records each failover it is asked to start. */
const recordingEngine = (started: FailoverParams[]) => ({ start: (_k: string, _p: string, params: FailoverParams) => started.push(params), store: { list: () => [], activeFor: () => undefined } }) as unknown as WorkflowEngine;
/** The same, whose failover stays running once started (the pool's one active workflow, as the engine enforces it). */
const runningEngine = (started: FailoverParams[]) => ({ start: (_k: string, _p: string, params: FailoverParams) => started.push(params), store: { list: () => [], activeFor: () => (started.length > 0 ? { id: 'running' } : undefined) } }) as unknown as WorkflowEngine;

/** A journal of failovers, newest first; `promoted: false` is one that stopped before its promotion (refused, fence failed). */
const engineWith = (rows: Array<{ id: string; params: FailoverParams; createdAt?: string; promoted?: boolean }>) =>
  ({
    store: {
      list: (f: { kind?: string }) => (f.kind === STORAGE_FAILOVER ? rows : []),
      activeFor: () => undefined,
      step: (id: string, name: string) => {
        const row = rows.find((r) => r.id === id);
        return row !== undefined && name === `promote:${row.params.survivor.name}` && row.promoted !== false ? { name, status: 'done' } : undefined;
      },
    },
  }) as unknown as WorkflowEngine;

describe('the witness of a controller restarted with the pool master dead', () => {
  it('takes the storage hosts from the last failover in the journal and heartbeats the promoted survivor', async () => {
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'master' });
    const monitor = new WitnessMonitor(ctx, pool, engineWith([{ id: 'wf-1', params: failover }]));
    await monitor.tick();
    expect(heartbeats).toEqual(['xs2']);
    expect(monitor.master).toBe('xs2');
    expect([...monitor.hosts.keys()].sort()).toEqual(['xs1', 'xs2']);
    expect(monitor.hosts.get('xs1')?.reachable).toBe(false);
  });

  it('without a recorded failover it cannot know the hosts: the round fails and nothing is heartbeaten', async () => {
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'master' });
    const monitor = new WitnessMonitor(ctx, pool, engineWith([]));
    await monitor.tick();
    expect(heartbeats).toEqual([]);
    expect(monitor.hosts.size).toBe(0);
  });

  it('without a recorded failover it heartbeats the pool members the journal kept (the pool master was the storage slave)', async () => {
    // xs2 was the XAPI pool master and the storage slave; it died, then the controller restarted.
    const members: StorageHost[] = [
      { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: false },
      { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: true },
    ];
    const { ctx, heartbeats } = deadMasterContext({ xs1: 'master' }, { hosts: members, seenAt: '2026-12-05T00:00:00.000Z' });
    const monitor = new WitnessMonitor(ctx, pool, engineWith([]));
    await monitor.tick();
    expect(heartbeats).toEqual(['xs1']);
    expect(monitor.master).toBe('xs1');
    expect(monitor.hosts.get('xs2')?.reachable).toBe(false);
  });

  it('a XAPI that never answers does not hold the heartbeat back when the journal knows the hosts', async () => {
    const members: StorageHost[] = [
      { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: false },
      { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: true },
    ];
    const { ctx, heartbeats } = deadMasterContext({ xs1: 'master' }, { hosts: members, seenAt: '2026-12-05T00:00:00.000Z' }, () => new Promise<never>(() => undefined));
    const monitor = new WitnessMonitor(ctx, pool, engineWith([]));
    await monitor.tick();
    await monitor.tick();
    expect(heartbeats).toEqual(['xs1', 'xs1']);
  });

  it('a failover recorded after the members were listed wins: its survivor became the pool master', async () => {
    const members: StorageHost[] = [
      { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: true },
      { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: false },
    ];
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'master' }, { hosts: members, seenAt: '2026-12-05T00:59:00.000Z' });
    const monitor = new WitnessMonitor(ctx, pool, engineWith([{ id: 'wf-1', params: failover, createdAt: '2026-12-05T01:00:00.000Z' }]));
    await monitor.tick();
    expect(heartbeats).toEqual(['xs2']);
    expect(monitor.hosts.get('xs2')?.host.isMaster).toBe(true);
    expect(monitor.hosts.get('xs1')?.host.isMaster).toBe(false);
  });

  it('a refused failover newer than the last one that moved the storage does not relabel the masters (issue 11)', async () => {
    // wf-1 moved the storage xs1 -> xs2 (xs2 became the pool master). wf-2, later, tried xs2 -> xs1
    // and stopped before the promotion (its fence failed): nothing moved, xs2 is still both masters.
    const back: FailoverParams = { ...failover, failed: { ...failover.survivor, isMaster: true }, survivor: { ...failover.failed, isMaster: false }, reason: 'storage master xs2 lost' };
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'master' });
    const monitor = new WitnessMonitor(
      ctx,
      pool,
      engineWith([
        { id: 'wf-2', params: back, createdAt: '2026-12-05T02:00:00.000Z', promoted: false },
        { id: 'wf-1', params: failover, createdAt: '2026-12-05T01:00:00.000Z' },
      ]),
    );
    await monitor.tick();
    expect(heartbeats).toEqual(['xs2']);
    expect(monitor.hosts.get('xs2')?.host.isMaster).toBe(true);
    expect(monitor.hosts.get('xs1')?.host.isMaster).toBe(false);
  });

  it('a refused failover newer than the pool members the journal kept: the members stand', async () => {
    const members: StorageHost[] = [
      { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: true },
      { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: false },
    ];
    const { ctx } = deadMasterContext({ xs1: 'master' }, { hosts: members, seenAt: '2026-12-05T00:59:00.000Z' });
    const monitor = new WitnessMonitor(ctx, pool, engineWith([{ id: 'wf-1', params: failover, createdAt: '2026-12-05T01:00:00.000Z', promoted: false }]));
    await monitor.tick();
    // Taken as a move, wf-1 would make xs2 the pool master and xs1 a slave.
    expect(monitor.hosts.get('xs1')?.host.isMaster).toBe(true);
    expect(monitor.hosts.get('xs2')?.host.isMaster).toBe(false);
  });

  it('after the failover the survivor is the pool master when the dead host was', () => {
    expect(hostsAfterFailover(failover).map((h) => [h.name, h.isMaster])).toEqual([
      ['xs1', false],
      ['xs2', true],
    ]);
    expect(hostsAfterFailover({ ...failover, failed: { ...failover.failed, isMaster: false } }).map((h) => h.isMaster)).toEqual([false, false]);
  });
});

describe('the failover keeps the survivor heartbeaten while it runs', () => {
  it('sends a heartbeat at once and every pollIntervalMs, and stops when told', async () => {
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'slave' });
    const stop = keepHeartbeat(ctx, pool, failover.survivor, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 280));
    stop();
    const sent = heartbeats.length;
    // 280 ms at a 50 ms interval: one at once, then about five more (timers may run late, never early).
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(6);
    expect(new Set(heartbeats)).toEqual(new Set(['xs2']));
    await new Promise((r) => setTimeout(r, 150));
    expect(heartbeats.length).toBe(sent);
  });

  it('keeps its grid when the survivor answers slowly: a call starts every pollIntervalMs, not pollIntervalMs after each answer', async () => {
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'slow' });
    const stop = keepHeartbeat(ctx, pool, failover.survivor, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 520));
    stop();
    // 520 ms at a 50 ms grid: 11 calls started on time. Waiting for each 200 ms answer and then
    // 50 ms starts them at 0, 250 and 500 ms: 3. Late timers only lower the first figure.
    expect(heartbeats.length).toBeGreaterThanOrEqual(6);
    expect(heartbeats.length).toBeLessThanOrEqual(11);
  });

  it('a call the survivor never answers ends at 1.5 s, also after a garbage collection (the bound on calls in flight)', async () => {
    // Node 20 holds an AbortSignal.timeout() inside AbortSignal.any() only weakly: once collected
    // it never fires, and the call's end was left to the agent client's retries (3 x 1.5 s).
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { ctx, held } = deadMasterContext({ xs2: 'held' });
    // One call only: the next tick is 10 s away.
    const slow = { ...pool, storage: { ...storage, failover: { ...storage.failover, pollIntervalMs: 10_000 } } } as PoolConfig;
    const stop = keepHeartbeat(ctx, slow, failover.survivor, new AbortController().signal);
    try {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(held).toHaveLength(1);
      expect(held[0]!.aborted).toBe(false);
      await new Promise((r) => setTimeout(r, 1_700));
      expect(held[0]!.aborted).toBe(true);
    } finally {
      stop();
    }
  });

  it('stops with the workflow (its signal aborts: a pause or a controller shutdown)', async () => {
    const { ctx, heartbeats } = deadMasterContext({ xs2: 'slave' });
    const workflow = new AbortController();
    keepHeartbeat(ctx, pool, failover.survivor, workflow.signal);
    await new Promise((r) => setTimeout(r, 20));
    workflow.abort();
    const sent = heartbeats.length;
    expect(sent).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(heartbeats.length).toBe(sent);
  });
});

describe('a witness that has run one failover runs the next one with the XAPI master it left (issue 11)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the failover back to the original pool master names the survivor of the first as the dead pool master', async () => {
    // Only Date is faked: the detection delay passes without waiting, promises run as usual.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-05T02:00:00.000Z'));
    // Both failovers within XAPI_RELIST_MS (30 s): the witness's own copy must carry the new master.
    const later = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000);
    // XAPI lists the pool once, as it was at start: xs1 the pool master (and the storage master).
    const listing = xapiListing();
    const answering: Record<string, string> = { xs1: 'master', xs2: 'slave' };
    const { ctx } = deadMasterContext(answering, null, async () => listing as never);
    const started: FailoverParams[] = [];
    const engine = {
      // The workflow's pool.emergency_transition_to_master: XAPI lists the survivor as the master from then on.
      start: (_kind: string, _pool: string, params: FailoverParams) => {
        started.push(params);
        if (params.failed.isMaster) for (const h of listing) h.isMaster = h.name === params.survivor.name;
      },
      store: { list: () => [], activeFor: () => undefined },
    } as unknown as WorkflowEngine;
    const monitor = new WitnessMonitor(ctx, noHoldDown, engine);

    await monitor.tick();
    // xs1 is lost (its agent silent, xs2 sees the replication link down).
    delete answering['xs1'];
    await monitor.tick();
    later(5);
    await monitor.tick();
    expect(started.map((p) => [p.failed.name, p.failed.isMaster, p.survivor.name, p.survivor.isMaster])).toEqual([['xs1', true, 'xs2', false]]);

    // xs1 boots as the storage slave (and a XAPI slave of xs2, after the emergency transition); then xs2 dies.
    answering['xs1'] = 'slave';
    answering['xs2'] = 'master';
    later(1);
    await monitor.tick();
    delete answering['xs2'];
    await monitor.tick();
    later(5);
    await monitor.tick();
    // The dead xs2 was the pool master: the workflow must run pool.emergency_transition_to_master on xs1.
    expect(started.map((p) => [p.failed.name, p.failed.isMaster, p.survivor.name, p.survivor.isMaster])).toEqual([
      ['xs1', true, 'xs2', false],
      ['xs2', true, 'xs1', false],
    ]);
  });
});

describe('the witness reads XAPI again: the pool master moves without a failover', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('after a switchover that moved the pool master to xs2, the failover of xs2 transitions xs1 to master', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-05T03:00:00.000Z'));
    const later = (minutes: number) => vi.setSystemTime(Date.now() + minutes * 60_000);
    const settle = () => new Promise((r) => setImmediate(r));
    const listing = xapiListing();
    const answering: Record<string, string> = { xs1: 'master', xs2: 'slave' };
    const { ctx } = deadMasterContext(answering, null, async () => listing.map((h) => ({ ...h })) as never);
    const started: FailoverParams[] = [];
    const engine = recordingEngine(started);
    const monitor = new WitnessMonitor(ctx, noHoldDown, engine);
    await monitor.tick();

    // A switchover that couples the pool master (pool.designate_new_master): xs2 both masters.
    answering['xs1'] = 'slave';
    answering['xs2'] = 'master';
    listing[0]!.isMaster = false;
    listing[1]!.isMaster = true;
    later(1);
    await monitor.tick();
    await settle();
    await monitor.tick();
    expect(monitor.hosts.get('xs2')?.host.isMaster).toBe(true);

    delete answering['xs2'];
    await monitor.tick();
    later(10);
    await monitor.tick();
    expect(started.map((p) => [p.failed.name, p.failed.isMaster, p.survivor.name, p.survivor.isMaster])).toEqual([['xs2', true, 'xs1', false]]);
  });
});

describe('a master whose heartbeat never comes back (issue 11: detection held by the call deadline)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the round does not wait for it past one poll interval, and the failover starts detectAfterMs after its last answer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-05T04:00:00.000Z'));
    const answering: Record<string, string> = { xs1: 'master', xs2: 'slave' };
    const listing = xapiListing();
    const { ctx, heartbeats } = deadMasterContext(answering, null, async () => listing as never);
    const started: FailoverParams[] = [];
    const engine = runningEngine(started);
    const monitor = new WitnessMonitor(ctx, noHoldDown, engine);
    await monitor.tick();
    const seen = Date.now();
    expect(monitor.master).toBe('xs1');

    answering['xs1'] = 'hang';
    const t0 = performance.now();
    await monitor.tick();
    // One poll interval (50 ms here), not the call: it never ends.
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(started).toEqual([]);
    // One ms short of detectAfterMs (3000 by default) since xs1's last answer: not yet.
    vi.setSystemTime(seen + storage.failover.detectAfterMs - 1);
    await monitor.tick();
    expect(started).toEqual([]);
    vi.setSystemTime(seen + storage.failover.detectAfterMs);
    await monitor.tick();
    expect(started.map((p) => [p.failed.name, p.survivor.name, p.detectedAt])).toEqual([['xs1', 'xs2', new Date(seen).toISOString()]]);
    // xs1 answered once, then was asked once more: a call in flight is not stacked with another.
    expect(heartbeats.filter((h) => h === 'xs1')).toHaveLength(2);
  });
});

describe('the decision when the silence reaches detectAfterMs, not at the next round (issue 11: detected 0.6 s past it)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A witness that has seen xs1 serve, then xs1's calls hang; the rounds' own timers are fake too. */
  async function hungMaster() {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(new Date('2026-12-05T05:00:00.000Z'));
    const answering: Record<string, string> = { xs1: 'master', xs2: 'slave' };
    const listing = xapiListing();
    const { ctx } = deadMasterContext(answering, null, async () => listing as never);
    const started: FailoverParams[] = [];
    const monitor = new WitnessMonitor(ctx, noHoldDown, runningEngine(started));
    await monitor.tick();
    const seen = Date.now();
    answering['xs1'] = 'hang';
    // A round with xs1's call out ends after one poll interval (50 ms).
    const round = monitor.tick();
    await vi.advanceTimersByTimeAsync(storage.failover.pollIntervalMs);
    await round;
    return { answering, monitor, started, seen };
  }

  it('with no round after it, the failover starts 1 ms after detectAfterMs of silence, detectedAt the last answer', async () => {
    const { started, seen } = await hungMaster();
    // No tick from here on: only the witness's own timer can decide.
    await vi.advanceTimersByTimeAsync(seen + storage.failover.detectAfterMs - Date.now());
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(started.map((p) => [p.failed.name, p.survivor.name, p.detectedAt, p.declaredAt])).toEqual([['xs1', 'xs2', new Date(seen).toISOString(), new Date(seen + storage.failover.detectAfterMs + 1).toISOString()]]);
  });

  it('a master that answers again before then cancels it', async () => {
    const { answering, monitor, started, seen } = await hungMaster();
    await vi.advanceTimersByTimeAsync(1_000);
    answering['xs1'] = 'master';
    // xs1's hung call is still out, so this round does not ask it again: the answer comes from a
    // fresh monitor state instead, as a recovered host's next call would give it.
    monitor.hosts.get('xs1')!.lastSeen = Date.now();
    await vi.advanceTimersByTimeAsync(seen + storage.failover.detectAfterMs + 10 - Date.now());
    expect(started).toEqual([]);
    monitor.stop();
  });
});

describe('the survivor asked every 100 ms while the master is silent (issue 11: its lost link reached the decision a round late)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the failover starts at the survivor\'s first answer with its link down, not at the end of the next round', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(new Date('2026-12-05T06:00:00.000Z'));
    const t0 = Date.now();
    const answering: Record<string, string> = { xs1: 'master', xs2: 'connected' };
    const listing = xapiListing();
    const { ctx, heartbeats } = deadMasterContext(answering, null, async () => listing as never);
    const started: FailoverParams[] = [];
    // The product's poll interval: rounds every 500 ms, the survivor every 100 ms while xs1 is silent.
    const product = { ...pool, storage: { ...storage, failover: { ...storage.failover, holdDownMs: 0, pollIntervalMs: 500 } } } as PoolConfig;
    expect(survivorPollMs(500)).toBe(100);
    const monitor = new WitnessMonitor(ctx, product, runningEngine(started));
    monitor.start();
    try {
      // Rounds at 500 and 1000 ms: xs1 answers and serves.
      await vi.advanceTimersByTimeAsync(1_000);
      expect(monitor.master).toBe('xs1');
      const seen = monitor.hosts.get('xs1')!.lastSeen;
      expect(seen).toBe(t0 + 1_000);
      answering['xs1'] = 'hang';
      // Past detectAfterMs of silence, xs2 still Connected (rule 3: nothing starts). Rounds with
      // xs1's call out end on the 500 ms grid; 4550 ms is 50 ms past one, 450 ms before the next.
      await vi.advanceTimersByTimeAsync(t0 + 4_550 - Date.now());
      expect(Date.now() - seen).toBeGreaterThan(storage.failover.detectAfterMs);
      expect(started).toEqual([]);
      const asked = heartbeats.filter((h) => h === 'xs2').length;
      // Silent since 1000 ms, asked from 2000 ms on (two poll intervals): about 25 calls, where the rounds alone made 4.
      expect(asked).toBeGreaterThan(15);
      answering['xs2'] = 'slave';
      const cut = Date.now();
      await vi.advanceTimersByTimeAsync(survivorPollMs(500) + 10);
      expect(started.map((p) => [p.failed.name, p.survivor.name, p.detectedAt])).toEqual([['xs1', 'xs2', new Date(seen).toISOString()]]);
      expect(Date.parse(started[0]!.declaredAt!) - cut).toBeLessThanOrEqual(survivorPollMs(500));
    } finally {
      monitor.stop();
    }
  });

  it('a master that answers is not watched: the survivor is asked once a round', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(new Date('2026-12-05T07:00:00.000Z'));
    const answering: Record<string, string> = { xs1: 'master', xs2: 'connected' };
    const listing = xapiListing();
    const { ctx, heartbeats } = deadMasterContext(answering, null, async () => listing as never);
    const product = { ...pool, storage: { ...storage, failover: { ...storage.failover, pollIntervalMs: 500 } } } as PoolConfig;
    const monitor = new WitnessMonitor(ctx, product, runningEngine([]));
    monitor.start();
    try {
      await vi.advanceTimersByTimeAsync(5_000);
      // Ten rounds, one call each.
      expect(heartbeats.filter((h) => h === 'xs2')).toHaveLength(10);
    } finally {
      monitor.stop();
    }
  });
});

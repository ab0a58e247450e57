import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import type { PoolConfig } from '../../config/inventory.js';
import { parsePoolStorageConfig } from '../../config/pool-storage-config.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import { keepHeartbeat, STORAGE_FAILOVER, type FailoverParams } from '../../workflows/storage/failover-workflow.js';
import type { StorageHost } from '../../workflows/storage/storage-pool.js';
import { hostsAfterFailover, WitnessMonitor } from './witness-monitor.js';

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

const view = (heldRole: string): PeerView => ({ hostname: '', drbd: [], replicationConnected: false, replicationReachable: false, managementReachable: false, heldRole, witnessSilenceMs: 0, selfFenced: false, selfFencedAt: '', observedAgeMs: 0, warnings: [], floatingIpPresent: heldRole === 'master', floatingIpAnswersElsewhere: false });

/** A context whose XAPI is unreachable (the configured host is the dead master) and whose agents record heartbeats. */
function deadMasterContext(answering: Record<string, string>, known: { hosts: StorageHost[]; seenAt: string } | null = null, poolHosts: () => Promise<never> = async () => {
  throw new Error('connect ECONNREFUSED 192.0.2.1:443');
}) {
  const heartbeats: string[] = [];
  const ctx = {
    logger: pino({ level: 'silent' }),
    poolHosts,
    knownPoolHosts: () => (known === null ? null : { hosts: known.hosts.map((h) => ({ ...h, nameLabel: h.name })), seenAt: known.seenAt }),
    agents: {
      get: (endpoint: { serverName: string }) => ({
        client: () => ({
          getPeerView: async () => {
            const role = answering[endpoint.serverName];
            if (role === undefined) throw new Error(`${endpoint.serverName}: UNAVAILABLE`);
            heartbeats.push(endpoint.serverName);
            return { view: view(role) };
          },
        }),
      }),
    },
  } as unknown as ControllerContext;
  return { ctx, heartbeats };
}

const engineWith = (rows: Array<{ id: string; params: unknown; createdAt?: string }>) =>
  ({ store: { list: (f: { kind?: string }) => (f.kind === STORAGE_FAILOVER ? rows : []), activeFor: () => undefined } }) as unknown as WorkflowEngine;

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

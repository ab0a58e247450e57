import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView, PeerWatchSpec } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { PoolConfig } from '../../config/inventory.js';
import { parsePoolStorageConfig } from '../../config/pool-storage-config.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import { STORAGE_FAILOVER, type FailoverParams } from '../../workflows/storage/failover-workflow.js';
import { STORAGE_REASSERT, type ReassertParams } from '../../workflows/storage/reassert-workflow.js';
import { WitnessMonitor } from './witness-monitor.js';

// The witness's side of a self-fenced master on a healed pair (reassert-decision.ts decides; this
// is the wiring): the workflow it starts, the hold-down it keeps, and the storage master it names
// in each heartbeat (witnessRole, read by a booting master: the agent's boot-promotion.ts).

const config = (holdDownMs: number) =>
  parsePoolStorageConfig(
    {
      spec: { drbdResources: ['iscsi1'], target: { tid: 1, iqn: 'iqn.2013-05.com.example:x', luns: [{ lun: 10, backingStore: '/dev/drbd1' }] }, floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1' } },
      hosts: {
        xs1: { replicationAddress: '10.10.10.1', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
        xs2: { replicationAddress: '10.10.10.2', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
      },
      // The shortest bound the schema takes: the pair must stay healed 500 ms (detectAfterMs).
      failover: { automatic: true, pollIntervalMs: 50, detectAfterMs: 500, selfFenceAfterMs: 200, selfFenceTeardownMs: 200, holdDownMs },
      fencing: { method: 'self' },
    },
    'pools[0].storage',
    'controller.yaml',
    '/etc/xsctl',
  )!;
const poolWith = (holdDownMs: number) => ({ name: 'lab', xapi: { url: 'https://192.0.2.1', user: 'root', password: '' }, agentPort: 7443, storage: config(holdDownMs) }) as unknown as PoolConfig;
const hosts = [
  { name: 'xs1', ref: 'OpaqueRef:h1', uuid: 'u1', address: '192.0.2.1', hostname: 'xs1', isMaster: true },
  { name: 'xs2', ref: 'OpaqueRef:h2', uuid: 'u2', address: '192.0.2.2', hostname: 'xs2', isMaster: false },
];

/** A healed slave: Connected, Secondary, UpToDate on both sides. */
const slave = (selfFenced: boolean): PeerView => ({
  hostname: '',
  drbd: [{ name: 'iscsi1', minor: 1, role: 'Secondary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' }],
  replicationConnected: true,
  replicationReachable: true,
  managementReachable: true,
  heldRole: 'slave',
  witnessSilenceMs: 0,
  selfFenced,
  selfFencedAt: selfFenced ? '2026-12-05T01:00:00.000Z' : '',
  observedAgeMs: 0,
  warnings: [],
  floatingIpPresent: false,
  floatingIpAnswersElsewhere: false,
  peerFencedHold: false,
  peerFencedHoldSince: '',
});

/** Agents answering `views`; each heartbeat's witnessRole is recorded per host. */
function context(views: Record<string, PeerView>) {
  const roles: Record<string, StorageRole[]> = { xs1: [], xs2: [] };
  const ctx = {
    logger: pino({ level: 'silent' }),
    poolHosts: async () => hosts.map((h) => ({ ...h, nameLabel: h.name })),
    knownPoolHosts: () => null,
    agents: {
      get: (endpoint: { serverName: string }) => ({
        client: () => ({
          getPeerView: async (request: { watch: PeerWatchSpec }) => {
            roles[endpoint.serverName]?.push(request.watch.witnessRole);
            return { view: views[endpoint.serverName] };
          },
        }),
      }),
    },
  } as unknown as ControllerContext;
  return { ctx, roles };
}

/** An engine recording what it is asked to start; its journal holds `failovers` (newest first). */
function engine(failovers: Array<{ params: FailoverParams; createdAt: string; promoted: boolean }> = []) {
  const started: Array<{ kind: string; params: unknown }> = [];
  const e = {
    start: (kind: string, _pool: string, params: unknown) => started.push({ kind, params }),
    store: {
      list: (f: { kind?: string }) => (f.kind === STORAGE_FAILOVER ? failovers.map((r, i) => ({ id: `wf-${i}`, ...r })) : []),
      activeFor: () => undefined,
      step: (id: string) => (failovers[Number(id.slice(3))]?.promoted === true ? { status: 'done' } : undefined),
    },
  } as unknown as WorkflowEngine;
  return { e, started };
}

/** Rounds for `ms`. */
async function ticks(monitor: WitnessMonitor, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await monitor.tick();
    await new Promise((r) => setTimeout(r, 20));
  }
}

const failover = (promoted: boolean): { params: FailoverParams; createdAt: string; promoted: boolean } => ({
  params: { failed: hosts[0]!, survivor: hosts[1]!, reason: 'storage master xs1 lost', automatic: true, detectedAt: new Date().toISOString() },
  createdAt: new Date().toISOString(),
  promoted,
});

describe('the witness re-asserts a self-fenced master on a healed pair', () => {
  it('after detectAfterMs healed: one storage-reassert workflow for xs1, then none within the hold-down; the heartbeats name xs1 the master from then on', async () => {
    const { ctx, roles } = context({ xs1: slave(true), xs2: slave(false) });
    const { e, started } = engine();
    const monitor = new WitnessMonitor(ctx, poolWith(60_000), e);
    await monitor.tick();
    // Healed, but not for detectAfterMs yet (rule 11); and nobody serves, so the witness names no master.
    expect(started).toEqual([]);
    expect(roles['xs1']).toEqual([StorageRole.STORAGE_ROLE_UNSPECIFIED]);
    await ticks(monitor, 900);
    expect(started).toHaveLength(1);
    expect(started[0]?.kind).toBe(STORAGE_REASSERT);
    const p = started[0]?.params as ReassertParams;
    expect([p.host.name, p.peer.name]).toEqual(['xs1', 'xs2']);
    expect(p.reason).toMatch(/^storage master xs1 fenced itself and nobody serves; the pair has been Connected and UpToDate for \d+ ms$/);
    expect(monitor.master).toBe('xs1');
    // The views have not changed (the workflow is the engine's), yet no second one: at most one per hold-down.
    await ticks(monitor, 700);
    expect(started).toHaveLength(1);
    expect(roles['xs1']?.at(-1)).toBe(StorageRole.STORAGE_ROLE_MASTER);
    expect(roles['xs2']?.at(-1)).toBe(StorageRole.STORAGE_ROLE_SLAVE);
  });

  it('a failover refused a moment ago moved nothing: it does not hold the re-assertion back; one that promoted does', async () => {
    const refused = engine([failover(false)]);
    const m1 = new WitnessMonitor(context({ xs1: slave(true), xs2: slave(false) }).ctx, poolWith(60_000), refused.e);
    await ticks(m1, 900);
    expect(refused.started.map((s) => s.kind)).toEqual([STORAGE_REASSERT]);
    const promoted = engine([failover(true)]);
    const m2 = new WitnessMonitor(context({ xs1: slave(true), xs2: slave(false) }).ctx, poolWith(60_000), promoted.e);
    await ticks(m2, 900);
    expect(promoted.started).toEqual([]);
  });

  it('a refused failover noted by this witness (its own start) does not hold it back either', async () => {
    const { e, started } = engine();
    const monitor = new WitnessMonitor(context({ xs1: slave(true), xs2: slave(false) }).ctx, poolWith(60_000), e);
    monitor.noteFailover(failover(false).params);
    await ticks(monitor, 900);
    expect(started.map((s) => s.kind)).toEqual([STORAGE_REASSERT]);
  });

  it('a switchover is a role change: none within the hold-down after it', async () => {
    const { e, started } = engine();
    const monitor = new WitnessMonitor(context({ xs1: slave(true), xs2: slave(false) }).ctx, poolWith(60_000), e);
    monitor.noteRoleChange('xs2');
    await ticks(monitor, 900);
    expect(started).toEqual([]);
  });

  it('automatic failover off: an alert, no workflow', async () => {
    const { e, started } = engine();
    const pool = poolWith(0);
    pool.storage!.failover.automatic = false;
    const monitor = new WitnessMonitor(context({ xs1: slave(true), xs2: slave(false) }).ctx, pool, e);
    await ticks(monitor, 900);
    expect(started).toEqual([]);
    expect(monitor.alerts).toHaveLength(1);
    expect(monitor.alerts[0]).toMatch(/storage master xs1 fenced itself and nobody serves.*automatic failover is off/);
  });
});

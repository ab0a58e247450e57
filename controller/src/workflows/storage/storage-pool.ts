import { DrbdServiceDefinition, SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { PeerViewServiceDefinition, type PeerView, type PeerWatchSpec } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { StorageHandover, StorageRole, StorageServiceDefinition, type StorageSpec, type StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { agentEndpoint } from '../../agents/agent-endpoint.js';
import type { PoolConfig } from '../../config/inventory.js';
import type { PoolStorageConfig } from '../../config/pool-storage-config.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { AgentConnection } from '../../agents/agent-connection.js';
import { StorageRoleChangeRefusedError, StorageRoleFailedError } from './storage-workflow-errors.js';

/** A storage host as the workflows remember it (recorded in their params: XAPI may be gone later). */
export interface StorageHost {
  name: string;
  ref: string;
  uuid: string;
  address: string;
  hostname: string;
  isMaster: boolean;
}

export function storageConfigOf(pool: PoolConfig): PoolStorageConfig {
  if (pool.storage === undefined) throw new StorageRoleChangeRefusedError('no-storage-config', '', `pool ${pool.name} has no storage section in the controller config`);
  return pool.storage;
}

/** The two storage hosts from XAPI, in the order of the config. */
export async function storageHosts(ctx: ControllerContext, pool: PoolConfig, signal?: AbortSignal): Promise<StorageHost[]> {
  return pickStorageHosts(pool, await ctx.poolHosts(pool, signal));
}

/** The config's two storage hosts among a pool's hosts (from XAPI, or the journal's copy of its listing). */
export function pickStorageHosts(pool: PoolConfig, all: readonly { nameLabel: string; hostname: string; ref: string; uuid: string; address: string; isMaster: boolean }[]): StorageHost[] {
  const storage = storageConfigOf(pool);
  return Object.keys(storage.hosts).map((name) => {
    const h = all.find((x) => x.nameLabel === name || x.hostname === name);
    if (h === undefined) throw new StorageRoleChangeRefusedError('no-storage-config', name, `storage host ${name} is not a host of pool ${pool.name}`);
    return { name, ref: h.ref, uuid: h.uuid, address: h.address, hostname: h.hostname, isMaster: h.isMaster };
  });
}

export function agentOf(ctx: ControllerContext, pool: PoolConfig, h: StorageHost): AgentConnection {
  return ctx.agents.get(agentEndpoint(pool, h));
}

/** The pool's storage spec as one host applies it (its own tgtd control port, if any). */
export function specFor(storage: PoolStorageConfig, host: string): StorageSpec {
  const port = storage.hosts[host]?.tgtdControlPort;
  return port === undefined ? storage.spec : { ...storage.spec, tgtd: { controlPort: port } };
}

/**
 * The watch spec for one host. `master`: the storage master as the witness holds it now ('' when
 * it knows none), sent as witnessRole: a host booting with "master" in its pool.conf and its
 * replication link down promotes only when the witness names it (agent boot-promotion.ts).
 */
export function watchSpecFor(storage: PoolStorageConfig, host: string, master = ''): PeerWatchSpec {
  const me = storage.hosts[host];
  const peerName = Object.keys(storage.hosts).find((n) => n !== host) ?? '';
  const peer = storage.hosts[peerName];
  return {
    storage: specFor(storage, host),
    peerManagementAddress: '',
    managementInterface: me?.managementInterface ?? '',
    peerReplicationAddress: peer?.replicationAddress ?? '',
    replicationInterface: me?.replicationInterface ?? '',
    selfFenceAfterMs: storage.failover.selfFenceAfterMs,
    selfFenceTeardownMs: storage.failover.selfFenceTeardownMs,
    probeIntervalMs: Math.min(500, storage.failover.pollIntervalMs),
    witnessRole: master === '' ? StorageRole.STORAGE_ROLE_UNSPECIFIED : master === host ? StorageRole.STORAGE_ROLE_MASTER : StorageRole.STORAGE_ROLE_SLAVE,
  };
}

export async function statusOf(ctx: ControllerContext, pool: PoolConfig, h: StorageHost, signal?: AbortSignal): Promise<StorageStatus> {
  const r = await agentOf(ctx, pool, h).client(StorageServiceDefinition).getStorageStatus({ spec: specFor(storageConfigOf(pool), h.name) }, { signal });
  if (r.status === undefined) throw new Error(`${h.name}: no storage status`);
  return r.status;
}

/** One heartbeat; `master` as in watchSpecFor (the failover's own calls name nobody). */
export async function peerViewOf(ctx: ControllerContext, pool: PoolConfig, h: StorageHost, signal?: AbortSignal, master = ''): Promise<PeerView> {
  const r = await agentOf(ctx, pool, h).client(PeerViewServiceDefinition).getPeerView({ watch: watchSpecFor(storageConfigOf(pool), h.name, master) }, { signal });
  if (r.view === undefined) throw new Error(`${h.name}: no peer view`);
  return r.view;
}

/**
 * Asserts a role on one host, or runs one phase of a planned switchover (`handover`); a failed
 * step is an error naming it.
 */
export async function assertRoleOn(ctx: ControllerContext, pool: PoolConfig, h: StorageHost, role: StorageRole, signal: AbortSignal, spec?: StorageSpec, handover = StorageHandover.STORAGE_HANDOVER_UNSPECIFIED): Promise<{ steps: string[]; answeredBy: string[] }> {
  const r = await agentOf(ctx, pool, h).client(StorageServiceDefinition).assertStorageRole({ role, spec: spec ?? specFor(storageConfigOf(pool), h.name), dryRun: false, handover }, { signal });
  const roleName = role === StorageRole.STORAGE_ROLE_MASTER ? 'master' : 'slave';
  if (!r.ok) {
    const failed = r.steps.find((s) => s.name === r.failedStep);
    throw new StorageRoleFailedError(h.name, roleName, r.failedStep, `${failed?.errorCode ?? ''}: ${failed?.detail ?? ''}`);
  }
  return { steps: r.steps.map((s) => `${s.name}:${s.durationMs}ms`), answeredBy: r.floatingIpAnsweredBy };
}

/** Rule 10 and the switchover's preconditions, from both hosts' status. */
export function switchoverPlan(hosts: readonly StorageHost[], statuses: readonly StorageStatus[], to: string): { from: StorageHost; to: StorageHost } {
  for (const [i, s] of statuses.entries()) {
    const sb = s.drbd.find((d) => d.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED);
    if (sb !== undefined) throw new StorageRoleChangeRefusedError('split-brain', hosts[i]?.name ?? '', `SPLIT BRAIN on ${hosts[i]?.name} (${sb.name}: ${sb.splitBrainEvidence}): resolve it naming the victim (xsctl drbd resolve-split-brain) before any role change`);
  }
  const masterIndex = statuses.findIndex((s) => s.apparentRole === 'master');
  if (masterIndex < 0) throw new StorageRoleChangeRefusedError('no-storage-master', '', `no host serves the storage now (${hosts.map((h, i) => `${h.name}: ${statuses[i]?.apparentRole}`).join(', ')}): nothing to switch over`);
  const from = hosts[masterIndex]!;
  const peerIndex = hosts.findIndex((h, i) => i !== masterIndex && (to === '' || h.name === to));
  const peer = hosts[peerIndex];
  if (peer === undefined) throw new StorageRoleChangeRefusedError('no-storage-master', to, to === from.name ? `${to} is the storage master already` : `no peer ${to} to switch over to`);
  for (const d of statuses[peerIndex]?.drbd ?? []) {
    if (d.disk !== 'UpToDate') throw new StorageRoleChangeRefusedError('peer-not-up-to-date', peer.name, `${peer.name}'s copy of ${d.name} is ${d.disk}${d.syncPercent === undefined ? '' : ` (${d.syncPercent}% synced)`}, not UpToDate: a switchover now would serve stale or partial data (rule 1)`);
    if (d.connection !== 'Connected') throw new StorageRoleChangeRefusedError('peer-not-connected', peer.name, `${d.name} on ${peer.name} is ${d.connection}, not Connected: a switchover needs the peer in sync now`);
  }
  return { from, to: peer };
}

/**
 * Rule 4 before a switchover moves anything: whoever answered for the floating IP when the peer
 * asked (PREPARE's `arping -c 2`, MACs in lower case) must be the master alone, by the MAC the
 * master's status read for the address. With no MAC read there, any answer refuses.
 */
export function checkFloatingIpAnswers(address: string, from: StorageHost, to: StorageHost, holderMac: string, answeredBy: readonly string[]): void {
  const others = answeredBy.filter((m) => m !== holderMac.toLowerCase());
  if (others.length > 0) throw new StorageRoleChangeRefusedError('floating-ip-elsewhere', to.name, `${address} answers from ${others.join(', ')}, not only from ${from.name} (${holderMac || 'no MAC read'}): another host holds the floating IP (rule 4)`);
}

/** `holderMac`: the MAC the floating IP answers from on the master now ('' when it reads none). */
export async function checkSwitchover(ctx: ControllerContext, pool: PoolConfig, to: string, signal?: AbortSignal): Promise<{ hosts: StorageHost[]; from: StorageHost; to: StorageHost; holderMac: string }> {
  const hosts = await storageHosts(ctx, pool, signal);
  const statuses = await Promise.all(hosts.map((h) => statusOf(ctx, pool, h, signal)));
  const plan = switchoverPlan(hosts, statuses, to);
  return { hosts, ...plan, holderMac: statuses[hosts.indexOf(plan.from)]?.floatingIpMac ?? '' };
}

/** DRBD state of one resource on a host (for the failover's assessment). */
export async function drbdOf(ctx: ControllerContext, pool: PoolConfig, h: StorageHost, signal?: AbortSignal) {
  return (await agentOf(ctx, pool, h).client(DrbdServiceDefinition).getDrbdStatus({ resource: '' }, { signal })).resources;
}

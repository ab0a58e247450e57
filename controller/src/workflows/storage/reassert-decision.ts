import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

/**
 * The re-assertion of a self-fenced master (docs/storage-safety-rules.md, "A self-fenced master
 * on a healed pair"): pure decisions over what the witness and the hosts report; the witness
 * monitor and the reassert workflow make the calls.
 */

type Drbd = Pick<DrbdResourceState, 'role' | 'disk' | 'peerDisk' | 'connection' | 'splitBrain'>;

/** One storage host as the witness saw it this round. */
export interface ReassertHost {
  name: string;
  reachable: boolean;
  view: (Pick<PeerView, 'heldRole' | 'selfFenced' | 'replicationConnected'> & { drbd: readonly Drbd[] }) | undefined;
}

export interface ReassertInput {
  now: number;
  hosts: readonly ReassertHost[];
  /** Since when the pair has been seen healed with nobody serving (0: not seen so last round). */
  healedSince: number;
  /** This incident's alert is already raised (automatic failover off). */
  alerted: boolean;
  /** The last role change that moved or restored the storage (ms since the epoch; a refused failover is none). */
  lastRoleChange: () => number;
  /** Another workflow runs on the pool. */
  workflowActive: () => boolean;
  /** Rule 11's hysteresis: the pair must stay healed this long (the pool's detectAfterMs). */
  stableMs: number;
  holdDownMs: number;
  automatic: boolean;
}

export type ReassertTrigger =
  /** Not a healed pair without a master (or no single self-fenced host to serve): nothing to do. */
  | { act: 'clear' }
  | { act: 'wait'; healedSince: number; host: string; until: 'stable' | 'workflow' | 'hold-down' | 'admin' }
  /** Automatic failover is off: tell the admin once. */
  | { act: 'alert'; healedSince: number; host: string }
  | { act: 'reassert'; healedSince: number; host: string };

const up = (d: Drbd) => d.disk === 'UpToDate' && d.peerDisk === 'UpToDate' && d.role === 'Secondary' && d.splitBrain !== SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;

/**
 * A master that fenced itself during a link cut leaves, once the links are back, a pair that is
 * Connected and UpToDate on both sides with nobody serving; the failover the witness may have
 * started is refused there (rule 3: a Connected link means a live peer). The witness then puts
 * the master role back where it was: on the one host that self-fenced, once both hosts answer,
 * both are slaves (nothing half-held), every resource is Connected, Secondary and UpToDate on both
 * sides, for `stableMs` in a row (rule 11: a link that flaps faster never qualifies), with no other
 * workflow on the pool and past the hold-down after the last role change (at most one per hold-down).
 */
export function reassertTrigger(i: ReassertInput): ReassertTrigger {
  if (i.hosts.length !== 2) return { act: 'clear' };
  const fenced: string[] = [];
  for (const h of i.hosts) {
    const v = h.view;
    if (!h.reachable || v === undefined || v.heldRole !== 'slave' || !v.replicationConnected || v.drbd.length === 0 || !v.drbd.every(up)) return { act: 'clear' };
    if (v.selfFenced) fenced.push(h.name);
  }
  const [host, ...others] = fenced;
  if (host === undefined || others.length > 0) return { act: 'clear' };
  const healedSince = i.healedSince || i.now;
  if (i.now - healedSince < i.stableMs) return { act: 'wait', healedSince, host, until: 'stable' };
  if (i.workflowActive()) return { act: 'wait', healedSince, host, until: 'workflow' };
  if (i.now - i.lastRoleChange() < i.holdDownMs) return { act: 'wait', healedSince, host, until: 'hold-down' };
  if (!i.automatic) return i.alerted ? { act: 'wait', healedSince, host, until: 'admin' } : { act: 'alert', healedSince, host };
  return { act: 'reassert', healedSince, host };
}

/**
 * The reassert workflow's check, on both hosts' status read now (not the witness's last view):
 * no split brain (rule 10), nobody serving, and `host`'s peer Connected and UpToDate, as a
 * switchover's check wants of the host it promotes (rule 1). Throws the typed refusal.
 */
export function reassertPlan(hosts: readonly { name: string; status: StorageStatus }[], host: string): void {
  for (const { name, status } of hosts) {
    const sb = status.drbd.find((d) => d.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED);
    if (sb !== undefined) throw new StorageRoleChangeRefusedError('split-brain', name, `SPLIT BRAIN on ${name} (${sb.name}): no automatic role change (rule 10)`);
    if (status.apparentRole !== 'slave') throw new StorageRoleChangeRefusedError('master-present', name, `${name} holds ${status.apparentRole} now: nothing to re-assert`);
  }
  const me = hosts.find((h) => h.name === host);
  if (me === undefined) throw new StorageRoleChangeRefusedError('no-storage-config', host, `${host} is not a storage host of this pool`);
  for (const d of me.status.drbd) {
    if (d.disk !== 'UpToDate' || d.peerDisk !== 'UpToDate') throw new StorageRoleChangeRefusedError('peer-not-up-to-date', host, `${d.name} on ${host} is ${d.disk}/${d.peerDisk}, not UpToDate on both sides: no automatic promotion (rule 1)`);
    if (d.connection !== 'Connected') throw new StorageRoleChangeRefusedError('peer-not-connected', host, `${d.name} on ${host} is ${d.connection}, not Connected: re-asserting the master needs the peer in sync now`);
  }
}

import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { isConnected } from '../drbd/drbd-state.js';
import type { WitnessSaid } from './witness-word.js';

/** What the boot-time role knows when pool.conf says master and the peer wait is over. */
export interface BootPromotionInput {
  /** Each resource as DRBD reads now (null: not read). */
  resources: readonly (DrbdResourceState | null)[];
  /** The witness's latest word (witness-word.ts); null: no call since this agent started. */
  witness: WitnessSaid | null;
  now: number;
}

export type BootPromotion =
  /** Assert the master role: no promotion rests on quorum (the peer is Connected, or nothing is promoted). */
  | { act: 'master'; why: string }
  /** The witness names the peer the storage master: this node comes back a slave. */
  | { act: 'slave'; why: string }
  /** Not now: nothing proves this node is still the storage master (no fresh word from the witness). */
  | { act: 'wait'; why: string };

/**
 * Whether a node whose pool.conf says master may assert the master role at boot (rules 1, 2, 9).
 * pool.conf is not proof: a master fenced and replaced by a failover boots with "master" in it,
 * and with its replication link still cut the promotion guard would accept the witness address
 * answering ARP as quorum (rule 2) although the controller knows the survivor serves: two
 * Primaries (rule 1 breached, a split brain at reconnect). So:
 * - every resource Connected: the promotion guard sees the peer's role (rule 4) and refuses over
 *   a Primary peer; no quorum is needed, and nothing changes from before;
 * - every resource Primary already (the agent restarted on a serving master): nothing is promoted;
 * - otherwise a promotion would rest on quorum, and only the witness can say who the master is:
 *   a word naming this node, fresh (within its self-fence bound), lets the assertion run; one naming
 *   the peer makes this node a slave; none, a stale one or one naming nobody waits (the caller
 *   retries). An unreachable controller therefore means no promotion: the conservative side.
 */
export function bootPromotion(i: BootPromotionInput): BootPromotion {
  const read = i.resources.filter((r): r is DrbdResourceState => r !== null);
  if (read.length === i.resources.length && read.length > 0) {
    if (read.every((r) => isConnected(r))) return { act: 'master', why: 'the DRBD peer is Connected: the promotion guard sees its role (rule 4)' };
    if (read.every((r) => r.role === 'Primary')) return { act: 'master', why: 'already Primary: nothing is promoted' };
  }
  const w = i.witness;
  if (w === null) return { act: 'wait', why: 'the DRBD peer is not Connected and the witness (controller) has not called since this agent started: no promotion by quorum without it' };
  const age = Math.round(i.now - w.at);
  if (age > w.validMs) return { act: 'wait', why: `the DRBD peer is not Connected and the witness's last word is ${age} ms old (valid ${w.validMs} ms): no promotion by quorum without it` };
  if (w.role === StorageRole.STORAGE_ROLE_SLAVE) return { act: 'slave', why: 'the witness names the peer the storage master (this host was failed over): coming back a slave' };
  if (w.role === StorageRole.STORAGE_ROLE_MASTER) return { act: 'master', why: 'the witness names this host the storage master' };
  return { act: 'wait', why: 'the DRBD peer is not Connected and the witness names no storage master: no promotion by quorum' };
}

import { FailoverReason, type DrbdResourceState, type PeerSafety } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { interfaceName, ipv4Address } from '../validate/validators.js';
import { DrbdNotUpToDateError, DrbdPeerAliveError, DrbdPeerPrimaryError, DrbdPeerUnverifiedError } from './drbd-errors.js';
import { isConnected } from './drbd-state.js';

/**
 * The promotion guard: what `promote()` decides before anything runs, as pure functions so every
 * branch is tested on its own (mutation module `promotion-guard`, threshold 95%).
 */

/** The failover reason as a short name (`management-link-lost`), or null when this is no failover. */
export function failoverReasonName(reason: FailoverReason | undefined): string | null {
  if (reason === undefined || reason === FailoverReason.FAILOVER_REASON_UNSPECIFIED) return null;
  const name = FailoverReason[reason] as string | undefined;
  return name === undefined ? `failover reason ${String(reason)}` : name.replace('FAILOVER_REASON_', '').toLowerCase().replaceAll('_', '-');
}

/**
 * Rules 1, 2, 3 and 4 on the local state, in this order: no failover while the replication link
 * is Connected (the peer is alive: management-link loss alone is no reason), UpToDate local data,
 * a peer that is not Primary. Returns what is left to do: nothing (already Primary), promote, or
 * prove the disconnected peer safe first (rule 2, `peerSafetyCheck`). Throws the refusal.
 */
export function checkPromotion(resource: string, state: DrbdResourceState, safety: PeerSafety | undefined): 'already-primary' | 'promote' | 'verify-peer' {
  if (state.role === 'Primary') return 'already-primary';
  const failover = failoverReasonName(safety?.failoverReason);
  if (failover !== null && isConnected(state)) throw new DrbdPeerAliveError(resource, state.connection, failover);
  if (state.disk !== 'UpToDate') throw new DrbdNotUpToDateError(resource, state.disk);
  if (state.peerRole === 'Primary') throw new DrbdPeerPrimaryError(resource);
  return isConnected(state) ? 'promote' : 'verify-peer';
}

/** How rule 2 is met for a peer we cannot see: fenced by the caller, or a witness that answers (quorum). */
export type PeerSafetyCheck = { kind: 'fenced' } | { kind: 'witness'; address: string; iface: string } | { kind: 'unverifiable'; reason: string };

export function peerSafetyCheck(safety: PeerSafety | undefined): PeerSafetyCheck {
  if (safety?.peerFenced === true) return { kind: 'fenced' };
  if (safety !== undefined && safety.witnessAddress !== '') {
    return { kind: 'witness', address: ipv4Address('peerSafety.witnessAddress', safety.witnessAddress), iface: interfaceName('peerSafety.witnessInterface', safety.witnessInterface) };
  }
  return { kind: 'unverifiable', reason: 'it is neither fenced nor outvoted by a witness' };
}

/** arping's verdict on the witness (exit 0: a reply came) as the promotion decision; throws the refusal. */
export function witnessVerdict(resource: string, state: DrbdResourceState, witness: { address: string; iface: string }, arpingExit: number): string {
  if (arpingExit === 0) return `witness ${witness.address} answers`;
  throw new DrbdPeerUnverifiedError(resource, state.connection, `witness ${witness.address} does not answer on ${witness.iface}`);
}

/** The refusal for a peer that can be neither fenced nor outvoted. */
export function unverifiedPeer(resource: string, state: DrbdResourceState, reason: string): DrbdPeerUnverifiedError {
  return new DrbdPeerUnverifiedError(resource, state.connection, reason);
}

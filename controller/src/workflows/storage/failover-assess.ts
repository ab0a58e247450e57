import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

/**
 * The failover's promotion preconditions as pure decisions over what the survivor reported
 * (docs/storage-safety-rules.md): the workflow's assess and fence steps make the calls and wait,
 * these decide. Each refusal is the typed StorageRoleChangeRefusedError the workflow throws;
 * null means the precondition holds.
 */

/**
 * Assess (rules 3, 10, 1, in that order): the survivor's replication link is down (a Connected
 * link means a live peer, whatever the management network says), none of its resources is in a
 * split brain, and each is UpToDate.
 */
export function assessSurvivor(v: Pick<PeerView, 'replicationConnected' | 'drbd'>, failed: string, survivor: string): StorageRoleChangeRefusedError | null {
  if (v.replicationConnected) return new StorageRoleChangeRefusedError('peer-alive', failed, `${survivor}'s replication link to ${failed} is Connected: the peer is alive, no failover (rule 3); switch over instead`);
  for (const d of v.drbd) {
    if (d.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) return new StorageRoleChangeRefusedError('split-brain', survivor, `SPLIT BRAIN on ${survivor} (${d.name}): no automatic promotion (rule 10)`);
    if (d.disk !== 'UpToDate') return new StorageRoleChangeRefusedError('survivor-not-up-to-date', survivor, `${survivor}'s copy of ${d.name} is ${d.disk}, not UpToDate: promoting it would serve stale data (rule 1)`);
  }
  return null;
}

/**
 * With self-fencing, when the old master has stopped serving at the latest (ms since the epoch):
 * its self-fence is due selfFenceAfterMs after the last witness call it may have received (at
 * most `detectedAt`), plus the failover delay (which the config keeps longer than the self-fence
 * and its tear-down together).
 */
export function selfFenceBound(detectedAt: string, selfFenceAfterMs: number, detectAfterMs: number): number {
  return Date.parse(detectedAt) + selfFenceAfterMs + detectAfterMs;
}

/** What one peer view, asked at `askedAt`, says of the floating IP after the bound `since`. */
export type FloatingIpObservation = 'silent' | 'answers' | 'none';

/**
 * One observation of the survivor's peer watch: 'silent' when, observed at or after `since`, the
 * floating IP is neither on the survivor nor answering ARP elsewhere; 'answers' when it answers
 * elsewhere; 'none' when the view is missing, its probe failed, or it was observed before `since`
 * (an observation from before the bound proves nothing about after it).
 */
export function floatingIpObservation(v: Pick<PeerView, 'warnings' | 'observedAgeMs' | 'floatingIpPresent' | 'floatingIpAnswersElsewhere'> | null, askedAt: number, since: number): FloatingIpObservation {
  if (v === null || v.warnings.some((w) => w.startsWith('floating IP') || w === 'no observation yet') || askedAt - Number(v.observedAgeMs) < since) return 'none';
  if (!v.floatingIpPresent && !v.floatingIpAnswersElsewhere) return 'silent';
  return v.floatingIpAnswersElsewhere ? 'answers' : 'none';
}

/** The self-fence evidence so far: the floating IP seen answering, or nothing usable yet. */
export type SelfFenceEvidence = 'silent' | 'answers' | 'unknown';

/**
 * One round of the wait for evidence: 'silent' ends it at once; an answer is remembered; at
 * `until` (the bound plus one more failover delay) the wait ends with what was seen. Returns the
 * final evidence, or `{ seen }` to observe again.
 */
export function selfFenceEvidence(seen: 'answers' | 'unknown', observed: FloatingIpObservation, now: number, until: number): { done: SelfFenceEvidence } | { seen: 'answers' | 'unknown' } {
  if (observed === 'silent') return { done: 'silent' };
  const next = observed === 'answers' ? 'answers' : seen;
  return now >= until ? { done: next } : { seen: next };
}

/**
 * Rule 4 with self-fencing: an IP still answering past the bound means the old master overran
 * its tear-down or never fenced, so nothing is promoted (STORAGE_OLD_MASTER_SERVING). Silent, or no
 * usable answer from the survivor: the bound alone decides.
 */
export function selfFenceVerdict(evidence: SelfFenceEvidence, failed: string, detectAfterMs: number): StorageRoleChangeRefusedError | null {
  if (evidence !== 'answers') return null;
  return new StorageRoleChangeRefusedError('old-master-serving', failed, `the floating IP still answers ARP from ${failed}'s side ${detectAfterMs} ms past its self-fence bound: it has not stopped serving; nothing is promoted (rule 4)`);
}

/**
 * Fenced by power (rule 2): only a power state read back 'off' counts; a read that failed counts
 * as on. The promotion passes it on as peerFenced, and only such a host's VMs may be reset.
 */
export function fencedByPower(state: string): boolean {
  return state === 'off';
}

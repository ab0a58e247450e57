import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';

/** What the peer watch knows when it asks whether this node must stop serving. */
export interface SelfFenceInput {
  /** The configured bound (0: self-fencing off). */
  selfFenceAfterMs: number;
  /** A tear-down is already under way. */
  fencing: boolean;
  /** performance.now() of the last witness call; 0: no witness has called yet (the watch is not armed). */
  lastWitnessAt: number;
  /** Role assertions from the controller under way: the witness is there while they run. */
  controllerCalls: number;
  /** performance.now() of the last tear-down's end (0: none). */
  tornDownAt: number;
  now: number;
  /**
   * performance.now() when the peer-fenced hold began (0: none): this node was made master by a
   * role assertion whose controller had fenced the peer by power (PeerSafety.peer_fenced_by_power).
   * The watch ends it (peerFencedHoldEnd) once the peer answers or this node stops serving.
   */
  peerFencedSince: number;
  /** startedAt: a round begun before the last tear-down ended may show what it removed. */
  observation: Omit<HoldObservation, 'drbd'> & {
    replicationConnected: boolean;
    drbd: readonly Pick<DrbdResourceState, 'name' | 'role' | 'connection' | 'splitBrain' | 'splitBrainEvidence'>[];
  };
}

/** What the peer-fenced hold reads of an observation. */
export interface HoldObservation {
  /** When its DRBD and address reads started (the round's start). */
  startedAt: number;
  ipPresent: boolean;
  drbd: readonly Pick<DrbdResourceState, 'role' | 'connection'>[];
  /** When the ARP probes it carries started: an early view carries the previous round's. */
  probesStartedAt: number;
  /** The peer answered ARP on the replication / management network. */
  replicationReachable: boolean;
  managementReachable: boolean;
}

export type SelfFenceDecision =
  | { action: 'none' }
  /** Rule 10: the witness is gone while serving, but a split brain means the peer is alive and nothing will be promoted. */
  | { action: 'hold-split-brain'; silenceMs: number; splitBrain: string[] }
  /** The witness is gone while serving, but the peer was fenced by power and has not answered since. */
  | { action: 'hold-peer-fenced'; silenceMs: number }
  | { action: 'fence'; silenceMs: number };

const none: SelfFenceDecision = { action: 'none' };

/**
 * Whether a storage master that lost its witness stops serving (the self-fence). It must, within
 * selfFenceAfterMs of the witness's last call, when its replication link is down too, so that a
 * survivor the controller promotes after detectAfterMs (> selfFenceAfterMs + the tear-down's
 * budget, enforced by the config schema) never meets a live master. Two holds instead: a split
 * brain (rule 10), and a peer fenced by power that has answered on neither link since this node's
 * promotion (docs/storage-safety-rules.md, "A survivor whose peer was powered off").
 */
export function selfFenceDecision(i: SelfFenceInput): SelfFenceDecision {
  const o = i.observation;
  if (i.selfFenceAfterMs === 0 || i.fencing || i.lastWitnessAt === 0 || i.controllerCalls > 0 || o.startedAt < i.tornDownAt) return none;
  // Nothing to stop: neither the floating IP nor a Primary here.
  if (!o.ipPresent && !o.drbd.some((r) => r.role === 'Primary')) return none;
  const silenceMs = i.now - i.lastWitnessAt;
  // Rule 3: a Connected replication link means a live peer, which no controller will promote.
  if (o.replicationConnected || silenceMs < i.selfFenceAfterMs) return none;
  // Rule 10: a split brain means the peer is alive (it connected and DRBD found both copies
  // changed), and nothing promotes it while the split brain lasts: the controller's failover
  // refuses a survivor in split brain and only an admin naming the victim resolves it. The
  // self-fence exists so that a promoted survivor never meets a live master; here none will
  // be promoted, so tearing the master down would only turn a reported split brain into an
  // outage (and change roles automatically, which rule 10 leaves to the admin).
  const splitBrain = o.drbd.filter((r) => r.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED).map((r) => `${r.name}:${r.splitBrainEvidence}`);
  if (splitBrain.length > 0) return { action: 'hold-split-brain', silenceMs, splitBrain };
  // The peer was powered off (the controller's fencer read its power state back off) before this
  // node was promoted, and it has answered on neither link since: it cannot be a live master, and
  // nothing can promote it without first fencing this node by power (rule 2 with IPMI). Tearing
  // down here would only take the pool's one serving copy away because the witness is late.
  if (i.peerFencedSince > 0 && peerAnswers(i.peerFencedSince, o) === null) return { action: 'hold-peer-fenced', silenceMs };
  return { action: 'fence', silenceMs };
}

/**
 * DRBD connection states in which the peer is not talking to this node: no link (StandAlone,
 * Unconnected, DRBD 8.4's WFConnection and 9's Connecting), or a link going down (Disconnecting,
 * Timeout, BrokenPipe, NetworkFailure, ProtocolError, TearDown); '' is a resource with no
 * connection read. Any other state (Connected, a resync, WFReportParams' handshake, or one not
 * known here) is the peer answering on the replication link: unknown counts as an answer, which
 * ends the hold (the safe side).
 */
const peerSilentStates = new Set(['', 'StandAlone', 'Unconnected', 'WFConnection', 'Connecting', 'Disconnecting', 'Timeout', 'BrokenPipe', 'NetworkFailure', 'ProtocolError', 'TearDown']);

/**
 * Whether an observation shows the peer answering since `since`, and on which link: its DRBD
 * connection (read in the round begun at startedAt) or an ARP answer (from the probes begun at
 * probesStartedAt). A read begun before `since` says nothing about the peer after its power-off.
 */
export function peerAnswers(since: number, o: HoldObservation): 'replication' | 'management' | null {
  if (o.startedAt >= since && o.drbd.some((r) => !peerSilentStates.has(r.connection))) return 'replication';
  if (o.probesStartedAt >= since && o.replicationReachable) return 'replication';
  if (o.probesStartedAt >= since && o.managementReachable) return 'management';
  return null;
}

/**
 * Whether the peer-fenced hold (begun at `since`, a performance.now()) ends with this observation,
 * and why: the peer answers on a link (it is back, and from then on the normal self-fence rule
 * applies; the returning node comes back Secondary), or this node no longer serves anything (its
 * role changed: a later promotion must carry its own fence). null: it holds. The end is for good;
 * the watch forgets the hold.
 */
export function peerFencedHoldEnd(since: number, o: HoldObservation): string | null {
  if (since === 0) return null;
  const link = peerAnswers(since, o);
  if (link !== null) return `the peer answers on the ${link} link`;
  if (o.startedAt >= since && !o.ipPresent && !o.drbd.some((r) => r.role === 'Primary')) return 'this node no longer serves';
  return null;
}

/** What a role assertion does to the peer-fenced hold. */
export interface RoleAssertionFacts {
  master: boolean;
  /** A phase of a planned switchover (StorageHandover set). */
  handover: boolean;
  dryRun: boolean;
  /** It completed (ok); false also when it threw. */
  ok: boolean;
  peerFenced: boolean;
  peerFencedByPower: boolean;
}

/**
 * 'start': a completed master assertion whose caller fenced the peer by power (the controller's
 * failover, after IPMI read the power state back off). 'keep': a dry run changed nothing. 'end':
 * any other assertion, a failed one included: the role changed or may have, and the fence the
 * hold rests on belongs to the promotion that carried it.
 */
export function holdAfterAssertion(a: RoleAssertionFacts): 'start' | 'keep' | 'end' {
  if (a.dryRun) return 'keep';
  return a.master && !a.handover && a.ok && a.peerFenced && a.peerFencedByPower ? 'start' : 'end';
}

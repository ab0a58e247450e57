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
  observation: {
    /** When its probes started: a round begun before the last tear-down ended may show what it removed. */
    startedAt: number;
    ipPresent: boolean;
    replicationConnected: boolean;
    drbd: readonly Pick<DrbdResourceState, 'name' | 'role' | 'splitBrain' | 'splitBrainEvidence'>[];
  };
}

export type SelfFenceDecision =
  | { action: 'none' }
  /** Rule 10: the witness is gone while serving, but a split brain means the peer is alive and nothing will be promoted. */
  | { action: 'hold-split-brain'; silenceMs: number; splitBrain: string[] }
  | { action: 'fence'; silenceMs: number };

const none: SelfFenceDecision = { action: 'none' };

/**
 * Whether a storage master that lost its witness stops serving (the self-fence). It must, within
 * selfFenceAfterMs of the witness's last call, when its replication link is down too, so that a
 * survivor the controller promotes after detectAfterMs (> selfFenceAfterMs + the tear-down's
 * budget, enforced by the config schema) never meets a live master.
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
  return { action: 'fence', silenceMs };
}

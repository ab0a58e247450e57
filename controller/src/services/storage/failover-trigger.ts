/** What the witness knows this round (times in ms since the epoch). */
export interface FailoverTriggerInput {
  now: number;
  /** The storage master: its last call failed or not, and when it last answered (0: never). */
  master: { reachable: boolean; lastSeen: number };
  /** The other host: it answered, and its replication link as it reported it (undefined: no view). */
  survivor: { reachable: boolean; replicationConnected: boolean | undefined };
  /** Since when this incident has lasted (0: no incident yet). */
  lostSince: number;
  /** This incident's alert is already raised. */
  alerted: boolean;
  lastRoleChange: number;
  /** Another workflow runs on the pool (asked only once the master has been lost for detectAfterMs). */
  workflowActive: () => boolean;
  detectAfterMs: number;
  holdDownMs: number;
  automatic: boolean;
}

export type FailoverTrigger =
  /** The master is not lost: the incident (if any) is over. */
  | { act: 'clear' }
  /** Lost, nothing to do this round: too recent, another workflow runs, in the hold-down, or already alerted. */
  | { act: 'wait'; lostSince: number; until: 'detect' | 'workflow' | 'hold-down' | 'admin' }
  /** Lost and automatic failover is off: raise the alert (once per incident). */
  | { act: 'alert'; lostSince: number }
  /** Start the failover. */
  | { act: 'start'; lostSince: number };

/**
 * The witness's decision to start a failover (docs/storage-safety-rules.md): the storage master is
 * lost when it does not answer (its last call failed, or it has been silent for detectAfterMs with
 * a call still out) AND the survivor answers and reports its replication link down (rule 3: a
 * Connected link, or no view of it, is no evidence of a dead peer). Lost for detectAfterMs
 * (counted from its last answer), with no other workflow on the pool and past the hold-down after
 * the last role change (rule 11), it starts the failover, or with automatic failover off raises one
 * alert per incident.
 */
export function failoverTrigger(i: FailoverTriggerInput): FailoverTrigger {
  // Silent: its last call failed, or no answer came for detectAfterMs while one is still in flight
  // (the call's own deadline would add up to 1.5 s to the detection).
  const silent = !i.master.reachable || (i.master.lastSeen > 0 && i.now - i.master.lastSeen >= i.detectAfterMs);
  if (!(silent && i.survivor.reachable && i.survivor.replicationConnected === false)) return { act: 'clear' };
  const lostSince = i.lostSince || i.now - Math.max(0, i.now - i.master.lastSeen);
  if (i.now - lostSince < i.detectAfterMs) return { act: 'wait', lostSince, until: 'detect' };
  if (i.workflowActive()) return { act: 'wait', lostSince, until: 'workflow' };
  if (i.now - i.lastRoleChange < i.holdDownMs) return { act: 'wait', lostSince, until: 'hold-down' };
  if (!i.automatic) return i.alerted ? { act: 'wait', lostSince, until: 'admin' } : { act: 'alert', lostSince };
  return { act: 'start', lostSince };
}

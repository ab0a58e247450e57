import { ValidationError } from '../errors/index.js';

/**
 * The keep-alive and timeout options of the net section xsctl writes into drbd.conf, in DRBD's
 * own units (drbd.conf(5) 8.4): ping-int and connect-int in seconds, ping-timeout and timeout in
 * tenths of a second, ko-count a count. Shared by the agent (which renders them) and the controller
 * (which refuses a pool whose failover timer cannot wait for them). docs/storage-safety-rules.md,
 * "DRBD's net timers", gives the sources and the reasoning.
 */
export interface DrbdNetTimers {
  pingIntS: number;
  pingTimeoutDs: number;
  timeoutDs: number;
  connectIntS: number;
  koCount: number;
}

/**
 * - ping-int 1 (DRBD's minimum; default 10 would hide a dead peer up to 10.5 s);
 * - ping-timeout 5 (DRBD's default, 500 ms; the asender answers as a realtime task);
 * - timeout 9 (0.9 s: drbd.conf(5) says it "must be lower than connect-int and ping-int");
 * - connect-int 10 (the default, written so the relation above is checked, not assumed);
 * - ko-count 47: a peer that completes no write for ko-count x timeout is expelled. 9 x 47 =
 *   42.3 s keeps the 8.4 default's budget (60 x 7 = 42 s) so the shorter timeout does not expel a
 *   peer whose disk stalls under load.
 */
export const drbdNetTimers: DrbdNetTimers = { pingIntS: 1, pingTimeoutDs: 5, timeoutDs: 9, connectIntS: 10, koCount: 47 };

/** drbd_limits.h (8.4): what drbdsetup accepts for each option. */
export const drbdNetLimits: Record<keyof DrbdNetTimers, readonly [number, number]> = {
  pingIntS: [1, 120],
  pingTimeoutDs: [1, 300],
  timeoutDs: [1, 600],
  connectIntS: [1, 120],
  koCount: [0, 200],
};

/**
 * The timers, checked before they become drbd.conf text drbdadm re-parses: each an integer in
 * drbd_limits.h's range (no text but digits reaches the file), and timeout below ping-int and
 * connect-int as drbd.conf(5) requires (drbdadm itself does not check that).
 */
export function checkDrbdNetTimers(t: DrbdNetTimers): DrbdNetTimers {
  for (const k of Object.keys(drbdNetLimits) as (keyof DrbdNetTimers)[]) {
    const [min, max] = drbdNetLimits[k];
    const v = t[k];
    if (!Number.isInteger(v) || v < min || v > max) throw new ValidationError(`drbdNet.${k}`, `must be an integer from ${min} to ${max}`);
  }
  if (t.timeoutDs >= t.pingIntS * 10) throw new ValidationError('drbdNet.timeoutDs', 'must be lower than ping-int (drbd.conf(5))');
  if (t.timeoutDs >= t.connectIntS * 10) throw new ValidationError('drbdNet.timeoutDs', 'must be lower than connect-int (drbd.conf(5))');
  return t;
}

/** The net section's lines for these timers, in drbd.conf's units. */
export function drbdNetTimerLines(t: DrbdNetTimers): string[] {
  const c = checkDrbdNetTimers(t);
  return [`ping-int ${c.pingIntS};`, `ping-timeout ${c.pingTimeoutDs};`, `timeout ${c.timeoutDs};`, `connect-int ${c.connectIntS};`, `ko-count ${c.koCount};`];
}

/**
 * The latest a survivor's DRBD sees a dead peer: the asender pings after ping-int with nothing
 * received and drops the connection ping-timeout after that, so ping-timeout to ping-int +
 * ping-timeout after the peer's last packet (drbd_receiver.c drbd_asender; asender.mjs in the
 * simulator follows it).
 */
export function drbdDeadPeerSeenWithinMs(t: DrbdNetTimers): number {
  return t.pingIntS * 1000 + t.pingTimeoutDs * 100;
}

/**
 * What the report of that takes to reach the witness: the survivor's peer watch reads /proc/drbd
 * every 100 ms, the witness asks a survivor every 100 ms while the master is silent, and each
 * answer is a call (a loaded dom0: a few hundred ms). Half a second covers the three.
 */
export const drbdLinkReportMarginMs = 500;

/** The shortest detectAfterMs under which the survivor's DRBD reports a dead master in time (rule 3). */
export function minDetectAfterMs(t: DrbdNetTimers): number {
  return drbdDeadPeerSeenWithinMs(t) + drbdLinkReportMarginMs;
}

import { drbdDeadPeerSeenWithinMs, drbdNetTimers, minDetectAfterMs, type DrbdNetTimers } from '@xsctl/common/drbd/drbd-net-timers';
import type { FailoverConfig } from '../../config/pool-storage-config.js';
import { DrbdDetectionTooSlowError } from './setup-errors.js';

/**
 * Rule 3: the witness promotes the survivor only once it reports its replication link down, and
 * it decides detectAfterMs after the master's silence. The setup writes the DRBD net section
 * (render-drbd-conf.ts); a pool whose detectAfterMs does not leave the survivor's DRBD time to see
 * the dead master (ping-int + ping-timeout) and report it is refused before anything is written.
 * A pool without a storage section has no witness: nothing to check.
 */
export function checkDrbdDetection(pool: string, failover: FailoverConfig | undefined, timers: DrbdNetTimers = drbdNetTimers): void {
  if (failover === undefined) return;
  const needed = minDetectAfterMs(timers);
  if (failover.detectAfterMs < needed) throw new DrbdDetectionTooSlowError(pool, failover.detectAfterMs, needed, drbdDeadPeerSeenWithinMs(timers));
}

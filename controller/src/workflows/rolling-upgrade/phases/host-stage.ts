import type { PlannedHost } from '../../../placement/plan-types.js';
import type { PlannedRun } from '../run-context.js';
import type { HostBaseline, RecheckedMove, RecheckedPinned } from './wave-recheck.js';

export interface MoveOutcome {
  moved: boolean;
  vm: string;
  from: string;
  to: string;
  bytes: number;
  note?: string;
}

/** One host of a wave, as its stages see it. */
export interface HostRun {
  run: PlannedRun;
  host: PlannedHost;
  /** `host:<uuid>`: the prefix of this host's journal steps. */
  key: string;
  wave: number;
  /** Where this host's VMs go now (the wave's re-check). */
  migrations: RecheckedMove[];
  /** VMs that stay: shut down before the reboot, started again after. */
  pinned: RecheckedPinned[];
  baseline: HostBaseline;
  /** Moves that happened (the run's report). */
  moves: Array<MoveOutcome & { step: number }>;
  result?: { name: string; order: number; versionBefore: string; versionAfter: string };
}

/**
 * One stage of a host's turn. Stages run in order for each host of a wave (the hosts of a wave in
 * parallel); each records its own journal steps under `host:<uuid>:`. Another workflow's step fits
 * in by adding a stage (e.g. a storage switchover before `disable`).
 */
export interface HostStage {
  readonly name: string;
  run(h: HostRun): Promise<void>;
}

import { XsctlError } from '@xsctl/common/errors/index';

/** After the re-plug, an SR of the host shows fewer active paths than the rollout expects. */
export class MultipathPathsMissingError extends XsctlError {
  readonly code = 'MULTIPATH_PATHS_MISSING';

  constructor(
    readonly host: string,
    readonly expected: number,
    /** One line per LUN short of paths: `SR name: mpath-<SCSIid> [active, total]`. */
    readonly short: string[],
    readonly waitedMs: number,
  ) {
    super(`${host}: after ${Math.round(waitedMs / 1000)} s, ${short.length} LUN(s) show fewer than ${expected} active paths (${short.join('; ')}): the rollout stops with the host still in maintenance`);
  }
}

/** The rollout cannot start as asked: VMs that cannot leave, agents that do not answer. */
export class MultipathRolloutBlockedError extends XsctlError {
  readonly code = 'MULTIPATH_ROLLOUT_BLOCKED';

  constructor(readonly pool: string, readonly blockers: readonly string[]) {
    super(`the multipath rollout of ${pool} is blocked: ${blockers.join('; ')}`);
  }
}

/** A host's turn found it enabled again (someone left maintenance by hand) before its PBDs are unplugged. */
export class HostLeftMaintenanceError extends XsctlError {
  readonly code = 'HOST_NOT_IN_MAINTENANCE';

  constructor(readonly host: string) {
    super(`${host} is enabled again: its PBDs are only unplugged while it is in maintenance (disabled and empty); disable it, or abort the rollout`);
  }
}

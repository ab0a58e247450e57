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

import { DrbdSyntax } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';

/**
 * drbdadm argument lists that differ between versions. 8.3's drbdadm passes options to drbdsetup
 * only after `--` and before the command; 8.4 and 9 take them after the command.
 */
export const drbdadmArgs = {
  /** The victim side of a split-brain recovery. */
  connectDiscardMyData(syntax: DrbdSyntax, resource: string): string[] {
    return syntax === DrbdSyntax.DRBD_SYNTAX_V83 ? ['--', '--discard-my-data', 'connect', resource] : ['connect', '--discard-my-data', resource];
  },
  /** The one forced promotion: initial sync, when both sides are Inconsistent. */
  initialSyncPrimary(syntax: DrbdSyntax, resource: string): string[] {
    return syntax === DrbdSyntax.DRBD_SYNTAX_V83 ? ['--', '--overwrite-data-of-peer', 'primary', resource] : ['primary', '--force', resource];
  },
  primary(resource: string): string[] {
    return ['primary', resource];
  },
  secondary(resource: string): string[] {
    return ['secondary', resource];
  },
  connect(resource: string): string[] {
    return ['connect', resource];
  },
  disconnect(resource: string): string[] {
    return ['disconnect', resource];
  },
  attach(resource: string): string[] {
    return ['attach', resource];
  },
  /** 8.3 only: loads the `syncer {}` section (resync rate) into the kernel; 8.4 moved it into `disk {}`. */
  syncer(resource: string): string[] {
    return ['syncer', resource];
  },
  up(resource: string): string[] {
    return ['up', resource];
  },
  createMd(resource: string): string[] {
    return ['create-md', resource];
  },
};

/** A representative kernel version per syntax, for `DRBD_DRIVER_VERSION_OVERRIDE` when checking a config. */
export const representativeVersion: Readonly<Partial<Record<DrbdSyntax, string>>> = {
  [DrbdSyntax.DRBD_SYNTAX_V83]: '8.3.16',
  [DrbdSyntax.DRBD_SYNTAX_V84]: '8.4.11',
  [DrbdSyntax.DRBD_SYNTAX_V9]: '9.1.0',
};

import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** Rule 1: promotion needs UpToDate local data. */
export class DrbdNotUpToDateError extends XsctlError {
  readonly code = 'DRBD_NOT_UP_TO_DATE';

  constructor(
    readonly resource: string,
    readonly disk: string,
  ) {
    super(`refusing to promote ${resource}: local disk is ${disk || 'unknown'}, not UpToDate`);
  }
}

/** Rule 4: never promote while the peer is Primary. */
export class DrbdPeerPrimaryError extends XsctlError {
  readonly code = 'DRBD_PEER_PRIMARY';

  constructor(readonly resource: string) {
    super(`refusing to promote ${resource}: the peer is Primary; demote it first`);
  }
}

/** Rule 2: a disconnected peer must be fenced, or quorum proven by a witness, before promotion. */
export class DrbdPeerUnverifiedError extends XsctlError {
  readonly code = 'DRBD_PEER_UNVERIFIED';

  constructor(
    readonly resource: string,
    readonly connection: string,
    readonly reason: string,
  ) {
    super(`refusing to promote ${resource}: peer is not connected (${connection || 'unknown'}) and ${reason}`);
  }
}

/** Rule 3: a failover promotion while the replication link is Connected: the peer is alive. */
export class DrbdPeerAliveError extends XsctlError {
  readonly code = 'DRBD_PEER_ALIVE';

  constructor(
    readonly resource: string,
    readonly connection: string,
    readonly reason: string,
  ) {
    super(`refusing failover promotion of ${resource} (${reason}): the replication link is ${connection}, so the peer is alive; switch over instead (demote the peer first)`);
  }
}

/** drbdsetup refused the state change (drbdadm exit 11 or 17, "State change failed: (-N) ..."). */
export class DrbdStateChangeFailedError extends XsctlError {
  readonly code = 'DRBD_STATE_CHANGE_FAILED';

  constructor(
    readonly resource: string,
    readonly exitCode: number,
    readonly kernelCode: number | null,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${resource}: state change failed${kernelCode === null ? '' : ` (${kernelCode})`}: ${reason} [drbdadm exit ${exitCode}]`, options);
  }
}

/** create-md would overwrite a filesystem or LVM signature. */
export class DrbdDiskHasSignatureError extends XsctlError {
  readonly code = 'DRBD_DISK_HAS_SIGNATURE';

  constructor(
    readonly disk: string,
    readonly signatures: readonly string[],
  ) {
    super(`${disk} holds ${signatures.join(', ')}: refusing create-md; pass wipe (xsctl --wipe) only if that data is expendable`);
  }
}

/** Initial sync (the one --force) only when no node has good data. */
export class DrbdInitialSyncRefusedError extends XsctlError {
  readonly code = 'DRBD_INITIAL_SYNC_REFUSED';

  constructor(
    readonly resource: string,
    readonly reason: string,
  ) {
    super(`refusing initial sync of ${resource}: ${reason}`);
  }
}

/** The split-brain recovery step does not fit the state (victim Primary, no split brain, ...). */
export class DrbdSplitBrainRefusedError extends XsctlError {
  readonly code = 'DRBD_SPLIT_BRAIN_REFUSED';

  constructor(
    readonly resource: string,
    readonly reason: string,
  ) {
    super(`split-brain recovery of ${resource} refused: ${reason}`);
  }
}

/** A rendered config that the installed drbdadm rejects: a bug or an unsupported option. */
export class DrbdConfigRejectedError extends XsctlError {
  readonly code = 'DRBD_CONFIG_REJECTED';

  constructor(
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`drbdadm rejected the rendered configuration: ${reason}`, options);
  }
}

/** create-md over existing DRBD metadata: it would reset the data generations the handshake relies on. */
export class DrbdMetadataPresentError extends XsctlError {
  readonly code = 'DRBD_METADATA_PRESENT';

  constructor(
    readonly resource: string,
    readonly backingDisk: string,
  ) {
    super(`${backingDisk} already holds DRBD metadata for ${resource}: create-md would reset its data generations; nothing to create`);
  }
}

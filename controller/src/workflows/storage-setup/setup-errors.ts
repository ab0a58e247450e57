import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** create-md would run on a disk without DRBD metadata, and the admin did not say --create-md. */
export class CreateMdNotConfirmedError extends XsctlError {
  readonly code = 'SETUP_CREATE_MD_NOT_CONFIRMED';

  constructor(
    readonly host: string,
    readonly resource: string,
    readonly disk: string,
  ) {
    super(`${host}: drbdadm create-md ${resource} destroys what is on ${disk}: confirm it with --create-md (the rest of the setup has --yes)`);
  }
}

/** The spec names secrets the controller no longer holds (it restarted): they are never journaled. */
export class SetupSecretsMissingError extends XsctlError {
  readonly code = 'SETUP_SECRETS_MISSING';

  constructor(readonly pool: string) {
    super(`the storage setup of ${pool} needs its DRBD/CHAP secrets again (they are kept in memory only, never in the journal): re-run xsctl storage setup --spec FILE --yes`);
  }
}

/** A host does not reach the state the step needs within its time (peer never connected, sync stalled). */
export class SetupStepTimeoutError extends XsctlError {
  readonly code = 'SETUP_STEP_TIMEOUT';

  constructor(
    readonly host: string,
    readonly step: string,
    readonly waitedMs: number,
    readonly state: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${host}: ${step} did not complete within ${Math.round(waitedMs / 1000)} s (now: ${state})`, options);
  }
}

/** The hosts are in a state the setup must not touch (a Primary it did not make, data on the peer). */
export class SetupRefusedError extends XsctlError {
  readonly code = 'SETUP_REFUSED';

  constructor(
    readonly host: string,
    readonly step: string,
    message: string,
  ) {
    super(`${host}: ${step}: ${message}`);
  }
}

/**
 * The pool's failover timer is shorter than the time the survivor's DRBD needs to see a dead
 * master and report it (drbd-net-timers.ts): every automatic failover would be refused by rule 3
 * (a Connected link means a live peer) or start late.
 */
export class DrbdDetectionTooSlowError extends XsctlError {
  readonly code = 'SETUP_DRBD_DETECTION_TOO_SLOW';

  constructor(
    readonly pool: string,
    readonly detectAfterMs: number,
    readonly neededMs: number,
    readonly drbdSeesDeadPeerMs: number,
  ) {
    super(
      `${pool}: storage.failover.detectAfterMs ${detectAfterMs} ms is shorter than ${neededMs} ms: the DRBD net section xsctl writes (ping-int + ping-timeout) sees a dead peer up to ${drbdSeesDeadPeerMs} ms after its last packet, and the survivor's report needs up to ${neededMs - drbdSeesDeadPeerMs} ms more; raise detectAfterMs to at least ${neededMs}`,
    );
  }
}

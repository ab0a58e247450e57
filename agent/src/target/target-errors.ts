import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A tgtadm call failed; the message never carries a CHAP secret. */
export class TgtadmFailedError extends XsctlError {
  readonly code = 'TGT_COMMAND_FAILED';

  constructor(
    readonly operation: string,
    readonly exitCode: number | undefined,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`tgtadm ${operation} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${reason || 'no message'}`, options);
  }
}

/** No tgtd answers on the control port. */
export class TgtdNotRunningError extends XsctlError {
  readonly code = 'TGT_NOT_RUNNING';

  constructor(readonly controlPort: number) {
    super(`no tgtd answers on control port ${controlPort}`);
  }
}

/** tgtd did not come up, or did not go away within the escalation budget. */
export class TgtdControlError extends XsctlError {
  readonly code = 'TGT_DAEMON_CONTROL_FAILED';

  constructor(
    readonly action: 'start' | 'stop',
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`tgtd ${action} failed: ${reason}`, options);
  }
}

/** The running target has a different SCSI identity than the spec: changing it under initiators breaks the SR. */
export class TargetIdentityMismatchError extends XsctlError {
  readonly code = 'TGT_IDENTITY_MISMATCH';

  constructor(
    readonly tid: number,
    readonly detail: string,
  ) {
    super(`target ${tid} runs with a different identity (${detail}); delete it first (rule 7: both nodes export the same SCSI identity)`);
  }
}

import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A page or tool output that does not decode (wrong page code, truncated, not hex). */
export class ScsiDecodeError extends XsctlError {
  readonly code = 'SCSI_DECODE_FAILED';

  constructor(
    readonly what: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${what}: ${reason}`, options);
  }
}

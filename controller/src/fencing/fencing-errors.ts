import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** Rule 2: the peer could not be fenced (or its power-off could not be confirmed): nothing is promoted. */
export class FencingFailedError extends XsctlError {
  readonly code = 'FENCING_FAILED';

  constructor(
    readonly host: string,
    readonly method: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`FENCING ${host} FAILED (${method}): ${reason}; nothing was promoted`, options);
  }
}

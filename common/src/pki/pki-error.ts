import { XsctlError, type XsctlErrorOptions } from '../errors/index.js';

export class PkiError extends XsctlError {
  readonly code = 'PKI_FAILED';

  constructor(
    readonly path: string,
    reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${path}: ${reason}`, options);
  }
}

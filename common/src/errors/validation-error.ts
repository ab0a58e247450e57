import { XsctlError, type XsctlErrorOptions } from './xsctl-error.js';

/** A request field failed its allow-list. Nothing was changed. */
export class ValidationError extends XsctlError {
  readonly code = 'VALIDATION_FAILED';

  constructor(
    readonly field: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`invalid ${field}: ${reason}`, options);
  }
}

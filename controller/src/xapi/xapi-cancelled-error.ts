import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** The caller's AbortSignal fired. For an Async call the task was asked to cancel as well. */
export class XapiCancelledError extends XsctlError {
  readonly code = 'CANCELLED';

  constructor(
    readonly method: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${method} was cancelled`, options);
  }
}

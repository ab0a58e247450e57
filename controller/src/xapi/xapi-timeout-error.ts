import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/**
 * A call (or the task it started) did not finish within its timeout from the call table. The
 * operation may still complete on the pool: callers re-read state before deciding anything.
 */
export class XapiTimeoutError extends XsctlError {
  readonly code = 'XAPI_TIMEOUT';

  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    options?: XsctlErrorOptions,
  ) {
    super(`${method} did not finish within ${timeoutMs} ms`, options);
  }
}

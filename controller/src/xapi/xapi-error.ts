import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/**
 * XAPI refused a call. `code` is XAPI's error name verbatim (HOST_NOT_ENOUGH_FREE_MEMORY, ...) so
 * it can be looked up in XAPI's documentation and the status table; `params` are its parameters.
 */
export class XapiError extends XsctlError {
  constructor(
    readonly code: string,
    readonly params: readonly string[],
    readonly method: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${method}: ${code}(${params.join(', ')})`, options);
  }
}

import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** No XAPI answered at `url` (refused, reset, DNS, TLS, or not an XAPI endpoint). Safe to retry later. */
export class XapiUnreachableError extends XsctlError {
  readonly code = 'XAPI_UNREACHABLE';

  constructor(
    readonly url: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`XAPI at ${url} is unreachable: ${reason}`, options);
  }
}

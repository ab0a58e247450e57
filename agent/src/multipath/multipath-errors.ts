import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** `multipath -t` printed new errors for the written file; the old file was put back. */
export class MultipathConfigRejectedError extends XsctlError {
  readonly code = 'MULTIPATH_CONFIG_REJECTED';

  constructor(
    readonly file: string,
    readonly issues: readonly string[],
    readonly rolledBack: boolean,
    options?: XsctlErrorOptions,
  ) {
    super(`multipath -t rejected ${file}${rolledBack ? ' (rolled back)' : ''}: ${issues.join('; ').slice(0, 600)}`, options);
  }
}

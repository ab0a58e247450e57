import { XsctlError } from '@xsctl/common/errors/index';

/** A CLI-side failure with a hint for the admin (which flag, which file). */
export class CliError extends XsctlError {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

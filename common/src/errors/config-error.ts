import { XsctlError, type XsctlErrorOptions } from './xsctl-error.js';

/** A configuration or inventory file is missing or malformed. */
export class ConfigError extends XsctlError {
  readonly code = 'CONFIG_INVALID';

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${file}: ${reason}`, options);
  }
}

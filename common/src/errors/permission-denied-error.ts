import { XsctlError } from './xsctl-error.js';

export class PermissionDeniedError extends XsctlError {
  readonly code = 'PERMISSION_DENIED';

  constructor(
    readonly peer: string,
    readonly needed: string,
  ) {
    super(`${peer} is not allowed: needs ${needed}`);
  }
}

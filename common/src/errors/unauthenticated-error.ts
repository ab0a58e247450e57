import { XsctlError } from './xsctl-error.js';

export class UnauthenticatedError extends XsctlError {
  readonly code = 'UNAUTHENTICATED';

  constructor(readonly reason: string) {
    super(`unauthenticated: ${reason}`);
  }
}

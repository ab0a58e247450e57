import { XsctlError } from './xsctl-error.js';

export class NotFoundError extends XsctlError {
  readonly code = 'NOT_FOUND';

  constructor(
    readonly kind: string,
    readonly item: string,
  ) {
    super(`${kind} not found: ${item}`);
  }
}

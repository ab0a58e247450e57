import { XsctlError } from '@xsctl/common/errors/index';

/** A destructive call without `confirm: true` (the CLI's --yes): nothing was changed. */
export class ConfirmationRequiredError extends XsctlError {
  readonly code = 'CONFIRMATION_REQUIRED';
}

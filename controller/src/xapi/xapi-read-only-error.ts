import { Status } from 'nice-grpc';
import { XsctlError } from '@xsctl/common/errors/index';

/** The client was opened read-only (prechecks) and `method` may change the pool. Nothing was sent. */
export class XapiReadOnlyError extends XsctlError {
  readonly code = 'XAPI_READ_ONLY';

  constructor(readonly method: string) {
    super(`${method} is not allowed on a read-only XAPI connection`);
  }

  override get status(): Status {
    return Status.PERMISSION_DENIED;
  }
}

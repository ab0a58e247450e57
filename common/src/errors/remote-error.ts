import type { Status } from 'nice-grpc-common';
import { XsctlError, type XsctlErrorOptions } from './xsctl-error.js';

/** A typed error that came back over gRPC; `code` is the sender's stable code. */
export class RemoteError extends XsctlError {
  constructor(
    readonly code: string,
    readonly grpcStatus: Status,
    message: string,
    options?: XsctlErrorOptions,
  ) {
    super(message, options);
  }

  override get status(): Status {
    return this.grpcStatus;
  }
}

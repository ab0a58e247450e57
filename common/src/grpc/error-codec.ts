import type { ClientError} from 'nice-grpc-common';
import { ServerError, Status } from 'nice-grpc-common';
import type { XsctlError } from '../errors/index.js';
import { RemoteError } from '../errors/index.js';

// Details carry "CODE: message" so any gRPC client can recover the stable code.
const codePattern = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/;

export function toServerError(err: XsctlError): ServerError {
  return new ServerError(err.status, `${err.code}: ${err.message}`);
}

/** Turns a ClientError into a RemoteError with the server's stable code where it sent one. */
export function fromClientError(err: ClientError): RemoteError {
  const m = codePattern.exec(err.details);
  if (m?.[1] !== undefined && m[2] !== undefined) return new RemoteError(m[1], err.code, m[2], { cause: err });
  return new RemoteError(`GRPC_${Status[err.code]}`, err.code, err.details, { cause: err });
}

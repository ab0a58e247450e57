import { statusForCode } from './status-table.js';
import type { Status } from 'nice-grpc-common';

export interface XsctlErrorOptions {
  cause?: unknown;
}

/**
 * Base of every typed failure. `code` is stable: clients, tests and the status table key on it,
 * so a message can change without breaking anyone.
 */
export abstract class XsctlError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: XsctlErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  get status(): Status {
    return statusForCode(this.code);
  }
}

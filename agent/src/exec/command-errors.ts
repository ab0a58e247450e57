import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A tool ran and exited non-zero (or was killed). stderr is kept short: it goes back to the caller. */
export class CommandFailedError extends XsctlError {
  readonly code = 'COMMAND_FAILED';

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${command} exited ${exitCode ?? 'by signal'}: ${stderr.trim().slice(0, 400) || '(no stderr)'}`, options);
  }
}

export class CommandTimeoutError extends XsctlError {
  readonly code = 'COMMAND_TIMEOUT';

  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    options?: XsctlErrorOptions,
  ) {
    super(`${command} did not finish within ${timeoutMs} ms`, options);
  }
}

export class CommandNotFoundError extends XsctlError {
  readonly code = 'COMMAND_NOT_FOUND';

  constructor(
    readonly command: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${command} is not installed or not allowed on this host`, options);
  }
}

export class CommandCancelledError extends XsctlError {
  readonly code = 'CANCELLED';

  constructor(
    readonly command: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${command} was cancelled`, options);
  }
}

/**
 * A call used an option or subcommand that tool-options.ts does not list, i.e. one not known to
 * exist in the dom0's version of the tool. A bug in the agent, caught before anything runs.
 */
export class CommandOptionNotInTableError extends XsctlError {
  readonly code = 'COMMAND_OPTION_NOT_IN_TABLE';

  constructor(
    readonly command: string,
    readonly arg: string,
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(reason, options);
  }
}

import { Status } from 'nice-grpc-common';
import { RemoteError, XsctlError } from '@xsctl/common/errors/index';
import { CliError } from './cli-error.js';

/**
 * xsctl's exit codes, for scripts. Documented in docs/CLI.md; a test runs the CLI for each.
 *  0 ok
 *  1 findings: precheck blockers, a plan that cannot run, problems a status command reports,
 *    a dry run that changed nothing (add --yes)
 *  2 usage or connection: bad flags or arguments, missing config or certificate, the controller
 *    unreachable or not answering in time, an unknown pool/host/workflow
 *  3 refused: the certificate is not accepted or lacks the operator role, or the caller is over its limits
 *  4 the workflow ended failed or aborted
 *  5 conflict: another workflow is active on the pool, or the pool is not in a state that allows it
 *  6 the workflow paused (by an admin, or waiting for a manual step: `xsctl upgrade resume`)
 *  7 any other failure on the controller or an agent
 */
export const ExitCode = {
  OK: 0,
  FINDINGS: 1,
  USAGE: 2,
  REFUSED: 3,
  WORKFLOW_FAILED: 4,
  CONFLICT: 5,
  PAUSED: 6,
  FAILED: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for a failure that reached the top of the CLI. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof RemoteError) {
    switch (err.grpcStatus) {
      case Status.UNAVAILABLE:
      case Status.DEADLINE_EXCEEDED:
      case Status.INVALID_ARGUMENT:
      case Status.NOT_FOUND:
      case Status.UNIMPLEMENTED:
        return ExitCode.USAGE;
      // RESOURCE_EXHAUSTED: over the caller's per-identity limit (RATE_LIMITED), refused for now.
      case Status.PERMISSION_DENIED:
      case Status.UNAUTHENTICATED:
      case Status.RESOURCE_EXHAUSTED:
        return ExitCode.REFUSED;
      case Status.ALREADY_EXISTS:
      case Status.FAILED_PRECONDITION:
      case Status.ABORTED:
        return ExitCode.CONFLICT;
      default:
        return ExitCode.FAILED;
    }
  }
  if (err instanceof CliError) return ExitCode.USAGE;
  // Local failures before any call: config, certificate files, validation.
  if (err instanceof XsctlError) return ExitCode.USAGE;
  return ExitCode.FAILED;
}

/** The exit code for a workflow's final state. */
export function exitCodeForWorkflowState(state: string): ExitCodeValue {
  if (state === 'failed' || state === 'aborted') return ExitCode.WORKFLOW_FAILED;
  if (state === 'paused') return ExitCode.PAUSED;
  return ExitCode.OK;
}

/**
 * The exit code for a workflow the command ran (or followed) to its end: `done` is 0, failed or
 * aborted 4, paused 6, and a stream that ended without a final state (the connection broke) 7.
 */
export function exitCodeForWorkflowEnd(state: string): ExitCodeValue {
  if (state === 'done') return ExitCode.OK;
  const code = exitCodeForWorkflowState(state);
  return code === ExitCode.OK ? ExitCode.FAILED : code;
}

import { Status } from 'nice-grpc-common';
import { RemoteError, XsctlError } from '@xsctl/common/errors/index';
import { CliError } from '../output/cli-error.js';
import type { ProbeResult } from './probe-tls.js';

/** Turns a failure into one line for an admin, with what to try next. */
export function describeFailure(err: unknown, controller?: string, probe?: ProbeResult): string {
  if (err instanceof RemoteError) {
    const details = probe?.kind === 'tls' ? probe.reason : err.message;
    if (err.grpcStatus === Status.UNAVAILABLE && (probe?.kind === 'tls' || /certificate|handshake|SSL|TLS|alert/i.test(details))) {
      return `TLS handshake with the controller${controller ? ` at ${controller}` : ''} failed: ${details}\n` +
        'hint: the CLI certificate must be issued by the controller\'s CA (`xsctl pki issue cli NAME`), and --ca must be that CA';
    }
    if (err.grpcStatus === Status.UNAVAILABLE) {
      return `cannot reach the controller${controller ? ` at ${controller}` : ''}: ${details}\n` +
        'hint: is xsctl-controller running? check --controller HOST:PORT (or XSCTL_CONTROLLER)';
    }
    if (err.grpcStatus === Status.PERMISSION_DENIED) return `${err.code}: ${details}\nhint: ask for an operator certificate (xsctl pki issue cli NAME --role operator)`;
    if (err.grpcStatus === Status.DEADLINE_EXCEEDED) return `${err.code}: ${details}\nhint: the controller did not answer in time`;
    return `${err.code}: ${details}`;
  }
  if (err instanceof CliError) return `${err.code}: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`;
  if (err instanceof XsctlError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

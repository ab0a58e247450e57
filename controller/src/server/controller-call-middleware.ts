import { composeServerMiddleware, type ServerMiddleware } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { deadlineMiddleware, serverCallMiddleware, type AuthPolicy } from '@xsctl/common/grpc/index';
import type { IdentityLimits } from '../limits/identity-limits.js';
import { identityLimitsMiddleware } from '../limits/limits-middleware.js';

/** Workflow streams run long; unary reads are bounded by the client deadline and this ceiling. */
export const controllerCallCeilingMs = 6 * 3600_000;

export interface ControllerCallOptions {
  logger: Logger;
  auth: AuthPolicy;
  limits: IdentityLimits;
  /** Aborted when the server shuts down: every call in flight is aborted and new ones refused. */
  shutdown: AbortSignal;
}

/**
 * The controller's per-call stack: the call's line, errors mapped to statuses, who may call what,
 * undecodable requests refused (serverCallMiddleware, one generator for the four), then the
 * identity's limits, then the deadline.
 *
 * The limits stay a layer of their own between the two, because serverCallMiddleware's only
 * inner step, `hold`, would change when a slot is taken and given back: a hold is taken after the
 * deadline has started (a call refused at shutdown would no longer spend its caller's rate budget)
 * and is released when the handler ends, where the limits give the slot back when the call is
 * answered (at its deadline, a handler that ignores its signal no longer counts against its
 * caller). The hold also sees neither the caller's identity nor whether the method streams.
 */
export function controllerCallMiddleware(o: ControllerCallOptions): ServerMiddleware {
  const calls = serverCallMiddleware({ log: o.logger, errors: o.logger, auth: o.auth, refuseMalformed: true });
  const limited = composeServerMiddleware(calls, identityLimitsMiddleware(o.limits));
  return composeServerMiddleware(limited, deadlineMiddleware(controllerCallCeilingMs, { shutdown: o.shutdown }));
}

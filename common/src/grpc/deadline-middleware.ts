import type { ServerDeadlineOptions } from './call-deadline.js';
import { serverCallMiddleware } from './server-call-middleware.js';

export { callTimeoutKey, type ServerDeadlineOptions } from './call-deadline.js';

/**
 * Bounds every call on the server side too: a client without a deadline must not pin a root
 * process forever. `options.limits` holds per-method ceilings; `defaultMs` covers the rest. A shorter
 * deadline sent by the client (`callTimeoutKey`) wins over the ceiling. The handler's signal
 * aborts when the client cancels, when the deadline passes, or when `options.shutdown` aborts
 * (CallDeadline).
 */
export function deadlineMiddleware(defaultMs: number, options: ServerDeadlineOptions = {}) {
  return serverCallMiddleware({ deadline: { defaultMs, ...options } });
}

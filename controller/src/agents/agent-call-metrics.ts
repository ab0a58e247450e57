import { isAbortError } from 'abort-controller-x';
import { ClientError, Status, type CallOptions, type ClientMiddlewareCall } from 'nice-grpc-common';

/** Told about every attempt of every call to an agent: for metrics and the hosts-up view. */
export type AgentCallObserver = (call: { path: string; host: string; seconds: number; status: string }) => void;

/** `/xsctl.agent.v1.HostService/GetFacts` -> `HostService/GetFacts`: shorter labels, same meaning. */
export const methodLabel = (path: string): string => path.replace(/^\/(?:[a-z0-9_]+\.)*/, '');

/**
 * Times each attempt (it sits inside the retry middleware) and reports its gRPC status name: OK,
 * UNAVAILABLE, DEADLINE_EXCEEDED, ... A caller's own abort is CANCELLED.
 */
export function agentCallMetricsMiddleware(host: string, observe: AgentCallObserver) {
  return async function* <Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: CallOptions) {
    const started = performance.now();
    const report = (status: string): void => observe({ path: call.method.path, host, seconds: (performance.now() - started) / 1000, status });
    try {
      const result = yield* call.next(call.request, options);
      report('OK');
      return result;
    } catch (err) {
      report(err instanceof ClientError ? (Status[err.code] ?? String(err.code)) : isAbortError(err) ? 'CANCELLED' : 'UNKNOWN');
      throw err;
    }
  };
}

import { createChannel, createClientFactory, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { Status } from 'nice-grpc-common';
import { clientDeadlineMiddleware, clientErrorMiddleware, clientRetryMiddleware, mtlsChannelCredentials, type DeadlineOptions } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { agentCallTable, defaultAgentDeadlineMs } from '@xsctl/common/calls/agent-call-table';
import { agentCallMetricsMiddleware, type AgentCallObserver } from './agent-call-metrics.js';

export interface AgentEndpoint {
  /** host:port the agent listens on (the XAPI host address and the pool's agent port). */
  address: string;
  /** Name the agent certificate was issued for (the dom0 hostname). */
  serverName: string;
}

/** Retried only for calls marked idempotent in the call table; everything else fails fast. */
export const agentRetryableStatuses: readonly Status[] = [Status.UNAVAILABLE];

/**
 * One per agent: owns the channel, its mTLS credentials, keepalive, deadlines and retries.
 * Clients for any agent service come from `client(definition)`.
 */
export class AgentConnection {
  readonly endpoint: AgentEndpoint;
  readonly #channel: Channel;
  readonly #factory;
  readonly #clients = new Map<unknown, unknown>();

  constructor(endpoint: AgentEndpoint, tls: TlsMaterial, observe?: AgentCallObserver) {
    this.endpoint = endpoint;
    this.#channel = createChannel(endpoint.address, mtlsChannelCredentials(tls), {
      'grpc.ssl_target_name_override': endpoint.serverName,
      'grpc.default_authority': endpoint.serverName,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      // Fail fast on a dead host instead of waiting for the OS connect timeout.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
    const deadlines = Object.fromEntries(Object.entries(agentCallTable).map(([path, e]) => [path, e.deadlineMs]));
    // nice-grpc runs client middleware in reverse order of attachment (the last one attached is
    // the outermost): each attempt gets its own deadline and is timed, the retrier sees gRPC's
    // ClientError, and callers get RemoteError with the agent's stable code.
    this.#factory = createClientFactory()
      .use(clientDeadlineMiddleware(defaultAgentDeadlineMs, deadlines))
      .use(agentCallMetricsMiddleware(endpoint.serverName, observe ?? (() => undefined)))
      .use(
        clientRetryMiddleware({
          retryable: agentRetryableStatuses,
          attempts: 3,
          baseDelayMs: 200,
          idempotent: (path) => agentCallTable[path]?.idempotent ?? false,
        }),
      )
      .use(clientErrorMiddleware);
  }

  client<Service extends CompatServiceDefinition>(definition: Service): Client<Service, DeadlineOptions> {
    let c = this.#clients.get(definition);
    if (c === undefined) {
      c = this.#factory.create(definition, this.#channel);
      this.#clients.set(definition, c);
    }
    return c as Client<Service, DeadlineOptions>;
  }

  close(): void {
    this.#channel.close();
  }
}

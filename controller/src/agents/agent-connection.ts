import { createClientFactory, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { Status, type CallOptions, type ClientMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { TrustServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/trust';
import { clientDeadlineMiddleware, clientErrorMiddleware, clientRetryMiddleware, mtlsChannel, type DeadlineOptions, type ServerPeer } from '@xsctl/common/grpc/index';
import { RemoteError } from '@xsctl/common/errors/index';
import type { RevocationStore, TlsMaterial } from '@xsctl/common/pki/index';
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

const putRevocationListPath = '/xsctl.agent.v1.TrustService/PutRevocationList';

export interface AgentConnectionOptions {
  observe?: AgentCallObserver;
  /** The controller's revocation list: checked against the agent's certificate and handed to the agent. */
  revocations?: RevocationStore;
  /** Called after each accepted handshake with the agent's certificate (expiry warnings, metrics). */
  onPeer?: (peer: ServerPeer) => void;
  logger?: Logger;
}

/**
 * One per agent: owns the channel, its mTLS credentials (the server must hold an unrevoked agent
 * certificate), keepalive, deadlines and retries. Before the first call, and whenever the
 * revocation list changed, the agent is handed the list (TrustService) so it refuses revoked
 * controllers. Clients for any agent service come from `client(definition)`.
 */
export class AgentConnection {
  readonly endpoint: AgentEndpoint;
  readonly #channel: Channel;
  readonly #factory;
  readonly #clients = new Map<unknown, unknown>();
  readonly #revocations: RevocationStore | undefined;
  readonly #logger: Logger | undefined;
  /** The agent certificate seen at the last handshake. */
  #peer: ServerPeer | undefined;
  #pushedNumber = 0;
  #pushing: Promise<void> | undefined;

  constructor(endpoint: AgentEndpoint, tls: TlsMaterial, options: AgentConnectionOptions = {}) {
    this.endpoint = endpoint;
    this.#revocations = options.revocations;
    this.#logger = options.logger;
    const revocations = options.revocations;
    // The agent's certificate must name endpoint.serverName; an IP address there is checked but
    // never sent as SNI (mtlsChannel).
    this.#channel = mtlsChannel(endpoint.address, tls, {
      kind: 'agent',
      serverName: endpoint.serverName,
      ...(revocations === undefined ? {} : { revoked: (serial: string) => revocations.isRevoked(serial) }),
      onPeer: (peer) => {
        this.#peer = peer;
        options.onPeer?.(peer);
      },
    }, {
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
    // ClientError, and callers get RemoteError with the agent's stable code. Outermost of all,
    // the revocation list goes to the agent before the call it precedes.
    const pushRevocations = (signal: AbortSignal | undefined): Promise<void> => this.#pushRevocations(signal);
    this.#factory = createClientFactory()
      .use(clientDeadlineMiddleware(defaultAgentDeadlineMs, deadlines))
      .use(agentCallMetricsMiddleware(endpoint.serverName, options.observe ?? (() => undefined)))
      .use(
        clientRetryMiddleware({
          retryable: agentRetryableStatuses,
          attempts: 3,
          baseDelayMs: 200,
          idempotent: (path) => agentCallTable[path]?.idempotent ?? false,
        }),
      )
      .use(clientErrorMiddleware)
      .use(async function* <Request, Response>(call: ClientMiddlewareCall<Request, Response>, callOptions: CallOptions) {
        if (call.method.path !== putRevocationListPath) await pushRevocations(callOptions.signal);
        return yield* call.next(call.request, callOptions);
      });
  }

  /** The agent's certificate as seen at the last handshake (expiry warnings). */
  get peer(): ServerPeer | undefined {
    return this.#peer;
  }

  client<Service extends CompatServiceDefinition>(definition: Service): Client<Service, DeadlineOptions> {
    let c = this.#clients.get(definition);
    if (c === undefined) {
      c = this.#factory.create(definition, this.#channel);
      this.#clients.set(definition, c);
    }
    return c as Client<Service, DeadlineOptions>;
  }

  /**
   * Hands the agent a newer list than it was last given. A failure is logged and the call goes
   * on (the agent keeps the list it has); the next call tries again.
   */
  async #pushRevocations(signal: AbortSignal | undefined): Promise<void> {
    const list = this.#revocations?.current;
    if (list === null || list === undefined || list.number <= this.#pushedNumber) return;
    this.#pushing ??= (async () => {
      try {
        const res = await this.client(TrustServiceDefinition).putRevocationList({ crlPem: list.pem }, signal === undefined ? {} : { signal });
        this.#pushedNumber = Math.max(list.number, res.number);
      } catch (err) {
        // An agent holding a newer list (from another controller) refuses ours: nothing to resend.
        if (err instanceof RemoteError && err.code === 'REVOCATION_LIST_REJECTED' && /older/.test(err.message)) this.#pushedNumber = list.number;
        else this.#logger?.warn({ err, agent: this.endpoint.address }, 'could not hand the revocation list to the agent');
      } finally {
        this.#pushing = undefined;
      }
    })();
    await this.#pushing;
  }

  close(): void {
    this.#channel.close();
  }
}

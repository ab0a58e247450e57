import type { Logger } from 'pino';
import type { ServerPeer } from '@xsctl/common/grpc/index';
import type { RevocationStore, TlsMaterial } from '@xsctl/common/pki/index';
import { AgentConnection, type AgentConnectionOptions, type AgentEndpoint } from './agent-connection.js';
import type { AgentCallObserver } from './agent-call-metrics.js';

export interface AgentRegistryOptions {
  observe?: AgentCallObserver;
  /** The controller's revocation list (agents' certificates are checked against it and it is handed to them). */
  revocations?: RevocationStore;
  /** Each accepted agent certificate (expiry metrics). */
  onPeer?: (peer: ServerPeer) => void;
  logger?: Logger;
}

/** Keeps one AgentConnection per endpoint for the controller's lifetime. */
export class AgentRegistry {
  readonly #tls: TlsMaterial;
  readonly #connections = new Map<string, AgentConnection>();
  readonly #options: AgentConnectionOptions;

  constructor(tls: TlsMaterial, options: AgentRegistryOptions = {}) {
    this.#tls = tls;
    this.#options = options;
    // Open channels were verified against the old list: reconnect so every agent is checked again.
    options.revocations?.onChange(() => this.closeAll());
  }

  /** Every connection made so far (the endpoints the controller has talked to). */
  list(): AgentConnection[] {
    return [...this.#connections.values()];
  }

  get(endpoint: AgentEndpoint): AgentConnection {
    const key = `${endpoint.address}|${endpoint.serverName}`;
    let conn = this.#connections.get(key);
    if (conn === undefined) {
      conn = new AgentConnection(endpoint, this.#tls, this.#options);
      this.#connections.set(key, conn);
    }
    return conn;
  }

  closeAll(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}

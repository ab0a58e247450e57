import type { TlsMaterial } from '@xsctl/common/pki/index';
import { AgentConnection, type AgentEndpoint } from './agent-connection.js';
import type { AgentCallObserver } from './agent-call-metrics.js';

/** Keeps one AgentConnection per endpoint for the controller's lifetime. */
export class AgentRegistry {
  readonly #tls: TlsMaterial;
  readonly #connections = new Map<string, AgentConnection>();

  readonly #observe: AgentCallObserver | undefined;

  constructor(tls: TlsMaterial, observe?: AgentCallObserver) {
    this.#tls = tls;
    this.#observe = observe;
  }

  /** Every connection made so far (the endpoints the controller has talked to). */
  list(): AgentConnection[] {
    return [...this.#connections.values()];
  }

  get(endpoint: AgentEndpoint): AgentConnection {
    const key = `${endpoint.address}|${endpoint.serverName}`;
    let conn = this.#connections.get(key);
    if (conn === undefined) {
      conn = new AgentConnection(endpoint, this.#tls, this.#observe);
      this.#connections.set(key, conn);
    }
    return conn;
  }

  closeAll(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}

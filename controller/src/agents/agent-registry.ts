import type { TlsMaterial } from '@xsctl/common/pki/index';
import { AgentConnection, type AgentEndpoint } from './agent-connection.js';

/** Keeps one AgentConnection per endpoint for the controller's lifetime. */
export class AgentRegistry {
  readonly #tls: TlsMaterial;
  readonly #connections = new Map<string, AgentConnection>();

  constructor(tls: TlsMaterial) {
    this.#tls = tls;
  }

  get(endpoint: AgentEndpoint): AgentConnection {
    const key = `${endpoint.address}|${endpoint.serverName}`;
    let conn = this.#connections.get(key);
    if (conn === undefined) {
      conn = new AgentConnection(endpoint, this.#tls);
      this.#connections.set(key, conn);
    }
    return conn;
  }

  closeAll(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}

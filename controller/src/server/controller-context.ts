import type { Logger } from 'pino';
import type { RevocationStore } from '@xsctl/common/pki/index';
import type { IdentityLimits } from '../limits/identity-limits.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { AgentConnection } from '../agents/agent-connection.js';
import type { ControllerConfig, PoolConfig } from '../config/inventory.js';
import type { Journal } from '../journal/journal.js';
import type { XapiClient } from '../xapi/xapi-client.js';
import type { ControllerMetrics } from '../metrics/controller-metrics.js';

/** A host as the controller resolves it: XAPI's record plus the agent that serves it. */
export interface ResolvedHost {
  pool: PoolConfig;
  ref: string;
  uuid: string;
  nameLabel: string;
  hostname: string;
  address: string;
  isMaster: boolean;
  agent: AgentConnection;
}

/** What every controller service and workflow gets. */
export interface ControllerContext {
  config: ControllerConfig;
  logger: Logger;
  agents: AgentRegistry;
  journal: Journal;
  /** The one Prometheus registry (GET /metrics). */
  metrics: ControllerMetrics;
  /** The CA's revocation list (config tls.crl), enforced on every hop and handed to the agents. */
  revocations?: RevocationStore;
  /** Per-identity rate and concurrency, one budget for gRPC and HTTPS (config `limits`). */
  limits?: IdentityLimits;
  pool(name: string): PoolConfig;
  /** A XAPI session to the pool master; read-only sessions refuse every write. Close it when done. */
  openXapi(pool: PoolConfig, options: { readOnly: boolean; signal?: AbortSignal }): Promise<XapiClient>;
  /** Every host of a pool, from XAPI, each with its agent connection. */
  poolHosts(pool: PoolConfig, signal?: AbortSignal): Promise<ResolvedHost[]>;
  /**
   * The pool's hosts as XAPI last listed them (persisted in the journal), each with its agent
   * connection, for when XAPI's master cannot be reached; null when XAPI never listed them.
   */
  knownPoolHosts(pool: PoolConfig): { hosts: ResolvedHost[]; seenAt: string } | null;
  /** One host by name_label, hostname or uuid; searches every pool when `pool` is omitted. */
  /** `field`: the request field that named the host, for the refusal of a malformed name (default `host`). */
  resolveHost(host: string, pool?: string, signal?: AbortSignal, field?: string): Promise<ResolvedHost>;
  /** Re-reads the config file; returns the number of pools. */
  reloadConfig(): Promise<number>;
}

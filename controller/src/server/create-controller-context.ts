import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '@xsctl/common/errors/index';
import type { RevocationList, RevocationStore, TlsMaterial } from '@xsctl/common/pki/index';
import { AgentRegistry } from '../agents/agent-registry.js';
import { agentEndpoint } from '../agents/agent-endpoint.js';
import { loadControllerConfig, xapiTransportOf, type ControllerConfig, type PoolConfig } from '../config/inventory.js';
import type { Journal } from '../journal/journal.js';
import { readPoolHosts } from '../pools/read-pool-hosts.js';
import { XapiClient } from '../xapi/xapi-client.js';
import { XapiTimeoutError } from '../xapi/xapi-timeout-error.js';
import { XapiUnreachableError } from '../xapi/xapi-unreachable-error.js';
import { PoolMembers } from '../pools/pool-members.js';
import { PoolMemberStore } from '../pools/pool-member-store.js';
import { transportWarnings } from '../xapi/xapi-transport-policy.js';
import { defaultLimits, IdentityLimits } from '../limits/identity-limits.js';
import type { ControllerContext, ResolvedHost } from './controller-context.js';
import { ControllerMetrics } from '../metrics/controller-metrics.js';
import { methodLabel } from '../agents/agent-call-metrics.js';
import { watchJournalSize } from '../metrics/journal-size.js';

export interface ContextOptions {
  configFile: string;
  config: ControllerConfig;
  tls: TlsMaterial;
  journal: Journal;
  logger: Logger;
  metrics?: ControllerMetrics;
  /** The CA's revocation list: agents' certificates are checked against it and it is handed to them. */
  revocations?: RevocationStore;
}

export function createControllerContext(options: ContextOptions): ControllerContext & { close(): void } {
  let config = options.config;
  // Settings that let the XAPI password travel unverified are explicit in the config, and loud.
  const warnTransport = (c: ControllerConfig): void => {
    for (const p of c.pools) for (const line of transportWarnings(p.name, p.xapi.url, xapiTransportOf(p))) options.logger.warn({ pool: p.name }, line);
  };
  warnTransport(config);
  const metrics = options.metrics ?? new ControllerMetrics();
  const agents = new AgentRegistry(options.tls, {
    observe: ({ path, host, seconds, status }) => {
      const method = methodLabel(path);
      metrics.agentCallDuration.observe({ method, host, outcome: status === 'OK' ? 'ok' : 'error' }, seconds);
      if (status !== 'OK') metrics.agentCallErrors.inc({ method, host, status });
    },
    // Each agent's certificate as seen at the handshake: its expiry is a metric and a warning in `xsctl hosts`.
    onPeer: (peer) => metrics.certificateExpiry.set({ role: 'agent', name: peer.name }, Math.floor(peer.notAfter.getTime() / 1000)),
    logger: options.logger,
    ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
  });
  metrics.recordCertificate({ role: 'ca', name: 'ca', pem: options.tls.ca });
  metrics.recordCertificate({ role: 'controller', name: 'controller', pem: options.tls.cert });
  watchJournalSize(metrics, options.journal);
  const showList = (list: RevocationList | null): void => {
    metrics.revocationList.set(list?.number ?? 0);
    if (list?.nextUpdate != null) metrics.revocationListNextUpdate.set(Math.floor(list.nextUpdate.getTime() / 1000));
  };
  showList(options.revocations?.current ?? null);
  options.revocations?.onChange(showList);

  const members = new PoolMembers();
  const memberStore = new PoolMemberStore(options.journal);
  // A restarted controller starts with the members it saw last, not only the configured URL.
  for (const pool of config.pools) {
    const known = memberStore.load(pool.name);
    if (known !== null) members.remember(pool, known.members.map((m) => m.address));
  }
  const ctx: ControllerContext & { close(): void } = {
    get config() {
      return config;
    },
    logger: options.logger,
    agents,
    journal: options.journal,
    ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
    // Built once from the config at start (a reload keeps the budgets already spent).
    limits: new IdentityLimits(config.limits ?? defaultLimits, (caller, limit) => metrics.callsLimited.inc({ role: caller.role, limit })),
    metrics,

    pool(name) {
      const p = config.pools.find((q) => q.name === name);
      if (p === undefined) throw new NotFoundError('pool', name);
      return p;
    },

    async openXapi(pool: PoolConfig, { readOnly, signal }) {
      // The configured host may be dead after a failover: try the last master, the URL, the members.
      let firstError: unknown;
      for (const url of members.candidates(pool)) {
        try {
          const xapi = await XapiClient.connect({
            url,
            user: pool.xapi.user,
            password: pool.xapi.password,
            readOnly,
            ...xapiTransportOf(pool),
            observe: ({ method, seconds, code }) => {
              metrics.xapiCallDuration.observe({ pool: pool.name, method, outcome: code === '' ? 'ok' : 'error' }, seconds);
              if (code !== '') metrics.xapiCallErrors.inc({ pool: pool.name, method, code });
            },
            ...(signal === undefined ? {} : { signal }),
          });
          if (url !== new URL(pool.xapi.url).origin && firstError !== undefined) options.logger.warn({ pool: pool.name, master: xapi.url }, 'the configured XAPI host did not answer; found the pool master at another member');
          members.answered(pool, xapi.url);
          return xapi;
        } catch (err) {
          if (!(err instanceof XapiUnreachableError || err instanceof XapiTimeoutError) || signal?.aborted === true) throw err;
          firstError ??= err;
        }
      }
      throw firstError;
    },

    async poolHosts(pool, signal) {
      const xapi = await ctx.openXapi(pool, { readOnly: true, ...(signal === undefined ? {} : { signal }) });
      try {
        const records = await readPoolHosts(xapi, signal);
        members.remember(pool, records.map((h) => h.address));
        memberStore.save(pool.name, records.map((h) => ({ uuid: h.uuid, ref: h.ref, nameLabel: h.nameLabel, hostname: h.hostname, address: h.address, isMaster: h.isMaster, agentEndpoint: agentEndpoint(pool, h).address })));
        return records.map((h): ResolvedHost => ({
          pool,
          ref: h.ref,
          uuid: h.uuid,
          nameLabel: h.nameLabel,
          hostname: h.hostname,
          address: h.address,
          isMaster: h.isMaster,
          agent: agents.get(agentEndpoint(pool, h)),
        }));
      } finally {
        await xapi.close();
      }
    },

    knownPoolHosts(pool) {
      const known = memberStore.load(pool.name);
      if (known === null) return null;
      // The agent port is the config's (it may have changed since); the address is the journal's.
      const hosts = known.members.map((m): ResolvedHost => ({ pool, ref: m.ref, uuid: m.uuid, nameLabel: m.nameLabel, hostname: m.hostname, address: m.address, isMaster: m.isMaster, agent: agents.get(agentEndpoint(pool, m)) }));
      return { hosts, seenAt: known.seenAt };
    },

    async resolveHost(host, poolName, signal, field = 'host') {
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(host)) throw new ValidationError(field, 'expected a host name, hostname or uuid');
      const pools = poolName === undefined || poolName === '' ? config.pools : [ctx.pool(poolName)];
      for (const pool of pools) {
        const hosts = await ctx.poolHosts(pool, signal);
        const hit = hosts.find((h) => h.nameLabel === host || h.hostname === host || h.uuid === host);
        if (hit !== undefined) return hit;
      }
      throw new NotFoundError('host', host);
    },

    async reloadConfig() {
      config = await loadControllerConfig(options.configFile);
      warnTransport(config);
      return config.pools.length;
    },

    close() {
      agents.closeAll();
    },
  };
  return ctx;
}

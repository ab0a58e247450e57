import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';
import type { Logger } from 'pino';
import { mtlsServerCredentials, peerIdentityInterceptor, serverCallMiddleware, withReusedResponseWriter, withTolerantDecoding } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/tls-trust/index';
import { agentMethodAccess, agentServerCeilings } from '@xsctl/common/calls/agent-call-table';
import { TrustServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/trust';
import { loadAgentTrust, type AgentTrust } from '../trust/agent-trust.js';
import { trustService } from '../trust/trust-service.js';
import type { AgentContext } from './agent-context.js';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { recoverIntents, type RecoveredIntent } from '../journal/intent-journal.js';
import { lockHold } from './lock-hold.js';
import { registerServices } from './register-services.js';
import { resourceLocks } from './resource-locks.js';

export interface AgentServerOptions {
  ctx: AgentContext;
  tls: TlsMaterial;
  listen: string;
  logger: Logger;
  defaultDeadlineMs?: number;
  /** A revocation list installed with the agent (config tls.crl); the controller sends newer ones. */
  crlFile?: string;
}

export interface RunningAgentServer {
  server: Server;
  port: number;
  /** Aborted when shutdown begins: background work started beside the server stops with it. */
  signal: AbortSignal;
  trust: AgentTrust;
  /** Stops accepting calls and aborts the ones in flight after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * Before the first call: what a crash interrupted is undone (a config written but never
 * confirmed goes back, a half-made storage role is torn down to slave).
 */
export async function recoverOnStart(ctx: AgentContext): Promise<RecoveredIntent[]> {
  return recoverIntents(ctx, {
    tearDown: async (spec) => {
      // Loaded only when a crash left a half-made role behind (lazy-implementation.ts says why).
      const { assertRole } = await import('../storage/assert-role.js');
      const r = await assertRole(ctx, StorageRole.STORAGE_ROLE_SLAVE, spec, false);
      return r.ok ? 'torn down to slave' : `tear-down stopped at ${r.failedStep}: ${r.steps.find((s) => s.name === r.failedStep)?.detail ?? ''}`;
    },
  });
}

/**
 * Message size bounds (grpc-js defaults: 4 MiB in, unlimited out). Every agent request is a few
 * KiB (the largest, a targets list or a storage spec); a 1 MiB cap refuses a flood before it is
 * parsed. Replies (a blob scan, a kernel-log excerpt) stay under 16 MiB.
 */
export const agentMaxRequestBytes = 1024 * 1024;
export const agentMaxReplyBytes = 16 * 1024 * 1024;

export async function startAgentServer(options: AgentServerOptions): Promise<RunningAgentServer> {
  await recoverOnStart(options.ctx);
  const stopping = new AbortController();
  const trust = await loadAgentTrust({ root: options.ctx.root, stateDir: options.ctx.stateDir, ca: options.tls.ca, logger: options.logger, ...(options.crlFile === undefined ? {} : { crlFile: options.crlFile }) });
  // Undecodable request bytes reach the middleware as a marker (refused below as VALIDATION_FAILED), not as grpc-js's bare INTERNAL.
  // Responses are encoded into one kept writer, not a new one per response (reusedResponseWriter).
  const server = withReusedResponseWriter(withTolerantDecoding(createServer({
    interceptors: [peerIdentityInterceptor],
    'grpc.keepalive_permit_without_calls': 1,
    // No channelz: nothing reads it (no channelz service is registered), and with it grpc-js keeps
    // per-call counters, timestamps (new Date objects) and a tracker of four closures for every
    // call, garbage the collector of a JIT-less runtime pays for (bench/agent.mjs).
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': agentMaxRequestBytes,
    'grpc.max_send_message_length': agentMaxReplyBytes,
  })
    // One middleware for the per-call stack (serverCallMiddleware: one async generator per call
    // instead of six layers, each a generator and two object spreads; bench/agent.mjs), in the
    // order the layers had: the call's line, errors mapped to statuses, then:
    .use(serverCallMiddleware({
      log: options.logger,
      errors: options.logger,
      // The agent serves only the controller: agent and CLI certificates are refused, and so is any
      // method missing from the shared call table (default deny).
      // A revoked controller is refused on every call, from the list the controller hands over.
      auth: { kinds: ['controller'], methods: agentMethodAccess(), revoked: (serial) => trust.store.isRevoked(serial) },
      refuseMalformed: true,
      // Per method: the controller's deadline plus a margin, never a flat value shorter than it.
      // Shutdown aborts every call in flight and refuses new ones (a stuck tool must not hold it).
      deadline: { defaultMs: options.defaultDeadlineMs ?? 120_000, limits: agentServerCeilings(), shutdown: stopping.signal },
      // Calls that change the same resource run one at a time (defect: a rollback undid another call's change).
      hold: lockHold(resourceLocks(options.ctx.root.root)),
    }))));
  registerServices(server, options.ctx, stopping.signal);
  server.add(HealthDefinition, HealthServiceImpl());
  server.add(TrustServiceDefinition, trustService(trust));
  const port = await server.listen(options.listen, mtlsServerCredentials(options.tls));
  return {
    server,
    port,
    signal: stopping.signal,
    trust,
    async shutdown(graceMs = 5_000) {
      stopping.abort();
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      try {
        await server.shutdown();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import type { Logger } from 'pino';
import { mtlsServerCredentials, peerIdentityInterceptor, withTolerantDecoding } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { defaultLimits, IdentityLimits } from '../limits/identity-limits.js';
import { controllerCallMiddleware } from './controller-call-middleware.js';
import type { ControllerContext } from './controller-context.js';
import { registerServices, serviceRegistrations } from './register-services.js';
import { methodAccess } from './registration.js';

export interface RunningControllerServer {
  server: Server;
  port: number;
  shutdown(graceMs?: number): Promise<void>;
}

/** grpc.health.v1 reads only: any CLI certificate may probe the controller. */
const healthMethods = [['/grpc.health.v1.Health/Check', 'read'], ['/grpc.health.v1.Health/Watch', 'read']] as const;

export async function startControllerServer(options: { ctx: ControllerContext; tls: TlsMaterial; listen: string; logger: Logger }): Promise<RunningControllerServer> {
  const registrations = serviceRegistrations(options.ctx);
  const revocations = options.ctx.revocations;
  const stopping = new AbortController();
  // Undecodable request bytes reach the middleware as a marker (refused as VALIDATION_FAILED), not as grpc-js's bare INTERNAL.
  const server = withTolerantDecoding(createServer({ interceptors: [peerIdentityInterceptor] }).use(controllerCallMiddleware({
    logger: options.logger,
    // The controller serves CLI users; writes need the operator role; unclassified methods are refused.
    // A revoked CLI certificate is refused on every call, even on a connection opened before.
    auth: { kinds: ['cli'], methods: new Map([...methodAccess(registrations), ...healthMethods]), ...(revocations === undefined ? {} : { revoked: (serial: string) => revocations.isRevoked(serial) }) },
    // One budget per identity: a viewer cannot fan heavy reads out to every dom0 and XAPI at will.
    limits: options.ctx.limits ?? new IdentityLimits(options.ctx.config.limits ?? defaultLimits),
    // Shutdown aborts every call in flight and refuses new ones.
    shutdown: stopping.signal,
  })));
  registerServices(server, registrations);
  // grpc.health.v1: "" is the whole controller; each service by its full name (grpc_health_probe -service).
  const health = HealthState();
  server.add(HealthDefinition, HealthServiceImpl(health));
  for (const r of registrations) health.setStatus('healthy', (r.definition as unknown as { fullName: string }).fullName);
  const port = await server.listen(options.listen, mtlsServerCredentials(options.tls));
  return {
    server,
    port,
    async shutdown(graceMs = 5_000) {
      // Probes see NOT_SERVING while in-flight calls drain.
      health.setStatus('unhealthy');
      for (const r of registrations) health.setStatus('unhealthy', (r.definition as unknown as { fullName: string }).fullName);
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

import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { ControllerContext } from '../server/controller-context.js';
import { listHostViews } from '../pools/list-host-views.js';
import { renderDashboard } from './render-dashboard.js';

export interface RunningHttpServer {
  address: string;
  close(): Promise<void>;
}

/** Read-only HTTP: health, metrics and JSON views for dashboards. No writes over HTTP. */
export async function startHttpServer(options: { ctx: ControllerContext; listen: string; logger: Logger; tls: TlsMaterial }): Promise<RunningHttpServer> {
  // HTTPS with client certificates from the project CA, like every other hop.
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }),
    https: { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
  });
  const started = Date.now();
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return [
      '# HELP xsctl_controller_uptime_seconds Seconds since the controller started.',
      '# TYPE xsctl_controller_uptime_seconds gauge',
      `xsctl_controller_uptime_seconds ${((Date.now() - started) / 1000).toFixed(0)}`,
      '# HELP xsctl_controller_pools Pools in the inventory.',
      '# TYPE xsctl_controller_pools gauge',
      `xsctl_controller_pools ${options.ctx.config.pools.length}`,
      '',
    ].join('\n');
  });
  app.get('/api/pools', async () => options.ctx.config.pools.map((p) => ({ name: p.name, xapiUrl: p.xapi.url, agentPort: p.agentPort })));
  app.get<{ Querystring: { pool?: string } }>('/api/hosts', async (req) => listHostViews(options.ctx, req.query.pool ?? '', AbortSignal.timeout(20_000)));
  app.get('/', async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    return renderDashboard(await listHostViews(options.ctx, '', AbortSignal.timeout(20_000)));
  });
  const idx = options.listen.lastIndexOf(':');
  const address = await app.listen({ host: options.listen.slice(0, idx), port: Number(options.listen.slice(idx + 1)) });
  return { address, close: () => app.close() };
}

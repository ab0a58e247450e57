import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { ControllerContext } from '../server/controller-context.js';

export interface RunningHttpServer {
  address: string;
  close(): Promise<void>;
}

/** Read-only HTTP: health, metrics and JSON views for dashboards. No writes over HTTP. */
export async function startHttpServer(options: { ctx: ControllerContext; listen: string; logger: Logger }): Promise<RunningHttpServer> {
  const app = Fastify({ loggerInstance: options.logger.child({ component: 'http' }) });
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
  const idx = options.listen.lastIndexOf(':');
  const address = await app.listen({ host: options.listen.slice(0, idx), port: Number(options.listen.slice(idx + 1)) });
  return { address, close: () => app.close() };
}

import { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { PoolScsiServiceGetAluaReportResponse } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { ControllerContext } from '../server/controller-context.js';
import { listHostViews } from '../pools/list-host-views.js';
import { workflowEngineFor } from '../services/upgrade/upgrade-service.js';
import { poolStorageService } from '../services/storage/pool-storage-service.js';
import { poolScsiService } from '../services/scsi/pool-scsi-service.js';
import { poolHubFor } from '../watch/pool-hub.js';
import { dashboardAccessFor } from './auth/dashboard-access.js';
import { defaultLimits, IdentityLimits, RateLimitedError } from '../limits/identity-limits.js';
import { httpIdentity, sessionCookie, type HttpIdentity } from './auth/http-identity.js';
import { LoginLinkError } from './auth/login-link-error.js';
import { icon, liveScript, stylesheet } from './dashboard/assets.js';
import { openEventStream } from './dashboard/event-stream.js';
import { hostsPage } from './dashboard/hosts-page.js';
import { layout, type PageName } from './dashboard/layout.js';
import { multipathPage, type MultipathPoolSection } from './dashboard/multipath-page.js';
import { poolsPage } from './dashboard/pools-page.js';
import { storagePage, type StoragePoolSection } from './dashboard/storage-page.js';
import { witnessFor } from './dashboard/storage-witness.js';
import { TtlCache } from './dashboard/ttl-cache.js';
import { workflowPage } from './dashboard/workflow-page.js';
import { workflowsPage } from './dashboard/workflows-page.js';
import { esc, type Html } from './html.js';

export interface RunningHttpServer {
  address: string;
  close(): Promise<void>;
}

/** Pages and scripts come only from here; nothing inline, nothing framed, no forms. */
const securityHeaders = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const publicPaths = new Set(['/login', '/favicon.ico', '/assets/dashboard.css', '/assets/live.js', '/assets/icon.svg']);
const agentSectionTtlMs = 15_000;

declare module 'fastify' {
  interface FastifyRequest {
    identity?: HttpIdentity;
  }
}

function notLoggedIn(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (req.url.startsWith('/api/') || req.url === '/metrics' || req.url === '/healthz' || req.url === '/events') {
    return reply.code(401).send({ code: 'UNAUTHENTICATED', message: 'present a client certificate from the project CA, or log in with `xsctl dashboard open`' });
  }
  return reply
    .code(401)
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>xsctl: log in</title><link rel="stylesheet" href="/assets/dashboard.css"><link rel="icon" href="/assets/icon.svg" type="image/svg+xml"></head><body><main><h1>Log in to the xsctl dashboard</h1><p>Run <code>xsctl dashboard open</code> and open the one-time link it prints. The link works once and opens a session for your role.</p></main></body></html>`);
}

/**
 * HTTPS (certificate from the project CA): the read-only dashboard, its live event stream, the
 * JSON API, /healthz and /metrics. A caller is a CLI certificate from the CA or a session opened
 * by a one-time login link (`xsctl dashboard open`); a Prometheus scraper uses a viewer CLI
 * certificate. Nothing here changes anything.
 */
export async function startHttpServer(options: { ctx: ControllerContext; listen: string; logger: Logger; tls: TlsMaterial }): Promise<RunningHttpServer> {
  const { ctx } = options;
  const logger = options.logger.child({ component: 'http' });
  const access = dashboardAccessFor(ctx);
  const hub = poolHubFor(ctx, options.tls);
  const engine = workflowEngineFor(ctx);
  const limits = ctx.limits ?? new IdentityLimits(ctx.config.limits ?? defaultLimits);
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's request log has the query string, where login tokens travel; see onResponse.
    logController: new LogController({ disableRequestLogging: true }),
    // Event streams never end by themselves: close() must not wait for them.
    forceCloseConnections: true,
    // The certificate is asked for, not required: browsers log in with a session instead.
    https: { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
  });
  const streams = new Set<() => void>();

  app.addHook('onRequest', async (req, reply) => {
    void reply.headers(securityHeaders);
    const path = req.url.split('?')[0] ?? '';
    if (publicPaths.has(path)) return;
    const revoked = (serial: string): boolean => ctx.revocations?.isRevoked(serial) === true;
    const who = httpIdentity(req, access.sessions, revoked);
    if (who !== undefined) {
      req.identity = who;
      // The same budget as the identity's gRPC calls (a CLI certificate and its dashboard session are one user).
      try {
        const release = await limits.acquire({ name: `cli:${who.name}`, role: who.role }, path === '/events' ? 'stream' : 'call');
        reply.raw.once('close', release);
      } catch (err) {
        if (!(err instanceof RateLimitedError)) throw err;
        return reply.code(429).header('retry-after', String(Math.ceil(err.retryAfterMs / 1000))).send({ code: err.code, message: err.message });
      }
      return;
    }
    // Nothing else: a scraper gets a CLI certificate (`xsctl pki issue cli prometheus --role
    // viewer`). An agent's certificate (its key sits on every dom0), the controller's, a CA-signed
    // one without an xsctl kind, or a revoked one read nothing here.
    return notLoggedIn(req, reply);
  });
  app.addHook('onResponse', async (req, reply) => {
    logger.info({ method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime), who: req.identity?.name }, 'http request');
  });

  // ------------------------------------------------------------------ public
  app.get('/assets/dashboard.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(stylesheet));
  app.get('/assets/live.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(liveScript));
  app.get('/assets/icon.svg', async (_req, reply) => reply.type('image/svg+xml').header('cache-control', 'max-age=3600').send(icon));
  app.get('/favicon.ico', async (_req, reply) => reply.type('image/svg+xml').header('cache-control', 'max-age=3600').send(icon));
  app.get<{ Querystring: { token?: string } }>('/login', async (req, reply) => {
    try {
      const { id, session } = access.sessions.redeem(req.query.token ?? '');
      logger.info({ who: session.name, role: session.role }, 'dashboard session opened');
      // Lax: the dashboard is read-only GETs; the first request after the link is a navigation.
      return reply
        .header('set-cookie', `${sessionCookie}=${id}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${Math.floor(access.sessions.sessionMs / 1000)}`)
        .redirect('/', 303);
    } catch (err) {
      if (!(err instanceof LoginLinkError)) throw err;
      return reply.code(401).type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>xsctl: link refused</title><link rel="stylesheet" href="/assets/dashboard.css"></head><body><main><h1>This login link cannot be used</h1><p data-problem="${esc(err.problem)}">${esc(err.message)}</p></main></body></html>`);
    }
  });

  // ------------------------------------------------------------------ machine-readable
  app.get('/healthz', async () => ({ status: 'ok', pools: hub.views().map((v) => ({ pool: v.name, connected: v.connected })) }));
  app.get('/metrics', async (_req, reply) => {
    const m = await ctx.metrics.exposition();
    return reply.type(m.contentType).send(m.body);
  });
  app.get('/api/pools', async () => ctx.config.pools.map((p) => ({ name: p.name, xapiUrl: p.xapi.url, agentPort: p.agentPort })));
  app.get<{ Querystring: { pool?: string } }>('/api/hosts', async (req) => listHostViews(ctx, req.query.pool ?? '', AbortSignal.timeout(20_000)));
  app.get('/api/views', async () => hub.views());
  app.get('/api/workflows', async () => engine.store.list({ limit: 100 }));
  app.get<{ Params: { id: string } }>('/api/workflows/:id', async (req) => ({ workflow: engine.get(req.params.id), steps: engine.steps(req.params.id), compensations: engine.store.compensations(req.params.id) }));
  app.get('/events', async (req, reply) => {
    reply.hijack();
    openEventStream(reply.raw, { hub, engine }, (cleanup) => {
      streams.add(cleanup);
      req.raw.socket.once('close', () => {
        streams.delete(cleanup);
        cleanup();
      });
    });
  });

  // ------------------------------------------------------------------ pages
  const page = (name: PageName, title: string, render: (params: { id?: string }) => Promise<Html> | Html) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const params = req.params as { id?: string };
      const main = await render(params);
      reply.type('text/html; charset=utf-8');
      // ?fragment=1: only <main>, for the live script to swap in.
      if ((req.query as { fragment?: string }).fragment === '1') return main.value;
      return layout({ page: name, title, who: req.identity as HttpIdentity, main, ...(params.id === undefined ? {} : { workflow: params.id }) });
    };
  const activeWorkflows = () => new Map(engine.store.list({ activeOnly: true, limit: 1000 }).map((w) => [w.pool, w]));
  const storageCache = new TtlCache<StoragePoolSection>(agentSectionTtlMs);
  const aluaCache = new TtlCache<Omit<MultipathPoolSection, 'view'>>(agentSectionTtlMs);
  const storage = poolStorageService(ctx);
  const scsi = poolScsiService(ctx);

  app.get('/', page('pools', 'Pools', () => poolsPage(hub.views(), activeWorkflows())));
  app.get('/hosts', page('hosts', 'Hosts', () => hostsPage(hub.views())));
  app.get('/storage', page('storage', 'Storage', async () => {
    const sections = await Promise.all(
      ctx.config.pools.map((p) =>
        storageCache.get(p.name, async () => {
          const signal = AbortSignal.timeout(10_000);
          const [status, witness] = await Promise.all([
            storage.getPoolStorageStatus({ pool: p.name, spec: undefined }, { signal } as never).then((s) => ({ s: GetPoolStorageStatusResponse.fromPartial(s), e: '' }), (err: unknown) => ({ s: undefined, e: err instanceof Error ? err.message : String(err) })),
            witnessFor(ctx, p.name, signal).catch(() => undefined),
          ]);
          return { pool: p.name, status: status.s, error: status.e, witness };
        }),
      ),
    );
    return storagePage(sections);
  }));
  app.get('/multipath', page('multipath', 'Multipath', async () => {
    const sections = await Promise.all(
      hub.views().map(async (view) => {
        const alua = await aluaCache.get(view.name, async () => {
          const signal = AbortSignal.timeout(10_000);
          return scsi.getAluaReport({ target: { pool: view.name, host: '' }, device: '' }, { signal } as never).then((a) => ({ alua: PoolScsiServiceGetAluaReportResponse.fromPartial(a), error: '' }), (err: unknown) => ({ alua: undefined, error: err instanceof Error ? err.message : String(err) }));
        });
        return { view, ...alua };
      }),
    );
    return multipathPage(sections);
  }));
  app.get('/workflows', page('workflows', 'Workflows', () => workflowsPage(engine.store.list({ limit: 100 }))));
  app.get('/workflows/:id', page('workflow', 'Workflow', (params) => {
    const id = params.id ?? '';
    return workflowPage(engine.get(id), engine.steps(id), engine.store.compensations(id));
  }));

  app.setNotFoundHandler(async (_req, reply) => reply.code(404).type('text/plain').send('not found'));
  app.setErrorHandler(async (err: Error & { code?: string; statusCode?: number }, _req, reply) => {
    const status = err.code === 'NOT_FOUND' ? 404 : (err.statusCode ?? 500);
    if (status >= 500) logger.error({ err }, 'http handler failed');
    return reply.code(status).type('text/plain').send(`${err.code ?? 'ERROR'}: ${err.message}`);
  });

  const idx = options.listen.lastIndexOf(':');
  const address = await app.listen({ host: options.listen.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(options.listen.slice(idx + 1)) });
  access.baseUrl = ctx.config.http.publicUrl ?? address.replace(/^http:/, 'https:');
  if (ctx.config.watch.xapiEvents) hub.start();
  return {
    address,
    async close() {
      access.baseUrl = undefined;
      for (const s of streams) s();
      streams.clear();
      await app.close();
      await hub.stop();
    },
  };
}

import { createClientFactory, createServer } from 'nice-grpc';
import { Status } from 'nice-grpc-common';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RemoteError } from '@xsctl/common/errors/index';
import { authMiddleware, clientErrorMiddleware, errorMiddleware, mtlsChannel, mtlsServerCredentials, peerIdentityInterceptor } from '@xsctl/common/grpc/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { MultipathLayout, type MultipathServiceApplyRequest } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { PoolMultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import { PoolScsiServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import type { ControllerContext, ResolvedHost } from '../../server/controller-context.js';
import { serviceRegistrations } from '../../server/register-services.js';
import { methodAccess, operatorPaths } from '../../server/registration.js';
import { poolScsiService } from '../scsi/pool-scsi-service.js';
import { poolMultipathService } from './pool-multipath-service.js';

// The agents are fakes here: what is tested is the rollout order, the stop at the first failure,
// the per-host errors and the operator-only registration.
type ApplyFn = (r: MultipathServiceApplyRequest) => Promise<object>;

function host(name: string, apply: ApplyFn): ResolvedHost {
  const agent = {
    client: () => ({
      apply,
      get: async () => ({ files: [], devices: [] }),
      listMaps: async () => ({ maps: [], source: 'multipath-ll', warnings: [] }),
      listProfiles: async () => ({ profiles: [] }),
      enableDaemon: async () => ({ changed: false }),
      getAluaReport: async () => ({ luns: [], warnings: [`${name} ok`] }),
      inspect: async () => ({ paths: [] }),
    }),
  };
  return { pool: { name: 'lab' }, ref: `OpaqueRef:${name}`, uuid: name, nameLabel: name, hostname: name, address: '10.0.0.1', isMaster: false, agent } as unknown as ResolvedHost;
}

/** Anything: a callable, constructible object whose every property is itself (other services may touch ctx when built). */
function anything(): unknown {
  const target = function () {} as unknown as object;
  const proxy: unknown = new Proxy(target, {
    get: (_t, key) => {
      if (key === Symbol.iterator) return () => [][Symbol.iterator]();
      if (key === Symbol.asyncIterator) return async function* () {};
      if (key === Symbol.toPrimitive) return () => 0;
      return key === 'then' || typeof key === 'symbol' ? undefined : proxy;
    },
    apply: () => proxy,
    construct: () => proxy as object,
  });
  return proxy;
}

function fakeCtx(hosts: ResolvedHost[]): ControllerContext {
  const base = {
    logger: pino({ level: 'silent' }),
    pool: (name: string) => ({ name }),
    poolHosts: async () => hosts,
    resolveHost: async (h: string) => {
      const found = hosts.find((x) => x.nameLabel === h);
      if (found === undefined) throw new RemoteError('NOT_FOUND', Status.NOT_FOUND, `host not found: ${h}`);
      return found;
    },
  };
  const rest = anything() as Record<string | symbol, unknown>;
  return new Proxy(base, { get: (t, key) => (key in t ? t[key as keyof typeof t] : rest[key]) }) as unknown as ControllerContext;
}

const call = { signal: new AbortController().signal } as never;
const req = (confirm: boolean) => ({ target: { host: '', pool: 'lab' }, profile: 'dell-md36xx-alua', confirm, layout: MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED, skipReconfigure: false });

describe('PoolMultipathService', () => {
  const seen: string[] = [];
  const ok = (name: string): ApplyFn => async (r) => {
    seen.push(`${name}:${r.confirm ? 'write' : 'dry'}`);
    return { changed: true, dryRun: !r.confirm };
  };
  const rejected: ApplyFn = async () => {
    seen.push('xs2:fail');
    throw new RemoteError('MULTIPATH_CONFIG_REJECTED', Status.FAILED_PRECONDITION, 'multipath -t rejected /etc/multipath.conf (rolled back)');
  };
  const hosts = [host('xs1', ok('xs1')), host('xs2', rejected), host('xs3', ok('xs3'))];

  it('applies host by host and stops at the first failure; the rest are skipped, not attempted', async () => {
    seen.length = 0;
    const r = await poolMultipathService(fakeCtx(hosts)).apply(req(true), call);
    expect(seen).toEqual(['xs1:write', 'xs2:fail']);
    expect(r.ok).toBe(false);
    expect(r.hosts?.map((h) => [h?.host, h?.skipped, h?.error?.code ?? null])).toEqual([
      ['xs1', false, null],
      ['xs2', false, 'MULTIPATH_CONFIG_REJECTED'],
      ['xs3', true, null],
    ]);
  });

  it('a dry run asks every host for its diff, even after one failed', async () => {
    seen.length = 0;
    const r = await poolMultipathService(fakeCtx(hosts)).apply(req(false), call);
    expect(seen).toEqual(['xs1:dry', 'xs2:fail', 'xs3:dry']);
    expect(r.hosts?.map((h) => h?.skipped)).toEqual([false, false, false]);
  });

  it('one host by name; a missing target is a validation error', async () => {
    seen.length = 0;
    const svc = poolMultipathService(fakeCtx(hosts));
    const r = await svc.apply({ ...req(true), target: { host: 'xs3', pool: '' } }, call);
    expect(seen).toEqual(['xs3:write']);
    expect(r.ok).toBe(true);
    await expect(svc.show({ target: { host: '', pool: '' } }, call)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const reports = await poolScsiService(fakeCtx(hosts)).getAluaReport({ target: { host: '', pool: 'lab' }, device: '' }, call);
    expect(reports.hosts?.map((h) => h?.result?.warnings?.[0])).toEqual(['xs1 ok', 'xs2 ok', 'xs3 ok']);
  });
});

describe('registration: Apply and EnableDaemon are operator only', () => {
  const servers: { shutdown(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of servers) await s.shutdown();
  });

  it('lists the write methods as operator paths, and a viewer gets PERMISSION_DENIED on Apply but may read', async () => {
    const ctx = fakeCtx([host('xs1', async () => ({ changed: false }))]);
    const mine = serviceRegistrations(ctx).filter((r) => r.definition === PoolMultipathServiceDefinition || r.definition === PoolScsiServiceDefinition);
    expect(mine).toHaveLength(2);
    const paths = operatorPaths(mine);
    expect([...paths].sort()).toEqual(['/xsctl.controller.v1.PoolMultipathService/Apply', '/xsctl.controller.v1.PoolMultipathService/EnableDaemon']);

    const pki = await makeTestPki();
    const serverTls = await pki.issue({ kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
    const server = createServer({ interceptors: [peerIdentityInterceptor] })
      .use(errorMiddleware(pino({ level: 'silent' })))
      .use(authMiddleware({ kinds: ['cli'], methods: methodAccess(mine) }));
    for (const r of mine) server.add(r.definition, r.impl as never);
    const port = await server.listen('127.0.0.1:0', mtlsServerCredentials(serverTls));
    servers.push({ shutdown: () => server.shutdown() });

    const viewer = mtlsChannel(`127.0.0.1:${port}`, await pki.issue({ kind: 'cli', name: 'vera', role: 'viewer' }), { kind: 'controller' });
    const operator = mtlsChannel(`127.0.0.1:${port}`, await pki.issue({ kind: 'cli', name: 'olga', role: 'operator' }), { kind: 'controller' });
    const asViewer = createClientFactory().use(clientErrorMiddleware).create(PoolMultipathServiceDefinition, viewer);
    const asOperator = createClientFactory().use(clientErrorMiddleware).create(PoolMultipathServiceDefinition, operator);
    const denied = await asViewer.apply(req(false)).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(RemoteError);
    expect((denied as RemoteError).grpcStatus).toBe(Status.PERMISSION_DENIED);
    expect(await asViewer.listMaps({ target: { host: 'xs1', pool: '' } })).toMatchObject({ hosts: [{ host: 'xs1' }] });
    expect((await asOperator.apply({ ...req(true), target: { host: 'xs1', pool: '' } })).ok).toBe(true);
    viewer.close();
    operator.close();
  });
});

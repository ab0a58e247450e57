import { afterAll, describe, expect, it } from 'vitest';
import { createClientFactory, createServer } from 'nice-grpc';
import { Status } from 'nice-grpc-common';
import { pino } from 'pino';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { authMiddleware, clientErrorMiddleware, errorMiddleware, mtlsChannel, mtlsServerCredentials, peerIdentityInterceptor } from '@xsctl/common/grpc/index';
import { RemoteError } from '@xsctl/common/errors/index';
import { anything } from '@xsctl/test/registration/anything';
import { generatedServices } from '@xsctl/test/proto/generated-services';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import type { ControllerContext } from './controller-context.js';
import { serviceRegistrations } from './register-services.js';
import { methodAccess, UnclassifiedMethodError, type Registration } from './registration.js';

const registrations = serviceRegistrations(anything as ControllerContext);

describe('controller authorisation is default deny', () => {
  it('registers every generated controller service and classifies each of its methods exactly once', async () => {
    const services = await generatedServices('controller');
    expect(services.length).toBeGreaterThanOrEqual(6);
    const registered = new Set(registrations.map((r) => (r.definition as unknown as { fullName: string }).fullName));
    const table = methodAccess(registrations);
    for (const s of services) {
      expect(registered, `${s.fullName} is generated but not registered`).toContain(s.fullName);
      for (const m of s.methods) expect(['read', 'write'], `${m.path} is not classified`).toContain(table.get(m.path));
    }
    expect(table.size).toBe(services.reduce((n, s) => n + s.methods.length, 0));
  });

  it('classifies the methods that change something as writes', () => {
    const writes = [...methodAccess(registrations)].filter(([, a]) => a === 'write').map(([p]) => p.split('/').pop());
    expect(writes.sort()).toEqual([
      'Abort', 'Apply', 'AssertPoolStorageRole', 'CleanBlobs', 'DemotePoolDrbd', 'EnableDaemon', 'Failover', 'Pause', 'PromotePoolDrbd',
      'ReloadInventory', 'ResolvePoolDrbdSplitBrain', 'RestoreBlobs', 'Resume', 'Start', 'Start', 'StartRollingUpgrade', 'Switchover', 'TakeMetadataBackup',
    ]);
  });

  it('refuses to build a table with a method left out, listed twice, or unknown', () => {
    const controller = registrations.find((r) => r.definition === ControllerServiceDefinition)!;
    const variant = (r: Partial<Registration>): Registration[] => [{ ...controller, ...r }];
    expect(() => methodAccess(variant({ readMethods: ['listPools', 'listHosts'] }))).toThrow(UnclassifiedMethodError);
    expect(() => methodAccess(variant({ readMethods: ['listPools', 'listHosts', 'whoAmI', 'reloadInventory'] }))).toThrow(/both/);
    expect(() => methodAccess(variant({ operatorMethods: ['reloadInventory', 'dropEverything'] }))).toThrow(/not in the definition/);
  });

  describe('the middleware', () => {
    const closers: (() => Promise<void> | void)[] = [];
    afterAll(async () => {
      for (const c of closers) await c();
    });

    it('refuses a method missing from the table to viewers and operators alike', async () => {
      const pki = await makeTestPki();
      const controller = registrations.find((r) => r.definition === ControllerServiceDefinition)!;
      // ReloadInventory is in no list: as if someone added it to the proto and forgot to classify it.
      const table = new Map([...methodAccess([controller])].filter(([p]) => !p.endsWith('/ReloadInventory')));
      const impl = { ...(controller.impl as object), reloadInventory: async () => ({ pools: 7 }), listPools: async () => ({ pools: [] }) };
      const server = createServer({ interceptors: [peerIdentityInterceptor] })
        .use(errorMiddleware(pino({ level: 'silent' })))
        .use(authMiddleware({ kinds: ['cli'], methods: table }));
      server.add(ControllerServiceDefinition, impl as never);
      const port = await server.listen('127.0.0.1:0', mtlsServerCredentials(await pki.issue({ kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] })));
      closers.push(() => server.shutdown());
      for (const role of ['viewer', 'operator'] as const) {
        const channel = mtlsChannel(`127.0.0.1:${port}`, await pki.issue({ kind: 'cli', name: `u-${role}`, role }), { kind: 'controller' });
        closers.push(() => channel.close());
        const c = createClientFactory().use(clientErrorMiddleware).create(ControllerServiceDefinition, channel);
        const err = await c.reloadInventory({}).catch((e: unknown) => e);
        expect(err, role).toBeInstanceOf(RemoteError);
        expect((err as RemoteError).grpcStatus).toBe(Status.PERMISSION_DENIED);
        expect((err as RemoteError).message).toMatch(/unclassified/);
        // A classified read still works for both.
        expect(await c.listPools({})).toEqual({ pools: [] });
      }
    });
  });
});

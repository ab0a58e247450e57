import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientFactory } from 'nice-grpc';
import { Status } from 'nice-grpc-common';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { HealthDefinition } from 'nice-grpc-server-health';
import { clientErrorMiddleware, mtlsChannel } from '@xsctl/common/grpc/index';
import { RemoteError } from '@xsctl/common/errors/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { makeTestPki, type TestPki } from '@xsctl/common/testing/make-test-pki';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { loadControllerConfig } from '../config/inventory.js';
import { Journal } from '../journal/journal.js';
import { createControllerContext } from './create-controller-context.js';
import { startControllerServer, type RunningControllerServer } from './create-controller-server.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const logger = createLogger('test', { level: 'silent' });
let pki: TestPki;
let server: RunningControllerServer;

beforeAll(async () => {
  pki = await makeTestPki();
  const dir = await tempDir('xsctl-ctl-');
  const tls = await pki.issue({ kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  const configFile = join(dir, 'controller.yaml');
  await writeFile(join(dir, 'pw'), 'secret\n');
  await writeFile(configFile, `tls: {ca: ${pki.dir}/ca/ca.crt, cert: ${pki.dir}/ctl.crt, key: ${pki.dir}/ctl.key}\njournal: ${dir}/j.sqlite\npools:\n  - name: lab\n    xapi: {url: "http://127.0.0.1:1", user: root, passwordFile: pw, allowPlainHttp: true}\n    agentPort: 7443\n`);
  const config = await loadControllerConfig(configFile);
  const ctx = createControllerContext({ configFile, config, tls, journal: new Journal(':memory:'), logger });
  server = await startControllerServer({ ctx, tls, listen: '127.0.0.1:0', logger });
});

afterAll(async () => {
  await server.shutdown(100);
});

function client(tls: TlsMaterial) {
  const channel = mtlsChannel(`127.0.0.1:${server.port}`, tls, { kind: 'controller' });
  return { c: createClientFactory().use(clientErrorMiddleware).create(ControllerServiceDefinition, channel), close: () => channel.close() };
}

async function failure(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('controller mTLS and roles', () => {
  it('lets a viewer read and tells it who it is', async () => {
    const { c, close } = client(await pki.issue({ kind: 'cli', name: 'vera', role: 'viewer' }));
    expect(await c.whoAmI({})).toEqual({ name: 'vera', kind: 'cli', role: 'viewer' });
    const pools = await c.listPools({});
    expect(pools.pools).toEqual([{ name: 'lab', xapiUrl: 'http://127.0.0.1:1', agentPort: 7443 }]);
    close();
  });

  it('refuses a write to a viewer, with a stable code', async () => {
    const { c, close } = client(await pki.issue({ kind: 'cli', name: 'vera2', role: 'viewer' }));
    const err = await failure(c.reloadInventory({}));
    expect(err.grpcStatus).toBe(Status.PERMISSION_DENIED);
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/operator/);
    close();
  });

  it('lets an operator write', async () => {
    const { c, close } = client(await pki.issue({ kind: 'cli', name: 'olga', role: 'operator' }));
    expect(await c.reloadInventory({})).toEqual({ pools: 1 });
    close();
  });

  it('refuses agent and controller certificates: the controller serves CLI users', async () => {
    const agent = client(await pki.issue({ kind: 'controller', name: 'other-ctl' }));
    expect((await failure(agent.c.listPools({}))).grpcStatus).toBe(Status.PERMISSION_DENIED);
    agent.close();
  });

  it('reports an unreachable XAPI per pool instead of failing the call', async () => {
    const { c, close } = client(await pki.issue({ kind: 'cli', name: 'vera3' }));
    const res = await c.listHosts({ pool: '' }, { signal: AbortSignal.timeout(20_000) });
    expect(res.hosts).toEqual([]);
    expect(res.poolErrors).toHaveLength(1);
    expect(res.poolErrors[0]?.pool).toBe('lab');
    expect(res.poolErrors[0]?.code).toBe('XAPI_UNREACHABLE');
    close();
  });
});

describe('controller health (grpc.health.v1)', () => {
  it('serves SERVING for the whole server and each registered service, NOT_FOUND for others', async () => {
    const channel = mtlsChannel(`127.0.0.1:${server.port}`, await pki.issue({ kind: 'cli', name: 'probe' }), { kind: 'controller' });
    const health = createClientFactory().create(HealthDefinition, channel);
    // 1 = SERVING in grpc.health.v1.
    expect(await health.check({ service: '' })).toEqual({ status: 1 });
    expect(await health.check({ service: 'xsctl.controller.v1.UpgradeService' })).toEqual({ status: 1 });
    expect(await health.check({ service: 'xsctl.controller.v1.DashboardService' })).toEqual({ status: 1 });
    await expect(health.check({ service: 'no.such.Service' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    channel.close();
  });
});

import { mkdtemp, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createChannel, createClient } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostServiceDefinition, PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { makeHostRoot } from '../src/demo/make-host-root.js';
import { spawnReady, type ReadyProcess } from '../src/demo/spawn-ready.js';

const repo = join(import.meta.dirname, '..', '..');
let out: string;
let rpm: string;
let bundle: string;
let agent: ReadyProcess | undefined;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'xsctl-rpm-test-'));
  const r = await execa(process.execPath, [join(repo, 'packaging', 'build-agent-rpm.mjs'), out]);
  ({ rpm, bundle } = JSON.parse(r.stdout) as { rpm: string; bundle: string });
}, 120_000);

afterAll(async () => {
  await agent?.stop();
});

describe('agent RPM (real rpmbuild)', () => {
  it('holds the bundle, the unit and a 0600 config that survives upgrades', async () => {
    const list = (await execa('rpm', ['-qlvp', rpm])).stdout;
    expect(list).toMatch(/^-rwxr-xr-x .* \/opt\/xsctl-agent\/xsctl-agent\.mjs$/m);
    expect(list).toMatch(/^-rw-r--r-- .* \/usr\/lib\/systemd\/system\/xsctl-agent\.service$/m);
    expect(list).toMatch(/^-rw------- .* \/etc\/xsctl\/agent\.yaml$/m);
    expect(list).toMatch(/^drwx------ .* \/var\/lib\/xsctl-agent$/m);
    expect((await execa('rpm', ['-qcp', rpm])).stdout.trim()).toBe('/etc/xsctl/agent.yaml');
    expect((await execa('rpm', ['-qp', '--requires', rpm])).stdout).toMatch(/^nodejs >= 20$/m);
    const info = (await execa('rpm', ['-qip', rpm])).stdout;
    expect(info).toMatch(/Architecture: noarch/);
  });

  it('does not enable or start the agent on install', async () => {
    const scripts = (await execa('rpm', ['-qp', '--scripts', rpm])).stdout;
    expect(scripts).toContain('daemon-reload');
    expect(scripts).not.toMatch(/systemctl (enable|start)/);
  });

  it('the packaged bundle alone serves GetFacts over mTLS', async () => {
    const pki = await makeTestPki();
    await pki.issue({ kind: 'agent', name: 'xs-rpm', ipAddresses: ['127.0.0.1'] });
    const root = await makeHostRoot(await mkdtemp(join(tmpdir(), 'xsctl-rpm-root-')), {
      hostname: 'xs-rpm', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58',
      installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolConf: { slaveOf: '10.0.0.1' }, uptimeSeconds: 1234,
    });
    // Run the file from a directory with no node_modules next to it: the bundle must be self-contained.
    const alone = join(await mkdtemp(join(tmpdir(), 'xsctl-rpm-alone-')), 'xsctl-agent.mjs');
    await copyFile(bundle, alone);
    agent = await spawnReady(alone, ['serve', '--listen', '127.0.0.1:0', '--root', root, '--tls-ca', join(pki.dir, 'ca.crt'), '--tls-cert', join(pki.dir, 'xs-rpm.crt'), '--tls-key', join(pki.dir, 'xs-rpm.key')]);
    const channel = createChannel(`127.0.0.1:${String(agent.ready['port'])}`, mtlsChannelCredentials(await pki.issue({ kind: 'controller', name: 'ctl' })));
    const { facts } = await createClient(HostServiceDefinition, channel).getFacts({}, { signal: AbortSignal.timeout(5000) });
    channel.close();
    expect(facts?.productBrand).toBe('XCP-ng');
    expect(facts?.poolRole).toBe(PoolRole.POOL_ROLE_SLAVE);
    expect(facts?.masterAddress).toBe('10.0.0.1');
    expect(facts?.agentVersion).toBe((await import('@xsctl/agent/package.json', { with: { type: 'json' } })).default.version);
  });
});

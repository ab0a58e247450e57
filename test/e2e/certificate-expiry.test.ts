import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { createLogger } from '@xsctl/common/log/create-logger';
import { initCa, issueCertificate, loadTlsMaterial } from '@xsctl/common/pki/index';
import { startAgentServer, type RunningAgentServer } from '@xsctl/agent/server/create-agent-server';
import { CommandRunner } from '@xsctl/agent/exec/command-runner';
import { SandboxRoot } from '@xsctl/agent/fs/sandbox-root';
import { loadControllerConfig } from '@xsctl/controller/config/inventory';
import { Journal } from '@xsctl/controller/journal/journal';
import { createControllerContext } from '@xsctl/controller/server/create-controller-context';
import { certificateSamples, expiryNotices } from '@xsctl/controller/trust/certificate-expiry';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * Issue 10, defect 3: certificates that expire within 30 days are reported by `xsctl hosts` and in
 * the metrics. Expiry dates are read back with openssl, not from the code under test.
 */
const logger = createLogger('test', { level: 'silent' });
let dir: string;
let pkiDir: string;
let agent: RunningAgentServer;
let ctx: ReturnType<typeof createControllerContext>;

/** notAfter as openssl prints it, as a Date. */
async function opensslNotAfter(certFile: string): Promise<Date> {
  const r = await execa('openssl', ['x509', '-in', certFile, '-noout', '-enddate']);
  return new Date(r.stdout.replace(/^notAfter=/, ''));
}

beforeAll(async () => {
  dir = await tempDir('xsctl-expiry-');
  pkiDir = join(dir, 'pki');
  await initCa(pkiDir);
  // 10 days from a minute ago: 9 whole days left. The controller's is comfortable (180 days).
  const soon = await issueCertificate(pkiDir, { kind: 'agent', name: 'xs-soon', ipAddresses: ['127.0.0.1'], days: 10 });
  await issueCertificate(pkiDir, { kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  agent = await startAgentServer({
    ctx: { root: new SandboxRoot(await tempDir('xsctl-expiry-root-')), runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' },
    tls: await loadTlsMaterial(soon),
    listen: '127.0.0.1:0',
    logger,
  });
  const configFile = join(dir, 'controller.yaml');
  await writeFile(join(dir, 'pw'), 'x\n');
  await writeFile(configFile, `tls: {ca: ${pkiDir}/ca/ca.crt, cert: ${pkiDir}/ctl.crt, key: ${pkiDir}/ctl.key}\njournal: ':memory:'\nwatch: {xapiEvents: false, agentProbeSeconds: 0}\npools:\n  - {name: lab, xapi: {url: "https://127.0.0.1:1", passwordFile: pw}, agentPort: ${agent.port}}\n`);
  const config = await loadControllerConfig(configFile);
  ctx = createControllerContext({ configFile, config, tls: await loadTlsMaterial({ ca: `${pkiDir}/ca/ca.crt`, cert: `${pkiDir}/ctl.crt`, key: `${pkiDir}/ctl.key` }), journal: new Journal(':memory:'), logger });
}, 60_000);

afterAll(async () => {
  ctx?.close();
  await agent?.shutdown(100);
});

describe('certificates expiring within 30 days', () => {
  it('the controller reports the agent it talked to, with the days left, and exports the expiry as a metric', async () => {
    const { facts } = await ctx.agents.get({ address: `127.0.0.1:${agent.port}`, serverName: 'xs-soon' }).client(HostServiceDefinition).getFacts({}, { signal: AbortSignal.timeout(15_000) });
    expect(facts?.agentVersion).toMatch(/\d/);
    const notAfter = await opensslNotAfter(join(pkiDir, 'xs-soon.crt'));
    const notices = expiryNotices(await certificateSamples(join(pkiDir, 'ctl.crt'), ctx.agents));
    // Only the agent: the controller's own certificate has 180 days.
    expect(notices).toEqual([{ kind: 'agent', name: 'xs-soon', serial: expect.stringMatching(/^[0-9a-f]+$/) as string, notAfter: notAfter.toISOString(), daysLeft: 9 }]);
    const metrics = (await ctx.metrics.exposition()).body;
    expect(metrics).toContain(`xsctl_certificate_expiry_timestamp_seconds{role="agent",name="xs-soon"} ${notAfter.getTime() / 1000}`);
  });
});

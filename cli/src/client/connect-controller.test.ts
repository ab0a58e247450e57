import { join } from 'node:path';
import { execa } from 'execa';
import { createServer, ServerError, Status, type Server } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mtlsServerCredentials } from '@xsctl/common/grpc/index';
import { initCa, issueCertificate, loadTlsMaterial, type IssuedFiles, type IssueOptions } from '@xsctl/common/pki/index';
import { tempDir } from '@xsctl/common/testing/temp-dir';
import { ControllerServiceDefinition, type ControllerServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/controller';

/*
 * The real CLI (bin/xsctl.js, the build) against a controller stand-in on 127.0.0.1 that answers
 * ListHosts with no hosts. Node warns once per process (DEP0123) when a TLS client sets an IP
 * address as SNI, which RFC 6066 forbids; the CLI must not, and must still refuse a certificate
 * that does not name what it connected to (or is not a controller's).
 */

const bin = join(import.meta.dirname, '..', '..', 'bin', 'xsctl.js');
const DEP0123 = /DEP0123|TLS ServerName to an IP address/;

let pkiDir = '';
let cli: IssuedFiles;
const servers: Server[] = [];

beforeAll(async () => {
  pkiDir = await tempDir('xsctl-cli-sni-');
  await initCa(pkiDir);
  cli = await issueCertificate(pkiDir, { kind: 'cli', name: 'sni-viewer', role: 'viewer' });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
});

/** A stand-in controller presenting a certificate issued with `options`; its address. */
async function controllerWith(options: IssueOptions): Promise<string> {
  const tls = await loadTlsMaterial(await issueCertificate(pkiDir, options));
  const unimplemented = async () => {
    throw new ServerError(Status.UNIMPLEMENTED, 'not in this stand-in');
  };
  const impl = Object.fromEntries(Object.keys(ControllerServiceDefinition.methods).map((m) => [m, unimplemented]));
  const server = createServer();
  server.add(ControllerServiceDefinition, { ...impl, listHosts: async () => ({ hosts: [], poolErrors: [], certificateNotices: [] }) } as unknown as ControllerServiceImplementation);
  const port = await server.listen('127.0.0.1:0', mtlsServerCredentials(tls));
  servers.push(server);
  return `127.0.0.1:${port}`;
}

const hosts = (controller: string, extra: string[] = []) =>
  execa(process.execPath, [bin, '--controller', controller, '--ca', cli.ca, '--cert', cli.cert, '--key', cli.key, ...extra, 'hosts', '--json'], {
    env: { PATH: process.env['PATH'] ?? '', XSCTL_CONFIG: '/nonexistent/cli.yaml' },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });

describe('xsctl against a controller addressed by IP: no IP address as SNI, the certificate still checked', () => {
  it('connects to 127.0.0.1 through a certificate naming IP 127.0.0.1, with no DEP0123 on stderr', async () => {
    const address = await controllerWith({ kind: 'controller', name: 'sni-ctl-ip', ipAddresses: ['127.0.0.1'] });
    const r = await hosts(address);
    expect(r.stderr).not.toMatch(DEP0123);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ hosts: [] });
  });

  it('--server-name 127.0.0.1 (an IP address configured as the name) is checked the same way, without DEP0123', async () => {
    const address = await controllerWith({ kind: 'controller', name: 'sni-ctl-ip2', ipAddresses: ['127.0.0.1'] });
    const r = await hosts(address, ['--server-name', '127.0.0.1']);
    expect(r.stderr).not.toMatch(DEP0123);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('refuses a controller certificate for another IP address (127.0.0.2) at 127.0.0.1', async () => {
    const address = await controllerWith({ kind: 'controller', name: 'sni-ctl-other', ipAddresses: ['127.0.0.2'], dnsNames: ['localhost'] });
    const r = await hosts(address);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/127\.0\.0\.1/);
    expect(r.stderr).not.toMatch(DEP0123);
    // The same certificate through its own name passes: the refusal above was the name, not the chain.
    const byName = await hosts(address, ['--server-name', 'localhost']);
    expect(byName.exitCode, byName.stderr).toBe(0);
  });

  it('refuses --server-name 127.0.0.2 when the certificate names 127.0.0.1 only', async () => {
    const address = await controllerWith({ kind: 'controller', name: 'sni-ctl-ip3', ipAddresses: ['127.0.0.1'] });
    const r = await hosts(address, ['--server-name', '127.0.0.2']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
  });

  it("refuses an agent's certificate naming 127.0.0.1 (same CA): the kind check still runs on the IP path", async () => {
    const address = await controllerWith({ kind: 'agent', name: 'sni-agent', ipAddresses: ['127.0.0.1'] });
    const r = await hosts(address);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(DEP0123);
  });
});

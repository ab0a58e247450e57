import { stat, readFile, writeFile, rename, mkdir, readdir } from 'node:fs/promises';
import { X509Certificate, createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { identityFromCertificate } from './identity.js';
import { initCa, issueCertificate } from './certificate-authority.js';
import { readRegistry } from './cert-registry.js';
import { pkiLayout } from './pki-layout.js';
import { PkiError } from './pki-error.js';
import { maxLeafDays } from './validity.js';
import { tempDir } from '../testing/temp-dir.js';

const fresh = () => tempDir('xsctl-ca-');
const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** openssl as the oracle for chains and revocation: its verdict line for `leaf`. */
async function opensslVerify(dir: string, leaf: string, crl = false): Promise<string> {
  const layout = pkiLayout(dir);
  const r = await execa('openssl', ['verify', '-CAfile', layout.caCert, ...(crl ? ['-crl_check', '-CRLfile', layout.crl] : []), leaf], { reject: false });
  return `${r.stdout}${r.stderr}`.trim();
}

describe('project CA', () => {
  it('keeps the CA in ca/, writes keys 0600 and issues certificates that chain to the CA', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    expect(ca).toEqual({ cert: join(dir, 'ca', 'ca.crt'), key: join(dir, 'ca', 'ca.key') });
    expect((await stat(ca.key)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'ca'))).mode & 0o777).toBe(0o700);
    const files = await issueCertificate(dir, { kind: 'cli', name: 'alice', role: 'operator' });
    expect(files.cert).toBe(join(dir, 'alice.crt'));
    expect(files.ca).toBe(ca.cert);
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    const caCert = new X509Certificate(await readFile(ca.cert));
    const leaf = new X509Certificate(await readFile(files.cert));
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(identityFromCertificate('alice', leaf.subjectAltName)).toEqual({ name: 'alice', kind: 'cli', role: 'operator' });
    expect(await opensslVerify(dir, files.cert)).toBe(`${files.cert}: OK`);
    const registry = await readRegistry(pkiLayout(dir).registry);
    expect(registry.certificates.map((c) => [c.name, c.kind, c.role, c.serial])).toEqual([['alice', 'cli', 'operator', leaf.serialNumber.toLowerCase().replace(/^0+/, '')]]);
  });

  it('gives agents server auth only and controllers both', async () => {
    const dir = await fresh();
    await initCa(dir);
    const agent = new X509Certificate(await readFile((await issueCertificate(dir, { kind: 'agent', name: 'xs1', ipAddresses: ['10.0.0.5'] })).cert));
    expect(agent.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(agent.checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(agent.checkHost('xs1')).toBe('xs1');
    const ctl = new X509Certificate(await readFile((await issueCertificate(dir, { kind: 'controller', name: 'ctl' })).cert));
    expect(ctl.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(identityFromCertificate('ctl', ctl.subjectAltName)).toEqual({ name: 'ctl', kind: 'controller', role: null });
  });

  it('refuses to overwrite a CA, a role on a non-CLI cert, and bad names', async () => {
    const dir = await fresh();
    await initCa(dir);
    await expect(initCa(dir)).rejects.toBeInstanceOf(PkiError);
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1', role: 'operator' })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(dir, { kind: 'agent', name: '../../etc/x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1', ipAddresses: ['999.1.1.1'] })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(await fresh(), { kind: 'agent', name: 'xs1' })).rejects.toBeInstanceOf(PkiError);
  });

  it('defaults a CLI certificate without a role to viewer', async () => {
    expect(identityFromCertificate('bob', 'DNS:bob, URI:urn:xsctl:kind:cli')).toEqual({ name: 'bob', kind: 'cli', role: 'viewer' });
    expect(identityFromCertificate('eve', 'DNS:eve')).toBeNull();
  });
});

describe('issuing never overwrites (defect 2)', () => {
  it('reserves the CA names: `issue agent ca` leaves the CA intact and later certificates still chain', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const before = [await sha(ca.cert), await sha(ca.key)];
    for (const name of ['ca', 'CA', 'crl', 'issued']) {
      for (const kind of ['agent', 'controller', 'cli'] as const) {
        await expect(issueCertificate(dir, { kind, name }), `${kind} ${name}`).rejects.toBeInstanceOf(ValidationError);
        await expect(issueCertificate(dir, { kind, name, force: true }), `${kind} ${name} --force`).rejects.toBeInstanceOf(ValidationError);
      }
    }
    expect([await sha(ca.cert), await sha(ca.key)]).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['ca']);
    const later = await issueCertificate(dir, { kind: 'agent', name: 'xs1' });
    expect(await opensslVerify(dir, later.cert)).toBe(`${later.cert}: OK`);
  });

  it('refuses to re-issue an existing name without --force, and with --force revokes the one it replaces', async () => {
    const dir = await fresh();
    await initCa(dir);
    const first = await issueCertificate(dir, { kind: 'agent', name: 'xs1' });
    const key = await sha(first.key);
    const kept = join(dir, 'xs1-first.crt');
    await writeFile(kept, await readFile(first.cert));
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1' })).rejects.toThrow(/exists.*--force/);
    expect(await sha(first.key)).toBe(key);
    // A key left behind alone (cert deleted by hand) is still not overwritten.
    await rename(first.cert, join(dir, 'moved.crt.bak'));
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1' })).rejects.toBeInstanceOf(PkiError);
    expect(await sha(first.key)).toBe(key);

    const second = await issueCertificate(dir, { kind: 'agent', name: 'xs1', force: true });
    expect(second.replaced).toEqual([first.serial]);
    expect(await sha(second.key)).not.toBe(key);
    expect(await opensslVerify(dir, second.cert, true)).toBe(`${second.cert}: OK`);
    expect(await opensslVerify(dir, kept, true)).toMatch(/certificate revoked/);
  });

  it('validates --days: a positive whole number up to the maximum', async () => {
    const dir = await fresh();
    await initCa(dir);
    for (const days of [-1, 0, Number.NaN, 1.5, maxLeafDays + 1, Number.POSITIVE_INFINITY]) {
      await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1', days }), String(days)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await readdir(dir)).toEqual(['ca']);
    const one = new X509Certificate(await readFile((await issueCertificate(dir, { kind: 'agent', name: 'xs1', days: 1 })).cert));
    const lifetime = new Date(one.validTo).getTime() - new Date(one.validFrom).getTime();
    expect(lifetime).toBe(86_400_000);
  });

  it('uses shorter default lifetimes: 180 days for agents and controllers, 90 for CLI users', async () => {
    const dir = await fresh();
    await initCa(dir);
    const days = async (kind: 'agent' | 'controller' | 'cli', name: string) => {
      const c = new X509Certificate(await readFile((await issueCertificate(dir, { kind, name })).cert));
      return (new Date(c.validTo).getTime() - new Date(c.validFrom).getTime()) / 86_400_000;
    };
    expect([await days('agent', 'a'), await days('controller', 'c'), await days('cli', 'u')]).toEqual([180, 180, 90]);
  });

  it('moves a first-layout CA (ca.crt and ca.key beside the leaves) into ca/ and registers the old leaves', async () => {
    const dir = await fresh();
    // Build the first layout from a current one: what `pki init` and `pki issue` wrote before.
    await initCa(dir);
    const old = await issueCertificate(dir, { kind: 'agent', name: 'xs1' });
    await rename(join(dir, 'ca', 'ca.crt'), join(dir, 'ca.crt'));
    await rename(join(dir, 'ca', 'ca.key'), join(dir, 'ca.key'));
    await rename(join(dir, 'ca', 'issued.json'), join(dir, 'gone.json'));
    const key = await sha(join(dir, 'ca.key'));
    await mkdir(join(dir, 'ca'), { recursive: true });

    const next = await issueCertificate(dir, { kind: 'cli', name: 'bob' });
    expect(next.migrated).toBe(true);
    expect(await sha(join(dir, 'ca', 'ca.key'))).toBe(key);
    await expect(stat(join(dir, 'ca.key'))).rejects.toThrow(/ENOENT/);
    // The public certificate stays where running configs point at it.
    expect(await sha(join(dir, 'ca.crt'))).toBe(await sha(join(dir, 'ca', 'ca.crt')));
    expect(await opensslVerify(dir, next.cert)).toBe(`${next.cert}: OK`);
    const names = (await readRegistry(pkiLayout(dir).registry)).certificates.map((c) => `${c.kind}:${c.name}:${c.serial}`);
    expect(names).toEqual([`agent:xs1:${old.serial}`, `cli:bob:${next.serial}`]);
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1' })).rejects.toBeInstanceOf(PkiError);
  });
});

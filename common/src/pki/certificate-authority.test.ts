import { mkdtemp, stat, readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { identityFromCertificate } from './identity.js';
import { initCa, issueCertificate } from './certificate-authority.js';
import { PkiError } from './pki-error.js';

describe('project CA', () => {
  it('writes keys 0600 and issues certificates that chain to the CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-ca-'));
    const ca = await initCa(dir);
    expect((await stat(ca.key)).mode & 0o777).toBe(0o600);
    const files = await issueCertificate(dir, { kind: 'cli', name: 'alice', role: 'operator' });
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    const caCert = new X509Certificate(await readFile(ca.cert));
    const leaf = new X509Certificate(await readFile(files.cert));
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(identityFromCertificate('alice', leaf.subjectAltName)).toEqual({ name: 'alice', kind: 'cli', role: 'operator' });
  });

  it('gives agents server auth only and controllers both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-ca-'));
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
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-ca-'));
    await initCa(dir);
    await expect(initCa(dir)).rejects.toBeInstanceOf(PkiError);
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1', role: 'operator' })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(dir, { kind: 'agent', name: '../../etc/x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(dir, { kind: 'agent', name: 'xs1', ipAddresses: ['999.1.1.1'] })).rejects.toBeInstanceOf(ValidationError);
    await expect(issueCertificate(await mkdtemp(join(tmpdir(), 'xsctl-noca-')), { kind: 'agent', name: 'xs1' })).rejects.toBeInstanceOf(PkiError);
  });

  it('defaults a CLI certificate without a role to viewer', async () => {
    expect(identityFromCertificate('bob', 'DNS:bob, URI:urn:xsctl:kind:cli')).toEqual({ name: 'bob', kind: 'cli', role: 'viewer' });
    expect(identityFromCertificate('eve', 'DNS:eve')).toBeNull();
  });
});

import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { initCa, issueCertificate } from '@xsctl/common/pki/index';
import { describeNotice, ownCertificateNotice } from './hosts.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/** notAfter as openssl prints it (not as the code under test reads it). */
async function opensslNotAfter(certFile: string): Promise<Date> {
  const r = await execa('openssl', ['x509', '-in', certFile, '-noout', '-enddate']);
  return new Date(r.stdout.replace(/^notAfter=/, ''));
}

describe('xsctl hosts: expiry warnings (issue 10, defect 3)', () => {
  const pkiDir = tempDir('xsctl-hosts-expiry-').then(async (d) => {
    await initCa(d);
    return d;
  });

  it('`xsctl hosts` warns about the CLI certificate itself, and not about a fresh one', async () => {
    const short = await issueCertificate(await pkiDir, { kind: 'cli', name: 'alice', role: 'viewer', days: 20 });
    const long = await issueCertificate(await pkiDir, { kind: 'cli', name: 'bob', role: 'viewer' });
    const n = await ownCertificateNotice(short.cert);
    expect(n).toMatchObject({ kind: 'cli', name: 'alice', daysLeft: 19, notAfter: (await opensslNotAfter(short.cert)).toISOString() });
    expect(describeNotice(n!)).toMatch(/^warning: the cli certificate alice \(serial [0-9a-f]+\) expires in 19 days \(.*\): xsctl pki rotate alice$/);
    expect(await ownCertificateNotice(long.cert)).toBeNull();
    expect(await readFile(long.cert, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});

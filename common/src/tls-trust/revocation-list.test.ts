import { mkdtemp, readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { initCa, issueCertificate, keyAlg, loadCa, writeCrl } from '../pki/certificate-authority.js';
import { pkiLayout } from '../pki/pki-layout.js';
import { revokeCertificate, rotateCertificate } from '../pki/revocation.js';
import { parseRevocationList, RevocationListError, RevocationStore } from './revocation-list.js';

const fresh = () => mkdtemp(join(tmpdir(), 'xsctl-crl-'));

/**
 * A serial as `openssl crl -text` prints it (lower-cased here): whole bytes. Our serials' first byte
 * is 0x01-0x7f, so one in about eight starts below 0x10; the normalised form drops that zero nibble.
 */
const opensslSerial = (serial: string): string => (serial.length % 2 === 1 ? `0${serial}` : serial).toLowerCase();

describe('revocation list', () => {
  it('lists what `revoke` and `rotate` revoked, numbered, signed by the CA (checked by openssl too)', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const caPem = await readFile(ca.cert);
    const empty = await parseRevocationList(await readFile(pkiLayout(dir).crl, 'utf8'), caPem);
    expect([empty.number, empty.serials.size]).toEqual([1, 0]);

    const alice = await issueCertificate(dir, { kind: 'cli', name: 'alice' });
    const xs1 = await issueCertificate(dir, { kind: 'agent', name: 'xs1' });
    const r = await revokeCertificate(dir, { name: 'alice' }, 'keyCompromise');
    expect(r.revoked.map((c) => c.serial)).toEqual([alice.serial]);
    const rotated = await rotateCertificate(dir, 'xs1');
    expect(rotated.previous).toBe(xs1.serial);
    const list = await parseRevocationList(await readFile(pkiLayout(dir).crl, 'utf8'), caPem);
    expect(list.number).toBe(3);
    expect([...list.serials].sort()).toEqual([alice.serial, xs1.serial].sort());
    // Serials as Node's TLS reports them (upper case, maybe a leading zero) match too.
    const store = new RevocationStore(list);
    expect(store.isRevoked(new X509Certificate(await readFile(alice.cert)).serialNumber)).toBe(true);
    expect(store.isRevoked(alice.serial.toUpperCase())).toBe(true);
    expect(store.isRevoked(`00${xs1.serial}`)).toBe(true);
    expect(store.isRevoked(rotated.serial)).toBe(false);

    const crlText = await execa('openssl', ['crl', '-in', pkiLayout(dir).crl, '-CAfile', ca.cert, '-noout', '-text'], { reject: false });
    expect(crlText.stderr).toMatch(/verify OK/);
    expect(crlText.stdout).toMatch(/X509v3 CRL Number:\s*\n\s*3/);
    expect(crlText.stdout.toLowerCase()).toContain(`serial number: ${opensslSerial(alice.serial)}`);
  });

  it('refuses a list from another CA, a tampered one, and one older than the list held', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    await issueCertificate(dir, { kind: 'cli', name: 'bob' });
    await revokeCertificate(dir, { name: 'bob' });
    const second = await readFile(pkiLayout(dir).crl, 'utf8');

    const other = await fresh();
    await initCa(other);
    const foreign = await readFile(pkiLayout(other).crl, 'utf8');
    await expect(parseRevocationList(foreign, await readFile(ca.cert))).rejects.toBeInstanceOf(RevocationListError);

    // Flip one bit in the signed part: the signature no longer verifies.
    const der = Buffer.from(second.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
    der[40] = (der[40] ?? 0) ^ 0x01;
    const tampered = `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;
    await expect(parseRevocationList(tampered, await readFile(ca.cert))).rejects.toBeInstanceOf(RevocationListError);
    await expect(parseRevocationList('not a crl', await readFile(ca.cert))).rejects.toBeInstanceOf(RevocationListError);

    const store = new RevocationStore();
    expect(store.offer(await parseRevocationList(second, await readFile(ca.cert)))).toBe(true);
    expect(store.offer(await parseRevocationList(second, await readFile(ca.cert)))).toBe(false);
    expect(() => store.offer({ ...store.current!, number: 1 })).toThrow(/older/);
  });

  it('keeps a revoked certificate listed through its notAfter second, and drops it after (RFC 5280: notAfter is inclusive)', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const carol = await issueCertificate(dir, { kind: 'cli', name: 'carol', days: 1 });
    await revokeCertificate(dir, { name: 'carol' }, 'keyCompromise');
    // The end of validity as openssl prints it, e.g. "Dec  5 23:17:53 2026 GMT": second precision.
    const end = new Date((await execa('openssl', ['x509', '-in', carol.cert, '-noout', '-enddate'])).stdout.replace(/^notAfter=/, ''));
    const listed = async (now: Date): Promise<boolean> => {
      await writeCrl(await loadCa(dir), now);
      const text = (await execa('openssl', ['crl', '-in', pkiLayout(dir).crl, '-CAfile', ca.cert, '-noout', '-text'])).stdout.toLowerCase();
      return text.includes(`serial number: ${opensslSerial(carol.serial)}`);
    };
    expect(await listed(new Date(end.getTime() - 1000))).toBe(true);
    expect(await listed(end)).toBe(true);
    expect(await listed(new Date(end.getTime() + 1000))).toBe(false);
  });

  it('refuses a negative cRLNumber (DER 02 01 80 is -128), even one our CA signed', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const loaded = await loadCa(dir);
    const signed = async (numberDer: number[]): Promise<string> => {
      const crl = await x509.X509CrlGenerator.create({
        issuer: loaded.cert.subject,
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + 86_400_000),
        signingAlgorithm: keyAlg,
        signingKey: loaded.key as never,
        entries: [],
        extensions: [new x509.Extension('2.5.29.20', false, Buffer.from(numberDer))],
      });
      return crl.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL');
    };
    // Control: the same list numbered 00 80 (+128) is accepted as 128.
    expect((await parseRevocationList(await signed([0x02, 0x02, 0x00, 0x80]), await readFile(ca.cert))).number).toBe(128);
    await expect(parseRevocationList(await signed([0x02, 0x01, 0x80]), await readFile(ca.cert))).rejects.toBeInstanceOf(RevocationListError);
  });
});

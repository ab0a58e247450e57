import { readFile, writeFile } from 'node:fs/promises';
import { webcrypto, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { initCa, issueCertificate, keyAlg, loadCa, writeCrl } from '../pki/certificate-authority.js';
import { normalizeSerial } from '../pki/cert-registry.js';
import { pkiLayout } from '../pki/pki-layout.js';
import { revokeCertificate, rotateCertificate } from '../pki/revocation.js';
import { parseRevocationList, RevocationListError, RevocationStore } from './revocation-list.js';
import { tempDir } from '../testing/temp-dir.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;

const fresh = () => tempDir('xsctl-crl-');

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

  /** A list signed by `key`, shaped at will (the CA code only ever writes well-formed ones). */
  async function craft(options: { issuer: string; key: CryptoKey; alg?: Algorithm; serials?: string[]; number?: number[]; nextUpdate?: Date | null; thisUpdate?: Date; extensions?: x509.Extension[] }): Promise<string> {
    const thisUpdate = options.thisUpdate ?? new Date();
    const crl = await x509.X509CrlGenerator.create({
      issuer: options.issuer,
      thisUpdate,
      ...(options.nextUpdate === null ? {} : { nextUpdate: options.nextUpdate ?? new Date(thisUpdate.getTime() + 86_400_000) }),
      signingAlgorithm: options.alg ?? keyAlg,
      signingKey: options.key as never,
      entries: (options.serials ?? []).map((serialNumber) => ({ serialNumber, revocationDate: thisUpdate, reason: x509.X509CrlReason.keyCompromise })),
      extensions: [new x509.Extension('2.5.29.20', false, Buffer.from(options.number ?? [0x02, 0x01, 0x07])), ...(options.extensions ?? [])],
    });
    return crl.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL');
  }
  const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  const pemOf = (der: Buffer): string => `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;

  it('reads every entry, the number and both dates as openssl reads them, and a store built from it refuses each listed serial', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const loaded = await loadCa(dir);
    // Serials as DER INTEGER contents: short, a leading 00 before a high bit, 20 bytes, and zero-led forms.
    const serials = ['01', '7f', '0080', '00ff00', '0a0b0c', '1234567890abcdef1234567890abcdef12345678', ...Array.from({ length: 40 }, (_, n) => (0x100 + n * 37).toString(16).padStart(4, '0'))];
    const thisUpdate = new Date('2026-12-05T01:02:03Z');
    const pem = await craft({ issuer: loaded.cert.subject, key: loaded.key, serials, thisUpdate, nextUpdate: new Date('2051-01-02T03:04:05Z'), number: [0x02, 0x02, 0x01, 0x2c] });
    const file = join(dir, 'crafted.pem');
    await writeFile(file, pem);
    const opensslText = (await execa('openssl', ['crl', '-in', file, '-CAfile', ca.cert, '-noout', '-text'], { all: true })).all;
    expect(opensslText).toMatch(/verify OK/);
    const opensslSerials = [...opensslText.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => normalizeSerial(m[1]!));
    expect(opensslSerials).toHaveLength(serials.length);
    const list = await parseRevocationList(pem, await readFile(ca.cert));
    expect([...list.serials].sort()).toEqual(opensslSerials.sort());
    expect(list.number).toBe(300); // 0x012c, and openssl says so
    expect(opensslText).toMatch(/CRL Number:\s*\n\s*300/);
    expect(list.thisUpdate.toISOString()).toBe('2026-12-05T01:02:03.000Z');
    expect(opensslText).toMatch(/Last Update: Dec {2}5 01:02:03 2026 GMT/);
    // After 2049 a Time is a GeneralizedTime (RFC 5280 5.1.2.4).
    expect(list.nextUpdate?.toISOString()).toBe('2051-01-02T03:04:05.000Z');
    expect(opensslText).toMatch(/Next Update: Jan {2}2 03:04:05 2051 GMT/);
    const store = new RevocationStore(list);
    for (const s of serials) expect(store.isRevoked(s.toUpperCase()), s).toBe(true);
    for (const s of ['02', '81', 'ff', '7f00', '1234567890abcdef1234567890abcdef12345679']) expect(store.isRevoked(s), s).toBe(false);
  });

  it('keeps a list without nextUpdate (the field is optional) and reports none', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const loaded = await loadCa(dir);
    const list = await parseRevocationList(await craft({ issuer: loaded.cert.subject, key: loaded.key, serials: ['2a'], nextUpdate: null }), await readFile(ca.cert));
    expect(list.nextUpdate).toBeNull();
    expect([...list.serials]).toEqual(['2a']);
  });

  it('refuses a list the CA key signed under another issuer name, a signed algorithm that differs from the outer one, trailing bytes, and an unsupported algorithm', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const loaded = await loadCa(dir);
    const caPem = await readFile(ca.cert);
    const good = await craft({ issuer: loaded.cert.subject, key: loaded.key, serials: ['2a'] });
    // Control: the untouched list is accepted, so each refusal below is the change's doing.
    expect((await parseRevocationList(good, caPem)).serials.has('2a')).toBe(true);
    const rejected = async (pem: string, reason: RegExp): Promise<void> => {
      const err = await parseRevocationList(pem, caPem).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RevocationListError);
      expect((err as RevocationListError).reason).toMatch(reason);
    };
    await rejected(await craft({ issuer: 'CN=someone else, O=xsctl', key: loaded.key, serials: ['2a'] }), /not signed by the trusted CA/);
    // ecdsa-with-SHA256 (2a 86 48 ce 3d 04 03 02) outside, changed to ecdsa-with-SHA384 (.3).
    const der = derOf(good);
    const oid = Buffer.from('06082a8648ce3d040302', 'hex');
    const outer = der.lastIndexOf(oid);
    expect(outer).toBeGreaterThan(der.indexOf(oid));
    const swapped = Buffer.from(der);
    swapped[outer + oid.length - 1] = 0x03;
    await rejected(pemOf(swapped), /differs from signatureAlgorithm/);
    await rejected(pemOf(Buffer.concat([der, Buffer.from([0x05, 0x00])])), /not DER \(trailing bytes\)/);
    // RSASSA-PSS (1.2.840.113549.1.1.10) is not one of the algorithms a list may use.
    const rsaPss = await webcrypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
    await rejected(await craft({ issuer: loaded.cert.subject, key: rsaPss.privateKey, alg: { name: 'RSA-PSS', saltLength: 32 } as Algorithm, serials: ['2a'] }), /unsupported algorithm/);
  });

  it('refuses a delta list (deltaCRLIndicator, critical) the CA key signed: installed as a whole list it would un-revoke what it leaves out', async () => {
    const dir = await fresh();
    const ca = await initCa(dir);
    const loaded = await loadCa(dir);
    const caPem = await readFile(ca.cert);
    // deltaCRLIndicator (2.5.29.27) = BaseCRLNumber 5: DER INTEGER 02 01 05. Numbered 7, listing only 2b.
    const delta = (critical: boolean) => craft({ issuer: loaded.cert.subject, key: loaded.key, serials: ['2b'], extensions: [new x509.Extension('2.5.29.27', critical, Buffer.from([0x02, 0x01, 0x05]))] });
    const file = join(dir, 'delta.pem');
    await writeFile(file, await delta(true));
    // openssl reads it as a delta list, signed by the CA: only the extension is why it is refused.
    const opensslText = (await execa('openssl', ['crl', '-in', file, '-CAfile', ca.cert, '-noout', '-text'], { all: true })).all;
    expect(opensslText).toMatch(/verify OK/);
    expect(opensslText).toMatch(/Delta CRL Indicator: critical/);
    const err = await parseRevocationList(await delta(true), caPem).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RevocationListError);
    expect((err as RevocationListError).reason).toMatch(/critical extension .*\(2\.5\.29\.27\)/);
    // Control: the same extension marked non-critical (RFC 5280 forbids it; only the flag differs) is read.
    expect([...(await parseRevocationList(await delta(false), caPem)).serials]).toEqual(['2b']);
  });

  it('verifies a list of an RSA CA (sha256WithRSAEncryption) and refuses it tampered', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=rsa CA', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), signingAlgorithm: alg, keys: keys as never });
    const caPem = caCert.toString('pem');
    const pem = await craft({ issuer: 'CN=rsa CA', key: keys.privateKey, alg, serials: ['0b', '0c'] });
    expect([...(await parseRevocationList(pem, caPem)).serials].sort()).toEqual(['b', 'c']);
    const der = derOf(pem);
    der[der.length - 10] = (der[der.length - 10] ?? 0) ^ 0x01; // inside the signature
    await expect(parseRevocationList(pemOf(der), caPem)).rejects.toBeInstanceOf(RevocationListError);
  });
});


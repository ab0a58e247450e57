import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ValidationError } from '../errors/index.js';
import { withCaLock } from './ca-lock.js';
import { readRegistry, liveRecords, normalizeSerial, writeRegistry, type CertRegistry, type IssuedRecord } from './cert-registry.js';
import { identityFromCertificate, identityUris, assertCertName, type PeerKind, type Role } from './identity.js';
import { fromPem, toPem } from './pem.js';
import { PkiError } from './pki-error.js';
import { exists, hasLegacyCa, leafFiles, migrateLegacyCa, pkiLayout, assertLeafName } from './pki-layout.js';
import { defaultCaDays, defaultLeafDays, maxCaDays, maxLeafDays, parseDays } from './validity.js';
import { writeFileAtomic } from './write-secret-file.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

export const keyAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;
const dayMs = 86_400_000;

export interface IssuedFiles {
  cert: string;
  key: string;
  ca: string;
  serial: string;
  notAfter: string;
  /** Serials of earlier certificates of the same name that this one replaced (revoked as superseded). */
  replaced: string[];
  /** Set when this call moved a first-layout CA into ca/. */
  migrated: boolean;
}

export interface IssueOptions {
  kind: PeerKind;
  name: string;
  role?: Role;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
  /** Replace an existing certificate of this name (its serial is revoked as superseded). */
  force?: boolean;
  /** With `force`: leave the replaced certificates valid (a staged rotation). */
  keepReplaced?: boolean;
  /** Start of the validity window (default: a minute ago, for clock skew), like `openssl ca -startdate`. */
  notBefore?: Date;
}

/** The CA certificate's path in `dir` (ca/ca.crt). */
export const caCertFile = (dir: string) => pkiLayout(dir).caCert;
export const caKeyFile = (dir: string) => pkiLayout(dir).caKey;

async function exportKey(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await subtle.exportKey('pkcs8', key));
}

function serial(): string {
  // Positive, non-zero 128-bit serial.
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Creates the project CA in `dir`/ca. Refuses to overwrite an existing one, in either layout. */
export async function initCa(dir: string, options: { name?: string; days?: number } = {}): Promise<{ cert: string; key: string }> {
  const days = parseDays(options.days ?? defaultCaDays, maxCaDays);
  const layout = pkiLayout(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const path of [layout.caCert, layout.caKey, join(dir, 'ca.crt'), join(dir, 'ca.key')]) {
    if (await exists(path)) throw new PkiError(path, 'a CA already exists here; remove it first to start over');
  }
  await mkdir(layout.caDir, { recursive: true, mode: 0o700 });
  const keys = (await subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.name ?? 'xsctl CA'}, O=xsctl`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * dayMs),
    signingAlgorithm: keyAlg,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  await writeFileAtomic(layout.caKey, await exportKey(keys.privateKey), 0o600);
  await writeFileAtomic(layout.caCert, cert.toString('pem'), 0o644);
  const registry: CertRegistry = { version: 1, crlNumber: 0, certificates: [] };
  await writeRegistry(layout.registry, registry);
  // An empty list from the start, so a controller configured with tls.crl always finds one.
  await writeCrl({ dir, cert, key: keys.privateKey, registry, migrated: false });
  return { cert: layout.caCert, key: layout.caKey };
}

export interface LoadedCa {
  dir: string;
  cert: x509.X509Certificate;
  key: CryptoKey;
  registry: CertRegistry;
  migrated: boolean;
}

/**
 * Reads the CA of `dir`, moving a first-layout CA into ca/ on the way (under the CA lock). The
 * register it returns is a snapshot: a caller that changes and writes it back holds the lock
 * around the whole (withCaLock, as issueCertificate does).
 */
export async function loadCa(dir: string): Promise<LoadedCa> {
  if (await hasLegacyCa(dir)) return withCaLock(dir, () => readCa(dir));
  return readCa(dir);
}

/** loadCa for a caller that holds the CA lock (withCaLock): the lock is not re-entrant. */
export async function readCa(dir: string): Promise<LoadedCa> {
  const legacy = await hasLegacyCa(dir);
  const migrated = legacy ? await migrateLegacyCa(dir) : false;
  const layout = pkiLayout(dir);
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(await readFile(layout.caCert, 'utf8'));
    const der = fromPem('PRIVATE KEY', await readFile(layout.caKey, 'utf8'));
    key = await subtle.importKey('pkcs8', der, keyAlg, false, ['sign']);
  } catch (err) {
    throw new PkiError(dir, 'cannot read the CA (run `xsctl pki init` first)', { cause: err });
  }
  let registry = await readRegistry(layout.registry);
  if (migrated) {
    registry = await registerExisting(dir, cert, registry);
    await writeRegistry(layout.registry, registry);
  }
  return { dir, cert, key, registry, migrated };
}

/** First layout: the certificates already issued become entries of the register, so they can be listed and revoked. */
async function registerExisting(dir: string, ca: x509.X509Certificate, registry: CertRegistry): Promise<CertRegistry> {
  const known = new Set(registry.certificates.map((c) => c.serial));
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.crt') && f !== 'ca.crt').sort()) {
    let leaf: x509.X509Certificate;
    try {
      leaf = new x509.X509Certificate(await readFile(join(dir, file), 'utf8'));
      if (leaf.issuer !== ca.subject || !(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }))) continue;
    } catch {
      continue;
    }
    const record = recordOf(leaf);
    if (record === null || known.has(record.serial)) continue;
    registry.certificates.push(record);
  }
  return registry;
}

/** The register entry for a certificate we issued (kind, role and names from its SAN). */
export function recordOf(leaf: x509.X509Certificate): IssuedRecord | null {
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  const sanText = names.map((n) => `${n.type === 'url' ? 'URI' : n.type.toUpperCase()}:${n.value}`).join(', ');
  const cn = /CN=([^,]+)/.exec(leaf.subject)?.[1];
  const identity = identityFromCertificate(cn, sanText);
  if (identity === null || cn === undefined) return null;
  return {
    serial: normalizeSerial(leaf.serialNumber),
    kind: identity.kind,
    name: cn,
    role: identity.role,
    dnsNames: names.filter((n) => n.type === 'dns' && n.value !== cn).map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
    notBefore: leaf.notBefore.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
  };
}

function validateIssue(options: IssueOptions): { name: string; days: number } {
  const name = assertLeafName(options.name);
  if (options.role !== undefined && options.kind !== 'cli') {
    throw new ValidationError('role', 'only cli certificates carry a role');
  }
  for (const ip of options.ipAddresses ?? []) {
    if (isIP(ip) === 0) throw new ValidationError('ip', `not an IP address: ${ip}`);
  }
  for (const dns of options.dnsNames ?? []) assertCertName(dns);
  return { name, days: parseDays(options.days ?? defaultLeafDays[options.kind], maxLeafDays) };
}

/**
 * Issues a leaf certificate for a controller, an agent or a CLI user, signed by the CA in `dir`.
 * Refuses to replace an existing certificate or key of the same name unless `force` (which
 * revokes the replaced one: its key may still be somewhere).
 */
export async function issueCertificate(dir: string, options: IssueOptions): Promise<IssuedFiles> {
  const validated = validateIssue(options);
  // The register is read, checked (a live certificate of that name?), extended and written back:
  // one issue at a time per CA, across processes.
  return withCaLock(dir, () => issueLocked(dir, options, validated));
}

async function issueLocked(dir: string, options: IssueOptions, { name, days }: { name: string; days: number }): Promise<IssuedFiles> {
  const ca = await readCa(dir);
  const files = leafFiles(dir, name);
  const live = liveRecords(ca.registry, name);
  if (options.force !== true) {
    for (const path of [files.cert, files.key]) {
      if (await exists(path)) throw new PkiError(path, `a certificate named ${name} exists; use \`xsctl pki rotate ${name}\` or --force to replace it`);
    }
    if (live.length > 0) throw new PkiError(files.cert, `${name} has a valid certificate (serial ${live[0]?.serial ?? ''}); use \`xsctl pki rotate ${name}\` or --force`);
  }
  const start = options.notBefore?.getTime() ?? Date.now() - 60_000;
  const notAfter = new Date(start + days * dayMs);
  if (notAfter > ca.cert.notAfter) {
    throw new ValidationError('days', `the certificate would outlive the CA (valid until ${ca.cert.notAfter.toISOString()})`);
  }

  const keys = (await subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const usages =
    options.kind === 'agent'
      ? [x509.ExtendedKeyUsage.serverAuth]
      : options.kind === 'cli'
        ? [x509.ExtendedKeyUsage.clientAuth]
        : // The controller is a server to the CLI and a client to the agents.
          [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const role = options.kind === 'cli' ? (options.role ?? 'viewer') : null;
  const dnsNames = [name, ...(options.dnsNames ?? [])];
  const altNames: x509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...identityUris(options.kind, role).map((value) => ({ type: 'url' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}, OU=${options.kind}, O=xsctl`,
    issuer: ca.cert.subject,
    notBefore: new Date(start),
    notAfter,
    signingAlgorithm: keyAlg,
    publicKey: keys.publicKey as never,
    signingKey: ca.key as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(altNames, false),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });

  await writeFileAtomic(files.key, await exportKey(keys.privateKey), 0o600);
  await writeFileAtomic(files.cert, cert.toString('pem'), 0o644);
  const record = recordOf(cert);
  if (record === null) throw new PkiError(files.cert, 'issued a certificate without an xsctl identity (bug)');
  const now = new Date().toISOString();
  const revoke = options.keepReplaced === true ? [] : live;
  for (const old of revoke) Object.assign(old, { revokedAt: now, reason: 'superseded' as const });
  ca.registry.certificates.push(record);
  await writeRegistry(pkiLayout(dir).registry, ca.registry);
  // The replaced certificate's revocation must reach the agents: re-sign the list.
  if (revoke.length > 0) await writeCrl(ca);
  return { cert: files.cert, key: files.key, ca: pkiLayout(dir).caCert, serial: record.serial, notAfter: record.notAfter, replaced: revoke.map((c) => c.serial), migrated: ca.migrated };
}

/** How long a revocation list is valid; `xsctl pki crl` re-signs it before then. */
export const crlValidityDays = 90;

/** cRLNumber (RFC 5280 5.2.3) as DER: INTEGER, positive. */
function crlNumberExtension(n: number): x509.Extension {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  return new x509.Extension('2.5.29.20', false, Buffer.concat([Buffer.from([0x02, body.length]), body]));
}

/**
 * Signs the revocation list of every revoked certificate that has not expired yet (an expired one
 * is refused by TLS anyway; at notAfter itself it is still valid, RFC 5280 4.1.2.5), with the next
 * cRLNumber, and writes ca/crl.pem and the register.
 */
export async function writeCrl(ca: LoadedCa, now = new Date()): Promise<{ file: string; number: number; nextUpdate: Date }> {
  const layout = pkiLayout(ca.dir);
  const number = ca.registry.crlNumber + 1;
  const nextUpdate = new Date(now.getTime() + crlValidityDays * dayMs);
  const reasonCode: Record<string, x509.X509CrlReason> = {
    unspecified: x509.X509CrlReason.unspecified,
    keyCompromise: x509.X509CrlReason.keyCompromise,
    affiliationChanged: x509.X509CrlReason.affiliationChanged,
    superseded: x509.X509CrlReason.superseded,
    cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  };
  const entries = ca.registry.certificates
    .filter((c) => c.revokedAt !== undefined && new Date(c.notAfter) >= now)
    .map((c) => ({ serialNumber: c.serial.length % 2 === 1 ? `0${c.serial}` : c.serial, revocationDate: new Date(c.revokedAt!), ...(c.reason === undefined || c.reason === 'unspecified' ? {} : { reason: reasonCode[c.reason] }) }));
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate: now,
    nextUpdate,
    signingAlgorithm: keyAlg,
    signingKey: ca.key as never,
    entries,
    extensions: [crlNumberExtension(number), await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false)],
  });
  ca.registry.crlNumber = number;
  // OpenSSL and Node's TLS read only the "X509 CRL" label, not @peculiar's "CRL".
  await writeFileAtomic(layout.crl, toPem('X509 CRL', crl.rawData), 0o644);
  await writeRegistry(layout.registry, ca.registry);
  return { file: layout.crl, number, nextUpdate };
}

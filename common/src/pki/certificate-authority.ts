import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { access, mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ValidationError } from '../errors/index.js';
import { identityUris, assertCertName, type PeerKind, type Role } from './identity.js';
import { fromPem, toPem } from './pem.js';
import { PkiError } from './pki-error.js';
import { writeFileAtomic } from './write-secret-file.js';

x509.cryptoProvider.set(webcrypto as never);

const keyAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;
const dayMs = 86_400_000;

export interface IssuedFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface IssueOptions {
  kind: PeerKind;
  name: string;
  role?: Role;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
}

export const caCertFile = (dir: string) => join(dir, 'ca.crt');
export const caKeyFile = (dir: string) => join(dir, 'ca.key');

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function exportKey(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await subtle.exportKey('pkcs8', key));
}

function serial(): string {
  // Positive, non-zero 128-bit serial.
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f | 0x01;
  return b.toString('hex');
}

/** Creates the project CA in `dir`. Refuses to overwrite an existing one. */
export async function initCa(dir: string, options: { name?: string; days?: number } = {}): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = caCertFile(dir);
  const keyPath = caKeyFile(dir);
  if ((await exists(certPath)) || (await exists(keyPath))) {
    throw new PkiError(certPath, 'a CA already exists here; remove it first to start over');
  }
  const keys = (await subtle.generateKey(keyAlg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.name ?? 'xsctl CA'}, O=xsctl`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.days ?? 3650) * dayMs),
    signingAlgorithm: keyAlg,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  await writeFileAtomic(keyPath, await exportKey(keys.privateKey), 0o600);
  await writeFileAtomic(certPath, cert.toString('pem'), 0o644);
  return { cert: certPath, key: keyPath };
}

/** Issues a leaf certificate for a controller, an agent or a CLI user, signed by the CA in `dir`. */
export async function issueCertificate(dir: string, options: IssueOptions): Promise<IssuedFiles> {
  const name = assertCertName(options.name);
  if (options.role !== undefined && options.kind !== 'cli') {
    throw new ValidationError('role', 'only cli certificates carry a role');
  }
  for (const ip of options.ipAddresses ?? []) {
    if (isIP(ip) === 0) throw new ValidationError('ip', `not an IP address: ${ip}`);
  }
  for (const dns of options.dnsNames ?? []) assertCertName(dns);

  let caCert: x509.X509Certificate;
  let caKey: CryptoKey;
  try {
    caCert = new x509.X509Certificate(await readFile(caCertFile(dir), 'utf8'));
    const der = fromPem('PRIVATE KEY', await readFile(caKeyFile(dir), 'utf8'));
    caKey = await subtle.importKey('pkcs8', der, keyAlg, false, ['sign']);
  } catch (err) {
    throw new PkiError(dir, 'cannot read the CA (run `xsctl pki init` first)', { cause: err });
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
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}, OU=${options.kind}, O=xsctl`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.days ?? 825) * dayMs),
    signingAlgorithm: keyAlg,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(altNames, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });

  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await writeFileAtomic(keyPath, await exportKey(keys.privateKey), 0o600);
  await writeFileAtomic(certPath, cert.toString('pem'), 0o644);
  return { cert: certPath, key: keyPath, ca: caCertFile(dir) };
}

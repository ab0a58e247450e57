import { access, copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../errors/index.js';
import { assertCertName } from './identity.js';

/**
 * Where a PKI directory keeps what. The CA lives apart from the certificates it issues, so no
 * issued name can land on the CA's files:
 *
 *   DIR/ca/ca.crt       the CA certificate: every party trusts it (--tls-ca, XSCTL_CA)
 *   DIR/ca/ca.key       the CA key, 0600 in a 0700 directory; never leaves this machine
 *   DIR/ca/issued.json  every certificate issued (serial, kind, name, validity) and revocations
 *   DIR/ca/crl.pem      the revocation list the CA signed; the controller hands it to the agents
 *   DIR/NAME.crt, DIR/NAME.key   issued certificates and their keys (0600)
 *
 * The first layout kept ca.crt and ca.key beside the issued files; `openCaDir` moves the key into
 * ca/ and copies the certificate there, leaving DIR/ca.crt where running configs point at it.
 */
export interface PkiLayout {
  dir: string;
  caDir: string;
  caCert: string;
  caKey: string;
  registry: string;
  crl: string;
}

export function pkiLayout(dir: string): PkiLayout {
  const caDir = join(dir, 'ca');
  return { dir, caDir, caCert: join(caDir, 'ca.crt'), caKey: join(caDir, 'ca.key'), registry: join(caDir, 'issued.json'), crl: join(caDir, 'crl.pem') };
}

/** The files of an issued certificate. */
export const leafFiles = (dir: string, name: string): { cert: string; key: string } => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

/** Names that would collide with the CA's files (now or in the first layout) or with the ca/ directory. */
const reservedNames = new Set(['ca', 'crl', 'issued', 'ca-key', 'ca-cert']);

export function assertLeafName(name: string): string {
  assertCertName(name);
  if (reservedNames.has(name.toLowerCase())) throw new ValidationError('name', `"${name}" is reserved for the CA; choose another name`);
  return name;
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The first layout: ca.crt and ca.key at the top of the directory. */
export async function hasLegacyCa(dir: string): Promise<boolean> {
  return (await exists(join(dir, 'ca.key'))) && !(await exists(pkiLayout(dir).caKey));
}

/**
 * Moves a first-layout CA into ca/ (the key is moved, never copied: one copy of a CA key). Returns
 * whether it migrated. The public DIR/ca.crt stays for configs that name it.
 */
export async function migrateLegacyCa(dir: string): Promise<boolean> {
  if (!(await hasLegacyCa(dir))) return false;
  const layout = pkiLayout(dir);
  await mkdir(layout.caDir, { recursive: true, mode: 0o700 });
  await copyFile(join(dir, 'ca.crt'), layout.caCert);
  await rename(join(dir, 'ca.key'), layout.caKey);
  return true;
}

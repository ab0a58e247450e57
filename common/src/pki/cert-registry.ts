import { readFile } from 'node:fs/promises';
import { PkiError } from './pki-error.js';
import type { PeerKind, Role } from './identity.js';
import { writeFileAtomic } from './write-secret-file.js';

/** One certificate the CA issued. Serials are lowercase hex without leading zeros. */
export interface IssuedRecord {
  serial: string;
  kind: PeerKind;
  name: string;
  role: Role | null;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: string;
  notAfter: string;
  /** Set when revoked: ISO time and RFC 5280 reason. */
  revokedAt?: string;
  reason?: RevocationReason;
}

export type RevocationReason = 'unspecified' | 'keyCompromise' | 'affiliationChanged' | 'superseded' | 'cessationOfOperation';
export const revocationReasons: readonly RevocationReason[] = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'];

export interface CertRegistry {
  version: 1;
  /** Number of the last revocation list written (RFC 5280 cRLNumber): agents refuse an older one. */
  crlNumber: number;
  certificates: IssuedRecord[];
}

export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/:/g, '').toLowerCase().replace(/^0+/, '');
  return hex === '' ? '0' : hex;
}

export async function readRegistry(path: string): Promise<CertRegistry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, crlNumber: 0, certificates: [] };
    throw new PkiError(path, 'cannot read the register of issued certificates', { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as CertRegistry;
    if (parsed.version !== 1 || !Array.isArray(parsed.certificates) || typeof parsed.crlNumber !== 'number') throw new Error('unexpected shape');
    return parsed;
  } catch (err) {
    throw new PkiError(path, 'the register of issued certificates is damaged', { cause: err });
  }
}

export async function writeRegistry(path: string, registry: CertRegistry): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(registry, null, 2)}\n`, 0o644);
}

/** Certificates of `name` that are neither revoked nor expired. */
export function liveRecords(registry: CertRegistry, name: string, now = new Date()): IssuedRecord[] {
  return registry.certificates.filter((c) => c.name === name && c.revokedAt === undefined && new Date(c.notAfter) >= now);
}

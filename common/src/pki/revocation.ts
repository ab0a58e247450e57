import { readFile } from 'node:fs/promises';
import * as x509 from '@peculiar/x509';
import { ValidationError } from '../errors/index.js';
import { normalizeSerial, revocationReasons, type IssuedRecord, type RevocationReason } from './cert-registry.js';
import { withCaLock } from './ca-lock.js';
import { issueCertificate, readCa, recordOf, writeCrl, type IssuedFiles } from './certificate-authority.js';
import { PkiError } from './pki-error.js';
import { leafFiles, assertLeafName } from './pki-layout.js';

export interface RevokeResult {
  revoked: IssuedRecord[];
  crl: string;
  crlNumber: number;
  nextUpdate: string;
}

export function parseReason(value: string): RevocationReason {
  const r = revocationReasons.find((x) => x === value);
  if (r === undefined) throw new ValidationError('reason', `one of ${revocationReasons.join(', ')}`);
  return r;
}

/**
 * Revokes by name (every live certificate of that name) or by serial, and re-signs the
 * revocation list. The controller hands the new list to every agent before its next call.
 */
export async function revokeCertificate(dir: string, target: { name?: string; serial?: string }, reason: RevocationReason = 'unspecified'): Promise<RevokeResult> {
  if ((target.name === undefined) === (target.serial === undefined)) throw new ValidationError('target', 'name a certificate or a serial, not both');
  return withCaLock(dir, () => revokeLocked(dir, target, reason));
}

async function revokeLocked(dir: string, target: { name?: string; serial?: string }, reason: RevocationReason): Promise<RevokeResult> {
  const ca = await readCa(dir);
  const now = new Date();
  let hits: IssuedRecord[];
  if (target.serial !== undefined) {
    if (!/^(?:[0-9a-fA-F]{2}:?)*[0-9a-fA-F]{1,2}$/.test(target.serial)) throw new ValidationError('serial', 'expected a hexadecimal serial');
    const serial = normalizeSerial(target.serial);
    hits = ca.registry.certificates.filter((c) => c.serial === serial);
    if (hits.length === 0) throw new PkiError(dir, `no certificate with serial ${serial} was issued by this CA`);
  } else {
    const name = assertLeafName(target.name!);
    hits = ca.registry.certificates.filter((c) => c.name === name && new Date(c.notAfter) >= now);
    if (hits.length === 0) throw new PkiError(dir, `no unexpired certificate named ${name} was issued by this CA`);
  }
  const fresh = hits.filter((c) => c.revokedAt === undefined);
  for (const c of fresh) Object.assign(c, { revokedAt: now.toISOString(), reason });
  const crl = await writeCrl(ca, now);
  return { revoked: fresh, crl: crl.file, crlNumber: crl.number, nextUpdate: crl.nextUpdate.toISOString() };
}

export interface RotateOptions {
  days?: number;
  /** Leave the old certificate valid until it expires (for a staged roll-out); revoke it later by serial. */
  keepOld?: boolean;
}

/**
 * A new key and certificate for `name`, with the kind, role and names of the current one, written
 * in place. The old serial is revoked as superseded unless `keepOld`: reload or restart the party
 * that uses it, then distribute the list (the controller does so by itself).
 */
export async function rotateCertificate(dir: string, name: string, options: RotateOptions = {}): Promise<IssuedFiles & { previous: string }> {
  assertLeafName(name);
  let current: x509.X509Certificate;
  try {
    current = new x509.X509Certificate(await readFile(leafFiles(dir, name).cert, 'utf8'));
  } catch (err) {
    throw new PkiError(leafFiles(dir, name).cert, `no certificate named ${name} to rotate`, { cause: err });
  }
  const record = recordOf(current);
  if (record === null) throw new PkiError(leafFiles(dir, name).cert, 'not an xsctl certificate');
  const issued = await issueCertificate(dir, {
    kind: record.kind,
    name,
    ...(record.role === null ? {} : { role: record.role }),
    dnsNames: record.dnsNames,
    ipAddresses: record.ipAddresses,
    ...(options.days === undefined ? {} : { days: options.days }),
    force: true,
    keepReplaced: options.keepOld === true,
  });
  return { ...issued, previous: record.serial };
}

/** Re-signs the revocation list with fresh dates (before its next update passes). */
export async function refreshCrl(dir: string): Promise<{ file: string; number: number; nextUpdate: string }> {
  const r = await withCaLock(dir, async () => writeCrl(await readCa(dir)));
  return { file: r.file, number: r.number, nextUpdate: r.nextUpdate.toISOString() };
}

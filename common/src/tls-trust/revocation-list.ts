import type * as X509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { XsctlError, type XsctlErrorOptions } from '../errors/index.js';
import { normalizeSerial } from '../pki/cert-registry.js';
import { fromPem, toPem } from '../pki/pem.js';

/**
 * @peculiar/x509 (with tsyringe, reflect-metadata and every ASN.1 schema) is loaded by the first
 * list parsed, not by importing this module: the agent imports the store and starts without a
 * list until a controller sends one (bench/agent.mjs measures what loading it costs).
 */
let x509Module: Promise<typeof X509> | undefined;
const loadX509 = (): Promise<typeof X509> =>
  (x509Module ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  }));

/** A revocation list that is not one our CA signed, or older than the one already held. */
export class RevocationListError extends XsctlError {
  readonly code = 'REVOCATION_LIST_REJECTED';

  constructor(
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`revocation list rejected: ${reason}`, options);
  }
}

/** A verified revocation list: the serials our CA revoked, and the list's number and dates. */
export interface RevocationList {
  number: number;
  thisUpdate: Date;
  nextUpdate: Date | null;
  serials: ReadonlySet<string>;
  pem: string;
}

/** Upper bound on a list's PEM: thousands of entries fit in far less; anything bigger is not ours. */
export const maxCrlBytes = 1 << 20;

function crlNumber(crl: X509.X509Crl): number {
  const ext = crl.getExtension('2.5.29.20');
  if (ext === null) throw new RevocationListError('no cRLNumber: lists must be numbered so an older one cannot replace a newer one');
  const der = Buffer.from(ext.value);
  const len = der[1] ?? 0;
  // DER INTEGER is two's complement: a first content byte of 0x80 or more is negative (RFC 5280 5.2.3: non-negative).
  if (der[0] !== 0x02 || len < 1 || len > 6 || der.length !== 2 + len || (der[2] ?? 0) >= 0x80) throw new RevocationListError('cRLNumber is not a small positive INTEGER');
  return Number.parseInt(der.subarray(2).toString('hex'), 16);
}

function caCertificates(x509: typeof X509, caPem: string | Buffer): X509.X509Certificate[] {
  const text = caPem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new x509.X509Certificate(b));
}

/**
 * Parses a PEM CRL and checks that one of the trusted CA certificates signed it. Serials are
 * normalised (lowercase hex, no leading zeros) to match `normalizeSerial` of a peer certificate.
 */
export async function parseRevocationList(pem: string, trustedCaPem: string | Buffer): Promise<RevocationList> {
  if (Buffer.byteLength(pem) > maxCrlBytes) throw new RevocationListError(`larger than ${maxCrlBytes} bytes`);
  const x509 = await loadX509();
  let crl: X509.X509Crl;
  try {
    crl = new x509.X509Crl(fromPem('X509 CRL', pem));
  } catch (err) {
    throw new RevocationListError('not a PEM X.509 CRL', { cause: err });
  }
  const issuers = caCertificates(x509, trustedCaPem).filter((c) => c.subject === crl.issuer);
  let signed = false;
  for (const ca of issuers) {
    if (await crl.verify({ publicKey: ca }).catch(() => false)) signed = true;
  }
  if (!signed) throw new RevocationListError(`not signed by the trusted CA (issuer ${crl.issuer})`);
  return {
    number: crlNumber(crl),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    serials: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))),
    pem: toPem('X509 CRL', crl.rawData),
  };
}

/**
 * The revocation list a party enforces, replaceable at run time. Only a newer list (higher
 * cRLNumber) replaces the current one, so a captured old list cannot un-revoke anyone.
 */
export class RevocationStore {
  #list: RevocationList | null;
  readonly #listeners = new Set<(list: RevocationList) => void>();

  constructor(initial: RevocationList | null = null) {
    this.#list = initial;
  }

  get current(): RevocationList | null {
    return this.#list;
  }

  /** Serial as Node reports it (`X509Certificate.serialNumber`, `getPeerCertificate().serialNumber`). */
  isRevoked(serial: string): boolean {
    return this.#list?.serials.has(normalizeSerial(serial)) ?? false;
  }

  /** Installs `list` if it is newer; returns whether it did. An equal number is a no-op, an older one an error. */
  offer(list: RevocationList): boolean {
    const have = this.#list?.number ?? 0;
    if (list.number < have) throw new RevocationListError(`number ${list.number} is older than the list held (${have})`);
    if (list.number === have && this.#list !== null) return false;
    this.#list = list;
    for (const l of this.#listeners) l(list);
    return true;
  }

  onChange(listener: (list: RevocationList) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

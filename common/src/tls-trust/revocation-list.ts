import type * as Asn1 from 'asn1js';
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { XsctlError, type XsctlErrorOptions } from '../errors/index.js';
import { normalizeSerial } from '../pki/cert-registry.js';
import { fromPem, toPem } from '../pki/pem.js';

// A list is read with asn1js (a DER walker, no schemas) and verified with node:crypto, not with
// @peculiar/x509: that library (tsyringe, reflect-metadata, every ASN.1 schema) kept ~6 MB in the
// agent's resident set for the life of the process once a list was configured (bench/agent.mjs).
// asn1js itself is loaded with the first list parsed: an agent that never holds one (a fresh
// install) does not keep it (bench/agent.mjs, the fresh row's idle RSS).
let asn1: typeof Asn1;
async function loadAsn1(): Promise<void> {
  try {
    asn1 ??= await import('asn1js');
  } catch (err) {
    // Not the list's fault (a broken install or binary): its own code, so a caller does not
    // report a good list as one that does not verify. A later call tries the load again.
    throw new RevocationReaderError(err);
  }
}

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

/** The DER reader (asn1js, loaded with the first list) could not be loaded: no list can be read. */
export class RevocationReaderError extends XsctlError {
  readonly code = 'REVOCATION_READER_UNAVAILABLE';
  constructor(cause: unknown) {
    super('revocation list reader (asn1js) could not be loaded', { cause });
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

/** The signature algorithms a list may be signed with (RFC 5758 ECDSA, RFC 4055 RSA PKCS#1 v1.5), and the key each needs. */
const signatureAlgorithms = new Map<string, { hash: string; key: 'ec' | 'rsa' }>([
  ['1.2.840.10045.4.3.2', { hash: 'sha256', key: 'ec' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', key: 'ec' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', key: 'ec' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', key: 'rsa' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', key: 'rsa' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', key: 'rsa' }],
]);
const crlNumberOid = '2.5.29.20';

const bytesOf = (block: Asn1.AsnType): Buffer => Buffer.from(block.valueBeforeDecodeView);
const isContext = (block: Asn1.AsnType | undefined, tag: number): block is Asn1.Constructed =>
  block instanceof asn1.Constructed && block.idBlock.tagClass === 3 && block.idBlock.tagNumber === tag;

/** One whole DER value: trailing bytes and indefinite lengths (BER, not DER) are refused. */
function decode(der: Uint8Array, what: string): Asn1.AsnType {
  const r = asn1.fromBER(der);
  if (r.offset !== der.byteLength || r.result.error !== '') throw new RevocationListError(`${what} is not DER${r.result.error === '' ? ' (trailing bytes)' : `: ${r.result.error}`}`);
  return r.result;
}

function sequence(block: Asn1.AsnType | undefined, what: string): Asn1.AsnType[] {
  if (!(block instanceof asn1.Sequence) || block.lenBlock.isIndefiniteForm) throw new RevocationListError(`${what} is not a SEQUENCE`);
  return block.valueBlock.value;
}

function oidOf(algorithmIdentifier: Asn1.AsnType | undefined, what: string): string {
  const oid = sequence(algorithmIdentifier, what)[0];
  if (!(oid instanceof asn1.ObjectIdentifier)) throw new RevocationListError(`${what} has no algorithm`);
  return oid.getValue();
}

function timeOf(block: Asn1.AsnType | undefined, what: string): Date {
  // GeneralizedTime extends UTCTime in asn1js; each converts its own form.
  if (!(block instanceof asn1.UTCTime)) throw new RevocationListError(`${what} is not a Time`);
  const date = block.toDate();
  if (Number.isNaN(date.getTime())) throw new RevocationListError(`${what} is not a valid time`);
  return date;
}

/**
 * cRLNumber's extnValue: DER INTEGER, two's complement; RFC 5280 5.2.3 wants it non-negative.
 * RFC 5280 5.2: a list with a critical extension the reader cannot process must not be used. The
 * one that matters is deltaCRLIndicator (always critical): a delta lists only what changed since a
 * base list, so installed as a whole list (it is newer) it would un-revoke everyone it leaves out.
 */
function crlNumber(extensions: Asn1.AsnType[]): number {
  for (const ext of extensions) {
    const [oid, critical] = sequence(ext, 'an extension');
    if (critical instanceof asn1.Boolean && critical.getValue()) throw new RevocationListError(`has a critical extension this reader does not process (${oid instanceof asn1.ObjectIdentifier ? oid.getValue() : 'no OID'})`);
  }
  for (const ext of extensions) {
    const fields = sequence(ext, 'an extension');
    if (!(fields[0] instanceof asn1.ObjectIdentifier) || fields[0].getValue() !== crlNumberOid) continue;
    const value = fields[fields.length - 1];
    if (!(value instanceof asn1.OctetString)) throw new RevocationListError('cRLNumber has no value');
    const der = Buffer.from(value.valueBlock.valueHexView);
    const len = der[1] ?? 0;
    if (der[0] !== 0x02 || len < 1 || len > 6 || der.length !== 2 + len || (der[2] ?? 0) >= 0x80) throw new RevocationListError('cRLNumber is not a small positive INTEGER');
    return Number.parseInt(der.subarray(2).toString('hex'), 16);
  }
  throw new RevocationListError('no cRLNumber: lists must be numbered so an older one cannot replace a newer one');
}

interface ParsedCrl {
  tbs: Buffer;
  algorithm: string;
  signature: Buffer;
  issuer: Buffer;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date | null;
  serials: Set<string>;
}

/** RFC 5280 5.1: CertificateList and TBSCertList, read field by field. */
function parseCrl(der: Buffer): ParsedCrl {
  const [tbsBlock, algorithmBlock, signatureBlock, ...extra] = sequence(decode(der, 'the list'), 'CertificateList');
  if (extra.length > 0) throw new RevocationListError('CertificateList has extra fields');
  const algorithm = oidOf(algorithmBlock, 'signatureAlgorithm');
  if (!(signatureBlock instanceof asn1.BitString) || signatureBlock.valueBlock.unusedBits !== 0) throw new RevocationListError('signatureValue is not a whole-byte BIT STRING');
  const fields = sequence(tbsBlock, 'TBSCertList');
  let i = 0;
  if (fields[i] instanceof asn1.Integer) {
    // Extensions (cRLNumber is required here) need v2, encoded as 1.
    if ((fields[i] as Asn1.Integer).valueBlock.valueDec !== 1) throw new RevocationListError('version is not v2');
    i++;
  }
  // RFC 5280 5.1.1.2: the signed algorithm must be the one outside.
  if (oidOf(fields[i++], 'signature') !== algorithm) throw new RevocationListError('the signed algorithm differs from signatureAlgorithm');
  const issuerBlock = fields[i++];
  sequence(issuerBlock, 'issuer');
  const thisUpdate = timeOf(fields[i++], 'thisUpdate');
  const nextUpdate = fields[i] instanceof asn1.UTCTime ? timeOf(fields[i++], 'nextUpdate') : null;
  const serials = new Set<string>();
  if (fields[i] instanceof asn1.Sequence) {
    for (const entry of sequence(fields[i++], 'revokedCertificates')) {
      const [serial, revocationDate] = sequence(entry, 'a revoked certificate');
      if (!(serial instanceof asn1.Integer)) throw new RevocationListError('a revoked certificate has no serial');
      timeOf(revocationDate, 'revocationDate');
      serials.add(normalizeSerial(Buffer.from(serial.valueBlock.valueHexView).toString('hex')));
    }
  }
  let extensions: Asn1.AsnType[] = [];
  const tagged = fields[i];
  if (isContext(tagged, 0)) {
    i++;
    extensions = sequence(tagged.valueBlock.value[0], 'crlExtensions');
    if (tagged.valueBlock.value.length !== 1) throw new RevocationListError('crlExtensions has extra fields');
  }
  if (i !== fields.length) throw new RevocationListError('TBSCertList has unexpected fields');
  return {
    tbs: bytesOf(tbsBlock!),
    algorithm,
    signature: Buffer.from(signatureBlock.valueBlock.valueHexView),
    issuer: bytesOf(issuerBlock!),
    number: crlNumber(extensions),
    thisUpdate,
    nextUpdate,
    serials,
  };
}

/** Each CA certificate of the bundle: its subject (DER, to match a list's issuer) and public key. */
function caCertificates(caPem: string | Buffer): { subject: Buffer; key: KeyObject }[] {
  const blocks = caPem.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => {
    const cert = new X509Certificate(b);
    // RFC 5280 4.1: tbsCertificate = [0] version, serialNumber, signature, issuer, validity, subject, ...
    const tbs = sequence(sequence(decode(cert.raw, 'a CA certificate'), 'Certificate')[0], 'tbsCertificate');
    const subject = tbs[isContext(tbs[0], 0) ? 5 : 4];
    sequence(subject, 'the CA subject');
    return { subject: bytesOf(subject!), key: cert.publicKey };
  });
}

/**
 * Parses a PEM CRL and checks that one of the trusted CA certificates signed it. Serials are
 * normalised (lowercase hex, no leading zeros) to match `normalizeSerial` of a peer certificate.
 */
export async function parseRevocationList(pem: string, trustedCaPem: string | Buffer): Promise<RevocationList> {
  if (Buffer.byteLength(pem) > maxCrlBytes) throw new RevocationListError(`larger than ${maxCrlBytes} bytes`);
  await loadAsn1();
  let der: Buffer;
  let crl: ParsedCrl;
  try {
    der = fromPem('X509 CRL', pem);
    crl = parseCrl(der);
  } catch (err) {
    throw err instanceof RevocationListError ? err : new RevocationListError('not a PEM X.509 CRL', { cause: err });
  }
  const algorithm = signatureAlgorithms.get(crl.algorithm);
  if (algorithm === undefined) throw new RevocationListError(`signed with an unsupported algorithm (${crl.algorithm})`);
  const signedBy = (key: KeyObject): boolean => {
    try {
      return key.asymmetricKeyType === algorithm.key && verify(algorithm.hash, crl.tbs, key, crl.signature);
    } catch {
      return false; // a malformed signature is an unverified one
    }
  };
  const signed = caCertificates(trustedCaPem).some((ca) => ca.subject.equals(crl.issuer) && signedBy(ca.key));
  if (!signed) throw new RevocationListError('not signed by the trusted CA');
  return { number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, serials: crl.serials, pem: toPem('X509 CRL', new Uint8Array(der).buffer) };
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

import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initCa } from '../pki/certificate-authority.js';
import { pkiLayout } from '../pki/pki-layout.js';
import { tempDir } from '../testing/temp-dir.js';

// asn1js is imported with the first list parsed (revocation-list.ts): a failure of that import
// must reach the caller as a typed error (not a raw module error, not an unhandled rejection),
// and must not stick: the next list is read once the reader loads.
describe('revocation list reader loaded lazily', () => {
  afterEach(() => {
    vi.doUnmock('asn1js');
    vi.resetModules();
  });

  it('a failed load of asn1js is REVOCATION_READER_UNAVAILABLE with the cause; the next call loads it and reads the list', async () => {
    const dir = await tempDir('xsctl-crl-load-');
    const ca = await initCa(dir);
    const caPem = await readFile(ca.cert);
    const pem = await readFile(pkiLayout(dir).crl, 'utf8');

    vi.resetModules();
    const broken = new Error('asn1js: not in this build');
    vi.doMock('asn1js', () => {
      throw broken;
    });
    const { parseRevocationList, RevocationReaderError } = await import('./revocation-list.js');
    const { statusForCode } = await import('../errors/status-table.js');
    const failed = await parseRevocationList(pem, caPem).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(RevocationReaderError);
    expect(failed).toMatchObject({ code: 'REVOCATION_READER_UNAVAILABLE' });
    // vitest wraps a throwing mock factory's error; the original is at the end of the chain.
    let cause: unknown = (failed as Error).cause;
    while (cause instanceof Error && cause !== broken && cause.cause !== undefined) cause = cause.cause;
    expect(cause).toBe(broken);
    expect(statusForCode('REVOCATION_READER_UNAVAILABLE')).not.toBe(statusForCode('REVOCATION_LIST_REJECTED'));

    vi.doUnmock('asn1js');
    // The CA's first list: number 1, nothing revoked (as the first test of revocation-list.test.ts).
    const list = await parseRevocationList(pem, caPem);
    expect([list.number, list.serials.size]).toEqual([1, 0]);
  });
});

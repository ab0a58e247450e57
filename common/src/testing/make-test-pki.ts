import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { initCa, issueCertificate, loadTlsMaterial, type IssueOptions, type TlsMaterial } from '../pki/index.js';
import { removeWhenDone } from './temp-dir.js';

export interface TestPki {
  dir: string;
  issue(options: IssueOptions): Promise<TlsMaterial>;
}

/**
 * A throwaway CA in a temp dir, for tests that need real mTLS. Under vitest the dir (with the CA's
 * private key) is removed when the test ends, or the test file if made in a beforeAll; a bench
 * script that makes one removes it itself.
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'xsctl-pki-'));
  removeWhenDone(dir);
  await initCa(dir);
  return {
    dir,
    async issue(options) {
      return loadTlsMaterial(await issueCertificate(dir, options));
    },
  };
}

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueCertificate, loadTlsMaterial, type IssueOptions, type TlsMaterial } from '../pki/index.js';

export interface TestPki {
  dir: string;
  issue(options: IssueOptions): Promise<TlsMaterial>;
}

/** A throwaway CA in a temp dir, for tests that need real mTLS. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'xsctl-pki-'));
  await initCa(dir);
  return {
    dir,
    async issue(options) {
      return loadTlsMaterial(await issueCertificate(dir, options));
    },
  };
}

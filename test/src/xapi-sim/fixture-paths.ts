import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository's `test/fixtures` (same relative place from src/ and dist/). */
export const testFixturesDir = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The demo pool description: 3 XenServer 7.1 hosts, a shared iSCSI SR and one local SR. */
export const demoPoolFile = join(testFixturesDir, 'demo-pool.yaml');

/** Real `xe pool-dump-database` files shared between projects (state1.xml, boston-db.xml). */
export function sharedDumpFile(name: string): string {
  const base = process.env['XSCTL_SHARED_DIR'] ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
  return join(base, 'fixtures', 'xapi-db', name);
}

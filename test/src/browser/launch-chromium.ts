import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium package (scripts/install-system-deps.sh); Playwright never downloads a browser here. */
export const chromiumPath = process.env['XSCTL_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * The flags that keep Chromium quiet on a machine without a network: no background fetches,
 * no component updates, no sync, no QUIC, no first-run UI; --no-sandbox because tests run as root.
 */
export const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** base64(sha256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list pins. */
export async function spkiHash(certFile: string): Promise<string> {
  const cert = new X509Certificate(await readFile(certFile));
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile (--user-data-dir) that trusts exactly one server key: the
 * controller's, pinned by its SPKI hash, as an admin who imported the project CA would.
 */
export async function launchChromium(options: { trustCertFile: string }): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'xsctl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumFlags, `--ignore-certificate-errors-spki-list=${await spkiHash(options.trustCertFile)}`],
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

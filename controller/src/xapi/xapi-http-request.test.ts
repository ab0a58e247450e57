import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XapiClient } from './xapi-client.js';
import { emergencyTransitionToMaster } from './emergency-transition.js';
import { takeMetadataBackup } from '../prechecks/metadata-backup.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * Issue 10, defect 12, over https: XenServer's default certificate is self-signed. Every door that
 * carries the password (the xen-api login, the emergency slave-local login, the database dump)
 * must refuse it before sending anything, unless the pool's config sets allowUnauthorized. The
 * server here has a self-signed certificate made by openssl and counts what reaches it.
 */
let server: Server;
let url: string;
let dir: string;
const seen: Array<{ path: string; authorized: boolean }> = [];
const user = 'root';
const password = 'hunter2-xapi';

beforeAll(async () => {
  dir = await tempDir('xsctl-xapi-https-');
  const [key, cert] = [join(dir, 'xapi.key'), join(dir, 'xapi.crt')];
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  server = createServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', authorized: body.includes(password) || req.headers.authorization !== undefined });
      // What XAPI answers to a wrong password, in each protocol.
      if (req.method === 'GET') res.writeHead(401).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'SESSION_AUTHENTICATION_FAILED', data: [user, 'Authentication failure'] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => {
  server?.closeAllConnections();
  server?.close();
});

const doors = {
  login: (allowUnauthorized: boolean) => XapiClient.connect({ url, user, password, allowUnauthorized }),
  emergency: (allowUnauthorized: boolean) => emergencyTransitionToMaster({ hostUrl: url, user, password, allowUnauthorized, timeoutMs: 5000 }),
  dump: (allowUnauthorized: boolean) => takeMetadataBackup({ url, user, password, allowUnauthorized, timeoutMs: 5000 }, 'lab', join(dir, 'dumps')),
};

describe('XAPI over https with an unverifiable certificate', () => {
  it.each(Object.keys(doors) as Array<keyof typeof doors>)('%s: refused before the password is sent, unless allowUnauthorized', async (door) => {
    seen.length = 0;
    const refused = await doors[door](false).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error).message) + String((refused as Error).cause)).toMatch(/self[- ]signed/i);
    expect(seen).toEqual([]);

    const allowed = await doors[door](true).then(() => null, (e: unknown) => e);
    // It reached the server, with the password, and failed on the server's answer instead.
    expect(allowed).toBeInstanceOf(Error);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.authorized)).toBe(true);
  });
});

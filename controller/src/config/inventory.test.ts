import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@xsctl/common/errors/index';
import { loadControllerConfig } from './inventory.js';

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xsctl-inv-'));
  await writeFile(join(dir, 'xapi.pw'), 'p@ss word\n', { mode: 0o600 });
  const file = join(dir, 'controller.yaml');
  await writeFile(file, text);
  return file;
}

describe('controller inventory', () => {
  it('reads pools, resolves relative paths and reads the password file', async () => {
    const file = await configFile('tls: {ca: ca.crt, cert: c.crt, key: c.key}\npools:\n  - name: prod\n    xapi: {url: "https://10.0.0.1", passwordFile: xapi.pw}\n');
    const c = await loadControllerConfig(file);
    expect(c.pools).toEqual([{ name: 'prod', xapi: { url: 'https://10.0.0.1', user: 'root', password: 'p@ss word', allowUnauthorized: false }, agentPort: 7443 }]);
    expect(c.tls.ca).toBe(join(file, '..', 'ca.crt'));
    expect(c.listen).toBe('127.0.0.1:7444');
  });

  it.each([
    ['no pools', 'tls: {ca: a, cert: b, key: c}\npools: []\n', /non-empty/],
    ['a duplicate pool', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "http://x", password: y}}\n  - {name: p, xapi: {url: "http://x", password: y}}\n', /twice/],
    ['a non-URL', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "ftp://x", password: y}}\n', /URL/],
    ['no password', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "http://x"}}\n', /passwordFile/],
    ['a bad port', 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, agentPort: 70000, xapi: {url: "http://x", password: y}}\n', /agentPort/],
  ])('rejects %s with a ConfigError', async (_name, text, re) => {
    const err = await loadControllerConfig(await configFile(text)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
  });

  it('never puts the password in an error', async () => {
    const file = await configFile('tls: {ca: a, cert: b, key: c}\npools:\n  - {name: "bad name!", xapi: {url: "http://x", password: hunter2}}\n');
    const err = (await loadControllerConfig(file).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('hunter2');
  });
});

import { mkdir, copyFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { readOptionalFileSync, StatCachedFiles } from '../fs/stat-cached-files.js';
import { parseInventory } from './parse-inventory.js';
import { parsePoolConf } from './parse-pool-conf.js';
import { hostFactsReader } from './read-host-facts.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// The inventory layout is the one the XenServer 7.1 installer writes (KEY='value', one per line).
const fixture = new URL('./__fixtures__/xensource-inventory', import.meta.url);

async function sandbox(poolConf: string): Promise<SandboxRoot> {
  const root = await tempDir('xsctl-root-');
  await mkdir(join(root, 'etc/xensource'), { recursive: true });
  await mkdir(join(root, 'proc'), { recursive: true });
  await copyFile(fixture, join(root, 'etc/xensource-inventory'));
  await writeFile(join(root, 'etc/xensource/pool.conf'), poolConf);
  await writeFile(join(root, 'etc/hostname'), 'xs71-a\n');
  await writeFile(join(root, 'proc/uptime'), '35122.74 68012.11\n');
  return new SandboxRoot(root);
}

describe('hostFactsReader', () => {
  it('reads a master from a sandbox root', async () => {
    const facts = await hostFactsReader(await sandbox('master'))();
    expect(facts.hostname).toBe('xs71-a');
    expect(facts.productBrand).toBe('XenServer');
    expect(facts.productVersion).toBe('7.1.0');
    expect(facts.buildNumber).toBe('137272c');
    expect(facts.controlDomainUuid).toBe('0d0a3e0f-5c3e-4d5b-8e19-7f0b1a2f3c44');
    expect(facts.poolRole).toBe(PoolRole.POOL_ROLE_MASTER);
    expect(facts.masterAddress).toBe('');
    expect(facts.uptimeSeconds).toBeCloseTo(35122.74);
    expect(facts.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reads a slave and its master address (pool.conf has no trailing newline on XenServer)', async () => {
    const facts = await hostFactsReader(await sandbox('slave:10.80.224.75'))();
    expect(facts.poolRole).toBe(PoolRole.POOL_ROLE_SLAVE);
    expect(facts.masterAddress).toBe('10.80.224.75');
  });

  it('answers from held files while they are unchanged, and the new facts once one is rewritten in place (same size and mtime) or replaced', async () => {
    const root = await sandbox('slave:10.80.224.75');
    const poolConf = join(root.root, 'etc/xensource/pool.conf');
    const hostname = join(root.root, 'etc/hostname');
    // A whole-second mtime, so that it can be put back exactly after the rewrite below.
    const mtime = 1_700_000_000;
    await utimes(poolConf, mtime, mtime);
    // Held only once older than the racy window (2 s): ctime follows the clock, so wait.
    await new Promise((r) => setTimeout(r, 2_300));
    const reads: string[] = [];
    const files = new StatCachedFiles((p) => {
      reads.push(p);
      return readOptionalFileSync(p);
    });
    const read = hostFactsReader(root, files);
    for (let i = 0; i < 3; i++) expect((await read()).masterAddress).toBe('10.80.224.75');
    // Read once each (inventory, pool.conf, hostname), then answered from what is held.
    expect(reads).toHaveLength(3);
    // XAPI's new master written in place: same length, and the mtime put back as it was.
    await writeFile(poolConf, 'slave:10.80.224.76');
    await utimes(poolConf, mtime, mtime);
    expect((await stat(poolConf)).mtimeMs).toBe(mtime * 1000);
    const moved = await read();
    expect(moved.poolRole).toBe(PoolRole.POOL_ROLE_SLAVE);
    expect(moved.masterAddress).toBe('10.80.224.76');
    // A rename over the hostname (a new inode), then the host promoted to master.
    await writeFile(join(root.root, 'etc/hostname.new'), 'xs71-b\n');
    await rename(join(root.root, 'etc/hostname.new'), hostname);
    await writeFile(poolConf, 'master');
    const promoted = await read();
    expect(promoted.hostname).toBe('xs71-b');
    expect(promoted.poolRole).toBe(PoolRole.POOL_ROLE_MASTER);
    expect(promoted.masterAddress).toBe('');
  });

  it('answers after a turn of the event loop, never in the turn it was asked in (an answer in that turn is slower under Bun HTTP/2)', async () => {
    const root = await sandbox('master');
    const read = hostFactsReader(root, new StatCachedFiles());
    // Twice: the second call finds every /etc file held, so only /proc/uptime can give the turn.
    for (let i = 0; i < 2; i++) {
      const order: string[] = [];
      const facts = read().then(() => order.push('facts'));
      setImmediate(() => order.push('next turn'));
      await facts;
      expect(order).toEqual(['next turn', 'facts']);
    }
  });

  it('parses the inventory as data, never as shell', () => {
    const inv = parseInventory("PRODUCT_BRAND='XCP-ng'\nEVIL=$(reboot)\n# comment\nPRODUCT_VERSION=\"8.2.1\"\n");
    expect(inv).toEqual({ PRODUCT_BRAND: 'XCP-ng', EVIL: '$(reboot)', PRODUCT_VERSION: '8.2.1' });
  });

  it('does not guess a role from a malformed pool.conf', () => {
    expect(parsePoolConf('slave:')).toEqual({ role: 'unknown', raw: 'slave:' });
    expect(parsePoolConf('master\n')).toEqual({ role: 'master' });
  });

  it('keeps every path inside the root', async () => {
    const root = await sandbox('master');
    expect(() => root.resolve('/../../etc/shadow')).toThrow(/leaves the root/);
    expect(root.resolve('/etc/../etc/hostname')).toBe(`${root.root}/etc/hostname`);
    expect(() => root.resolve('etc/shadow')).toThrow(/not absolute/);
  });
});

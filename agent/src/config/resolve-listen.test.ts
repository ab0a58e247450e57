import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@xsctl/common/errors/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { defaultAgentConfig } from './agent-config.js';
import { resolveListen } from './resolve-listen.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const logger = createLogger('test', { level: 'silent' });

/** A root with an inventory, and `ip` played by a script that prints a captured CentOS 7 `ip addr show`. */
async function host(inventory: string) {
  const dir = await tempDir('xsctl-listen-');
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc/xensource-inventory'), inventory);
  const captured = await readFile(new URL('../network/__fixtures__/ip-addr-centos7.txt', import.meta.url), 'utf8');
  await writeFile(join(dir, 'ip-out.txt'), captured.slice(captured.indexOf('2: eth0')));
  const ip = join(dir, 'ip');
  await writeFile(ip, `#!/bin/sh\necho "$*" > ${join(dir, 'ip-args')}\ncat ${join(dir, 'ip-out.txt')}\n`);
  await chmod(ip, 0o755);
  return { dir, root: new SandboxRoot(dir), runner: new CommandRunner({ logger, paths: { ip } }) };
}

describe('the agent listens on the management address by default, not 0.0.0.0', () => {
  it('the default is management:7443', () => {
    expect(defaultAgentConfig.listen).toBe('management:7443');
  });

  it("resolves management:PORT to the management interface's IPv4 address", async () => {
    const h = await host("PRODUCT_BRAND='XCP-ng'\nMANAGEMENT_INTERFACE='eth0'\n");
    expect(await resolveListen('management:7443', h.root, h.runner)).toBe('10.211.55.171:7443');
    expect((await readFile(join(h.dir, 'ip-args'), 'utf8')).trim()).toBe('addr show dev eth0');
  });

  it('refuses to guess without a management interface, and keeps an explicit address as written', async () => {
    const h = await host("PRODUCT_BRAND='XCP-ng'\n");
    await expect(resolveListen('management:7443', h.root, h.runner)).rejects.toBeInstanceOf(ConfigError);
    expect(await resolveListen('10.0.0.5:7443', h.root, h.runner)).toBe('10.0.0.5:7443');
  });
});

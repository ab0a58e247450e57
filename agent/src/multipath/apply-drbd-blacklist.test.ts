import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { addDrbdToBlacklist, applyDrbdBlacklist, blacklistsDrbd, drbdBlacklistDropIn } from './apply-drbd-blacklist.js';
import { parseMultipathConf } from './multipath-conf.js';
import { readPlatform } from './platform.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const fixture = new URL('./__fixtures__/xs7-multipath.conf', import.meta.url);
const isRoot = process.getuid?.() === 0;

describe('the drbd blacklist (rule 8)', () => {
  it('sees a devnode pattern that already covers drbd (the fixture\'s "...|nbd|drbd)[0-9]*"), and one that does not', async () => {
    expect(blacklistsDrbd(await readFile(fixture, 'utf8'))).toBe(true);
    expect(blacklistsDrbd('blacklist {\n\tdevnode "^(ram|raw|loop)[0-9]*"\n}\n')).toBe(false);
    expect(blacklistsDrbd('defaults {\n\tuser_friendly_names no\n}\n')).toBe(false);
  });

  it('adds the devnode inside the existing blacklist with the file\'s indentation, or a new section', () => {
    const withSection = 'defaults {\n    user_friendly_names no\n}\nblacklist {\n    devnode "^(ram|raw|loop)[0-9]*"\n}\n';
    const out = addDrbdToBlacklist(withSection);
    expect(out).toBe('defaults {\n    user_friendly_names no\n}\nblacklist {\n    devnode "^(ram|raw|loop)[0-9]*"\n    devnode "^drbd[0-9]+"\n}\n');
    expect(blacklistsDrbd(out)).toBe(true);
    const fresh = addDrbdToBlacklist('defaults {\n\tuser_friendly_names no\n}\n');
    expect(fresh).toBe('defaults {\n\tuser_friendly_names no\n}\n\nblacklist {\n\tdevnode "^drbd[0-9]+"\n}\n');
    expect(parseMultipathConf(fresh).sections.map((s) => s.name)).toEqual(['defaults', 'blacklist']);
    expect(addDrbdToBlacklist('')).toBe('blacklist {\n\tdevnode "^drbd[0-9]+"\n}\n');
  });
});

async function sandbox(brand: string, version: string, conf: string | null): Promise<AgentContext> {
  const dir = await tempDir('xsctl-mpbl-');
  await mkdir(join(dir, 'etc/multipath/conf.d'), { recursive: true });
  await writeFile(join(dir, 'etc/xensource-inventory'), `PRODUCT_BRAND='${brand}'\nPRODUCT_VERSION='${version}'\n`);
  if (conf !== null) await writeFile(join(dir, 'etc/multipath.conf'), conf);
  const logger = pino({ level: 'silent' });
  return { root: new SandboxRoot(dir), runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' };
}

describe.skipIf(!isRoot)('ApplyDrbdBlacklist, validated by the real multipath -t', () => {
  it('XenServer 7: a dry run shows the diff; --yes writes multipath.conf (backup, validated); the second call changes nothing', async () => {
    const ctx = await sandbox('XenServer', '7.1.0', 'defaults {\n\tuser_friendly_names no\n}\nblacklist {\n\tdevnode "^(ram|raw|loop)[0-9]*"\n}\n');
    const platform = await readPlatform(ctx.root, ctx.runner);
    const dry = await applyDrbdBlacklist(ctx, platform, false);
    expect(dry).toMatchObject({ targetPath: '/etc/multipath.conf', changed: true, dryRun: true, commit: null });
    expect(dry.diff).toContain('+\tdevnode "^drbd[0-9]+"');
    const done = await applyDrbdBlacklist(ctx, platform, true);
    expect(done.commit?.validation).toMatchObject({ ok: true, newIssues: [] });
    expect(done.commit?.backupPath).toMatch(/^\/var\/lib\/xsctl-agent\/backups\/multipath\//);
    expect(blacklistsDrbd(await readFile(ctx.root.resolve('/etc/multipath.conf'), 'utf8'))).toBe(true);
    expect(await applyDrbdBlacklist(ctx, platform, true)).toMatchObject({ changed: false, alreadyIn: '/etc/multipath.conf' });
  });

  it('XCP-ng 8: a drop-in in conf.d; a stock file that already blacklists drbd is left alone', async () => {
    const ctx = await sandbox('XCP-ng', '8.2.1', 'defaults {\n\tuser_friendly_names no\n}\n');
    const platform = await readPlatform(ctx.root, ctx.runner);
    const done = await applyDrbdBlacklist(ctx, platform, true);
    expect(done).toMatchObject({ targetPath: drbdBlacklistDropIn, changed: true });
    expect(done.commit?.validation.ok).toBe(true);
    expect(await readFile(ctx.root.resolve(drbdBlacklistDropIn), 'utf8')).toContain('devnode "^drbd[0-9]+"');
    const stock = await sandbox('XenServer', '7.1.0', null);
    await copyFile(fixture, stock.root.resolve('/etc/multipath.conf'));
    expect(await applyDrbdBlacklist(stock, await readPlatform(stock.root, stock.runner), true)).toMatchObject({ changed: false, alreadyIn: '/etc/multipath.conf' });
  });
});

import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandRunner } from '../../exec/command-runner.js';
import { SandboxRoot } from '../../fs/sandbox-root.js';
import { namespaceHelper, runMultipathT } from '../validate-config.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// The helper is the compiled dist file (`npx tsc -b tsconfig.build.json` first), run the way the
// agent runs it: `unshare ... -- node HELPER ...` through the CommandRunner.
const runner = new CommandRunner({ logger: pino({ level: 'silent' }) });
const isRoot = process.getuid?.() === 0;

async function files(): Promise<{ conf: string; confd: string; scratch: string }> {
  const dir = await tempDir('xsctl-mpt-');
  const conf = join(dir, 'multipath.conf');
  await writeFile(conf, 'defaults {\n\tno_such_keyword 1\n}\n');
  await mkdir(join(dir, 'conf.d'));
  await mkdir(join(dir, 'scratch'));
  return { conf, confd: join(dir, 'conf.d'), scratch: join(dir, 'scratch') };
}

describe('multipath -t namespace helper (a Node program, no shell)', () => {
  it('is the compiled .js in dist, run by node, not a shell script', async () => {
    expect(namespaceHelper).toMatch(/\/agent\/dist\/multipath\/namespace\/multipath-t-in-namespace\.js$/);
    expect((await stat(namespaceHelper)).isFile()).toBe(true);
    expect(await readFile(namespaceHelper, 'utf8')).not.toMatch(/^#!/);
  });

  it('refuses to mount anything when unshare made no new mount namespace (exit 70)', async () => {
    const f = await files();
    const r = await runner.run('unshare', ['--', process.execPath, namespaceHelper, f.conf, f.confd, f.scratch], { okExitCodes: [70] });
    expect(r.exitCode).toBe(70);
    expect(r.stderr).toMatch(/refusing to run outside a private mount namespace/);
    expect(r.stdout).toBe('');
  });

  it('checks its arguments before anything else (usage 64, missing path 66)', async () => {
    const f = await files();
    const usage = await runner.run('unshare', ['--', process.execPath, namespaceHelper, f.conf, f.confd], { okExitCodes: [64] });
    expect(usage.stderr).toMatch(/usage: multipath-t-in-namespace CONF CONF_DIR SCRATCH_DIR/);
    const missing = await runner.run('unshare', ['--', process.execPath, namespaceHelper, `${f.conf}.nope`, f.confd, f.scratch], { okExitCodes: [66] });
    expect(missing.stderr).toMatch(/not a file: .*multipath\.conf\.nope/);
    const notDir = await runner.run('unshare', ['--', process.execPath, namespaceHelper, f.conf, f.conf, f.scratch], { okExitCodes: [66] });
    expect(notDir.stderr).toMatch(/not a directory: .*multipath\.conf/);
  });

  it('refuses sandbox paths the mount options could misread (comma, space)', async () => {
    const dir = await tempDir('xsctl mpt,');
    await expect(runMultipathT({ root: new SandboxRoot(dir), runner, stateDir: '/var/lib/xsctl-agent' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it.skipIf(!isRoot)("passes multipath -t's stdout, stderr and exit code through; the host's /etc and mounts are untouched", async () => {
    const f = await files();
    const mountsBefore = await readFile('/proc/self/mountinfo', 'utf8');
    const hostConf = await readFile('/etc/multipath.conf', 'utf8').catch(() => null);
    const r = await runner.run('unshare', ['--mount', '--', process.execPath, namespaceHelper, f.conf, f.confd, f.scratch]);
    expect(r.exitCode).toBe(0); // multipath -t exits 0 even on errors
    expect(r.stderr).toMatch(/\/etc\/multipath\.conf line 2, invalid keyword.*: no_such_keyword/);
    expect(r.stdout).toMatch(/^defaults \{\n/);
    expect(r.stdout).toMatch(/\ndevices \{\n/);
    expect(await readFile('/etc/multipath.conf', 'utf8').catch(() => null)).toBe(hostConf);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).toBe(mountsBefore);
  });

  // A dom0's unshare (util-linux 2.23) has no --propagation and leaves the new namespace's copies of
  // shared mounts in the host's peer groups; `--propagation unchanged` of this machine's unshare
  // does the same. The helper must make them private itself: without its `mount --make-rprivate /`
  // it refuses (exit 70, "still shared") wherever the host has a shared mount (here /run/netns,
  // which `ip netns` makes shared). Run with execa: the agent never passes --propagation.
  const sharedAtStart = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / shared:\d+/.test(l.split(' - ')[0] ?? '')).length;
  it.skipIf(!isRoot || sharedAtStart === 0)('makes the mounts private itself under an unshare that leaves them shared (util-linux 2.23)', async () => {
    const f = await files();
    const r = await execa('unshare', ['--mount', '--propagation', 'unchanged', '--', process.execPath, namespaceHelper, f.conf, f.confd, f.scratch], { reject: false });
    expect(r.stderr).not.toMatch(/still shared/);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/\/etc\/multipath\.conf line 2, invalid keyword.*: no_such_keyword/);
    // Nothing the helper mounted reached this namespace (other runs may add netns mounts meanwhile).
    expect((await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes('/etc/multipath') || l.includes('xsctl-mpt'))).toEqual([]);
  });
});

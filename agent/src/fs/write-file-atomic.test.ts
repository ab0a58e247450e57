import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './write-file-atomic.js';

const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-atomic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sandbox(name: string) {
  const root = join(dir, name);
  await mkdir(join(root, 'etc/multipath/conf.d'), { recursive: true });
  await mkdir(join(root, 'srv/config'), { recursive: true });
  return root;
}

describe('writeFileAtomic', () => {
  it('writes through a symlinked config to its target: the link stays a link, the backup holds the old text', async () => {
    const root = await sandbox('link');
    await writeFile(join(root, 'srv/config/multipath.conf'), 'old\n');
    await symlink('../srv/config/multipath.conf', join(root, 'etc/multipath.conf'));
    const r = await writeFileAtomic(join(root, 'etc/multipath.conf'), 'new\n', { backupDir: join(root, 'backups'), confineTo: root });
    expect((await lstat(join(root, 'etc/multipath.conf'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(root, 'etc/multipath.conf'))).toBe('../srv/config/multipath.conf');
    expect(await readFile(join(root, 'srv/config/multipath.conf'), 'utf8')).toBe('new\n');
    expect(r.path).toBe(join(root, 'srv/config/multipath.conf'));
    expect(await readFile(r.backup!, 'utf8')).toBe('old\n');
  });

  it('follows a chain of links and a dangling link (it names the file to create)', async () => {
    const root = await sandbox('chain');
    await symlink('/nowhere-yet', join(root, 'unused'));
    await symlink(join(root, 'srv/config/b.conf'), join(root, 'etc/a.conf'));
    await symlink('c.conf', join(root, 'srv/config/b.conf'));
    await writeFileAtomic(join(root, 'etc/a.conf'), 'x\n', { confineTo: root });
    expect(await readFile(join(root, 'srv/config/c.conf'), 'utf8')).toBe('x\n');
    expect((await lstat(join(root, 'etc/a.conf'))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(root, 'srv/config/b.conf'))).isSymbolicLink()).toBe(true);
  });

  it('refuses a link that leads outside the root, and writes nothing anywhere', async () => {
    const root = await sandbox('escape');
    const outside = join(dir, 'outside-victim');
    await writeFile(outside, 'victim\n');
    await symlink(outside, join(root, 'etc/multipath.conf'));
    await expect(writeFileAtomic(join(root, 'etc/multipath.conf'), 'pwned\n', { backupDir: join(root, 'backups'), confineTo: root })).rejects.toMatchObject({ code: 'PATH_ESCAPES_ROOT' });
    expect(await readFile(outside, 'utf8')).toBe('victim\n');
    // A symlinked directory on the way counts too.
    await symlink(dir, join(root, 'etc/tgt'));
    await expect(writeFileAtomic(join(root, 'etc/tgt/targets.conf'), 'pwned\n', { confineTo: root })).rejects.toMatchObject({ code: 'PATH_ESCAPES_ROOT' });
    expect((await readdir(dir)).includes('targets.conf')).toBe(false);
    expect(await readdir(root)).not.toContain('backups');
  });

  it('keeps the mode of the file it replaces, and only takes bits away when asked for a mode', async () => {
    const root = await sandbox('mode');
    const f = join(root, 'etc/lvm.conf');
    await writeFile(f, 'a\n');
    await chmod(f, 0o640);
    await writeFileAtomic(f, 'b\n', { confineTo: root });
    expect((await stat(f)).mode & 0o7777).toBe(0o640);
    await chmod(f, 0o644);
    await writeFileAtomic(f, 'c\n', { mode: 0o600, confineTo: root });
    expect((await stat(f)).mode & 0o7777).toBe(0o600);
    // A new file gets the mode asked for, whatever the umask.
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(root, 'etc/new.conf'), 'n\n', { mode: 0o644, confineTo: root });
    } finally {
      process.umask(old);
    }
    expect((await stat(join(root, 'etc/new.conf'))).mode & 0o7777).toBe(0o644);
  });

  it.skipIf(!isRoot)('keeps the owner of the file it replaces', async () => {
    const root = await sandbox('owner');
    const f = join(root, 'etc/targets.conf');
    await writeFile(f, 'a\n');
    await chown(f, 4321, 4322);
    await writeFileAtomic(f, 'b\n', { mode: 0o600, confineTo: root });
    const st = await stat(f);
    expect({ uid: st.uid, gid: st.gid }).toEqual({ uid: 4321, gid: 4322 });
  });

  it('fsyncs the directory of the real file after the rename (strace of a child process)', async () => {
    const strace = await execa('strace', ['-V'], { reject: false });
    expect(strace.exitCode, 'strace is needed for this test').toBe(0);
    const root = await sandbox('fsync');
    const realDir = join(root, 'srv/config');
    await writeFile(join(realDir, 'drbd.conf'), 'old\n');
    await symlink('../srv/config/drbd.conf', join(root, 'etc/drbd.conf'));
    const module = fileURLToPath(new URL('../../dist/fs/write-file-atomic.js', import.meta.url));
    const script = `const { writeFileAtomic } = await import(${JSON.stringify(module)}); await writeFileAtomic(${JSON.stringify(join(root, 'etc/drbd.conf'))}, 'new\\n', { confineTo: ${JSON.stringify(root)} });`;
    const r = await execa('strace', ['-f', '-qq', '-e', 'trace=openat,rename,renameat,renameat2,fsync,fdatasync', process.execPath, '--input-type=module', '-e', script], { reject: false, timeout: 60_000 });
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stderr.split('\n');
    const renameAt = lines.findIndex((l) => /rename/.test(l) && l.includes(`"${join(realDir, 'drbd.conf')}"`) && /= 0$/.test(l));
    expect(renameAt, 'rename onto the real file').toBeGreaterThan(-1);
    const opened = lines.slice(renameAt).map((l) => new RegExp(`openat\\(AT_FDCWD, "${realDir}", O_RDONLY[^)]*\\) = (\\d+)$`).exec(l)?.[1]).find((fd) => fd !== undefined);
    expect(opened, 'the real directory opened after the rename').toBeDefined();
    const fsyncAfter = lines.slice(renameAt).some((l) => new RegExp(`fsync\\(${opened}\\)\\s+= 0$`).test(l));
    expect(fsyncAfter).toBe(true);
  });
});

import { rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOptionalFileSync, StatCachedFiles } from './stat-cached-files.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

async function dir(): Promise<string> {
  return tempDir('xsctl-statcache-');
}

/** Sets a file's mtime (ctime moves to now: only mtime can be set). */
const age = async (file: string, secondsAgo: number) => {
  const t = new Date(Date.now() - secondsAgo * 1000);
  await utimes(file, t, t);
};

describe('StatCachedFiles', () => {
  it('answers an absent file (or a file under a non-directory) with null', async () => {
    const d = await dir();
    await writeFile(join(d, 'plain'), 'x');
    const files = new StatCachedFiles();
    expect(files.read(join(d, 'missing'))).toBeNull();
    expect(files.read(join(d, 'plain', 'below'))).toBeNull();
  });

  it('sees every in-place rewrite, even one that keeps the size and the mtime', async () => {
    const d = await dir();
    const f = join(d, 'pool.conf');
    await writeFile(f, 'master');
    await age(f, 60);
    const files = new StatCachedFiles();
    expect(files.read(f)).toBe('master');
    const before = await stat(f, { bigint: true });
    // Same length, and the mtime put back to what it was: only ctime (and the text) differ.
    await writeFile(f, 'slave:');
    await utimes(f, before.atime, before.mtime);
    expect(files.read(f)).toBe('slave:');
  });

  it('sees a file replaced by rename (a new inode), and a file removed', async () => {
    const d = await dir();
    const f = join(d, 'hostname');
    await writeFile(f, 'a\n');
    const files = new StatCachedFiles();
    expect(files.read(f)).toBe('a\n');
    await writeFile(join(d, 'next'), 'b\n');
    await rename(join(d, 'next'), f);
    expect(files.read(f)).toBe('b\n');
    await rename(f, join(d, 'gone'));
    expect(files.read(f)).toBeNull();
  });

  it('reads an unchanged file once when it is older than the racy window, on every call while it is younger', async () => {
    const d = await dir();
    const old = join(d, 'inventory');
    const young = join(d, 'hostname');
    await writeFile(old, "PRODUCT_BRAND='XCP-ng'\n");
    // A whole second, so that utimes can put it back exactly below.
    const oldMtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await utimes(old, oldMtime, oldMtime);
    await writeFile(young, 'xs1\n');
    // ctime follows the clock, not utimes: let the old file's ctime fall behind the window.
    await new Promise((r) => setTimeout(r, 2_300));
    await writeFile(young, 'xs1\n');
    const reads: string[] = [];
    const files = new StatCachedFiles((p) => {
      reads.push(p);
      return readOptionalFileSync(p);
    });
    for (let i = 0; i < 3; i++) {
      expect(files.read(old)).toBe("PRODUCT_BRAND='XCP-ng'\n");
      expect(files.read(young)).toBe('xs1\n');
    }
    expect(reads.filter((p) => p === old)).toHaveLength(1);
    expect(reads.filter((p) => p === young)).toHaveLength(3);

    // The held entry again, now rewritten in place with the same size and its mtime put back
    // (a whole second, exact): device, inode, size and mtime all match the held ones, so only
    // ctime (now, against one over 2 s old) tells the change.
    const held = await stat(old, { bigint: true });
    await writeFile(old, "PRODUCT_BRAND='XS-8.2'\n");
    await utimes(old, oldMtime, oldMtime);
    const after = await stat(old, { bigint: true });
    expect([after.ino, after.size, after.mtimeNs]).toEqual([held.ino, held.size, held.mtimeNs]);
    expect(files.read(old)).toBe("PRODUCT_BRAND='XS-8.2'\n");
  });

  it('parses a held file once and hands out that value; parses again after a change, and on every call while the file is young', async () => {
    const d = await dir();
    const old = join(d, 'pool.conf');
    const young = join(d, 'hostname');
    await writeFile(old, 'master');
    await age(old, 60);
    await writeFile(young, 'xs1');
    // ctime follows the clock, not utimes: let the old file's ctime fall behind the 2 s window.
    await new Promise((r) => setTimeout(r, 2_300));
    await writeFile(young, 'xs1');
    const parsed: string[] = [];
    const parse = (text: string) => {
      parsed.push(text);
      return { text };
    };
    const files = new StatCachedFiles();
    const first = files.readParsed(old, parse);
    expect(first).toEqual({ text: 'master' });
    expect(files.readParsed(old, parse)).toBe(first);
    expect(files.readParsed(old, parse)).toBe(first);
    expect(parsed).toEqual(['master']);
    // Another parser of the same file is not handed the first one's value.
    expect(files.readParsed(old, (t) => t.length)).toBe(6);
    // The young file: parsed on every call, as it is read on every call.
    parsed.length = 0;
    for (let i = 0; i < 3; i++) expect(files.readParsed(young, parse)).toEqual({ text: 'xs1' });
    expect(parsed).toEqual(['xs1', 'xs1', 'xs1']);
    // Rewritten in place (same size): the new text is parsed, not the held value handed out.
    parsed.length = 0;
    await writeFile(old, 'slave:');
    expect(files.readParsed(old, parse)).toEqual({ text: 'slave:' });
    expect(parsed).toEqual(['slave:']);
    // Gone: null, like read.
    await rename(old, join(d, 'gone'));
    expect(files.readParsed(old, parse)).toBeNull();
  });
});

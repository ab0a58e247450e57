import { execa } from 'execa';
import { mkdir, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readOptionalFile, syncReadMaxBytes } from './read-optional-file.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * readOptionalFile reads small regular files at once and everything else through the thread pool.
 * Nothing is kept between reads: each precheck sees the file as it is at that moment.
 */
async function dir(): Promise<string> {
  return tempDir('xsctl-readopt-');
}

describe('readOptionalFile', () => {
  it('null for an absent file and for a path under a regular file; the text of a present one', async () => {
    const d = await dir();
    await writeFile(join(d, 'crontab'), '*/5 * * * * root /usr/local/bin/sync\n');
    expect(await readOptionalFile(join(d, 'crontab'))).toBe('*/5 * * * * root /usr/local/bin/sync\n');
    expect(await readOptionalFile(join(d, 'missing'))).toBeNull();
    expect(await readOptionalFile(join(d, 'crontab', 'below'))).toBeNull();
  });

  it('sees a file rewritten a moment ago, in place with the same size and mtime, and one replaced by rename', async () => {
    const d = await dir();
    const f = join(d, 'pool.conf');
    await writeFile(f, 'master');
    expect(await readOptionalFile(f)).toBe('master');
    const before = await stat(f);
    await writeFile(f, 'slave:');
    await utimes(f, before.atime, before.mtime);
    expect(await readOptionalFile(f)).toBe('slave:');
    await writeFile(join(d, 'next'), 'master');
    await rename(join(d, 'next'), f);
    expect(await readOptionalFile(f)).toBe('master');
  });

  it('a file larger than the synchronous limit is read whole (through the thread pool)', async () => {
    const d = await dir();
    const f = join(d, 'big');
    const text = 'x'.repeat(syncReadMaxBytes + 10);
    await writeFile(f, text);
    expect(await readOptionalFile(f)).toBe(text);
  });

  it('a FIFO does not block the agent: the event loop runs until a writer comes, then its text is returned', async () => {
    const d = await dir();
    const fifo = join(d, 'fifo');
    await execa('mkfifo', [fifo]);
    let settled = false;
    const reading = readOptionalFile(fifo).finally(() => {
      settled = true;
    });
    // A timer fires while the read waits for a writer: nothing blocked the event loop.
    await sleep(30);
    expect(settled).toBe(false);
    await writeFile(fifo, 'from a pipe');
    expect(await reading).toBe('from a pipe');
  });

  it('a directory is an error (EISDIR), not an absent file', async () => {
    const d = await dir();
    await mkdir(join(d, 'cron.d'));
    await expect(readOptionalFile(join(d, 'cron.d'))).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('an aborted signal: the read is refused, as the promise API refuses it', async () => {
    const d = await dir();
    await writeFile(join(d, 'f'), 'x');
    const ac = new AbortController();
    ac.abort();
    await expect(readOptionalFile(join(d, 'f'), ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

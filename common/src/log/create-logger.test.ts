import { readFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';
import { tempDir } from '../testing/temp-dir.js';

// Closed only at the end: a closed fd number is reused at once, and a logger still holding it
// would write into the next test's file.
const opened: number[] = [];
afterAll(() => opened.forEach((fd) => closeSync(fd)));

describe('logger', () => {
  it('redacts secrets wherever they sit in a log object', async () => {
    const file = join(await tempDir('xsctl-log-'), 'log.json');
    const fd = openSync(file, 'w');
    const log = createLogger('t', { destination: fd, level: 'info' });
    log.info({ pool: { name: 'p', password: 'hunter2' }, chap: { chapPassword: 's3cret' }, sharedSecret: 'drbd-secret' }, 'hello');
    await new Promise<void>((resolve, reject) => log.flush((err) => (err ? reject(err) : resolve())));
    opened.push(fd);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('"name":"p"');
    for (const secret of ['hunter2', 's3cret', 'drbd-secret']) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(3);
  });

  it('redacts at any depth, not only two levels down, and survives cycles', async () => {
    const file = join(await tempDir('xsctl-log-'), 'log.json');
    const fd = openSync(file, 'w');
    const log = createLogger('t', { destination: fd, level: 'info' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    log.info(
      {
        request: { spec: { target: { incomingUser: { user: 'xsinit', password: 'deep-chap-s3cret' } } } },
        hosts: [{ xapi: { auth: { credentials: 'list-cred' } } }],
        a: { b: { c: { d: { e: { sharedSecret: 'drbd-deep' } } } } },
        cyclic,
      },
      'deep',
    );
    await new Promise<void>((resolve, reject) => log.flush((err) => (err ? reject(err) : resolve())));
    opened.push(fd);
    const text = await readFile(file, 'utf8');
    for (const secret of ['deep-chap-s3cret', 'list-cred', 'drbd-deep']) expect(text).not.toContain(secret);
    const line = JSON.parse(text) as { request: { spec: { target: { incomingUser: { user: string; password: string } } } }; cyclic: { self: string } };
    expect(line.request.spec.target.incomingUser).toEqual({ user: 'xsinit', password: '[redacted]' });
    expect(line.cyclic.self).toBe('[circular]');
  });
});

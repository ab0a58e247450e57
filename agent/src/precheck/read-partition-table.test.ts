import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSfdiskJson } from './parse-sfdisk.js';
import { crc32, readPartitionTable } from './read-partition-table.js';

/**
 * The reader against the real util-linux sfdisk as the oracle: each image is partitioned by
 * sfdisk, then read back by `sfdisk -J` and by our reader, and the two must agree entry by entry.
 */

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const sectors = (bytes: number) => bytes / 512;
let dir: string;
// Debian's sfdisk makes the images and is the oracle; the agent itself never runs sfdisk.
const sfdiskRun = async (args: string[], input?: string): Promise<string> => (await execa('sfdisk', args, input === undefined ? {} : { input })).stdout;

async function image(name: string, sizeBytes: number, script: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, '');
  await truncate(file, sizeBytes);
  await sfdiskRun(['--no-reread', '--no-tell-kernel', '-q', file], script);
  return file;
}

async function both(file: string, sizeBytes: number) {
  const oracle = parseSfdiskJson(await sfdiskRun(['-J', file]));
  const ours = await readPartitionTable(file, { sectorSize: 512, sizeBytes });
  return { oracle, ours };
}

const rows = (t: Awaited<ReturnType<typeof both>>['ours']) => t.partitions.map((p) => [p.number, p.node, p.start, p.size, p.type, p.name, p.uuid, p.bootable]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-ptable-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readPartitionTable agrees with sfdisk -J', () => {
  it('MBR: the field report\'s 5-sector type-de partition at sector 63, a bootable root, an LVM SR', async () => {
    const file = await image('dell.img', 60 * GiB, `label: dos\nstart=63, size=5, type=de\nstart=2048, size=${sectors(4 * GiB)}, type=83, bootable\nstart=${2048 + sectors(4 * GiB)}, type=8e\n`);
    const { oracle, ours } = await both(file, 60 * GiB);
    expect(ours.label).toBe('dos');
    expect(rows(ours)).toEqual(rows(oracle));
    // Facts from the script above, not from the reader.
    expect(ours.partitions[0]).toMatchObject({ number: 1, start: 63, size: 5, type: 'de', bootable: false });
    expect(ours.partitions[1]).toMatchObject({ number: 2, start: 2048, bootable: true, type: '83' });
  });

  it('MBR with an extended partition: logical partitions numbered from 5 through the EBR chain', async () => {
    const file = await image(
      'ext.img',
      8 * GiB,
      `label: dos\nstart=2048, size=${sectors(512 * MiB)}, type=83\nstart=${2048 + sectors(512 * MiB)}, type=5\nsize=${sectors(256 * MiB)}, type=82\nsize=${sectors(128 * MiB)}, type=de\ntype=8e\n`,
    );
    const { oracle, ours } = await both(file, 8 * GiB);
    expect(rows(ours)).toEqual(rows(oracle));
    expect(ours.partitions.map((p) => [p.number, p.type])).toEqual([[1, '83'], [2, '5'], [5, '82'], [6, 'de'], [7, '8e']]);
  });

  it('GPT with names, GUID types and unique GUIDs, on a disk whose name ends in a digit', async () => {
    const file = await image(
      'disk0',
      4 * GiB,
      `label: gpt\nstart=2048, size=${sectors(32 * MiB)}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="DELLUTILITY"\nsize=${sectors(512 * MiB)}, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"\ntype=E6D6D379-F507-44C2-A23C-238F2A3DF928\n`,
    );
    const { oracle, ours } = await both(file, 4 * GiB);
    expect(ours.label).toBe('gpt');
    expect(rows(ours)).toEqual(rows(oracle));
    expect([ours.firstLba, ours.lastLba]).toEqual([oracle.firstLba, oracle.lastLba]);
    expect(ours.partitions[0]).toMatchObject({ node: `${file}p1`, name: 'DELLUTILITY', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' });
    // 4 GiB of 512-byte sectors, less the 33-sector backup table and header: last usable LBA.
    expect(ours.lastLba).toBe(sectors(4 * GiB) - 34);
  });

  it('GPT whose primary header is damaged: falls back to the backup header in the last sector, as sfdisk does', async () => {
    const file = await image('gpt-bad.img', GiB, `label: gpt\nstart=2048, size=${sectors(64 * MiB)}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"\n`);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('XXXX'), 0, 4, 512 + 0x20); // inside the primary header: its CRC no longer matches
    await fh.close();
    const ours = await readPartitionTable(file, { sectorSize: 512, sizeBytes: GiB });
    expect(ours.partitions.map((p) => [p.number, p.start, p.size, p.name])).toEqual([[1, 2048, sectors(64 * MiB), 'root']]);
    await expect(readPartitionTable(file, { sectorSize: 512 })).rejects.toThrow(/fails its CRC/);
  });

  it('refuses a disk with no partition table', async () => {
    const file = join(dir, 'blank.img');
    await writeFile(file, '');
    await truncate(file, MiB);
    await expect(readPartitionTable(file, { sectorSize: 512 })).rejects.toThrow(/no partition table/);
  });
});

describe('crc32', () => {
  it('matches the published check value of CRC-32/ISO-HDLC', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

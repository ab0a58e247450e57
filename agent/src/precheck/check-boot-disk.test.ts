import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { classifyLayout } from './assess-disk.js';
import { diskOfPartition, partitionDevice } from './boot-disk.js';
import { parseSfdiskDump, parseSfdiskJson } from './parse-sfdisk.js';
import { runPrechecks } from './run-prechecks.js';

/**
 * Disk images are sparse files partitioned by the real util-linux sfdisk; the agent reads them
 * back with its own MBR/GPT reader, and `sfdisk -J`/`-d` serve as the oracle.
 */

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const sectors = (bytes: number) => bytes / 512;
let dir: string;
const runner = new CommandRunner({ logger: pino({ level: 'silent' }) });
// Debian's sfdisk makes the images and serves as the oracle; the agent itself never runs sfdisk.
const sfdiskRun = async (args: string[], input?: string): Promise<string> => (await execa('sfdisk', args, input === undefined ? {} : { input })).stdout;

async function image(name: string, sizeBytes: number, script: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, '');
  await truncate(file, sizeBytes);
  await sfdiskRun(['--no-reread', '--no-tell-kernel', '-q', file], script);
  return file;
}

const sfdisk = async (...args: string[]): Promise<string> => await sfdiskRun(args);

async function sandbox(): Promise<SandboxRoot> {
  return new SandboxRoot(await mkdtemp(join(dir, 'root-')));
}

async function diskFindings(bootDisk: string, root?: SandboxRoot): Promise<Record<string, PrecheckFinding>> {
  const r = root ?? (await sandbox());
  const findings = await runPrechecks(
    { root: r, runner, stateDir: '/var/lib/xsctl-agent', now: () => new Date(), live: false, ...(bootDisk === '' ? {} : { bootDiskOverride: bootDisk }) },
    new Set(['dell-utility-partition', 'partition-layout']),
  );
  return Object.fromEntries(findings.map((f) => [f.id, f]));
}

// The XenServer 7 GPT layout as the installer writes it (partition order on disk 5,2,1,4,6,3),
// with the sector numbers of the field report's `fdisk -l /dev/sda` of a 146 GB disk.
const xs7Layout = [
  'label: gpt',
  `start=46139392, size=${83888127 - 46139392 + 1}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`, // 1 root 18G
  `start=8390656, size=${46139391 - 8390656 + 1}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`, // 2 backup 18G
  `start=87033856, size=${285474782 - 87033856 + 1}, type=E6D6D379-F507-44C2-A23C-238F2A3DF928`, // 3 SR (LVM)
  `start=83888128, size=${84936703 - 83888128 + 1}, type=21686148-6449-6E6F-744E-656564454649`, // 4 BIOS boot 512M
  `start=2048, size=${8390655 - 2048 + 1}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`, // 5 logs 4G
  `start=84936704, size=${87033855 - 84936704 + 1}, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F`, // 6 swap 1G
  '',
].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-disk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Dell utility partition', () => {
  it('blocks on a five-sector type-de partition at sector 63 (the field report\'s sda1)', async () => {
    const disk = await image('dell-63.img', 60 * GiB, `label: dos\nstart=63, size=5, type=de\nstart=2048, size=${sectors(4 * GiB)}, type=83, bootable\nstart=${2048 + sectors(4 * GiB)}, size=${sectors(4 * GiB)}, type=83\nstart=${2048 + sectors(8 * GiB)}, type=8e\n`);
    const json = parseSfdiskJson(await sfdisk('-J', disk));
    expect(json.partitions[0]).toMatchObject({ number: 1, start: 63, size: 5, type: 'de' });

    const f = await diskFindings(disk);
    const dell = f['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
    expect(dell.details?.$case).toBe('dellUtility');
    const d = dell.details?.$case === 'dellUtility' ? dell.details.value : undefined;
    expect(d).toMatchObject({ present: true, label: 'dos', blocksBootloader: true, embeddingAreaBytes: 62 * 512 });
    expect(d?.partition).toMatchObject({ number: 1, startSector: 63, sizeSectors: 5, sizeBytes: 2560, type: 'de', role: 'dell-utility' });
    expect(dell.fix).toContain(`fdisk ${disk}`);
    expect(dell.fix).toMatch(/never does this for you/);
    expect(dell.evidence.join('\n')).toContain("read with the agent's own MBR reader");
    // The layout behind it is still recognised: root and backup of 4 GB after the utility partition.
    const layout = f['partition-layout']!;
    expect(layout.details?.$case === 'partitionLayout' && layout.details.value.layout).toBe('legacy-4g');
  });

  it('blocks on an aligned type-de first partition too: the report blames the partition being first, not its alignment', async () => {
    const disk = await image('dell-aligned.img', 60 * GiB, `label: dos\nstart=2048, size=${sectors(32 * MiB)}, type=de\nstart=${2048 + sectors(32 * MiB)}, size=${sectors(4 * GiB)}, type=83, bootable\n`);
    const dell = (await diskFindings(disk))['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
    const d = dell.details?.$case === 'dellUtility' ? dell.details.value : undefined;
    expect(d).toMatchObject({ present: true, firstOnDisk: true, blocksBootloader: true, embeddingAreaBytes: 2047 * 512, partitionDevice: `${disk}1` });
    expect(d?.partition).toMatchObject({ number: 1, sizeBytes: 32 * MiB });
    expect(dell.summary).toContain(`delete ${disk}1 first`);
  });

  it('blocks on a GPT partition named DELLUTILITY first on the disk (UEFI boots fail the same way)', async () => {
    const disk = await image(
      'dell-gpt.img',
      60 * GiB,
      `label: gpt\nstart=2048, size=${sectors(32 * MiB)}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="DELLUTILITY"\nstart=${2048 + sectors(32 * MiB)}, size=${sectors(3584 * MiB)}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=${2048 + sectors(32 * MiB + 3584 * MiB)}, size=${sectors(4 * GiB)}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=${2048 + sectors(32 * MiB + 3584 * MiB + 4 * GiB)}, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\n`,
    );
    const f = await diskFindings(disk);
    const dell = f['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
    const d = dell.details?.$case === 'dellUtility' ? dell.details.value : undefined;
    expect(d).toMatchObject({ present: true, label: 'gpt', firstOnDisk: true, blocksBootloader: true });
    expect(d?.partition).toMatchObject({ number: 1, name: 'DELLUTILITY', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', sizeBytes: 32 * MiB });
    const layout = f['partition-layout']!.details;
    expect(layout?.$case === 'partitionLayout' && layout.value.partitions.map((p) => p.role)).toEqual(['dell-utility', 'root', 'backup', 'sr']);
  });

  it('warns (no blocker) when the utility partition is on the disk but not first: not the case the report describes', async () => {
    // Numbered 1 but placed after the root partition: "first" is where it sits, not its number.
    const disk = await image('dell-late.img', 60 * GiB, `label: dos\nstart=${2048 + sectors(4 * GiB)}, size=${sectors(32 * MiB)}, type=de\nstart=2048, size=${sectors(4 * GiB)}, type=83, bootable\n`);
    const dell = (await diskFindings(disk))['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(dell.details?.$case === 'dellUtility' && dell.details.value).toMatchObject({ present: true, firstOnDisk: false, blocksBootloader: false, partitionDevice: `${disk}1` });
  });

  it.each([
    ['/dev/cciss/c0d0', '/dev/cciss/c0d0p2', '/dev/cciss/c0d0p1'],
    ['/dev/nvme0n1', '/dev/nvme0n1p2', '/dev/nvme0n1p1'],
    ['/dev/sda', '/dev/sda2', '/dev/sda1'],
  ])('names the partition to delete on %s the way the kernel does (%s is /)', async (bootDisk, rootPartition, utility) => {
    const root = await sandbox();
    await mkdir(join(root.root, 'proc'), { recursive: true });
    await mkdir(join(root.root, bootDisk.slice(1, bootDisk.lastIndexOf('/'))), { recursive: true });
    await writeFile(join(root.root, 'proc/mounts'), `${rootPartition} / ext3 rw,relatime 0 0\n`);
    const file = join(root.root, bootDisk.slice(1));
    await writeFile(file, '');
    await truncate(file, 60 * GiB);
    await sfdiskRun(['-q', file], 'label: dos\nstart=63, size=5, type=de\nstart=2048, type=83\n');
    const dell = (await diskFindings('', root))['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
    expect(dell.details?.$case === 'dellUtility' && dell.details.value.partitionDevice).toBe(utility);
    expect(dell.summary).toContain(`delete ${utility} first`);
    expect(dell.fix).toContain(`dd if=${utility} of=`);
    expect(dell.fix).toContain(`\`fdisk ${bootDisk}\``);
  });

  it('reports no utility partition on the XenServer 7 layout', async () => {
    const disk = await image('xs7.img', 146163105792, xs7Layout);
    const f = await diskFindings(disk);
    expect(f['dell-utility-partition']!.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_INFO);
    expect(f['dell-utility-partition']!.summary).toMatch(/no Dell utility partition/);
  });
});

describe('partition device names (kernel rule: "p" after a name ending in a digit)', () => {
  it.each([
    ['/dev/sda', 1, '/dev/sda1'],
    ['/dev/cciss/c0d0', 1, '/dev/cciss/c0d0p1'],
    ['/dev/nvme0n1', 1, '/dev/nvme0n1p1'],
    ['/dev/mmcblk0', 2, '/dev/mmcblk0p2'],
    ['/dev/xvda', 3, '/dev/xvda3'],
    ['/dev/disk/by-id/scsi-36001405abc', 1, '/dev/disk/by-id/scsi-36001405abc-part1'],
  ])('%s partition %d is %s, and back', (disk, n, device) => {
    expect(partitionDevice(disk, n)).toBe(device);
    expect(diskOfPartition(device)).toBe(disk);
  });
});

describe('partition layout', () => {
  it('recognises the XenServer 7 GPT layout from the field report', async () => {
    const disk = await image('xs7-layout.img', 146163105792, xs7Layout);
    const layout = (await diskFindings(disk))['partition-layout']!;
    expect(layout.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_INFO);
    const d = layout.details?.$case === 'partitionLayout' ? layout.details.value : undefined;
    expect(d?.layout).toBe('xs7-gpt');
    expect(d?.diskSizeBytes).toBe(146163105792);
    expect(d?.meetsDiskRecommendation).toBe(true);
    expect(d?.localSrOnBootDisk).toBe(true);
    expect(d?.partitions.map((p) => [p.number, p.role])).toEqual([[1, 'root'], [2, 'backup'], [3, 'sr'], [4, 'boot'], [5, 'logs'], [6, 'swap']]);
    expect(d?.partitions.find((p) => p.number === 3)?.sizeBytes).toBe((285474782 - 87033856 + 1) * 512);
  });

  it('reads the same table from `sfdisk -d` (the fallback for sfdisk without -J)', async () => {
    const disk = await image('xs7-dump.img', 146163105792, xs7Layout);
    const dump = parseSfdiskDump(await sfdisk('-d', disk));
    const json = parseSfdiskJson(await sfdisk('-J', disk));
    expect(dump.label).toBe('gpt');
    expect(dump.partitions.map((p) => [p.number, p.start, p.size, p.type])).toEqual(json.partitions.map((p) => [p.number, p.start, p.size, p.type]));
    expect(classifyLayout(dump, 146163105792).layout).toBe('xs7-gpt');
  });

  it('reads the dump of old sfdisk (util-linux 2.23, XenServer 7 dom0), which has no label and writes Id=', () => {
    // The format host-installer's DOSPartitionTool parses from `sfdisk -Ld`.
    const old = ['# partition table of /dev/sda', 'unit: sectors', '', '/dev/sda1 : start=       63, size=        5, Id=de', '/dev/sda2 : start=     2048, size=  8388608, Id=83, bootable', '/dev/sda3 : start=  8390656, size=  8388608, Id=83', '/dev/sda4 : start=        0, size=        0, Id= 0', ''].join('\n');
    const t = parseSfdiskDump(old);
    expect(t.label).toBe('dos');
    expect(t.partitions.map((p) => [p.number, p.start, p.size, p.type, p.bootable])).toEqual([
      [1, 63, 5, 'de', false],
      [2, 2048, 8388608, '83', true],
      [3, 8390656, 8388608, '83', false],
    ]);
  });

  it('reads the legacy 4 GB + 4 GB layout, the 46 GB recommendation and safe2upgrade', async () => {
    const legacy = `label: dos\nstart=2048, size=${sectors(4 * GiB)}, type=83, bootable\nstart=${2048 + sectors(4 * GiB)}, size=${sectors(4 * GiB)}, type=83\nstart=${2048 + sectors(8 * GiB)}, type=8e\n`;
    const small = await image('legacy-small.img', 40 * GiB, legacy);
    let layout = (await diskFindings(small))['partition-layout']!;
    let d = layout.details?.$case === 'partitionLayout' ? layout.details.value : undefined;
    expect(d).toMatchObject({ layout: 'legacy-4g', meetsDiskRecommendation: false, safe2upgrade: false, localSrOnBootDisk: true });
    expect(layout.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(layout.summary).toMatch(/too small for the XenServer 7 layout/);

    const big = await image('legacy-big.img', 250 * GiB, legacy);
    layout = (await diskFindings(big))['partition-layout']!;
    expect(layout.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_INFO);
    expect(layout.fix).toContain('touch /var/preserve/safe2upgrade');

    const root = await sandbox();
    await mkdir(join(root.root, 'var/preserve'), { recursive: true });
    await writeFile(join(root.root, 'var/preserve/safe2upgrade'), '');
    layout = (await diskFindings(big, root))['partition-layout']!;
    d = layout.details?.$case === 'partitionLayout' ? layout.details.value : undefined;
    expect(d?.safe2upgrade).toBe(true);
    expect(layout.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(layout.summary).toMatch(/destroys the local SR/);
    expect(layout.evidence).toContain('/var/preserve/safe2upgrade present');

    layout = (await diskFindings(small, root))['partition-layout']!;
    expect(layout.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
  });

  it('finds the boot disk from the root mount inside a sandbox tree', async () => {
    const root = await sandbox();
    await mkdir(join(root.root, 'proc'), { recursive: true });
    await mkdir(join(root.root, 'dev'), { recursive: true });
    await writeFile(join(root.root, 'proc/mounts'), 'rootfs / rootfs rw 0 0\n/dev/sda1 / ext3 rw,relatime,errors=continue,barrier=1,data=ordered 0 0\nproc /proc proc rw,relatime 0 0\n/dev/sda5 /var/log ext3 rw,relatime 0 0\n');
    const disk = join(root.root, 'dev/sda');
    await writeFile(disk, '');
    await truncate(disk, 60 * GiB);
    await sfdiskRun(['-q', disk], 'label: dos\nstart=63, size=5, type=de\nstart=2048, type=83\n');
    const dell = (await diskFindings('', root))['dell-utility-partition']!;
    expect(dell.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER);
    expect(dell.evidence[0]).toContain('boot disk /dev/sda (/ is mounted from /dev/sda1 (/proc/mounts))');
    expect(dell.fix).toContain('fdisk /dev/sda');
  });

  it('turns an unreadable boot disk into warnings, not a failed run', async () => {
    const f = await diskFindings(join(dir, 'no-such.img'));
    expect(f['dell-utility-partition']!.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(f['dell-utility-partition']!.error).toMatch(/no such file/i);
    expect(f['partition-layout']!.error).not.toBe('');
    const blank = join(dir, 'blank.img');
    await writeFile(blank, '');
    await truncate(blank, MiB);
    expect((await diskFindings(blank))['dell-utility-partition']!.error).toMatch(/no partition table/);
  });
});

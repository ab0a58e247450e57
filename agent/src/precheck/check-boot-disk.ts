import { readlink, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { XsctlError } from '@xsctl/common/errors/index';
import { parseInventory } from '../host/parse-inventory.js';
import { assessDellUtility, classifyLayout, formatBytes, recommendedDiskBytes } from './assess-disk.js';
import { deviceMountedAt, diskOfPartition, parseProcMounts, partitionDevice } from './boot-disk.js';
import type { PartitionTable } from './partition-table.js';
import { readPartitionTable } from './read-partition-table.js';
import { BLOCKER, INFO, WARNING, failedFinding, finding, readOptional, type PrecheckContext } from './precheck-context.js';

export const safe2upgradePath = '/var/preserve/safe2upgrade';

export interface BootDiskProbe {
  /** How the disk was found, for the evidence. */
  source: string;
  /** The disk as the host names it (/dev/sda), or the override file. */
  disk: string;
  table: PartitionTable;
  /** How the table was read, for the evidence. */
  readWith: string;
  sizeBytes: number;
}

export class BootDiskNotFoundError extends XsctlError {
  readonly code = 'BOOT_DISK_NOT_FOUND';

  constructor(readonly reason: string) {
    super(`boot disk not found: ${reason}`);
  }
}

/** The boot disk as a host path, from / in /proc/mounts, else PRIMARY_DISK in the inventory. */
async function locateBootDisk(ctx: PrecheckContext): Promise<{ disk: string; source: string }> {
  const mounts = parseProcMounts((await readOptional(ctx.root.resolve('/proc/mounts'), ctx.signal)) ?? '');
  const rootDevice = deviceMountedAt(mounts, '/');
  if (rootDevice !== undefined) {
    const disk = diskOfPartition(rootDevice);
    if (disk !== undefined) return { disk, source: `/ is mounted from ${rootDevice} (/proc/mounts)` };
  }
  const inventory = parseInventory((await readOptional(ctx.root.resolve('/etc/xensource-inventory'), ctx.signal)) ?? '');
  const primary = inventory['PRIMARY_DISK'];
  if (primary !== undefined && primary.startsWith('/dev/')) return { disk: primary, source: `PRIMARY_DISK in /etc/xensource-inventory` };
  throw new BootDiskNotFoundError(
    rootDevice === undefined ? 'no / entry in /proc/mounts and no PRIMARY_DISK in /etc/xensource-inventory' : `/ is on ${rootDevice}, which is not a disk partition, and the inventory has no PRIMARY_DISK`,
  );
}

/** Size and logical sector size: an image's file size (512-byte sectors), a device's from sysfs. */
async function geometryOf(ctx: PrecheckContext, localPath: string): Promise<{ sizeBytes: number | undefined; sectorSize: number }> {
  const st = await stat(localPath);
  if (st.isFile()) return { sizeBytes: st.size, sectorSize: 512 };
  if (st.isBlockDevice()) {
    // /sys/class/block/<name>/size counts 512-byte sectors whatever the logical sector size.
    const name = basename(await realpath(localPath));
    const sectors = Number(((await readOptional(ctx.root.resolve(`/sys/class/block/${name}/size`), ctx.signal)) ?? '').trim());
    const logical = Number(((await readOptional(ctx.root.resolve(`/sys/class/block/${name}/queue/logical_block_size`), ctx.signal)) ?? '').trim());
    return { sizeBytes: Number.isFinite(sectors) && sectors > 0 ? sectors * 512 : undefined, sectorSize: logical === 4096 ? 4096 : 512 };
  }
  return { sizeBytes: undefined, sectorSize: 512 };
}

/** Read from the disk itself: a dom0's sfdisk (util-linux 2.23) has no -J and no GPT. */
async function readTable(ctx: PrecheckContext, localPath: string, disk: string): Promise<{ table: PartitionTable; readWith: string; sizeBytes: number }> {
  const { sizeBytes, sectorSize } = await geometryOf(ctx, localPath);
  const table = await readPartitionTable(localPath, { device: disk, sectorSize, ...(sizeBytes === undefined ? {} : { sizeBytes }), ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) });
  const readWith = `the agent's own ${table.label === 'gpt' ? 'GPT' : 'MBR'} reader (no sfdisk)`;
  // GPT records the last usable LBA; 33 sectors of backup table follow it.
  const size = sizeBytes ?? (table.lastLba === undefined ? 0 : (table.lastLba + 34) * table.sectorSize);
  return { table, readWith, sizeBytes: size };
}

export async function probeBootDisk(ctx: PrecheckContext): Promise<BootDiskProbe> {
  let disk: string;
  let source: string;
  let localPath: string;
  if (ctx.bootDiskOverride !== undefined) {
    disk = ctx.bootDiskOverride;
    source = '--boot-disk';
    localPath = ctx.bootDiskOverride;
  } else {
    ({ disk, source } = await locateBootDisk(ctx));
    localPath = ctx.root.resolve(disk);
    // /dev/disk/by-id links are absolute (/dev/sda): keep them inside the root.
    const link = await readlink(localPath).catch(() => undefined);
    if (link !== undefined && link.startsWith('/')) localPath = ctx.root.resolve(link);
  }
  const { table, readWith, sizeBytes } = await readTable(ctx, localPath, disk);
  return { source, disk, table, readWith, sizeBytes };
}

const fdiskFix = (disk: string, n: number): string => {
  const part = partitionDevice(disk, n);
  return `delete ${part} before upgrading, as the field report did: back it up (\`dd if=${part} of=/root/dell-utility-p${n}.img\`), then \`fdisk ${disk}\`, \`d\`, \`${n}\`, \`w\` (possible live, before the upgrade). xsctl never does this for you.`;
};

export function dellUtilityFinding(probe: BootDiskProbe): PrecheckFinding {
  const a = assessDellUtility(probe.table);
  const evidence = [`boot disk ${probe.disk} (${probe.source}), ${probe.table.label} label, read with ${probe.readWith}`];
  if (probe.table.label !== 'gpt') evidence.push(`${formatBytes(a.embeddingAreaBytes)} free before the first partition (GRUB's embedding area)`);
  const part = a.partition === undefined ? '' : partitionDevice(probe.disk, a.partition.number);
  const details = {
    $case: 'dellUtility' as const,
    value: {
      bootDisk: probe.disk,
      label: probe.table.label,
      present: a.present,
      partition: a.partition,
      embeddingAreaBytes: a.embeddingAreaBytes,
      blocksBootloader: a.blocksBootloader,
      partitionDevice: part,
      firstOnDisk: a.first,
    },
  };
  if (!a.present || a.partition === undefined) {
    return finding('dell-utility-partition', INFO, `no Dell utility partition on ${probe.disk}`, evidence, '', details);
  }
  const p = a.partition;
  evidence.push(
    `partition ${p.number} (${part}): ${probe.table.label === 'gpt' ? `GPT name "${p.name}", type ${p.type}` : `MBR type 0x${p.type}`}, sectors ${p.startSector}-${p.startSector + p.sizeSectors - 1} (${p.sizeSectors} sectors, ${formatBytes(p.sizeBytes)})${a.first ? ', the first partition on the disk' : ''}`,
  );
  if (a.blocksBootloader) {
    return finding(
      'dell-utility-partition',
      BLOCKER,
      `Dell utility partition ${part} is the first partition on the boot disk: the XenServer 7 upgrade fails to install the bootloader at the very end (UEFI and legacy boots alike, field report); delete ${part} first`,
      evidence,
      fdiskFix(probe.disk, p.number),
      details,
    );
  }
  return finding(
    'dell-utility-partition',
    WARNING,
    `Dell utility partition ${part} (${formatBytes(p.sizeBytes)}) is on the boot disk but not first: not the field report's failure; the installer keeps it`,
    evidence,
    fdiskFix(probe.disk, p.number),
    details,
  );
}

export async function partitionLayoutFinding(ctx: PrecheckContext, probe: BootDiskProbe): Promise<PrecheckFinding> {
  const a = classifyLayout(probe.table, probe.sizeBytes);
  const safe2upgrade = (await readOptional(ctx.root.resolve(safe2upgradePath), ctx.signal)) !== null;
  const evidence = [
    `boot disk ${probe.disk}: ${probe.sizeBytes > 0 ? formatBytes(probe.sizeBytes) : 'size unknown'}, ${probe.table.label} label`,
    ...a.partitions.map((p) => `partition ${p.number}: ${formatBytes(p.sizeBytes)} type ${p.type}${p.name ? ` "${p.name}"` : ''}${p.role ? ` (${p.role})` : ''}`),
    `${safe2upgradePath} ${safe2upgrade ? 'present' : 'absent'}`,
  ];
  const details = {
    $case: 'partitionLayout' as const,
    value: {
      bootDisk: probe.disk,
      diskSizeBytes: probe.sizeBytes,
      label: probe.table.label,
      layout: a.layout,
      partitions: a.partitions,
      meetsDiskRecommendation: a.meetsDiskRecommendation,
      safe2upgrade,
      localSrOnBootDisk: a.localSrOnBootDisk,
    },
  };
  const small = probe.sizeBytes > 0 && !a.meetsDiskRecommendation;
  if (a.layout === 'xs7-gpt') {
    return finding('partition-layout', INFO, 'XenServer 7 layout (18 GB root and backup, 4 GB log, 0.5 GB boot, 1 GB swap)', evidence, '', details);
  }
  if (a.layout === 'legacy-4g') {
    if (safe2upgrade && small) {
      return finding(
        'partition-layout',
        BLOCKER,
        `${safe2upgradePath} asks for the new layout, but the disk (${formatBytes(probe.sizeBytes)}) is below the installer's ${formatBytes(recommendedDiskBytes)}`,
        evidence,
        `remove ${safe2upgradePath} to keep the 4 GB layout, or install on a disk of at least 46 GB`,
        details,
      );
    }
    if (safe2upgrade) {
      return finding(
        'partition-layout',
        a.localSrOnBootDisk ? WARNING : INFO,
        `legacy 4 GB layout and ${safe2upgradePath} present: the upgrade switches to the XenServer 7 layout${a.localSrOnBootDisk ? ' and destroys the local SR on this disk (partition 3)' : ''}`,
        evidence,
        a.localSrOnBootDisk
          ? `Storage XenMotion or export every VM disk on the local SR first (the pool report lists them); or \`rm ${safe2upgradePath}\` to keep the old layout and the SR`
          : '',
        details,
      );
    }
    return finding(
      'partition-layout',
      small ? WARNING : INFO,
      small
        ? `legacy 4 GB layout on a ${formatBytes(probe.sizeBytes)} disk: too small for the XenServer 7 layout (46 GB); / stays 4 GB and fills up with hotfixes and logs`
        : 'legacy 4 GB layout: the upgrade keeps it (local SR preserved)',
      evidence,
      small
        ? 'keep / clean (old hotfix files, logs) before and after the upgrade, or reinstall on a larger disk'
        : `to move to the XenServer 7 layout: \`touch ${safe2upgradePath}\` before upgrading (wipes the local SR on this disk) — the report recommends eject, clean install and rejoin instead`,
      details,
    );
  }
  return finding(
    'partition-layout',
    WARNING,
    'partition layout not recognised as the legacy 4 GB or the XenServer 7 layout',
    evidence,
    'check the disk by hand (`sfdisk -l`) before upgrading: the installer may refuse to upgrade or may repartition',
    details,
  );
}

/** Runs both disk checks from one read of the partition table. */
export async function checkBootDisk(ctx: PrecheckContext, wanted: ReadonlySet<string>): Promise<PrecheckFinding[]> {
  let probe: BootDiskProbe;
  try {
    probe = await probeBootDisk(ctx);
  } catch (err) {
    const fix = 'run `xsctl-agent precheck --boot-disk /dev/sdX` (or give boot_disk) naming the disk dom0 boots from';
    return [...wanted].map((id) => failedFinding(id, 'the boot disk partition table could not be read', err, fix));
  }
  const out: PrecheckFinding[] = [];
  if (wanted.has('dell-utility-partition')) out.push(dellUtilityFinding(probe));
  if (wanted.has('partition-layout')) out.push(await partitionLayoutFinding(ctx, probe));
  return out;
}

import type { PartitionEntry, PartitionTable } from './partition-table.js';

/**
 * What the XenServer 7 installer does with the boot disk, judged from its partition table.
 * Sizes are the installer's own (host-installer constants.py, sizes in MiB):
 * root 18432, backup 18432, logs 4096, boot 512, swap 1024 on GPT for the new layout (partition
 * numbers 1 root, 2 backup, 3 SR, 4 boot, 5 logs, 6 swap); root and backup 4096 (3584 on 6.5's
 * GPT) before 7.0; min_primary_disk_size 46 (GiB, the installer divides by 2^30).
 * Pure functions, no I/O.
 */

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const recommendedDiskBytes = 46 * GiB;

export const gptTypes = {
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  linuxLvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
} as const;

/** MBR id the installer treats as Dell's utility partition (DOSPartitionTool.ID_DELL_UTILITY). */
export const dellUtilityMbrType = 'de';
/** GPT partition name the installer preserves as a utility partition (constants.UTILITY_PARTLABEL). */
export const dellUtilityGptName = 'DELLUTILITY';

export interface DiskPartitionView {
  number: number;
  startSector: number;
  sizeSectors: number;
  sizeBytes: number;
  type: string;
  name: string;
  bootable: boolean;
  role: string;
}

export interface DellUtilityAssessment {
  present: boolean;
  partition: DiskPartitionView | undefined;
  /** The utility partition starts before every other partition on the disk. */
  first: boolean;
  embeddingAreaBytes: number;
  /** The field report's failure: a utility partition first on the boot disk, whatever the label or boot mode. */
  blocksBootloader: boolean;
}

export type LayoutName = 'xs7-gpt' | 'legacy-4g' | 'unknown';

export interface LayoutAssessment {
  layout: LayoutName;
  partitions: DiskPartitionView[];
  meetsDiskRecommendation: boolean;
  localSrOnBootDisk: boolean;
}

function view(table: PartitionTable, p: PartitionEntry, role = ''): DiskPartitionView {
  return {
    number: p.number,
    startSector: p.start,
    sizeSectors: p.size,
    sizeBytes: p.size * table.sectorSize,
    type: p.type,
    name: p.name,
    bootable: p.bootable,
    role,
  };
}

export function isDellUtility(table: PartitionTable, p: PartitionEntry): boolean {
  if (table.label === 'gpt') return p.name.trim().toUpperCase() === dellUtilityGptName;
  return p.type === dellUtilityMbrType;
}

/**
 * The field report ("The (In)famous Dell Utility Partition"): with Dell's utility partition at the
 * beginning of the boot disk the XenServer 7 upgrade runs to the very end and then fails to install
 * the bootloader ("Embedding is not possible ... will not process with blocklists"); "this is the
 * case for both UEFI and Legacy/BIOS boots", and the fix is to delete that first partition before
 * upgrading. So a utility partition first on the disk blocks, MBR or GPT, however much room GRUB
 * would have in front of it. The embedding area (sectors before the first partition on MBR disks)
 * is kept as evidence: at sector 63 it is 62 sectors, too small for core.img.
 */
export function assessDellUtility(table: PartitionTable): DellUtilityAssessment {
  const sorted = [...table.partitions].sort((a, b) => a.start - b.start);
  const firstPartition = sorted[0];
  const embeddingAreaBytes = table.label === 'gpt' ? 0 : Math.max(0, ((firstPartition?.start ?? 2048) - 1) * table.sectorSize);
  const utility = sorted.find((p) => isDellUtility(table, p));
  if (utility === undefined) return { present: false, partition: undefined, first: false, embeddingAreaBytes, blocksBootloader: false };
  const first = utility === firstPartition;
  return { present: true, partition: view(table, utility, 'dell-utility'), first, embeddingAreaBytes, blocksBootloader: first };
}

/** Within 3% (alignment, GiB vs GB rounding) of the installer's size in MiB. */
function near(bytes: number, mib: number): boolean {
  return Math.abs(bytes - mib * MiB) <= mib * MiB * 0.03;
}

const isLvm = (p: PartitionEntry): boolean => p.type === '8e' || p.type === gptTypes.linuxLvm;

export function classifyLayout(table: PartitionTable, diskSizeBytes: number): LayoutAssessment {
  const size = (p: PartitionEntry): number => p.size * table.sectorSize;
  const byNumber = new Map(table.partitions.map((p) => [p.number, p]));
  const roles = new Map<number, string>();
  let layout: LayoutName = 'unknown';

  const p1 = byNumber.get(1);
  const p2 = byNumber.get(2);
  const p4 = byNumber.get(4);
  const p5 = byNumber.get(5);
  const p6 = byNumber.get(6);
  if (table.label === 'gpt' && p1 && p2 && p4 && p5 && p6 && near(size(p1), 18432) && near(size(p2), 18432) && near(size(p5), 4096) && near(size(p4), 512) && near(size(p6), 1024)) {
    layout = 'xs7-gpt';
    roles.set(1, 'root').set(2, 'backup').set(4, 'boot').set(5, 'logs').set(6, 'swap');
    if (byNumber.has(3)) roles.set(3, 'sr');
  } else {
    // Before 7.0: root and backup of 4 GiB (3.5 GiB root on 6.5's GPT), the SR in partition 3.
    // A Dell utility partition kept in slot 1 pushes the others up by one.
    const own = table.partitions.filter((p) => !isDellUtility(table, p)).sort((a, b) => a.number - b.number);
    const [root, backup, third] = own;
    const small = (p: PartitionEntry | undefined): boolean => p !== undefined && (near(size(p), 4096) || near(size(p), 3584));
    if (small(root) && small(backup) && !own.some((p) => near(size(p), 18432))) {
      layout = 'legacy-4g';
      roles.set(root!.number, 'root').set(backup!.number, 'backup');
      if (third !== undefined && isLvm(third)) roles.set(third.number, 'sr');
    }
  }
  for (const p of table.partitions) if (isDellUtility(table, p)) roles.set(p.number, 'dell-utility');
  const partitions = [...table.partitions].sort((a, b) => a.number - b.number).map((p) => view(table, p, roles.get(p.number) ?? ''));
  return {
    layout,
    partitions,
    meetsDiskRecommendation: diskSizeBytes >= recommendedDiskBytes,
    localSrOnBootDisk: partitions.some((p) => p.role === 'sr' && isLvm(byNumber.get(p.number)!)),
  };
}

/** "1.5 GiB", "31 KiB": sizes as an admin reads them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(value >= 10 ? 0 : 1)} ${units[i]}`;
}

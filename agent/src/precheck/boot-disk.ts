/**
 * Finding the disk dom0 boots from: the device mounted at / in /proc/mounts, minus its
 * partition number; XAPI's PRIMARY_DISK from /etc/xensource-inventory when / is not a plain
 * partition. Pure functions, no I/O.
 */

export interface MountEntry {
  device: string;
  mountPoint: string;
  fsType: string;
  options: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (\040). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] === undefined || f[0].startsWith('#')) continue;
    out.push({ device: unescapeMount(f[0]), mountPoint: unescapeMount(f[1] ?? ''), fsType: f[2] ?? '', options: f[3] ?? '' });
  }
  return out;
}

/** The device mounted last on `mountPoint` (later mounts hide earlier ones); rootfs entries skipped. */
export function deviceMountedAt(mounts: readonly MountEntry[], mountPoint: string): string | undefined {
  const hits = mounts.filter((m) => m.mountPoint === mountPoint && m.fsType !== 'rootfs' && m.device.startsWith('/dev/'));
  return hits.at(-1)?.device;
}

/**
 * The whole disk a partition device belongs to, by the kernel's naming rules:
 * sda1 -> sda, nvme0n1p1 -> nvme0n1, cciss/c0d0p1 -> cciss/c0d0, mmcblk0p2 -> mmcblk0,
 * disk/by-id/NAME-part1 -> disk/by-id/NAME. Undefined when it is not a partition of a disk
 * (md, device-mapper, a whole disk).
 */
export function diskOfPartition(device: string): string | undefined {
  const byId = /^(\/dev\/disk\/by-(?:id|path)\/.+)-part\d+$/.exec(device);
  if (byId !== null) return byId[1];
  const pStyle = /^(\/dev\/(?:nvme\d+n\d+|mmcblk\d+|cciss\/c\d+d\d+|ida\/c\d+d\d+|rd\/c\d+d\d+|loop\d+))p\d+$/.exec(device);
  if (pStyle !== null) return pStyle[1];
  const plain = /^(\/dev\/(?:sd|hd|vd|xvd)[a-z]+)\d+$/.exec(device);
  if (plain !== null) return plain[1];
  return undefined;
}

/**
 * The device of partition `n` of `disk`, by the kernel's naming rule (block/partitions/core.c:
 * a "p" goes between a disk name that ends in a digit and the partition number):
 * /dev/sda + 1 -> /dev/sda1, /dev/cciss/c0d0 + 1 -> /dev/cciss/c0d0p1, /dev/nvme0n1 + 1 ->
 * /dev/nvme0n1p1, /dev/mmcblk0 + 2 -> /dev/mmcblk0p2; udev's by-id/by-path links add "-partN".
 * The inverse of diskOfPartition.
 */
export function partitionDevice(disk: string, n: number): string {
  if (/^\/dev\/disk\/by-(?:id|path)\//.test(disk)) return `${disk}-part${n}`;
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

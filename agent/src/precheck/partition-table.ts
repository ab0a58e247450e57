import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';
/**
 * A boot disk's partition table, whichever way it was read (directly from the disk by
 * read-partition-table.ts on a host, or from pasted `sfdisk -d`/`-J` text). Pure types.
 */

export interface PartitionEntry {
  number: number;
  node: string;
  start: number;
  size: number;
  /** MBR type as lower-case hex without 0x ("de"), or an upper-case GPT type GUID. */
  type: string;
  name: string;
  uuid: string;
  bootable: boolean;
}

export interface PartitionTable {
  label: 'dos' | 'gpt' | string;
  device: string;
  sectorSize: number;
  /** GPT only: first and last usable LBA. */
  firstLba: number | undefined;
  lastLba: number | undefined;
  partitions: PartitionEntry[];
}

export class PartitionTableParseError extends XsctlError {
  readonly code = 'PARTITION_TABLE_INVALID';

  constructor(
    readonly reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`cannot read the partition table: ${reason}`, options);
  }
}

/** The partition number from a node name: sda1 -> 1, nvme0n1p3 -> 3, disk.img2 -> 2, by-id/…-part5 -> 5. */
export function partitionNumber(node: string): number {
  const m = /(\d+)$/.exec(node);
  return m === null ? 0 : Number(m[1]);
}

import { isIP } from 'node:net';
import { ValidationError } from '@xsctl/common/errors/index';

/**
 * Allow-lists for every request field that reaches a command line or a path.
 * Each returns the value unchanged so call sites read `const dev = devicePath('device', req.device)`.
 */
function check(field: string, value: string, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new ValidationError(field, `expected ${what}, got ${JSON.stringify(String(value).slice(0, 80))}`);
  return value;
}

/** `/dev/sdX[N]`, `/dev/mapper/NAME`, `/dev/dm-N` only. */
export const devicePath = (field: string, v: string) =>
  check(field, v, /^\/dev\/(sd[a-z]{1,3}[0-9]{0,3}|dm-[0-9]{1,5}|mapper\/[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127})$/, 'a /dev/sd*, /dev/mapper/* or /dev/dm-* path');

/** A block device a DRBD resource may sit on: sd*, nvme, xvd, md, dm, mapper, LVM, by-id/by-path links. */
export const backingDevicePath = (field: string, v: string) =>
  check(
    field,
    v,
    /^\/dev\/(sd[a-z]{1,3}[0-9]{0,3}|xvd[a-z]{1,2}[0-9]{0,3}|nvme[0-9]{1,2}n[0-9]{1,3}(p[0-9]{1,3})?|md[0-9]{1,3}|dm-[0-9]{1,5}|mapper\/[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}|[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}|disk\/by-(id|path|uuid)\/[A-Za-z0-9][A-Za-z0-9_.:+-]{0,200})$/,
    'a block device path under /dev',
  );

export const drbdDevicePath = (field: string, v: string) => check(field, v, /^\/dev\/drbd[0-9]{1,5}$/, 'a /dev/drbdN path');

/** Kernel block name without /dev: sda, dm-3. */
export const blockName = (field: string, v: string) => check(field, v, /^(sd[a-z]{1,3}|dm-[0-9]{1,5}|nvme[0-9]{1,2}n[0-9]{1,3}|xvd[a-z]{1,2})$/, 'a block device name');

/** DRBD resource, tgt target short names, multipath aliases. */
export const resourceName = (field: string, v: string) => check(field, v, /^[A-Za-z][A-Za-z0-9_-]{0,47}$/, 'a name of letters, digits, _ and -');

/** RFC 3720 iqn. names (lower case), plus eui. */
export const iqn = (field: string, v: string) =>
  check(field, v, /^(iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9][a-z0-9.-]*[a-z0-9](:[a-z0-9][a-z0-9.:_-]{0,200})?|eui\.[0-9A-Fa-f]{16})$/, 'an iqn.YYYY-MM.reverse.domain[:name] or eui. name');

export function ipAddress(field: string, v: string): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw new ValidationError(field, `expected an IP address, got ${JSON.stringify(String(v).slice(0, 60))}`);
  return v;
}

export function ipv4Address(field: string, v: string): string {
  if (typeof v !== 'string' || isIP(v) !== 4) throw new ValidationError(field, `expected an IPv4 address, got ${JSON.stringify(String(v).slice(0, 60))}`);
  return v;
}

export function prefixLength(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 32) throw new ValidationError(field, 'expected a prefix length 1-32');
  return v;
}

export function port(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new ValidationError(field, 'expected a TCP port 1-65535');
  return v;
}

export const interfaceName = (field: string, v: string) => check(field, v, /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/, 'a network interface name');

/** A single file name, no directories. */
export const fileName = (field: string, v: string) => check(field, v, /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/, 'a plain file name');

export const hostname = (field: string, v: string) =>
  check(field, v, /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'a host name');

/** SCSI vendor (8) / product (16) identification as multipath and tgt use them. */
export const scsiVendor = (field: string, v: string) => check(field, v, /^[\x20-\x7e]{1,8}$/, 'up to 8 printable ASCII characters');
export const scsiProduct = (field: string, v: string) => check(field, v, /^[\x20-\x7e]{1,16}$/, 'up to 16 printable ASCII characters');

export function oneOf<T extends string>(field: string, v: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw new ValidationError(field, `expected one of ${allowed.join(', ')}`);
  return hit;
}

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

/** An integer in [min, max] (minors, tids, LUNs, node ids, counts). */
export function integerInRange(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new ValidationError(field, `expected an integer ${min}-${max}`);
  return v;
}

/** `10.10.10.0/24`: an IPv4 network in CIDR form. */
export function ipv4Cidr(field: string, v: string): string {
  const m = typeof v === 'string' ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(v) : null;
  if (m === null || isIP(m[1] ?? '') !== 4 || Number(m[2]) > 32) throw new ValidationError(field, `expected an IPv4 CIDR such as 10.10.10.0/24, got ${JSON.stringify(String(v).slice(0, 60))}`);
  return v;
}

/** tgt initiator-address ACL: ALL, an IP, or an IPv4 CIDR. */
export function initiatorAddress(field: string, v: string): string {
  if (v === 'ALL') return v;
  if (typeof v === 'string' && v.includes('/')) return ipv4Cidr(field, v);
  return ipAddress(field, v);
}

/** DRBD shared-secret: 1-64 printable characters, no space, quote or backslash (it sits in quotes in drbd.conf). */
export const drbdSharedSecret = (field: string, v: string) => check(field, v, /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, 'a secret of 1-64 printable characters without space, quote or backslash');

/** A SCSI identity value for tgt (`scsi_id`, `scsi_sn`): no separators tgtadm --params would split on. */
export const scsiIdentity = (field: string, v: string, maxLength: number) =>
  check(field, v, new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,${maxLength - 1}}$`), `1-${maxLength} letters, digits, _ . : -`);

/** vendor_id / product_id for tgt: printable, no comma or equals sign (tgtadm --params separators), no quotes. */
export const tgtParamText = (field: string, v: string, maxLength: number) =>
  check(field, v, new RegExp(`^[A-Za-z0-9_.:+/-][A-Za-z0-9 _.:+/-]{0,${maxLength - 1}}$`), `1-${maxLength} printable characters without , = or quotes`);

/** CHAP user name. */
export const chapUser = (field: string, v: string) => check(field, v, /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$/, 'a CHAP user of letters, digits, _ . @ : -');

/** CHAP secret: 12-64 printable characters (RFC 3720 / Microsoft initiators need 12-16), no space, quote or backslash. */
export const chapSecret = (field: string, v: string) => check(field, v, /^[\x21\x23-\x5b\x5d-\x7e]{12,64}$/, 'a secret of 12-64 printable characters without space, quote or backslash');

/** A size with an optional K/M/G suffix, e.g. DRBD resync rates `100M`. */
export const sizeWithUnit = (field: string, v: string) => check(field, v, /^[1-9][0-9]{0,9}[KMG]?$/, 'a number with an optional K, M or G suffix');

/** A tgt backing store: a DRBD device, a block device, or (labs, tests) an absolute path to a .img/.raw file. */
export function tgtBackingStore(field: string, v: string): string {
  if (typeof v === 'string' && /^\/dev\/drbd[0-9]{1,5}$/.test(v)) return v;
  if (typeof v === 'string' && /^\/(?:[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\/)*[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\.(img|raw)$/.test(v) && !v.startsWith('/dev/')) return v;
  return backingDevicePath(field, v);
}

import { isIP } from 'node:net';
import { ValidationError } from '@xsctl/common/errors/index';

/**
 * Allow-lists for every request field that reaches a command line, a path or a config file.
 * Each returns the value unchanged so call sites read `const dev = devicePath('device', req.device)`.
 *
 * A value written into a file another tool re-parses is code for that tool, so those validators
 * admit only characters that every consumer passes through unchanged and unquoted:
 * - targets.conf: Config::General (`#` starts a comment anywhere, `\` escapes, trailing space is
 *   trimmed, `<`/`>` open blocks) then tgt-admin, which pastes values into strings it runs with
 *   Perl's system(), i.e. /bin/sh (dash on Debian, bash on CentOS): `tgtadm --password=$pw`,
 *   `-T $iqn`, `-I $addr` unquoted, `--params scsi_id="$v"` and `-b "$path"` in double quotes;
 *   then tgtadm/tgtd, which split `--params` on `,` and `=`;
 * - drbd.conf: drbdadm's flex lexer (user/v84 and user/v9 drbdadm_scanner.fl): an unquoted token is
 *   STRING `[a-zA-Z0-9/._-]{1,128}`, and keywords, numbers and IPv4 addresses lex as other tokens;
 * - lvm.conf: strings in double quotes, where LVM turns `\\` into `\` and keeps other backslashes;
 * - iptables rules: iptables-save prints a subnet as its network address.
 * No value may start with `-`: the tools would read it as an option.
 */
/**
 * Characters /bin/sh (dash and bash) leave alone in an unquoted word and inside double quotes,
 * that Config::General and Perl's system() do not treat specially: no quote, backslash, `$`, `` ` ``,
 * `;|&<>(){}[]*?!~#^`, space or control character. `,` is left out too (tgtadm joins its
 * arguments with commas).
 */
export const shellSafeChars = 'A-Za-z0-9_.:@%+/=-';

function check(field: string, value: string, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new ValidationError(field, `expected ${what}, got ${JSON.stringify(String(value).slice(0, 80))}`);
  return value;
}

/** As check, but the refusal never repeats the value: it is a secret, and errors reach logs and terminals. */
function checkSecret(field: string, value: string, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new ValidationError(field, `expected ${what} (value not shown)`);
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

/** An IPv4 or IPv6 address without a zone (`%eth0`): config files and argv carry it verbatim. */
export function ipAddress(field: string, v: string): string {
  if (typeof v !== 'string' || isIP(v) === 0 || v.includes('%')) throw new ValidationError(field, `expected an IP address, got ${JSON.stringify(String(v).slice(0, 60))}`);
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

const ipv4ToInt = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

/**
 * The storage subnet a firewall rule opens: a network address with its host bits clear (iptables
 * stores and prints `10.10.10.5/24` as `10.10.10.0/24`, so anything else would not read back as
 * written), at least /16 (a /0 opens the storage ports to everyone, and a replication or iSCSI
 * network wider than a /16 is a typo), and not loopback, multicast, reserved or 0.0.0.0/8.
 */
export function storageSubnet(field: string, v: string): string {
  ipv4Cidr(field, v);
  const [address = '', bits = ''] = v.split('/');
  const prefix = Number(bits);
  if (prefix < 16) throw new ValidationError(field, `a /${prefix} is too broad for a storage subnet (at least /16)`);
  const n = ipv4ToInt(address);
  const hostBits = 2 ** (32 - prefix);
  if (n % hostBits !== 0) {
    const net = n - (n % hostBits);
    throw new ValidationError(field, `${v} has host bits set; the network is ${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`);
  }
  const first = Math.floor(n / 2 ** 24);
  if (first === 0 || first === 127 || first >= 224) throw new ValidationError(field, `${v} is not a unicast storage network`);
  return v;
}

/** tgt initiator-address ACL: ALL, an IP, or an IPv4 CIDR. */
export function initiatorAddress(field: string, v: string): string {
  if (v === 'ALL') return v;
  if (typeof v === 'string' && v.includes('/')) return ipv4Cidr(field, v);
  return ipAddress(field, v);
}

/**
 * drbdadm's keywords (user/v84 and user/v9 drbdadm_scanner.fl, drbd-utils 9.x): a host or resource
 * named like one lexes as the keyword, not as a name, and the file no longer parses.
 */
export const drbdKeywords: ReadonlySet<string> = new Set(
  (
    '_cstate _peer_node_id _remote_host _this_host _unknown address after after-resync-target al-extents al-updates allow-two-primaries ' +
    'alternate-link-address always-asbp ask become-primary-on before-resync-source before-resync-target bwlimit c-delay-target c-fill-target ' +
    'c-max-rate c-min-rate c-plan-ahead cmd-timeout-long cmd-timeout-medium cmd-timeout-short common compression congestion-extents ' +
    'congestion-fill connect-int connection connection-mesh cpu-mask cram-hmac-alg csums-after-crash-only csums-alg data-integrity-alg ' +
    'degr-wfc-timeout delay-probe-interval delay-probe-volume device dialog-refresh disable-ip-verification disable-write-same discard-my-data ' +
    'discard-zeroes-if-aligned disk disk-barrier disk-drain disk-flushes disk-timeout fence-peer fencing flexible-meta-disk floating global ' +
    'handlers hold-off-threshold host hosts ignore-on include initial-split-brain inside ipv4 ipv6 ko-count local-io-error max-bio-bvecs ' +
    'max-buffers max-epoch-size md-flushes memlimit meta-disk minor minor-count net no no-disk-barrier no-disk-drain no-disk-flushes ' +
    'no-md-flushes no-tcp-cork node-id on on-congestion on-io-error on-no-data-accessible options out-of-sync outdate-peer ' +
    'outdated-wfc-timeout outside outside-address path ping-int ping-timeout plugin port pri-lost pri-lost-after-sb pri-on-incon-degr ' +
    'protocol proxy rate rcvbuf-size read-balancing read-loops require-drbd-module-version-eq require-drbd-module-version-ge ' +
    'require-drbd-module-version-gt require-drbd-module-version-le require-drbd-module-version-lt require-drbd-module-version-ne resource ' +
    'resync-after resync-rate rr-conflict rs-discard-granularity sci sdp shared-secret size skip sndbuf-size socket-check-timeout split-brain ' +
    'ssocks stacked-on-top-of stacked-timeouts startup syncer tcp-cork template-file throttle-threshold tiebreaker timeout ' +
    'udev-always-use-vnr unfence-peer unplug-watermark usage-count use-bmbv use-rle verify-alg via volume wait-after-sb wfc-timeout yes ' +
    // drbdadm 8.3 only
    'after-sb-0pri after-sb-1pri after-sb-2pri'
  ).split(' '),
);

/**
 * A word drbdadm lexes as one STRING token: `[a-zA-Z0-9/._-]`, at most 80 characters (the 8.3
 * lexer's STRING is `{1,80}`, user/v83/drbdadm_scanner.fl; 8.4 and 9 take 128), not a keyword, not
 * all a number (`NUM` is `[0-9]{1,8}[MKGs]?`) and not an IPv4 address.
 */
function drbdWord(field: string, v: string, what: string): string {
  check(field, v, /^[A-Za-z0-9/._-]{1,80}$/, what);
  if (drbdKeywords.has(v.toLowerCase())) throw new ValidationError(field, `"${v}" is a drbd.conf keyword`);
  if (/^[0-9]{1,8}[MKGs]?$/.test(v) || /^([0-9]{1,3}\.){3}[0-9]{1,3}$/.test(v)) throw new ValidationError(field, `"${v}" reads as a number or an address in drbd.conf`);
  return v;
}

/** A DRBD resource name: a resource name that drbd.conf takes as a name. */
export const drbdResourceName = (field: string, v: string) => drbdWord(field, resourceName(field, v), 'a name of letters, digits, _ and -');

/**
 * The host name of a DRBD node (`on NAME {`): a host name drbdadm lexes as a name, at most 64
 * characters (drbdadm matches it against `uname -n`, which holds at most 64).
 */
export const drbdHostname = (field: string, v: string) => {
  if (typeof v === 'string' && v.length > 64) throw new ValidationError(field, 'a host name of at most 64 characters (uname -n)');
  return drbdWord(field, hostname(field, v), 'a host name of at most 64 characters');
};

/** A DRBD backing disk: a block device path without `:` or `+`, which drbd.conf cannot hold unquoted (use /dev/disk/by-id). */
export const drbdBackingDisk = (field: string, v: string) => drbdWord(field, backingDevicePath(field, v), 'a block device path of at most 80 letters, digits, / . _ - (no : or +; use /dev/disk/by-id)');

/**
 * A DRBD peer address as drbdadm lexes it: IPv4, or IPv6 matching its IPV6ADDR rule (at most
 * six groups before `::`; a dotted tail only as `::ffff:a.b.c.d`), no zone.
 */
export function drbdPeerAddress(field: string, v: string): string {
  ipAddress(field, v);
  if (isIP(v) === 4) return v;
  const h = '[0-9a-fA-F]{1,4}';
  const lexed = new RegExp(`^(((${h}:){0,5}${h})?:(${h})?:(${h}(:${h}){0,5})?|::[fF]{4}:([0-9]{1,3}\\.){3}[0-9]{1,3})$`);
  if (!lexed.test(v)) throw new ValidationError(field, `drbd.conf cannot hold the IPv6 address ${JSON.stringify(v)} in this form; write it with :: and without a dotted tail`);
  return v;
}

/**
 * DRBD shared-secret: 1-63 characters drbd.conf holds as a plain word (letters, digits, . _ / -),
 * not starting with -. 63: SHARED_SECRET_MAX is 64 with the NUL (drbdadm 9: "max len: 63").
 */
export const drbdSharedSecret = (field: string, v: string) => checkSecret(field, v, /^[A-Za-z0-9._/][A-Za-z0-9._/-]{0,62}$/, 'a secret of 1-63 letters, digits, . _ / - (not starting with -)');

/** A SCSI identity value for tgt (`scsi_id`, `scsi_sn`): no separators tgtadm --params would split on. */
export const scsiIdentity = (field: string, v: string, maxLength: number) =>
  check(field, v, new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,${maxLength - 1}}$`), `1-${maxLength} letters, digits, _ . : -`);

/**
 * vendor_id / product_id for tgt: letters, digits, `_ . : + / -` (no space: Config::General trims
 * it; no comma or equals sign: tgtadm --params separators; no quotes), not starting with -.
 */
export const tgtParamText = (field: string, v: string, maxLength: number) =>
  check(field, v, new RegExp(`^[A-Za-z0-9_.:+/][A-Za-z0-9_.:+/-]{0,${maxLength - 1}}$`), `1-${maxLength} letters, digits or _ . : + / - (no space, not starting with -)`);

/** CHAP user name. */
export const chapUser = (field: string, v: string) => check(field, v, /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$/, 'a CHAP user of letters, digits, _ . @ : -');

/**
 * CHAP secret: 12-64 characters (RFC 3720 / Microsoft initiators need 12-16) from the shell-safe
 * set, because tgt-admin runs `tgtadm ... --password=SECRET` through /bin/sh on every start and
 * Config::General cuts a value at `#`. A letter or digit first.
 */
export const chapSecret = (field: string, v: string) =>
  checkSecret(field, v, new RegExp(`^[A-Za-z0-9][${shellSafeChars}]{11,63}$`), 'a secret of 12-64 letters, digits or _ . : @ % + / = - (a letter or digit first)');

/** A size with an optional K/M/G suffix, e.g. DRBD resync rates `100M`. */
export const sizeWithUnit = (field: string, v: string) => check(field, v, /^[1-9][0-9]{0,9}[KMG]?$/, 'a number with an optional K, M or G suffix');

/**
 * A tgt backing store: a DRBD device, a block device, or (labs, tests) an absolute path to a
 * .img/.raw file inside one of `lunFileDirs` (the agent's config; none by default). Any file on
 * the host would otherwise do: a LUN backed by /root/backup.img exports it to every initiator.
 * No segment starts with a dot, so `..` cannot climb out of an allowed directory.
 */
export function tgtBackingStore(field: string, v: string, lunFileDirs: readonly string[] = []): string {
  if (typeof v === 'string' && /^\/dev\/drbd[0-9]{1,5}$/.test(v)) return v;
  if (typeof v === 'string' && /^\/(?:[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\/)*[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\.(img|raw)$/.test(v) && !v.startsWith('/dev/')) {
    if (lunFileDirs.some((d) => v.startsWith(`${d.replace(/\/+$/, '')}/`))) return v;
    throw new ValidationError(field, lunFileDirs.length === 0 ? 'a file-backed LUN needs lunFileDirs in the agent config (none is set)' : `a LUN file must lie under ${lunFileDirs.join(' or ')} (lunFileDirs)`);
  }
  return backingDevicePath(field, v);
}

import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import * as v from './validators.js';

/**
 * Every allow-list at its boundaries, table-driven: the shortest and longest accepted value, one
 * past each length bound, the first and last character of every character range in every position,
 * each alternative of an alternation on its own, and prefix/suffix injection (a value that would
 * pass an unanchored pattern). The expected verdicts come from the grammar each validator's
 * comment states (and the consumer's grammar cited there), not from running the validator.
 */
type Check = (field: string, value: string) => unknown;
interface Row {
  name: string;
  fn: Check;
  accept: string[];
  reject: string[];
  /** What the refusal says (the admin reads it). */
  message: RegExp;
}

const x = (n: number, c = 'x') => c.repeat(n);
// A value that passes, with something a shell or config parser would act on before or after it.
const injected = (ok: string) => [`;${ok}`, ` ${ok}`, ...(ok.startsWith('/') ? [`x${ok}`, `.${ok}`] : []), `${ok};`, `${ok} `, `${ok}\n`, `${ok}$(id)`, `-${ok}`];

const rows: Row[] = [
  {
    name: 'devicePath',
    fn: v.devicePath,
    accept: ['/dev/sda', '/dev/sdz', '/dev/sdzzz', '/dev/sdaaa', '/dev/sda0', '/dev/sda9', '/dev/sdz999', '/dev/sdb12', '/dev/dm-0', '/dev/dm-9', '/dev/dm-99999',
      '/dev/mapper/a', '/dev/mapper/z', '/dev/mapper/A', '/dev/mapper/Z', '/dev/mapper/0', '/dev/mapper/9', '/dev/mapper/a_', '/dev/mapper/a.', '/dev/mapper/a:', '/dev/mapper/a+', '/dev/mapper/a-',
      '/dev/mapper/aAzZ09', `/dev/mapper/a${x(127)}`],
    reject: [...injected('/dev/sda'), ...injected('/dev/dm-1'), ...injected('/dev/mapper/mpatha'), '/dev/sd', '/dev/sd1', '/dev/sdA', '/dev/sdaaaa', '/dev/sda1000', '/dev/sd-a', '/dev/dm-', '/dev/dm-123456', '/dev/dm-a',
      '/dev/mapper/', '/dev/mapper/_a', '/dev/mapper/.a', '/dev/mapper/-a', '/dev/mapper/a/b', '/dev/mapper/a b', '/dev/mapper/a,b', `/dev/mapper/a${x(128)}`, 'dev/sda', '/dev/xvda', '/dev/nvme0n1', '/dev/md0', '/devXsda', '/dev/../dev/sda', '', '/dev/'],
    message: /^invalid device: expected a \/dev\/sd\*, \/dev\/mapper\/\* or \/dev\/dm-\* path, got "/,
  },
  {
    name: 'backingDevicePath',
    fn: v.backingDevicePath,
    accept: ['/dev/sda', '/dev/sdzzz999', '/dev/xvda', '/dev/xvdz', '/dev/xvdzz', '/dev/xvda0', '/dev/xvdb999', '/dev/nvme0n1', '/dev/nvme99n999', '/dev/nvme9n9p0', '/dev/nvme0n1p999', '/dev/md0', '/dev/md9', '/dev/md999',
      '/dev/dm-0', '/dev/dm-99999', '/dev/mapper/a:b', `/dev/mapper/a:${x(126)}`, '/dev/VG_XenStorage-1/LV-1', '/dev/a/b', `/dev/${x(64, 'A')}/Z`, '/dev/z_-9/0', '/dev/Z/z', `/dev/vg/a${x(127)}`, '/dev/vg/a_.+-', '/dev/vg/9',
      '/dev/disk/by-id/scsi-3600a:0', '/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.2013-01.com.example:lun-0', '/dev/disk/by-uuid/0a1b', '/dev/disk/by-id/Z', '/dev/disk/by-id/z', '/dev/disk/by-id/A', '/dev/disk/by-id/9',
      `/dev/disk/by-id/a:${x(199)}`, '/dev/disk/by-id/a_.:+-'],
    reject: [...injected('/dev/sda'), ...injected('/dev/xvda'), ...injected('/dev/nvme0n1'), ...injected('/dev/md0'), ...injected('/dev/vg/lv'), ...injected('/dev/disk/by-id/a:b'),
      '/dev/xvd', '/dev/xvdA', '/dev/xvdaaa', '/dev/xvda1000', '/dev/nvme', '/dev/nvme0', '/dev/nvme0n', '/dev/nvmen1', '/dev/nvme100n1', '/dev/nvme0n1000', '/dev/nvme0n1p', '/dev/nvme0n1p1000', '/dev/nvme0n1q1',
      '/dev/md', '/dev/md1000', '/dev/mda', '/dev/dm-', '/dev/dm-123456', `/dev/mapper/a:${x(127)}`, '/dev/mapper/:a', '/dev/vg/', '/dev//lv', `/dev/${x(65, 'a')}/lv`, '/dev/v.g/lv', '/dev/v:g/lv', '/dev/vg/_lv', '/dev/vg/lv:1', `/dev/vg/a${x(128)}`,
      '/dev/vg/lv/x', '/dev/disk/by-label/a', '/dev/disk/by-id/', '/dev/disk/by-id/:a', `/dev/disk/by-id/a:${x(200)}`, '/dev/disk/by-id/a b', '/dev/disk/by-idx/a:b', '/dev/sd', '/etc/shadow', '/dev/../etc/a'],
    message: /^invalid disk: expected a block device path under \/dev, got "/,
  },
  {
    name: 'drbdDevicePath',
    fn: v.drbdDevicePath,
    accept: ['/dev/drbd0', '/dev/drbd9', '/dev/drbd99999'],
    reject: [...injected('/dev/drbd0'), '/dev/drbd', '/dev/drbd123456', '/dev/drbda', '/dev/drbd_0'],
    message: /^invalid device: expected a \/dev\/drbdN path, got "/,
  },
  {
    name: 'blockName',
    fn: v.blockName,
    accept: ['sda', 'sdz', 'sdzzz', 'dm-0', 'dm-99999', 'nvme0n1', 'nvme99n999', 'xvda', 'xvdzz'],
    reject: [...injected('sda'), ...injected('dm-1'), ...injected('nvme0n1'), ...injected('xvda'), 'sd', 'sdaaaa', 'sda1', 'sdA', 'dm-', 'dm-123456', 'nvme0n', 'nvme100n1', 'nvme0n1000', 'nvme0n1p1', 'xvd', 'xvdaaa', '/dev/sda'],
    message: /^invalid name: expected a block device name, got "/,
  },
  {
    name: 'resourceName',
    fn: v.resourceName,
    accept: ['a', 'z', 'A', 'Z', 'a0', 'a9', 'aZ', 'az', 'aA', 'a_', 'a-', `a${x(47)}`, 'iscsi1'],
    reject: [...injected('r0'), '', '0a', '9a', '_a', '-a', 'a.b', 'a:b', 'a b', 'a/b', `a${x(48)}`],
    message: /^invalid name: expected a name of letters, digits, _ and -, got "/,
  },
  {
    name: 'iqn',
    fn: v.iqn,
    accept: ['iqn.2013-01.com.example', 'iqn.0000-00.a0', 'iqn.9999-99.z9', 'iqn.2013-01.0a', 'iqn.2013-01.a.b-c', 'iqn.2013-01.com.example:a', 'iqn.2013-01.com.example:z', 'iqn.2013-01.com.example:0', 'iqn.2013-01.com.example:9',
      'iqn.2013-01.com.example:a.b:c_d-e', `iqn.2013-01.com.example:a${x(200)}`, 'eui.0123456789abcdef', 'eui.ABCDEF0123456789', 'eui.aFaFaFaFaFaFaFaF'],
    reject: [...injected('iqn.2013-01.com.example:lun1'), ...injected('eui.0123456789abcdef'), 'iqn.13-01.com.x', 'iqn.20130-01.com.x', 'iqn.2013-1.com.x', 'iqn.2013-011.com.x', 'iqn.2013-01.', 'iqn.2013-01.a', 'iqn.2013-01.Com.example',
      'iqn.2013-01.-com.example', 'iqn.2013-01.com.example-', 'iqn.2013-01.com.example:', 'iqn.2013-01.com.example:-a', 'iqn.2013-01.com.example:A', 'iqn.2013-01.com.example:a b', `iqn.2013-01.com.example:a${x(201)}`,
      'iqn.2013-01.com_example', 'iqn2013-01.com.x', 'IQN.2013-01.com.x', 'eui.0123456789abcde', 'eui.0123456789abcdef0', 'eui.0123456789abcdeg', 'eui0123456789abcdef', 'naa.600a0b80001234'],
    message: /^invalid iqn: expected an iqn\.YYYY-MM\.reverse\.domain\[:name\] or eui\. name, got "/,
  },
  {
    name: 'interfaceName',
    fn: v.interfaceName,
    accept: ['a', 'z', 'A', 'Z', '0', '9', 'eth0', 'xenbr0.100', 'bond0@x', 'a_b-c', `a${x(14)}`],
    reject: [...injected('eth0'), '', '_eth0', '.eth0', '@eth0', 'eth0:1', 'eth 0', 'eth/0', `a${x(15)}`],
    message: /^invalid iface: expected a network interface name, got "/,
  },
  {
    name: 'fileName',
    fn: v.fileName,
    accept: ['a', 'z', 'A', 'Z', '0', '9', 'a_b.c+d-e', `a${x(127)}`, 'a..b'],
    reject: [...injected('f.conf'), '', '.hidden', '_a', '-a', '+a', 'a/b', '../x', 'a:b', 'a b', `a${x(128)}`],
    message: /^invalid file: expected a plain file name, got "/,
  },
  {
    name: 'hostname',
    fn: v.hostname,
    accept: ['a', 'z', 'A', 'Z', '0', '9', 'a-b', 'a0-9z', 'host1.example.com', 'a.b', `a${x(61, 'b')}c`, `${x(63, 'a')}.${x(63, 'b')}.${x(63, 'c')}.${x(61, 'd')}`, 'A.Z', 'x.0', 'x.z-9'],
    reject: [...injected('host1'), '', '-a', 'a-', 'a..b', '.a', 'a.', 'a_b', 'a.-b', 'a.b-', `a${x(62, 'b')}c`, `x.a${x(62, 'b')}c`, `${x(63, 'a')}.${x(63, 'b')}.${x(63, 'c')}.${x(62, 'd')}`, 'a b'],
    message: /^invalid host: expected a host name, got "/,
  },
  {
    name: 'scsiVendor',
    fn: v.scsiVendor,
    accept: [' ', '~', 'DELL', 'MD36xxi', 'LIO-ORG ', x(8, 'A')],
    reject: ['', x(9, 'A'), 'DE\tLL', 'DELL\x7f', 'DELL\x1f', 'DÉLL'],
    message: /^invalid vendor: expected up to 8 printable ASCII characters, got "/,
  },
  {
    name: 'scsiProduct',
    fn: v.scsiProduct,
    accept: [' ', '~', 'MD36xxi', x(16, 'P')],
    reject: ['', x(17, 'P'), 'MD\x00', 'MD\x7f'],
    message: /^invalid product: expected up to 16 printable ASCII characters, got "/,
  },
  {
    name: 'drbdResourceName',
    fn: v.drbdResourceName,
    accept: ['r0', 'iscsi1', 'z', `a${x(47)}`, 'a-b_c'],
    // Keywords in any case, names that lex as numbers (none: a resource name starts with a letter).
    reject: [...injected('r0'), 'disk', 'DISK', 'Resource', 'on', 'after-sb-0pri', 'protocol', '0', `a${x(48)}`, 'a.b'],
    message: /^invalid res: (expected a name of letters, digits, _ and -, got "|"[^"]+" is a drbd\.conf keyword)/,
  },
  {
    name: 'drbdHostname',
    fn: v.drbdHostname,
    accept: ['node1', 'xs1.example.com', 'a', `${x(40, 'a')}.${x(23, 'b')}`],
    // 12345678 lexes as NUM, 123456789 does not (NUM is at most 8 digits), 1M/2k... suffixes.
    reject: [...injected('node1'), x(64, 'a'), `${x(40, 'a')}.${x(24, 'b')}`, `${x(63, 'a')}.${x(17, 'b')}`, 'host', 'Host', 'disk', '1', '12345678', '1M', '1K', '1G', '1s', '10.0.0.1', '1.2.3.4', 'a_b'],
    message: /^invalid host: (expected a host name|a host name of at most 64 characters \(uname -n\)|"[^"]+" (is a drbd\.conf keyword|reads as a number or an address in drbd\.conf))/,
  },
  {
    name: 'drbdBackingDisk',
    fn: v.drbdBackingDisk,
    accept: ['/dev/sdb', '/dev/VG/lv0', `/dev/vg/${x(72)}`, '/dev/disk/by-id/scsi-36001405a'],
    // 81 characters: past the 8.3 lexer's STRING {1,80}; ':' and '+' are no STRING characters.
    reject: [`/dev/vg/${x(73)}`, '/dev/disk/by-id/a:b', '/dev/vg/lv+1', '/dev/mapper/a:b', ...injected('/dev/sdb')],
    message: /^invalid disk: expected (a block device path under \/dev|a block device path of at most 80 letters, digits, \/ \. _ - \(no : or \+; use \/dev\/disk\/by-id\)), got "/,
  },
  {
    name: 'drbdSharedSecret',
    fn: v.drbdSharedSecret,
    accept: ['a', 'z', 'A', 'Z', '0', '9', '.', '_', '/', 'a-', `a${x(62)}`, 'a.b_c/d-e'],
    reject: ['', '-a', `a${x(63)}`, 'a b', 'a:b', 'a$b', 'a+b', 'a#b', ';a', 'a;', 'a\n'],
    message: /^invalid secret: expected a secret of 1-63 letters, digits, \. _ \/ - \(not starting with -\) \(value not shown\)$/,
  },
  {
    name: 'chapUser',
    fn: v.chapUser,
    accept: ['a', 'z', 'A', 'Z', '0', '9', 'a_b.c@d:e-f', `a${x(63)}`],
    reject: [...injected('user1'), '', '_a', '.a', '@a', '-a', 'a b', 'a/b', 'a%b', `a${x(64)}`],
    message: /^invalid user: expected a CHAP user of letters, digits, _ \. @ : -, got "/,
  },
  {
    name: 'chapSecret',
    fn: v.chapSecret,
    accept: [`a${x(11)}`, `z${x(11)}`, `A${x(11)}`, `Z${x(11)}`, `0${x(11)}`, `9${x(11)}`, `a${x(63)}`, 'aA_.:@%+/=-9', 'aZz09AZ09azz'],
    reject: ['', `a${x(10)}`, `a${x(64)}`, `_${x(11)}`, `-${x(11)}`, `a${x(10)} `, `a${x(10)}#`, `a${x(10)}$`, `a${x(10)},`, `a${x(10)}'`, `a${x(10)}"`, `a${x(10)}\\`, `a${x(10)}!`, `;a${x(11)}`, `a${x(11)};`, `a${x(11)}\n`],
    message: /^invalid secret: expected a secret of 12-64 letters, digits or _ \. : @ % \+ \/ = - \(a letter or digit first\) \(value not shown\)$/,
  },
  {
    name: 'sizeWithUnit',
    fn: v.sizeWithUnit,
    accept: ['1', '9', '10', '1K', '1M', '1G', '9999999999', '1000000000G', '90'],
    reject: [...injected('100M'), '', '0', '01', '10000000000', '1T', '1k', '1KK', 'M', '-1', '1.5M'],
    message: /^invalid rate: expected a number with an optional K, M or G suffix, got "/,
  },
  {
    name: 'tgtBackingStore',
    // With every directory allowed for LUN files: the path grammar on its own (lunFileDirs is tested in validators.test.ts).
    fn: (field, value) => v.tgtBackingStore(field, value, ['/']),
    accept: ['/dev/drbd0', '/dev/drbd99999', '/dev/sdb', '/dev/vg/lv', '/a.img', '/a.raw', '/var/lib/x/disk.img', '/A/Z_+-.9/z.img', '/_/+.img', '/a/-b.raw', '/x.y.img'],
    reject: [...injected('/dev/drbd0'), ...injected('/tmp/a.img'), '/dev/drbd123456', '/dev/x.img', 'a.img', '/a.iso', '/a.IMG', '/.img', '/../a.img', '/./a.img', '/.x/a.img', '/a b.img', '/a$b.img', '/a//b.img', '/a.img/', '//a.img', '/a:b.img'],
    message: /^invalid store: expected a block device path under \/dev, got "/,
  },
];

const fieldOf: Record<string, string> = {
  devicePath: 'device', backingDevicePath: 'disk', drbdDevicePath: 'device', blockName: 'name', resourceName: 'name', iqn: 'iqn', interfaceName: 'iface', fileName: 'file', hostname: 'host',
  scsiVendor: 'vendor', scsiProduct: 'product', drbdResourceName: 'res', drbdHostname: 'host', drbdBackingDisk: 'disk', drbdSharedSecret: 'secret', chapUser: 'user', chapSecret: 'secret',
  sizeWithUnit: 'rate', tgtBackingStore: 'store',
};

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('accepted');
}

describe.each(rows)('allow-list $name at its boundaries', ({ name, fn, accept, reject, message }) => {
  const field = fieldOf[name] ?? name;
  it.each(accept)('accepts %j unchanged', (value) => {
    expect(fn(field, value)).toBe(value);
  });
  it.each(reject)('refuses %j', (value) => {
    const err = refusal(() => fn(field, value));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    if (name === 'chapSecret' || name === 'drbdSharedSecret') expect(err.message).not.toContain(value === '' ? '""' : value);
  });
  it('refuses a non-string that would print as an accepted value', () => {
    // A JSON request could carry a number; String(n) of some numbers matches a pattern.
    for (const value of [1, 100, 12345678901234, null, undefined]) expect(() => fn(field, value as unknown as string)).toThrow(ValidationError);
  });
});

describe('the refusal message quotes at most 80 characters of the value', () => {
  it('cuts a long value at 80 characters', () => {
    const err = refusal(() => v.fileName('file', `/${x(100, 'y')}`));
    expect(err.message).toBe(`invalid file: expected a plain file name, got "/${x(79, 'y')}"`);
  });
  it('shows a non-string value as text', () => {
    const err = refusal(() => v.resourceName('name', 42 as unknown as string));
    expect(err.message).toBe('invalid name: expected a name of letters, digits, _ and -, got "42"');
  });
});

describe('number and address allow-lists at their bounds', () => {
  it.each([
    [v.prefixLength, 1, 32, 'expected a prefix length 1-32'],
    [v.port, 1, 65535, 'expected a TCP port 1-65535'],
  ] as const)('%o: accepts min and max, refuses one past each and non-integers', (fn, min, max, what) => {
    expect(fn('n', min)).toBe(min);
    expect(fn('n', max)).toBe(max);
    for (const bad of [min - 1, max + 1, min + 0.5, Number.NaN, Number.POSITIVE_INFINITY, -max]) expect(refusal(() => fn('n', bad)).message).toBe(`invalid n: ${what}`);
  });
  it('integerInRange takes its bounds from the caller', () => {
    expect(v.integerInRange('minor', 0, 0, 1048575)).toBe(0);
    expect(v.integerInRange('minor', 1048575, 0, 1048575)).toBe(1048575);
    expect(v.integerInRange('lun', 7, 7, 7)).toBe(7);
    for (const bad of [-1, 1048576, 2.5]) expect(refusal(() => v.integerInRange('minor', bad, 0, 1048575)).message).toBe('invalid minor: expected an integer 0-1048575');
    expect(() => v.integerInRange('lun', 6, 7, 7)).toThrow(ValidationError);
    expect(() => v.integerInRange('lun', 8, 7, 7)).toThrow(ValidationError);
  });
  it('oneOf returns the allowed value and names the choices', () => {
    expect(v.oneOf('mode', 'a', ['a', 'b'])).toBe('a');
    expect(v.oneOf('mode', 'b', ['a', 'b'])).toBe('b');
    for (const bad of ['', 'A', 'a ', 'ab', 'c']) expect(refusal(() => v.oneOf('mode', bad, ['a', 'b'])).message).toBe('invalid mode: expected one of a, b');
  });
  it('ipAddress: IPv4 and IPv6 without a zone', () => {
    for (const ok of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '::1', '::', 'fe80::1', '2001:db8::1', '::ffff:10.0.0.1']) expect(v.ipAddress('ip', ok)).toBe(ok);
    for (const bad of ['fe80::1%eth0', '10.0.0.256', '10.0.0', '', ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1;id', 'host1']) expect(refusal(() => v.ipAddress('ip', bad)).message).toBe(`invalid ip: expected an IP address, got ${JSON.stringify(bad)}`);
    expect(refusal(() => v.ipAddress('ip', `1${x(99, '0')}`)).message).toBe(`invalid ip: expected an IP address, got "1${x(59, '0')}"`);
    expect(() => v.ipAddress('ip', 5 as unknown as string)).toThrow(ValidationError);
  });
  it('ipv4Address: IPv4 only', () => {
    for (const ok of ['10.0.0.1', '192.168.1.254']) expect(v.ipv4Address('ip', ok)).toBe(ok);
    for (const bad of ['::1', '::ffff:10.0.0.1', '10.0.0.256', '', 'x']) expect(refusal(() => v.ipv4Address('ip', bad)).message).toBe(`invalid ip: expected an IPv4 address, got ${JSON.stringify(bad)}`);
    expect(refusal(() => v.ipv4Address('ip', `1${x(99, '0')}`)).message).toBe(`invalid ip: expected an IPv4 address, got "1${x(59, '0')}"`);
  });
  it('ipv4Cidr: an IPv4 address, a slash and 0-32', () => {
    for (const ok of ['10.10.10.0/24', '0.0.0.0/0', '10.0.0.1/32', '10.0.0.0/9', '10.0.0.0/1']) expect(v.ipv4Cidr('net', ok)).toBe(ok);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/99', '10.0.0.0/100', '10.0.0.0', '10.0.0.0/', 'x10.0.0.0/24', '10.0.0.0/24x', ' 10.0.0.0/24', '10.0.0.0/24 ', '::1/64', '10.0.0/24', '10.0.0.0/-1', '10.0.0.0/a', '/24', '10.0.0.256/24'])
      expect(refusal(() => v.ipv4Cidr('net', bad)).message).toBe(`invalid net: expected an IPv4 CIDR such as 10.10.10.0/24, got ${JSON.stringify(bad)}`);
    expect(() => v.ipv4Cidr('net', 24 as unknown as string)).toThrow(ValidationError);
  });
  it('storageSubnet: a network address, /16 to /32, unicast (networks computed by hand)', () => {
    for (const ok of ['10.10.0.0/16', '10.10.10.0/24', '10.10.10.4/30', '10.10.10.5/32', '1.0.0.0/16', '126.255.0.0/16', '128.0.0.0/16', '223.255.255.0/24', '172.16.0.0/16']) expect(v.storageSubnet('net', ok)).toBe(ok);
    const says = (bad: string) => refusal(() => v.storageSubnet('net', bad)).message;
    expect(says('10.0.0.0/15')).toBe('invalid net: a /15 is too broad for a storage subnet (at least /16)');
    expect(says('0.0.0.0/0')).toBe('invalid net: a /0 is too broad for a storage subnet (at least /16)');
    expect(says('10.10.10.5/24')).toBe('invalid net: 10.10.10.5/24 has host bits set; the network is 10.10.10.0/24');
    expect(says('10.10.10.5/31')).toBe('invalid net: 10.10.10.5/31 has host bits set; the network is 10.10.10.4/31');
    expect(says('10.10.1.0/16')).toBe('invalid net: 10.10.1.0/16 has host bits set; the network is 10.10.0.0/16');
    expect(says('192.168.255.129/25')).toBe('invalid net: 192.168.255.129/25 has host bits set; the network is 192.168.255.128/25');
    expect(says('172.31.7.200/20')).toBe('invalid net: 172.31.7.200/20 has host bits set; the network is 172.31.0.0/20');
    for (const bad of ['0.0.0.0/16', '0.1.0.0/16', '127.0.0.0/16', '127.0.0.1/32', '224.0.0.0/16', '239.1.0.0/16', '240.0.0.0/16', '255.255.255.255/32']) expect(says(bad)).toBe(`invalid net: ${bad} is not a unicast storage network`);
    expect(says('10.0.0.0/33')).toMatch(/expected an IPv4 CIDR/);
  });
  it('initiatorAddress: ALL, an IP or an IPv4 CIDR', () => {
    for (const ok of ['ALL', '10.0.0.1', '::1', '10.0.0.0/24']) expect(v.initiatorAddress('acl', ok)).toBe(ok);
    expect(refusal(() => v.initiatorAddress('acl', '10.0.0.0/33')).message).toMatch(/expected an IPv4 CIDR/);
    for (const bad of ['all', 'ALL ', 'ALLx', '', 'host1']) expect(refusal(() => v.initiatorAddress('acl', bad)).message).toMatch(/expected an IP address/);
  });
  it('drbdPeerAddress: the IPv6 forms drbdadm lexes (up to six groups before ::, a dotted tail only after ::ffff:)', () => {
    for (const ok of ['10.0.0.1', '::1', '::', 'fe80::1', '2001:db8::1', '1:2:3:4:5:6::8', '1::2:3:4:5:6:7', 'FE80::A', '::ffff:10.0.0.1', '::FFFF:10.0.0.1', 'abcd::ef01'])
      expect(v.drbdPeerAddress('peer', ok)).toBe(ok);
    for (const bad of ['1:2:3:4:5:6:7::', '::fffe:10.0.0.1', '1::ffff:10.0.0.1', '64:ff9b::10.0.0.1'])
      expect(refusal(() => v.drbdPeerAddress('peer', bad)).message).toBe(`invalid peer: drbd.conf cannot hold the IPv6 address ${JSON.stringify(bad)} in this form; write it with :: and without a dotted tail`);
    for (const bad of ['fe80::1%eth0', '10.0.0.256', '', 'x']) expect(refusal(() => v.drbdPeerAddress('peer', bad)).message).toMatch(/expected an IP address/);
  });
  it('scsiIdentity: its length bound comes from the caller', () => {
    for (const ok of ['a', 'Z', '9', 'a_.:-', x(16, 'a')]) expect(v.scsiIdentity('id', ok, 16)).toBe(ok);
    for (const bad of ['', x(17, 'a'), '_a', '.a', '-a', 'a b', 'a,b', 'a=b', 'a"b', 'a/b', 'a+b', ';a', 'a;'])
      expect(refusal(() => v.scsiIdentity('id', bad, 16)).message).toMatch(/^invalid id: expected 1-16 letters, digits, _ \. : -, got "/);
    expect(v.scsiIdentity('sn', x(36, 'b'), 36)).toBe(x(36, 'b'));
    expect(() => v.scsiIdentity('sn', x(37, 'b'), 36)).toThrow(ValidationError);
  });
  it('tgtParamText: its length bound comes from the caller; no space, comma, equals sign or quote', () => {
    for (const ok of ['a', 'Z', '9', '_', '.', ':', '+', '/', 'a-', 'A_.:+/-z', x(8, 'V')]) expect(v.tgtParamText('vendor', ok, 8)).toBe(ok);
    for (const bad of ['', x(9, 'V'), '-a', 'a b', 'a,b', 'a=b', 'a"b', "a'b", 'a#b', ';a', 'a;'])
      expect(refusal(() => v.tgtParamText('vendor', bad, 8)).message).toMatch(/^invalid vendor: expected 1-8 letters, digits or _ \. : \+ \/ - \(no space, not starting with -\), got "/);
  });
  it('drbd words: numbers and addresses drbdadm lexes as NUM/IPV4 are refused, longer or other ones are names', () => {
    // NUM is [0-9]{1,8}[MKGs]?; STRING wins the longest match otherwise.
    for (const ok of ['123456789', '1m', '1S', '1a', '1.2.3', '1.2.3.4.5', '1234.5.6.7', '1.2.3.4567']) expect(v.drbdHostname('host', ok)).toBe(ok);
    for (const bad of ['1', '12345678', '1M', '1K', '1G', '1s', '10.0.0.1', '255.255.255.255', '1.2.3.4'])
      expect(refusal(() => v.drbdHostname('host', bad)).message).toBe(`invalid host: "${bad}" reads as a number or an address in drbd.conf`);
    expect(refusal(() => v.drbdHostname('host', `${x(40)}.${x(24)}`)).message).toBe('invalid host: a host name of at most 64 characters (uname -n)');
    expect(refusal(() => v.drbdResourceName('res', 'Disk')).message).toBe('invalid res: "Disk" is a drbd.conf keyword');
    expect(refusal(() => v.drbdBackingDisk('disk', `/dev/vg/${x(73)}`)).message).toBe(`invalid disk: expected a block device path of at most 80 letters, digits, / . _ - (no : or +; use /dev/disk/by-id), got "/dev/vg/${x(72)}"`);
  });
  it('the drbd keyword list holds what the lexer reserves (a sample from drbdadm_scanner.fl)', () => {
    for (const k of ['_this_host', 'after-sb-0pri', 'yes', 'protocol', 'resource', 'on', 'floating', 'volume', 'shared-secret']) expect(v.drbdKeywords.has(k)).toBe(true);
    expect(v.drbdKeywords.has('iscsi1')).toBe(false);
  });
  it('shellSafeChars is the set the CHAP secret pattern uses', () => {
    expect(v.shellSafeChars).toBe('A-Za-z0-9_.:@%+/=-');
  });
});

describe('a value that is no string is refused even when it prints as an accepted one', () => {
  // A decoded request could carry an object; String() of it may read as a valid value.
  const posing = (text: string) => ({ toString: () => text }) as unknown as string;
  it.each([
    ['ipAddress', () => v.ipAddress('ip', posing('10.0.0.1'))],
    ['ipv4Address', () => v.ipv4Address('ip', posing('10.0.0.1'))],
    ['ipv4Cidr', () => v.ipv4Cidr('net', posing('10.0.0.0/24'))],
    ['storageSubnet', () => v.storageSubnet('net', posing('10.0.0.0/24'))],
    ['initiatorAddress (CIDR)', () => v.initiatorAddress('acl', posing('10.0.0.0/24'))],
    ['initiatorAddress (number)', () => v.initiatorAddress('acl', 5 as unknown as string)],
    ['tgtBackingStore (drbd)', () => v.tgtBackingStore('store', posing('/dev/drbd0'))],
    ['tgtBackingStore (image)', () => v.tgtBackingStore('store', posing('/a.img'))],
    ['drbdHostname', () => v.drbdHostname('host', posing('node1'))],
    ['devicePath', () => v.devicePath('device', posing('/dev/sda'))],
  ])('%s', (_name, call) => {
    expect(call).toThrow(ValidationError);
  });
  it('ipv4Cidr quotes at most 60 characters of the value', () => {
    expect(refusal(() => v.ipv4Cidr('net', `1${x(99, '0')}`)).message).toBe(`invalid net: expected an IPv4 CIDR such as 10.10.10.0/24, got "1${x(59, '0')}"`);
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { readFileSync } from 'node:fs';
import { devicePath, drbdResourceName, iqn, ipAddress, resourceName, fileName, tgtBackingStore } from './validators.js';

describe('allow-lists', () => {
  it.each(['/dev/sda', '/dev/sdab3', '/dev/dm-12', '/dev/mapper/36001405abc', '/dev/mapper/mpatha'])('accepts device %s', (p) => {
    expect(devicePath('device', p)).toBe(p);
  });
  it.each(['/dev/sda;reboot', '/dev/../etc/shadow', 'sda', '/dev/mapper/../../etc', '/dev/nvme0n1', '/dev/sda $(id)', '/dev/mapper/'])('rejects device %s', (p) => {
    expect(() => devicePath('device', p)).toThrow(ValidationError);
  });
  it('names the field and keeps the code stable', () => {
    try {
      devicePath('device', '/etc/passwd');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('VALIDATION_FAILED');
      expect((err as ValidationError).field).toBe('device');
    }
  });
  it('checks IQNs, IPs, resource and file names', () => {
    expect(iqn('iqn', 'iqn.2013-01.com.example:storage.lun1')).toBeTruthy();
    expect(() => iqn('iqn', 'iqn.2013-01.com.example:x y')).toThrow(ValidationError);
    expect(ipAddress('ip', '10.10.10.3')).toBe('10.10.10.3');
    expect(() => ipAddress('ip', '10.10.10.300')).toThrow(ValidationError);
    expect(resourceName('r', 'iscsivg01')).toBe('iscsivg01');
    expect(() => resourceName('r', '-rf')).toThrow(ValidationError);
    expect(() => fileName('f', '../x')).toThrow(ValidationError);
  });
});

describe('tgtBackingStore: LUN files only from the configured directories', () => {
  it('refuses an image anywhere on the host when no lunFileDirs are configured, naming the field', () => {
    for (const v of ['/root/backup.img', '/var/lib/xcp/state.raw', '/tmp/lun.img']) {
      expect(() => tgtBackingStore('luns[0].backingStore', v)).toThrow(/luns\[0\]\.backingStore.*lunFileDirs/);
    }
  });

  it('takes an image under an allowed directory, and nothing beside or above it', () => {
    const dirs = ['/srv/xsctl/luns'];
    expect(tgtBackingStore('b', '/srv/xsctl/luns/lun10.img', dirs)).toBe('/srv/xsctl/luns/lun10.img');
    expect(tgtBackingStore('b', '/srv/xsctl/luns/a/lun.raw', dirs)).toBe('/srv/xsctl/luns/a/lun.raw');
    for (const v of ['/srv/xsctl/luns-other/x.img', '/srv/xsctl/x.img', '/srv/xsctl/luns/../../../root/x.img', '/srv/xsctl/luns/.hidden.img']) {
      expect(() => tgtBackingStore('b', v, dirs), v).toThrow(ValidationError);
    }
    // DRBD and block devices do not depend on the list.
    expect(tgtBackingStore('b', '/dev/drbd1')).toBe('/dev/drbd1');
  });
});

describe('tgtBackingStore: what the refusal says, and directories written with trailing slashes', () => {
  it('says none is set when the agent config lists no directory, and names the directories otherwise', () => {
    expect(() => tgtBackingStore('b', '/root/backup.img')).toThrow(new ValidationError('b', 'a file-backed LUN needs lunFileDirs in the agent config (none is set)'));
    expect(() => tgtBackingStore('b', '/root/backup.img', ['/srv/a', '/srv/b/'])).toThrow(new ValidationError('b', 'a LUN file must lie under /srv/a or /srv/b/ (lunFileDirs)'));
  });
  it('takes "/srv/luns//" as /srv/luns (every trailing slash dropped, not only the last)', () => {
    expect(tgtBackingStore('b', '/srv/luns/lun1.img', ['/srv/luns//'])).toBe('/srv/luns/lun1.img');
    expect(tgtBackingStore('b', '/srv/luns/lun1.img', ['/srv/luns///'])).toBe('/srv/luns/lun1.img');
  });
});

/**
 * The words drbdadm 9.22 refuses as a resource name (captured from drbdadm on this machine, one per
 * line in the fixture; drbd-keywords-drbdadm.test.ts re-checks the fixture against drbdadm). 8.4's
 * lexer (a dom0's) reserves more (the option names too); these are the ones drbdadm here confirms.
 */
const drbdadmRefuses = readFileSync(new URL('./__fixtures__/drbdadm-refused-resource-names.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('drbdResourceName refuses the words drbdadm does not take as a name', () => {
  it('the fixture holds the words', () => {
    expect(drbdadmRefuses).toHaveLength(57);
  });
  it.each(drbdadmRefuses)('%s (and in capitals: the lexer ignores case)', (word) => {
    expect(() => drbdResourceName('res', word)).toThrow(ValidationError);
    expect(() => drbdResourceName('res', word.toUpperCase())).toThrow(ValidationError);
  });
  it.each(['r0', 'iscsi1', 'sr-lun-7', 'ask1', 'portal', 'yes_no'])('takes %s, which drbdadm takes too', (word) => {
    expect(drbdResourceName('res', word)).toBe(word);
  });
});

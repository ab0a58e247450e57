import { describe, expect, it } from 'vitest';
import { drbdRejectPattern, editLvmConf, rejectPatternFor } from './lvm-conf.js';

// The shape of dom0's lvm.conf (XenServer 6.x): a long commented devices section with XenServer's filter.
const dom0 = `# This is an example configuration file for the LVM2 system.
devices {

    # Where do you want your volume groups to appear ?
    dir = "/dev"

    # An array of directories that contain the device nodes you wish
    # to use with LVM2.
    scan = [ "/dev" ]

    # By default we accept every block device:
    # filter = [ "a/.*/" ]
    filter = [ "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|"]

    # The results of the filtering are cached on disk to avoid
    # rescanning dud devices (which can take a very long time).
    cache_dir = "/etc/lvm/cache"

    # You can turn off writing this cache file by setting this to 0.
    write_cache_state = 1

    types = [ "nvme", 64 ]
}

log {
    verbose = 0
    # filter = [ "a|.*|" ]
}
`;

describe('editLvmConf', () => {
  it("adds the how-to's rejects in front of XenServer's filter and sets write_cache_state = 0, keeping comments", () => {
    const r = editLvmConf(dom0, ['/dev/cciss/c0d1']);
    expect(r.changed).toBe(true);
    expect(r.entries).toEqual([drbdRejectPattern, 'r|^/dev/cciss/c0d1|', 'r|/dev/xvd.|', 'r|/dev/VG_Xen.*/*|']);
    expect(r.text).toContain('    filter = [ "r|^/dev/drbd.*|", "r|^/dev/cciss/c0d1|", "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|" ]\n');
    expect(r.text).toContain('    write_cache_state = 0\n');
    expect(r.text).toContain('    # filter = [ "a/.*/" ]\n');
    expect(r.text).toContain('    # filter = [ "a|.*|" ]\n');
    expect(r.text).toContain('    types = [ "nvme", 64 ]');
    expect(r.text.split('\n').length).toBe(dom0.split('\n').length);
    expect(r.filter).toBe('filter = [ "r|^/dev/drbd.*|", "r|^/dev/cciss/c0d1|", "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|" ]');
  });

  it('is idempotent', () => {
    const once = editLvmConf(dom0, ['/dev/sdb']);
    const twice = editLvmConf(once.text, ['/dev/sdb']);
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once.text);
  });

  it('rewrites a multi-line filter and writes regex characters of the disk path as classes', () => {
    const text = 'devices {\n  filter = [ "a|^/dev/sda|",\n             "a|.*|" ]  # accept everything\n  write_cache_state=1\n}\n';
    const r = editLvmConf(text, ['/dev/disk/by-id/scsi-3600.a+b']);
    expect(r.text).toBe('devices {\n  filter = [ "r|^/dev/drbd.*|", "r|^/dev/disk/by-id/scsi-3600[.]a[+]b|", "a|^/dev/sda|", "a|.*|" ]\n  write_cache_state=0\n}\n');
    expect(rejectPatternFor('/dev/sdb')).toBe('r|^/dev/sdb|');
  });

  it('creates the settings (or the section) when they are missing', () => {
    expect(editLvmConf('devices {\n    dir = "/dev"\n}\n', []).text).toBe('devices {\n    filter = [ "r|^/dev/drbd.*|" ]\n    dir = "/dev"\n    write_cache_state = 0\n}\n');
    expect(editLvmConf('global {\n    umask = 077\n}\n', ['/dev/sdb']).text).toBe('global {\n    umask = 077\n}\ndevices {\n    filter = [ "r|^/dev/drbd.*|", "r|^/dev/sdb|" ]\n    write_cache_state = 0\n}\n');
  });
});

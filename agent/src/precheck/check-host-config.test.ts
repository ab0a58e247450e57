import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { checkClock, checkCustomisations, checkDiskSpace, checkRcLocal, customFstabEntries, spaceSeverity } from './check-host-config.js';
import { parseChronyTracking, parseNtpqPeers, parseTimeServers, selectedNtpPeer } from './parse-time-sync.js';
import type { PrecheckContext } from './precheck-context.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;

async function host(files: Record<string, string> = {}): Promise<PrecheckContext> {
  const root = new SandboxRoot(await tempDir('xsctl-hostcfg-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root.root, path, '..'), { recursive: true });
    await writeFile(join(root.root, path), text);
  }
  return { root, runner: new CommandRunner({ logger: pino({ level: 'silent' }) }), stateDir: '/var/lib/xsctl-agent', now: () => new Date(), live: false };
}

describe('disk space', () => {
  it('grades free space', () => {
    expect(spaceSeverity(18 * 2 ** 30, 10 * 2 ** 30)).toBe(INFO);
    expect(spaceSeverity(4 * 2 ** 30, 500 * 2 ** 20)).toBe(WARNING);
    expect(spaceSeverity(4 * 2 ** 30, 100 * 2 ** 20)).toBe(BLOCKER);
    expect(spaceSeverity(100 * 2 ** 30, 4 * 2 ** 30)).toBe(BLOCKER);
  });

  it('measures /, /var/log and /boot under the root with statfs', async () => {
    const ctx = await host({ 'var/log/messages': '', 'boot/grub/grub.cfg': '' });
    const f = await checkDiskSpace(ctx);
    expect(f.id).toBe('disk-space');
    const d = f.details?.$case === 'diskSpace' ? f.details.value : undefined;
    expect(d?.filesystems.map((x) => x.path)).toEqual(['/', '/var/log', '/boot']);
    for (const fs of d?.filesystems ?? []) expect(fs.totalBytes).toBeGreaterThan(fs.freeBytes);
    expect(f.evidence[1]).toMatch(/same filesystem as \//);
  });

  it('stats the mount points through the thread pool: the event loop turns before the check answers (a hung NFS /var/log must not stop it)', async () => {
    const ctx = await host({ 'var/log/messages': '', 'boot/grub/grub.cfg': '' });
    const order: string[] = [];
    const checked = checkDiskSpace(ctx).then(() => order.push('checked'));
    setImmediate(() => order.push('next turn'));
    await checked;
    // A synchronous statfs answers within this turn, before any setImmediate callback.
    expect(order).toEqual(['next turn', 'checked']);
  });
});

describe('rc.local', () => {
  const custom = '#!/bin/sh\n# This script will be executed *after* all the other init scripts.\ntouch /var/lock/subsys/local\nmodprobe ipmi_si\nmodprobe ipmi_devintf\n';

  it('warns when XenServer 7 (systemd) will not run a non-executable rc.local', async () => {
    const ctx = await host({ 'etc/rc.d/rc.local': custom, 'usr/lib/systemd/system/rc-local.service': '[Unit]\nDescription=/etc/rc.d/rc.local Compatibility\n' });
    await chmod(join(ctx.root.root, 'etc/rc.d/rc.local'), 0o644);
    const f = await checkRcLocal(ctx);
    expect(f.severity).toBe(WARNING);
    expect(f.fix).toContain('chmod u+x /etc/rc.d/rc.local');
    expect(f.fix).toContain('systemctl start rc-local');
    const d = f.details?.$case === 'rcLocal' ? f.details.value : undefined;
    expect(d).toMatchObject({ exists: true, executable: false, initSystem: 'systemd', runsAtBoot: false, commands: ['modprobe ipmi_si', 'modprobe ipmi_devintf'] });

    await chmod(join(ctx.root.root, 'etc/rc.d/rc.local'), 0o755);
    const ok = await checkRcLocal(ctx);
    expect(ok.severity).toBe(INFO);
    expect(ok.details?.$case === 'rcLocal' && ok.details.value.runsAtBoot).toBe(true);
  });

  it('warns on a SysV (6.x) host that the commands stop running after the upgrade', async () => {
    const f = await checkRcLocal(await host({ 'etc/rc.d/rc.local': custom }));
    expect(f.severity).toBe(WARNING);
    expect(f.summary).toMatch(/after the upgrade to XenServer 7/);
  });

  it('is quiet about the stock rc.local', async () => {
    const f = await checkRcLocal(await host({ 'etc/rc.d/rc.local': '#!/bin/sh\ntouch /var/lock/subsys/local\n' }));
    expect(f.severity).toBe(INFO);
  });
});

describe('clock', () => {
  // `ntpq -p` on CentOS 7 with ntpd (captured in a public setup guide).
  const ntpq = `     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
+ntp1.jst.mfeed. 172.29.1.100     2 u   29   64    1   18.826   -0.126   0.000
+ntp2.jst.mfeed. 172.29.2.50      2 u   28   64    1   21.592    0.018   0.000
*ntp3.jst.mfeed. 133.243.236.18   2 u   28   64    1   22.666   -1.033   0.000
`;
  // `chronyc tracking` (captured in a public chrony guide).
  const tracking = `Reference ID    : 3DD8996B (61-216-153-107.hinet-ip.hinet.net)
Stratum         : 4
Ref time (UTC)  : Tue Mar 27 06:03:38 2018
System time     : 0.000040356 seconds fast of NTP time
Last offset     : +0.000163738 seconds
RMS offset      : 0.000163738 seconds
Frequency       : 21.384 ppm fast
Residual freq   : +0.000 ppm
Skew            : 675.319 ppm
Root delay      : 0.008527911 seconds
Root dispersion : 0.066466033 seconds
Update interval : 2.0 seconds
Leap status     : Normal
`;

  it('parses ntpq and chronyc', () => {
    const peer = selectedNtpPeer(parseNtpqPeers(ntpq));
    expect(peer).toMatchObject({ tally: '*', remote: 'ntp3.jst.mfeed.', stratum: 2, offsetMs: -1.033 });
    expect(parseNtpqPeers(' 59.37.9.151     .INIT.          16 u    -   64    0    0.000    0.000   0.000\n')).toEqual([]);
    const t = parseChronyTracking(tracking);
    expect(t?.offsetMs).toBeCloseTo(0.040356, 6);
    expect(t?.leapStatus).toBe('Normal');
    expect(parseChronyTracking('System time     : 0.000549837 seconds slow of NTP time\n')?.offsetMs).toBeCloseTo(-0.549837, 6);
  });

  it('reads the servers from ntp.conf, ignoring the local clock driver', async () => {
    expect(parseTimeServers('server 127.127.1.0 # local clock\nfudge 127.127.1.0 stratum 10\nserver 0.xenserver.pool.ntp.org iburst\n#server 9.9.9.9\npool 2.centos.pool.ntp.org\n')).toEqual(['0.xenserver.pool.ntp.org', '2.centos.pool.ntp.org']);
    const f = await checkClock(await host({ 'etc/ntp.conf': 'driftfile /var/lib/ntp/drift\nserver 0.xenserver.pool.ntp.org iburst\nserver 1.xenserver.pool.ntp.org iburst\n' }));
    expect(f.severity).toBe(INFO);
    expect(f.details?.$case === 'clock' && f.details.value).toMatchObject({ ntpConfigured: true, servers: ['0.xenserver.pool.ntp.org', '1.xenserver.pool.ntp.org'], configFile: '/etc/ntp.conf', offsetMeasured: false });
    expect(f.evidence.join('\n')).toMatch(/not the live host/);
  });

  it('warns when no NTP server is configured', async () => {
    const f = await checkClock(await host({ 'etc/ntp.conf': 'server 127.127.1.0\n' }));
    expect(f.severity).toBe(WARNING);
    expect(f.summary).toBe('no NTP server configured');
  });
});

describe('customisations', () => {
  // /etc/fstab as host-installer's writeFstab lays it out, plus an admin's NFS mount.
  const fstab = `LABEL=root-xqvkkm    /         ext3     defaults   1  1
LABEL=swap-xqvkkm          swap      swap   defaults   0  0
LABEL=logs-xqvkkm    /var/log         ext3     defaults   0  2
/opt/xensource/packages/iso/XenCenter.iso   /var/xen/xc-install   iso9660   loop,ro   0  0
none        /dev/pts  devpts defaults   0  0
none        /dev/shm  tmpfs  defaults   0  0
none        /proc     proc   defaults   0  0
none        /sys      sysfs  defaults   0  0
10.0.0.5:/export/iso  /mnt/iso  nfs  defaults  0  0
`;

  it('keeps only what the installer did not write', () => {
    expect(customFstabEntries(fstab)).toEqual(['10.0.0.5:/export/iso  /mnt/iso  nfs  defaults  0  0']);
  });

  it('lists fstab, cron, rc.local and iSCSI settings to carry over', async () => {
    const ctx = await host({
      'etc/fstab': fstab,
      'etc/crontab': 'SHELL=/bin/bash\nPATH=/sbin:/bin:/usr/sbin:/usr/bin\nMAILTO=root\n\n# For details see man 4 crontabs\n',
      'var/spool/cron/root': '0 2 * * * /root/backup-metadata.sh\n',
      'etc/cron.d/vm-backup': '30 1 * * * root /usr/local/bin/VmBackup.py\n',
      'etc/rc.d/rc.local': '#!/bin/sh\ntouch /var/lock/subsys/local\nethtool -K eth0 gro off\n',
      'etc/iscsi/initiatorname.iscsi': 'InitiatorName=iqn.2017-06.com.example:xs71-a\n',
      'var/lib/iscsi/nodes/iqn.2008-08.com.starwindsoftware:sw1-target1/10.10.10.1,3260,1/default': 'node.name = iqn.2008-08.com.starwindsoftware:sw1-target1\n',
    });
    const f = await checkCustomisations(ctx);
    expect(f.severity).toBe(WARNING);
    const d = f.details?.$case === 'customisations' ? f.details.value : undefined;
    expect(d).toEqual({
      fstabEntries: ['10.0.0.5:/export/iso  /mnt/iso  nfs  defaults  0  0'],
      cronEntries: ['crontab root: 0 2 * * * /root/backup-metadata.sh', '/etc/cron.d/vm-backup: 30 1 * * * root /usr/local/bin/VmBackup.py'],
      rcLocalCommands: ['ethtool -K eth0 gro off'],
      iscsiInitiatorName: 'iqn.2017-06.com.example:xs71-a',
      iscsiNodes: [{ target: 'iqn.2008-08.com.starwindsoftware:sw1-target1', portal: '10.10.10.1,3260,1' }],
      editedFiles: [],
    });
  });

  it("finds the files the seeds edit by hand, with the how-to's own edits marked customised and secrets redacted", async () => {
    const howtoTargets = await readFile(new URL('../target/__fixtures__/howto-targets.conf', import.meta.url), 'utf8');
    const howtoDrbd = await readFile(new URL('../drbd/__fixtures__/howto-drbd.conf', import.meta.url), 'utf8');
    const ctx = await host({
      // The how-to's step 2 rule inserted above the REJECT line of the dom0 firewall.
      'etc/sysconfig/iptables':
        '*filter\n:INPUT ACCEPT [0:0]\n:RH-Firewall-1-INPUT - [0:0]\n-A INPUT -j RH-Firewall-1-INPUT\n-A RH-Firewall-1-INPUT -i lo -j ACCEPT\n-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -j ACCEPT\n-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n',
      // The how-to's lvm.conf lines, as printed there.
      'etc/lvm/lvm.conf': 'devices {\n    filter = [ "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|", "r|/dev/cciss/c0d1|", "r|/dev/drbd*|"]\n    write_cache_state = 0\n}\n',
      'etc/drbd.conf': howtoDrbd,
      'etc/tgt/targets.conf': howtoTargets,
      'etc/iscsi/iscsid.conf': '# iscsid.conf\nnode.startup = automatic\nnode.session.auth.authmethod = CHAP\nnode.session.auth.password = Xs-CHAP-secret-42\n',
      'etc/multipath.conf': 'defaults {\n\tuser_friendly_names no\n}\ndevices {\n\tdevice {\n\t\tvendor "DELL"\n\t\tproduct "MD36xx(i|f)"\n\t}\n}\n',
      'etc/multipath/conf.d/xsctl-starwind.conf': 'devices {\n\tdevice {\n\t\tvendor "STARWIND"\n\t\tproduct "STARWIND*"\n\t}\n}\n',
    });
    const f = await checkCustomisations(ctx);
    expect(f.severity).toBe(WARNING);
    const d = f.details?.$case === 'customisations' ? f.details.value : undefined;
    const byPath = Object.fromEntries((d?.editedFiles ?? []).map((e) => [e.path, e]));
    expect(Object.keys(byPath)).toEqual(['/etc/multipath.conf', '/etc/multipath/conf.d/xsctl-starwind.conf', '/etc/iscsi/iscsid.conf', '/etc/lvm/lvm.conf', '/etc/drbd.conf', '/etc/tgt/targets.conf', '/etc/sysconfig/iptables']);
    expect(Object.values(byPath).filter((e) => e.customised).map((e) => e.path)).toEqual(['/etc/multipath/conf.d/xsctl-starwind.conf', '/etc/lvm/lvm.conf', '/etc/drbd.conf', '/etc/tgt/targets.conf', '/etc/sysconfig/iptables']);
    expect(byPath['/etc/drbd.conf']?.lines).toEqual(['resource iscsi1 {']);
    expect(byPath['/etc/tgt/targets.conf']?.lines).toEqual(expect.arrayContaining(['<target iqn.2013-05.com.yourdomain:yourhost>', 'backing-store /dev/drbd1', 'scsi_id 0000000000']));
    expect(byPath['/etc/sysconfig/iptables']?.why).toMatch(/^1 rule\(s\)/);
    expect(byPath['/etc/lvm/lvm.conf']?.lines).toEqual(['filter = [ "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|", "r|/dev/cciss/c0d1|", "r|/dev/drbd*|"]', 'write_cache_state = 0']);
    expect(byPath['/etc/multipath.conf']?.lines).toEqual(['device DELL/MD36xx(i|f)']);
    expect(byPath['/etc/iscsi/iscsid.conf']?.lines).toContain('node.session.auth.password = [redacted]');
    expect(JSON.stringify(f)).not.toContain('Xs-CHAP-secret-42');
    expect(f.fix).toContain('keep copies of /etc/multipath/conf.d/xsctl-starwind.conf, /etc/lvm/lvm.conf, /etc/drbd.conf, /etc/tgt/targets.conf, /etc/sysconfig/iptables');
  });
});

import { readdirSync, statSync, type Stats } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import type { PrecheckFilesystemSpace, PrecheckFinding, PrecheckIscsiNode } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { CommandFailedError } from '../exec/command-errors.js';
import { formatBytes } from './assess-disk.js';
import { editedConfigFiles } from './edited-config-files.js';
import { parseChronyTracking, parseNtpqPeers, parseTimeServers, selectedNtpPeer } from './parse-time-sync.js';
import { BLOCKER, INFO, WARNING, finding, readOptional, worst, type PrecheckContext } from './precheck-context.js';

const MiB = 2 ** 20;

// Stats and directory listings of files on the root filesystem are synchronous: local metadata,
// microseconds each, where the promise API's thread-pool round trip cost more CPU than the checks
// themselves (bench/fanout.mjs). Not so the disk-space check's mount points (checkDiskSpace).
/** The file's stat, or undefined when it cannot be stat'ed (absent, or unreadable: as absent). */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
const GiB = 2 ** 30;

// ------------------------------------------------------------------ disk space

/** The filesystems an upgrade writes to: / (backup copy, hotfix files), /var/log (installer and xapi logs), /boot (new kernel, initrd). */
export const spacePaths = ['/', '/var/log', '/boot'] as const;

/** Blocker below 5% or 256 MiB free; warning below 15% or 1 GiB. */
export function spaceSeverity(totalBytes: number, freeBytes: number): PrecheckFilesystemSpace['severity'] {
  const pct = totalBytes > 0 ? (freeBytes / totalBytes) * 100 : 100;
  if (freeBytes < 256 * MiB || pct < 5) return BLOCKER;
  if (freeBytes < GiB || pct < 15) return WARNING;
  return INFO;
}

/**
 * /var/log and /boot are mount points an admin may have put elsewhere (a hard NFS mount of
 * /var/log whose server is gone makes stat and statfs wait without end, in D state), so they go
 * through the thread pool: a hung one holds this check until the Run's deadline, never the event
 * loop that answers health checks and every other call.
 */
export async function checkDiskSpace(ctx: PrecheckContext): Promise<PrecheckFinding> {
  const filesystems: PrecheckFilesystemSpace[] = [];
  const evidence: string[] = [];
  const seen = new Map<number, string>();
  for (const path of spacePaths) {
    const full = ctx.root.resolve(path);
    const st = await stat(full).catch(() => undefined);
    if (st === undefined) {
      evidence.push(`${path}: not present`);
      continue;
    }
    const fs = await statfs(full);
    const total = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    const freePercent = total > 0 ? Math.round((free / total) * 1000) / 10 : 0;
    const severity = spaceSeverity(total, free);
    filesystems.push({ path, totalBytes: total, freeBytes: free, freePercent, severity });
    const same = seen.get(st.dev);
    evidence.push(`${path}: ${formatBytes(free)} free of ${formatBytes(total)} (${freePercent}%)${same !== undefined ? `, same filesystem as ${same}` : ''}`);
    if (same === undefined) seen.set(st.dev, path);
  }
  const sev = worst(filesystems.map((f) => f.severity));
  const low = filesystems.filter((f) => f.severity !== INFO).map((f) => `${f.path} ${f.freePercent}% free`);
  return finding(
    'disk-space',
    sev,
    low.length === 0 ? 'enough free space on /, /var/log and /boot' : `low space: ${low.join(', ')}`,
    evidence,
    low.length === 0 ? '' : 'free space before upgrading: old hotfix files under /var/update and /var/patch, rotated logs under /var/log (`ls -lS /var/log`), old kernels in /boot',
    { $case: 'diskSpace', value: { filesystems } },
  );
}

// ------------------------------------------------------------------ rc.local

export const rcLocalPath = '/etc/rc.d/rc.local';

/** The commands of an rc.local: everything but comments, blank lines and the stock lock-file touch. */
export function rcLocalCommands(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && l !== 'touch /var/lock/subsys/local' && l !== 'exit 0');
}

export async function checkRcLocal(ctx: PrecheckContext): Promise<PrecheckFinding> {
  const full = ctx.root.resolve(rcLocalPath);
  const st = statOrUndefined(full);
  const text = st === undefined ? '' : ((await readOptional(full, ctx.signal)) ?? '');
  const commands = rcLocalCommands(text);
  const executable = st !== undefined && (st.mode & 0o100) !== 0;
  const systemd = statOrUndefined(ctx.root.resolve('/usr/lib/systemd/system/rc-local.service')) !== undefined;
  let unitState = '';
  if (ctx.live && systemd) {
    const r = await ctx.runner.run('systemctl', ['is-enabled', 'rc-local.service'], { okExitCodes: [1], timeoutMs: 5000, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }).catch(() => undefined);
    unitState = r?.stdout.trim() ?? '';
  }
  // rc-local.service is "static": systemd-rc-local-generator pulls it in only when the file is executable.
  const runsAtBoot = st !== undefined && (systemd ? executable : true);
  const details = { $case: 'rcLocal' as const, value: { path: rcLocalPath, exists: st !== undefined, executable, commands, initSystem: systemd ? 'systemd' : 'sysv', unitState, runsAtBoot } };
  const evidence = [
    st === undefined ? `${rcLocalPath} absent` : `${rcLocalPath}: mode ${(st.mode & 0o777).toString(8)}, ${commands.length} command(s)`,
    `init: ${systemd ? 'systemd (rc-local.service)' : 'SysV (rc.local runs from S99local)'}`,
    ...(unitState !== '' ? [`systemctl is-enabled rc-local: ${unitState}`] : []),
    ...commands.map((c) => `  ${c}`),
  ];
  const chmod = `\`chmod u+x ${rcLocalPath}\` and \`systemctl start rc-local\` (check with \`systemctl status rc-local\`)`;
  if (commands.length === 0) return finding('rc-local', INFO, 'rc.local has no commands of its own', evidence, '', details);
  if (systemd && !executable) {
    return finding('rc-local', WARNING, `rc.local has ${commands.length} command(s) but is not executable: they do not run at boot`, evidence, chmod, details);
  }
  if (!systemd) {
    return finding(
      'rc-local',
      WARNING,
      `rc.local has ${commands.length} command(s): after the upgrade to XenServer 7 (CentOS 7, systemd) they stop running until rc.local is made executable`,
      evidence,
      `copy ${rcLocalPath} aside before upgrading; afterwards ${chmod}`,
      details,
    );
  }
  return finding('rc-local', INFO, `rc.local has ${commands.length} command(s) and runs at boot`, evidence, `keep a copy of ${rcLocalPath}: a clean install or layout change drops it`, details);
}

// ------------------------------------------------------------------ clock

/** Offsets beyond this make pool joins and TLS checks fail after the reboot. */
const maxOffsetMs = 1000;

export async function checkClock(ctx: PrecheckContext): Promise<PrecheckFinding> {
  const sig = ctx.signal === undefined ? {} : { signal: ctx.signal };
  let servers: string[] = [];
  let configFile = '';
  for (const file of ['/etc/chrony.conf', '/etc/ntp.conf']) {
    const text = await readOptional(ctx.root.resolve(file), ctx.signal);
    if (text === null) continue;
    const found = parseTimeServers(text);
    if (found.length > 0 || configFile === '') {
      servers = found;
      configFile = file;
    }
    if (found.length > 0) break;
  }
  let offsetMs: number | undefined;
  let measuredWith = '';
  const notes: string[] = [];
  if (ctx.live) {
    const chrony = await ctx.runner.run('chronyc', ['tracking'], { timeoutMs: 5000, ...sig }).catch((err: unknown) => err);
    const tracking = typeof chrony === 'object' && chrony !== null && 'stdout' in chrony ? parseChronyTracking(String(chrony.stdout)) : undefined;
    if (tracking !== undefined && tracking.leapStatus !== 'Not synchronised') {
      offsetMs = tracking.offsetMs;
      measuredWith = 'chronyc tracking';
    } else {
      const ntpq = await ctx.runner.run('ntpq', ['-pn'], { timeoutMs: 5000, ...sig }).catch((err: unknown) => err);
      if (typeof ntpq === 'object' && ntpq !== null && 'stdout' in ntpq) {
        const peer = selectedNtpPeer(parseNtpqPeers(String(ntpq.stdout)));
        if (peer !== undefined) {
          offsetMs = peer.offsetMs;
          measuredWith = `ntpq -pn (peer ${peer.remote})`;
        } else notes.push('ntpq: no peer selected (not synchronised)');
      } else if (ntpq instanceof CommandFailedError) notes.push(`ntpq: ${ntpq.message}`);
    }
  } else notes.push('offset not measured: not the live host (image or sandbox)');
  const ntpConfigured = servers.length > 0;
  const evidence = [
    configFile === '' ? 'no /etc/ntp.conf or /etc/chrony.conf' : `${configFile}: ${servers.length === 0 ? 'no servers' : servers.join(', ')}`,
    ...(offsetMs !== undefined ? [`offset ${offsetMs.toFixed(3)} ms (${measuredWith})`] : []),
    ...notes,
  ];
  const details = { $case: 'clock' as const, value: { ntpConfigured, servers, configFile, offsetMeasured: offsetMs !== undefined, offsetMs: offsetMs ?? 0, measuredWith } };
  if (!ntpConfigured) {
    return finding('clock', WARNING, 'no NTP server configured', evidence, 'configure NTP in xsconsole (Network and Management Interface > Configure NTP) or /etc/ntp.conf, the same servers on every host', details);
  }
  if (offsetMs !== undefined && Math.abs(offsetMs) > maxOffsetMs) {
    return finding('clock', WARNING, `clock is ${(offsetMs / 1000).toFixed(1)} s off`, evidence, 'let ntpd step the clock (`service ntpd stop; ntpdate SERVER; service ntpd start`) before upgrading', details);
  }
  if (ctx.live && offsetMs === undefined) {
    return finding('clock', WARNING, 'NTP configured but the clock is not synchronised', evidence, 'check that the NTP servers answer from dom0 (`ntpq -pn`)', details);
  }
  return finding('clock', INFO, offsetMs === undefined ? `NTP configured (${servers.join(', ')})` : `NTP in sync, offset ${offsetMs.toFixed(1)} ms`, evidence, '', details);
}

// ------------------------------------------------------------------ customisations

/** fstab lines other than the ones the XenServer installer writes (host-installer backend.writeFstab). */
export function customFstabEntries(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [spec = '', mount = '', type = ''] = line.split(/\s+/);
    if (/^LABEL=(root|swap|logs|BOOT)-/.test(spec)) continue;
    if (['devpts', 'tmpfs', 'sysfs', 'proc', 'cgroup'].includes(type) || ['/dev/pts', '/dev/shm', '/sys', '/proc', '/sys/fs/cgroup'].includes(mount)) continue;
    // The installer's swap file (before 7.0) and the XenCenter ISO loop mount.
    if (spec === '/var/swap/swap.001' || mount === '/var/xen/xc-install') continue;
    out.push(line);
  }
  return out;
}

function cronLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !/^[A-Z_]+=/.test(l));
}

function listOptional(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export async function checkCustomisations(ctx: PrecheckContext): Promise<PrecheckFinding> {
  const read = (p: string) => readOptional(ctx.root.resolve(p), ctx.signal);
  const fstabEntries = customFstabEntries((await read('/etc/fstab')) ?? '');
  const cronEntries: string[] = [];
  for (const line of cronLines((await read('/etc/crontab')) ?? '')) cronEntries.push(`/etc/crontab: ${line}`);
  for (const user of listOptional(ctx.root.resolve('/var/spool/cron'))) {
    for (const line of cronLines((await read(`/var/spool/cron/${user}`)) ?? '')) cronEntries.push(`crontab ${user}: ${line}`);
  }
  for (const name of listOptional(ctx.root.resolve('/etc/cron.d')).sort()) {
    for (const line of cronLines((await read(`/etc/cron.d/${name}`)) ?? '')) cronEntries.push(`/etc/cron.d/${name}: ${line}`);
  }
  const rcLocal = rcLocalCommands((await read(rcLocalPath)) ?? '');
  const initiator = /^InitiatorName=(\S+)/m.exec((await read('/etc/iscsi/initiatorname.iscsi')) ?? '')?.[1] ?? '';
  const iscsiNodes: PrecheckIscsiNode[] = [];
  for (const target of listOptional(ctx.root.resolve('/var/lib/iscsi/nodes')).sort()) {
    for (const portal of listOptional(ctx.root.resolve(`/var/lib/iscsi/nodes/${target}`)).sort()) iscsiNodes.push({ target, portal });
  }
  const editedFiles = await editedConfigFiles(ctx);
  const customisedFiles = editedFiles.filter((f) => f.customised);
  const evidence = [
    ...fstabEntries.map((l) => `fstab: ${l}`),
    ...cronEntries,
    ...rcLocal.map((l) => `rc.local: ${l}`),
    ...(initiator !== '' ? [`iSCSI initiator: ${initiator}`] : []),
    ...iscsiNodes.map((n) => `iSCSI node: ${n.target} ${n.portal}`),
    ...editedFiles.map((f) => `${f.path}${f.customised ? ' (customised)' : ''}: ${f.why}${f.lines.length > 0 ? `: ${f.lines.slice(0, 8).join('; ')}${f.lines.length > 8 ? `; ... ${f.lines.length - 8} more` : ''}` : ''}`),
  ];
  const count = fstabEntries.length + cronEntries.length + rcLocal.length + iscsiNodes.length + customisedFiles.length;
  return finding(
    'customisations',
    count > 0 ? WARNING : INFO,
    count > 0 ? `${count} local customisation(s) to carry over by hand` : 'no local customisations found',
    evidence,
    count > 0
      ? `record these before upgrading (the report: copy /etc/fstab, cron jobs, rc.local; note iSCSI connections)${customisedFiles.length > 0 ? `; keep copies of ${customisedFiles.map((f) => f.path).join(', ')}` : ''}: an eject, clean install or layout change drops them, and the pool metadata does not hold them`
      : '',
    { $case: 'customisations', value: { fstabEntries, cronEntries, rcLocalCommands: rcLocal, iscsiInitiatorName: initiator, iscsiNodes, editedFiles } },
  );
}

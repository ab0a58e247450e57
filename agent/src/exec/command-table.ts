/**
 * Every program the agent may run, by name. Anything not listed is refused before exec.
 * Values are the program looked up on PATH; a deployment may pin absolute paths via config.
 */
export const allowedCommands = [
  'multipath',
  'multipathd',
  'sg_inq',
  'sg_vpd',
  'sg_rtpg',
  'drbdadm',
  'drbdsetup',
  'drbdmeta',
  'tgtadm',
  'tgtd',
  'ip',
  'arping',
  'iptables',
  'iptables-restore',
  'blkid',
  'wipefs',
  'systemctl',
  'chkconfig',
  'service',
  'unshare',
  'chronyc',
  'ntpq',
  'dmesg',
] as const;

export type AllowedCommand = (typeof allowedCommands)[number];

export function isAllowedCommand(name: string): name is AllowedCommand {
  return (allowedCommands as readonly string[]).includes(name);
}

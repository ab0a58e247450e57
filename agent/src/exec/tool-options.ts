import type { AllowedCommand } from './command-table.js';

/**
 * Every option and subcommand the agent passes to each program, with the oldest version of that
 * program that has it. A dom0 (XCP-ng 8.2/8.3, XenServer 8) is a CentOS 7.5 userland: the `dom0`
 * column is the version it ships (or, for tgt and drbd, the oldest the iSCSI-HA/HA-Lizard stack
 * installs). The CommandRunner refuses a call whose options are not in this table
 * (CommandOptionNotInTableError), so every test that drives the agent also checks this table.
 *
 * An entry newer than the dom0 version is allowed only with a `guard`: the reason it never runs
 * on a dom0 (a version probe picks it, or it is a first try with a fallback).
 * Sources: the tools' own git history (tgt: fujita/tgt `git log -S`), their man pages and
 * NEWS files; CentOS 7.5 package versions from its package list.
 */
export interface Since {
  since: string;
  /** Why a use newer than the dom0's version never reaches a dom0. */
  guard?: string;
}

export interface OptionSpec extends Since {
  /** The option takes the next argument as its value. */
  value?: boolean;
}

export interface ToolSpec {
  /** CentOS 7 package that provides the program. */
  package: string;
  /** Version on a dom0. */
  dom0: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Leading positional words (subcommands); a call's positional arguments must start with one. */
  words?: Readonly<Record<string, Since>>;
  /** `--` ends the options and what follows is another program's argv (unshare). */
  endOfOptions?: boolean;
  /** An option every call starts with, and why (iptables' `-w`). */
  first?: { option: string; why: string };
}

const v = (since: string, value = false, guard?: string): OptionSpec => ({ since, ...(value ? { value } : {}), ...(guard === undefined ? {} : { guard }) });

export const toolOptions: Readonly<Partial<Record<AllowedCommand, ToolSpec>>> = {
  ip: {
    package: 'iproute',
    dom0: '4.11.0',
    // Plain text only: `ip -j` (JSON) arrived in iproute2 4.13 and is not here.
    options: {},
    words: { 'addr show': { since: '2.6.9' }, 'addr add': { since: '2.6.9' }, 'addr del': { since: '2.6.9' } },
  },
  arping: {
    package: 'iputils',
    dom0: '20160308',
    options: { '-D': v('20020927'), '-U': v('20020927'), '-q': v('20020927'), '-c': v('20020927', true), '-w': v('20020927', true), '-I': v('20020927', true) },
  },
  iptables: {
    package: 'iptables',
    dom0: '1.4.21',
    // -C (check) arrived in 1.4.11; -S is avoided for older dom0s (see firewall.ts).
    options: {
      // Wait for the xtables lock: netfilter/iptables 93587a0 (2013-05-31), first in v1.4.20, no
      // argument there and in v1.4.21 (getopt "w", has_arg 0). The optional seconds came with
      // aaa4ace (2014-07-04), first in v1.6.0; CentOS 7 backported them in 1.4.21-14.el7
      // (RHBZ#1156411, with the flock lock of RHBZ#1202435). So bare `-w`: both take it.
      '-w': v('1.4.20'),
      '-n': v('1.2.0'),
      '-L': v('1.2.0'),
      '-C': v('1.4.11', true),
      '-I': v('1.2.0', true),
      '-D': v('1.2.0', true),
      '-s': v('1.2.0', true),
      '-d': v('1.2.0', true),
      '-p': v('1.2.0', true),
      // The tcp match's SYN-only test (first segment of a connection): the switchover's portal block.
      '--syn': v('1.2.0'),
      '-m': v('1.2.0', true),
      '--dport': v('1.2.0', true),
      '-j': v('1.2.0', true),
    },
    first: {
      option: '-w',
      why: 'other programs on a dom0 run iptables too, and without -w iptables 1.4.21 exits 4 at once while one of them holds the xtables lock; first, because 1.6+ and CentOS 7 read a word after -w as its seconds (network/iptables.ts)',
    },
  },
  // persist-firewall.ts checks an edited /etc/sysconfig/iptables on stdin before writing it.
  // No -w: iptables-restore takes the lock (and -w) only from v1.6.2 (999eaa2, 2017); upstream
  // 1.4.21 refuses -w, CentOS 7 has it from 1.4.21-18.el7 (RHBZ#1438597). Exit 4 is IPTABLES_BUSY.
  'iptables-restore': { package: 'iptables', dom0: '1.4.21', options: { '--test': v('1.3.0') } },
  multipath: {
    package: 'device-mapper-multipath',
    dom0: '0.4.9',
    options: { '-h': v('0.4.5'), '-t': v('0.4.9'), '-ll': v('0.4.5') },
  },
  multipathd: {
    package: 'device-mapper-multipath',
    dom0: '0.4.9',
    options: { '-kreconfigure': v('0.4.5') },
    words: {
      reconfigure: { since: '0.5.0', guard: 'flavors.ts picks it only when `multipath -h` reports 0.5.0 or later; 0.4.9 gets -kreconfigure' },
      'show maps json': { since: '0.6.0', guard: 'list-maps.ts tries it first and falls back to `multipath -ll` when it fails' },
    },
  },
  sg_inq: { package: 'sg3_utils', dom0: '1.37', options: { '-H': v('1.20') } },
  sg_vpd: { package: 'sg3_utils', dom0: '1.37', options: { '-p': v('1.20', true), '-H': v('1.20') } },
  sg_rtpg: { package: 'sg3_utils', dom0: '1.37', options: { '-H': v('1.20'), '-d': v('1.20') } },
  drbdadm: {
    package: 'drbd84-utils',
    dom0: '8.4.0',
    options: {
      '-c': v('8.3.0', true),
      // 8.3 syntax: options for drbdsetup go after `--` and before the command.
      '--': v('8.3.0'),
      '--discard-my-data': v('8.3.0'),
      '--overwrite-data-of-peer': v('8.3.0'),
      '--force': v('8.4.0'),
      '--version': v('8.4.0'),
      // Dry run: prints the drbdsetup commands instead of running them (drbd 0.7's drbdadm has it).
      '-d': v('8.3.0'),
    },
    words: {
      'sh-nop': { since: '8.3.0' },
      'sh-resources': { since: '8.3.0' },
      'sh-minor': { since: '8.3.0' },
      'sh-ll-dev': { since: '8.3.0' },
      primary: { since: '8.3.0' },
      secondary: { since: '8.3.0' },
      connect: { since: '8.3.0' },
      disconnect: { since: '8.3.0' },
      attach: { since: '8.3.0' },
      up: { since: '8.3.0' },
      // Loads a changed drbd.conf into an up resource (drbd 0.7's drbdadm has it; the table starts at 8.3).
      adjust: { since: '8.3.0' },
      'create-md': { since: '8.3.0' },
      // Read-only: drbdadm hands it to drbdmeta, which exits 0 only when the disk holds metadata.
      'dump-md': { since: '8.3.0' },
      // 8.3 only (8.4 moved the syncer section into disk {}); drbd-ops.ts sends it only to 8.3.
      syncer: { since: '8.3.0' },
      status: { since: '9.0.0', guard: 'drbd-ops.ts runs it only when drbd-version.ts reports a DRBD 9 kernel module; 8.x reads /proc/drbd' },
    },
  },
  drbdsetup: {
    package: 'drbd84-utils',
    dom0: '8.4.0',
    options: { '--now': v('9.0.0', false, 'drbd-ops.ts runs events2 only for DRBD 9; 8.x reads /proc/drbd') },
    words: { events2: { since: '9.0.0', guard: 'DRBD 9 only (see --now)' } },
  },
  // drbdadm runs drbdmeta itself (the tests point it at the simulator); the agent never does.
  drbdmeta: { package: 'drbd84-utils', dom0: '8.4.0', options: {}, words: {} },
  tgtadm: {
    package: 'scsi-target-utils',
    dom0: '1.0.24',
    // Oldest tag of fujita/tgt carrying each option (git log -S on usr/tgtadm.c).
    options: {
      '-C': v('1.0.2', true),
      '--lld': v('0.9.0', true),
      '--op': v('0.9.0', true),
      '--mode': v('0.9.0', true),
      '--tid': v('0.9.0', true),
      '--lun': v('0.9.0', true),
      '--targetname': v('0.9.0', true),
      '--backing-store': v('0.9.0', true),
      '--bstype': v('0.9.0', true),
      '--params': v('0.9.0', true),
      '--initiator-address': v('0.9.0', true),
      '--initiator-name': v('1.0.18', true),
      '--user': v('0.9.0', true),
      // The only way tgtadm takes a CHAP password (fujita/tgt usr/tgtadm.c, v1.0.24 to master
      // f0dc199: plain optarg, no prompt/stdin/file/env, argv not scrubbed). It is therefore readable
      // in /proc/PID/cmdline by any local uid (dom0's /proc has no hidepid) for tgtadm's lifetime;
      // the CommandRunner redacts it from logs and errors. docs/SECURITY.md states the exposure.
      '--password': v('0.9.0', true),
      '--name': v('0.9.0', true),
      '--value': v('0.9.0', true),
      '--force': v('1.0.19'),
    },
  },
  tgtd: {
    package: 'scsi-target-utils',
    dom0: '1.0.24',
    options: {
      '-C': v('1.0.2', true),
      // Asked first: tgt-ops.ts passes -p only when `tgtd -h` lists --pid-file.
      '-h': v('1.0.0'),
      // fujita/tgt 98bcc90 (first in v1.0.78); a dom0 has 1.0.24.
      '-p': v('1.0.78', true, 'tgt-ops.ts passes it only when `tgtd -h` lists --pid-file; without it the agent writes the pid file from a /proc scan'),
    },
  },
  blkid: { package: 'util-linux', dom0: '2.23.2', options: { '-p': v('2.17'), '-o': v('2.17', true) } },
  wipefs: { package: 'util-linux', dom0: '2.23.2', options: { '-a': v('2.17') } },
  unshare: {
    package: 'util-linux',
    dom0: '2.23.2',
    options: {
      // No --propagation (2.27): the namespace helper runs `mount --make-rprivate /` itself.
      '--mount': v('2.17'),
    },
    endOfOptions: true,
  },
  systemctl: {
    package: 'systemd',
    dom0: '219',
    options: {},
    words: { 'is-enabled': { since: '195' }, 'is-active': { since: '195' }, enable: { since: '195' }, start: { since: '195' } },
  },
  chkconfig: { package: 'chkconfig', dom0: '1.7.4', options: { '--list': v('1.3') } },
  service: { package: 'initscripts', dom0: '9.49.41', options: {} },
  chronyc: { package: 'chrony', dom0: '3.2', options: {}, words: { tracking: { since: '1.20' } } },
  ntpq: { package: 'ntp', dom0: '4.2.6p5', options: { '-pn': v('4.2.0') } },
  dmesg: { package: 'util-linux', dom0: '2.23.2', options: {} },
};

/** Dotted (or date-like) versions compared numerically, part by part: 1.4.11 > 1.4.9, 4.2.6p5 > 4.2.6. */
export function compareVersions(a: string, b: string): number {
  const parts = (s: string) => s.split(/[.p-]/).map((x) => Number(x) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface OptionProblem {
  arg: string;
  reason: string;
}

/**
 * The first argument of a call that the table does not list, or null. Positional words are
 * checked against `words` when the tool has subcommands; option values are skipped.
 */
export function checkToolArgs(command: AllowedCommand, args: readonly string[]): OptionProblem | null {
  const spec = toolOptions[command];
  if (spec === undefined) return { arg: command, reason: `${command} has no entry in the tool-option table` };
  if (spec.first !== undefined && args[0] !== spec.first.option) return { arg: args[0] ?? '', reason: `${command} calls start with ${spec.first.option}: ${spec.first.why}` };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--' && spec.endOfOptions === true) break;
    if (arg.startsWith('-') && arg !== '-') {
      const name = arg.startsWith('--') && arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
      const opt = spec.options[name];
      if (opt === undefined) return { arg, reason: `${command} ${arg} is not in the tool-option table` };
      if (opt.value === true && name === arg) i++;
      continue;
    }
    positional.push(arg);
  }
  // A call of options alone (`drbdadm --version`, `multipath -ll`) names no subcommand.
  if (spec.words !== undefined && positional.length > 0) {
    const joined = positional.join(' ');
    const hit = Object.keys(spec.words).some((w) => joined === w || joined.startsWith(`${w} `));
    if (!hit) return { arg: positional.join(' '), reason: `${command} ${positional.slice(0, 3).join(' ')} is not a subcommand in the tool-option table` };
  }
  return null;
}

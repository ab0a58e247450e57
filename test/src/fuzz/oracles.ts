import { statusForCode } from '@xsctl/common/errors/index';
import type { RecordedCall } from './recording-runner.js';
import { stateDir } from './sandbox-tree.js';

/**
 * Where each agent method may change files (host paths; a directory covers what is under it).
 * Every method may touch the agent's own state directory (backups, intents, scratch, pid files);
 * a method missing here may change nothing else. A staging directory `.xsctl-staging` beside a
 * written file is the atomic writer's (agent/src/fs/write-file-atomic.ts).
 */
export const agentWriteAllowList: Readonly<Record<string, readonly string[]>> = {
  '/xsctl.agent.v1.DrbdService/WriteDrbdConfig': ['/etc/drbd.conf', '/etc/.xsctl-staging'],
  '/xsctl.agent.v1.DrbdService/ConfigureLvmForDrbd': ['/etc/lvm/lvm.conf', '/etc/lvm/.xsctl-staging'],
  '/xsctl.agent.v1.TargetService/WriteTargetsConf': ['/etc/tgt/targets.conf', '/etc/tgt/.xsctl-staging'],
  '/xsctl.agent.v1.FloatingIpService/ApplyStorageFirewall': ['/etc/sysconfig/iptables', '/etc/sysconfig/.xsctl-staging'],
  '/xsctl.agent.v1.StorageService/WriteStorageRoleConfig': ['/etc/xsctl/storage.yaml', '/etc/xsctl/chap-secret', '/etc/xsctl/.xsctl-staging'],
  '/xsctl.agent.v1.StorageService/AssertStorageRole': ['/etc/sysconfig/iptables', '/etc/sysconfig/.xsctl-staging'],
  '/xsctl.agent.v1.MultipathService/Apply': ['/etc/multipath.conf', '/etc/multipath/conf.d', '/etc/multipath/.xsctl-staging', '/etc/.xsctl-staging'],
  '/xsctl.agent.v1.MultipathService/ApplyDrbdBlacklist': ['/etc/multipath.conf', '/etc/multipath/conf.d', '/etc/multipath/.xsctl-staging', '/etc/.xsctl-staging'],
  '/xsctl.agent.v1.PrecheckService/CleanBlobs': ['/var/lib/xcp/blobs'],
  '/xsctl.agent.v1.PrecheckService/RestoreBlobs': ['/var/lib/xcp/blobs'],
};

/** Every path any agent method may change: the bound for agents behind the controller, whose calls come from workflows. */
export const anyAgentWrite: readonly string[] = [...new Set(Object.values(agentWriteAllowList).flat())];

const under = (path: string, allowed: string): boolean => path === allowed || path.startsWith(`${allowed}/`);

/** Changed paths the method may not change (directories that merely lead to an allowed path are fine). */
export function writesOutsideAllowList(changed: readonly string[], allowed: readonly string[]): string[] {
  const all = [...allowed, stateDir];
  return changed.filter((p) => !all.some((a) => under(p, a) || under(a, p)));
}

export interface ArgvProblem {
  command: string;
  args: readonly string[];
  arg: string;
  problem: string;
}

/** Options whose value may legitimately start with `-` (none so far: a value never does). */
const valueMayStartWithDash = new Set<string>();

/**
 * The argv oracle: no element carries CR, LF or NUL (or any other control character), no element
 * holds a `..` path component, and no value given to an option that takes one, and no positional
 * argument after the subcommand words, starts with `-` (it would be read as an option). Options
 * the tool-option table knows are options; everything else in an option's position is a value.
 */
export function argvProblems(calls: readonly RecordedCall[], isOption: (command: string, arg: string) => 'flag' | 'takes-value' | null): ArgvProblem[] {
  const out: ArgvProblem[] = [];
  for (const c of calls) {
    let expectValueOf: string | null = null;
    for (const arg of c.args) {
      const bad = (problem: string) => out.push({ command: c.command, args: c.args, arg, problem });
      if (/[\r\n\0]/.test(arg)) bad('contains CR, LF or NUL');
      else if ([...arg].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) bad('contains a control character');
      if (arg.split(/[/=,]/).includes('..')) bad('has a .. path component');
      if (expectValueOf !== null) {
        if (arg.startsWith('-') && !valueMayStartWithDash.has(expectValueOf)) bad(`value of ${expectValueOf} starts with -`);
        expectValueOf = null;
        continue;
      }
      if (arg.startsWith('-') && arg !== '-' && arg !== '--') {
        const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
        const kind = isOption(c.command, name);
        if (kind === null) bad('starts with - where a value is expected');
        else if (kind === 'takes-value' && !arg.includes('=')) expectValueOf = name;
        else if (arg.includes('=') && arg.slice(arg.indexOf('=') + 1).startsWith('-')) bad(`value of ${name} starts with -`);
      }
      // `unshare ... -- node script`: what follows is another program's argv, checked above for
      // control characters and `..` only.
      if (arg === '--' && c.command === 'unshare') break;
    }
  }
  return out;
}

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'typed'; status: number; code: string; message: string }
  | { kind: 'untyped'; status: number; details: string }
  | { kind: 'client-deadline'; status: number; details: string };

const codePattern = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/;

/** Status codes grpc-js itself answers with, not the server's handlers. */
const DEADLINE_EXCEEDED = 4;

/**
 * A failure is typed when its details start with a stable code from the one status table and the
 * status is the one the table maps that code to.
 */
export function classify(status: number, details: string): Outcome {
  if (status === 0) return { kind: 'ok' };
  const m = codePattern.exec(details);
  if (m?.[1] !== undefined && statusForCode(m[1]) === status) return { kind: 'typed', status, code: m[1], message: m[2] ?? '' };
  if (status === DEADLINE_EXCEEDED && /^Deadline exceeded/.test(details)) return { kind: 'client-deadline', status, details };
  return { kind: 'untyped', status, details };
}

/**
 * The field a VALIDATION_FAILED refusal names (`invalid FIELD: reason`), reduced to its last
 * name without indices (`targets[0].luns[1].backingStore` -> `backingStore`).
 */
export function namedField(message: string): string | null {
  const m = /^invalid ([^:]+): /.exec(message);
  if (m?.[1] === undefined) return null;
  const last = m[1].split('.').pop() ?? '';
  return last.replace(/\[[^\]]*\]/g, '');
}

/**
 * Whether a call only reads: what an agent may run without `confirm`. Everything else (bringing
 * DRBD up, tgtadm --op new, ip addr add, iptables -I, starting daemons) changes the host.
 */
export function isReadOnlyCall(c: RecordedCall): boolean {
  const a = c.args;
  const has = (x: string) => a.includes(x);
  switch (c.command) {
    case 'sg_inq':
    case 'sg_vpd':
    case 'sg_rtpg':
    case 'blkid':
    case 'dmesg':
    case 'chronyc':
    case 'ntpq':
      return true;
    case 'multipath':
      return has('-t') || has('-ll') || has('-l') || has('-d');
    case 'multipathd':
      return a[0] === 'show' || (a[0] === '-k' && /^show/.test(a[1] ?? ''));
    case 'drbdadm':
      return a.some((x) => /^(sh-|dump|cstate|dstate|role|status|--version)/.test(x)) || has('-d');
    case 'drbdsetup':
      return a.some((x) => /^(status|show|events2|dstate|cstate|role)$/.test(x));
    case 'drbdmeta':
      return a.some((x) => /^(dump-md|get-gi|show-gi|check-resize|read-dev-uuid)$/.test(x));
    case 'tgtadm':
      return a.includes('show');
    case 'ip':
      return a[0] === 'addr' && a[1] === 'show';
    case 'iptables':
      return has('-C') || has('-L') || has('-S');
    case 'iptables-restore':
      return has('--test') || has('-t');
    case 'wipefs':
      return has('-n') || has('--no-act') || !a.some((x) => /^(-a|--all|-o|--offset)$/.test(x));
    case 'systemctl':
      return /^(is-active|is-enabled|status|show)$/.test(a[0] ?? '');
    case 'chkconfig':
      return has('--list') || a.length === 1;
    case 'service':
      return a[1] === 'status';
    case 'unshare':
      // The multipath -t check runs in a private mount namespace (validate-config.ts).
      return true;
    default:
      return false;
  }
}

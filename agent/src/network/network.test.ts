import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { ValidationError } from '@xsctl/common/errors/index';
import { allowedCommands, type AllowedCommand } from '../exec/command-table.js';
import { CommandRunner, type CommandResult, type RunOptions } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { applyFirewall, normalizeFirewall, removeFirewall, renderFirewallRules } from './firewall.js';
import { addFloatingIp, addressAnswers, announceFloatingIp, floatingIpState, normalizeFloatingIp, parseIpAddrShow, removeFloatingIp } from './floating-ip.js';

const logger = createLogger('test', { level: 'silent' });

describe('parseIpAddrShow', () => {
  const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
  // The command names one device; a whole `ip addr` listing is cut at that device's block.
  const deviceBlock = (text: string, dev: string) => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => new RegExp(`^\\d+: ${dev}:`).test(l));
    const next = lines.findIndex((l, i) => i > at && /^\d+:\s/.test(l));
    return lines.slice(at, next === -1 ? undefined : next).join('\n');
  };

  it('reads CentOS 7 output: the primary address, the MAC, a /32 alias with a label', () => {
    const centos = deviceBlock(fixture('ip-addr-centos7.txt'), 'eth0');
    expect(parseIpAddrShow(centos, '10.211.55.171')).toEqual({ present: true, mac: '00:1c:42:fe:5a:b5', prefixLength: 24 });
    expect(parseIpAddrShow(centos, '10.211.55.17')).toEqual({ present: false, mac: '00:1c:42:fe:5a:b5', prefixLength: null });
    const alias = deviceBlock(fixture('ip-addr-centos7-alias.txt'), 'eth0');
    expect(parseIpAddrShow(alias, '1.2.3.4')).toEqual({ present: true, mac: '52:54:00:f4:0d:74', prefixLength: 32 });
    expect(parseIpAddrShow(alias, '192.168.112.198')).toEqual({ present: true, mac: '52:54:00:f4:0d:74', prefixLength: 24 });
  });

  it('reads only the first link of a listing, and point-to-point addresses', () => {
    // The listing starts with lo: its (all-zero) MAC, and eth0's address is not lo's.
    expect(parseIpAddrShow(fixture('ip-addr-centos7.txt'), '10.211.55.171')).toEqual({ present: false, mac: '00:00:00:00:00:00', prefixLength: null });
    const ptp = '5: tun0: <POINTOPOINT,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UNKNOWN qlen 100\n    link/none \n    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\n';
    expect(parseIpAddrShow(ptp, '10.8.0.1')).toEqual({ present: true, mac: '', prefixLength: 32 });
    expect(parseIpAddrShow('', '10.10.10.3')).toEqual({ present: false, mac: '', prefixLength: null });
  });

  it.skipIf(process.getuid?.() !== 0)('reads Debian\'s iproute2 output (group default, noprefixroute) in a fresh namespace', async () => {
    const ns = `xsctl-ipa${randomBytes(3).toString('hex')}`;
    await execa('ip', ['netns', 'add', ns]);
    try {
      await execa('ip', ['-n', ns, 'link', 'add', 'va', 'address', '02:00:5e:10:20:30', 'type', 'veth', 'peer', 'name', 'vb']);
      await execa('ip', ['-n', ns, 'addr', 'add', '10.216.9.1/24', 'dev', 'va']);
      await execa('ip', ['-n', ns, 'addr', 'add', '10.216.9.77/24', 'dev', 'va', 'noprefixroute']);
      const text = String((await execa('ip', ['-n', ns, 'addr', 'show', 'dev', 'va'])).stdout);
      expect(text).toMatch(/group default/);
      expect(parseIpAddrShow(text, '10.216.9.77')).toEqual({ present: true, mac: '02:00:5e:10:20:30', prefixLength: 24 });
      expect(parseIpAddrShow(text, '10.216.9.7')).toMatchObject({ present: false });
    } finally {
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  });

  it('validates the spec', () => {
    expect(normalizeFloatingIp({ address: '10.10.10.3', prefixLength: 0, interface: 'xapi1', garpCount: 0 })).toEqual({ address: '10.10.10.3', prefixLength: 24, iface: 'xapi1', garpCount: 3 });
    expect(() => normalizeFloatingIp({ address: '10.10.10.3', prefixLength: 24, interface: 'eth0; reboot', garpCount: 0 })).toThrow(ValidationError);
    expect(() => normalizeFloatingIp({ address: 'fd00::3', prefixLength: 64, interface: 'eth0', garpCount: 0 })).toThrow(ValidationError);
  });
});

/** Records iptables calls (`-w` first, else the table refuses them) and answers `-C` from a set of rules "already in the chain". */
class FakeIptables extends CommandRunner {
  readonly calls: string[] = [];
  constructor(readonly present: Set<string>) {
    super({ logger });
  }
  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    this.calls.push(`${command} ${args.join(' ')}`);
    const rule = args.slice(3).join(' ');
    const exitCode = args[1] === '-C' && !this.present.has(rule) ? 1 : 0;
    return { command: command as AllowedCommand, args, exitCode, stdout: '', stderr: '', durationMs: 0 };
  }
}

describe('storage firewall', () => {
  const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789, 7789, 7790], iscsiPort: 0, chain: '' });

  it('renders iptables-save lines for DRBD and iSCSI from the replication subnet only', () => {
    expect(renderFirewallRules(fw)).toEqual([
      '-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -p tcp -m tcp --dport 7789 -j ACCEPT',
      '-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -p tcp -m tcp --dport 7790 -j ACCEPT',
      '-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -p tcp -m tcp --dport 3260 -j ACCEPT',
    ]);
    expect(() => normalizeFirewall({ subnet: '10.10.10.0', drbdPorts: [7789], iscsiPort: 0, chain: '' })).toThrow(ValidationError);
    expect(() => normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: 'INPUT;x' })).toThrow(ValidationError);
  });

  it('checks each rule with -C and inserts only the missing ones above the REJECT, when confirmed', async () => {
    const runner = new FakeIptables(new Set(['-s 10.10.10.0/24 -p tcp -m tcp --dport 7789 -j ACCEPT']));
    const ctx: AgentContext = { root: new SandboxRoot('/'), runner, logger, stateDir: '/var/lib/xsctl-agent' };
    const dry = await applyFirewall(ctx, fw, false);
    expect(dry.present).toHaveLength(1);
    expect(dry.added).toHaveLength(2);
    expect(runner.calls.filter((c) => c.includes(' -I '))).toEqual([]);
    await applyFirewall(ctx, fw, true);
    // Inserted at the top in reverse, so the chain lists them in the rendered order.
    expect(runner.calls.filter((c) => c.includes(' -I '))).toEqual([
      'iptables -w -I RH-Firewall-1-INPUT 1 -s 10.10.10.0/24 -p tcp -m tcp --dport 3260 -j ACCEPT',
      'iptables -w -I RH-Firewall-1-INPUT 1 -s 10.10.10.0/24 -p tcp -m tcp --dport 7790 -j ACCEPT',
    ]);
    // Every call waits for the xtables lock: the chain check, each -C, each -I.
    expect(runner.calls.filter((c) => !c.startsWith('iptables -w '))).toEqual([]);
    expect(runner.calls[0]).toBe('iptables -w -n -L RH-Firewall-1-INPUT');
  });
});

const nsFw = `xsctl-fw${randomBytes(3).toString('hex')}`;
const iptablesFound = (() => {
  try {
    execaSync('iptables', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * The real iptables (CI installs it: scripts/install-system-deps.sh), inside a fresh network
 * namespace: its filter table is the namespace's own, so the host's rules are never touched.
 */
describe.skipIf(process.getuid?.() !== 0)('storage firewall with the real iptables (fresh network namespace)', () => {
  let ctx: AgentContext;
  const hostRules = () => execa('iptables', ['-S']).then((r) => String(r.stdout));
  const nsRules = () => execa('ip', ['netns', 'exec', nsFw, 'iptables', '-S']).then((r) => String(r.stdout).split('\n'));
  let hostBefore: string;
  const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789, 7790], iscsiPort: 0, chain: '' });
  const ours = renderFirewallRules(fw);

  beforeAll(async () => {
    expect(iptablesFound, 'iptables is missing: run scripts/install-system-deps.sh').toBe(true);
    hostBefore = await hostRules();
    await execa('ip', ['netns', 'add', nsFw]);
    const paths: Partial<Record<AllowedCommand, string>> = {};
    const prefixArgs: Partial<Record<AllowedCommand, readonly string[]>> = {};
    for (const cmd of allowedCommands) {
      paths[cmd] = 'ip';
      prefixArgs[cmd] = ['netns', 'exec', nsFw, cmd];
    }
    ctx = { root: new SandboxRoot('/'), runner: new CommandRunner({ logger, paths, prefixArgs }), logger, stateDir: '/s' };
  });

  afterAll(async () => {
    await execa('ip', ['netns', 'del', nsFw], { reject: false });
  });

  it('names a missing chain instead of failing on the insert', async () => {
    await expect(applyFirewall(ctx, fw, true)).rejects.toMatchObject({ code: 'FIREWALL_CHAIN_NOT_FOUND', chain: 'RH-Firewall-1-INPUT' });
    expect((await nsRules()).filter((l) => l.includes('RH-Firewall'))).toEqual([]);
  });

  it('inserts the rules above the chain\'s REJECT, once; removes only its own; the host is untouched', async () => {
    // XenServer's dom0 chain: an unrelated ACCEPT, then REJECT everything else.
    const exec = (args: string[]) => execa('ip', ['netns', 'exec', nsFw, 'iptables', ...args]);
    await exec(['-N', 'RH-Firewall-1-INPUT']);
    await exec(['-A', 'INPUT', '-j', 'RH-Firewall-1-INPUT']);
    await exec(['-A', 'RH-Firewall-1-INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    await exec(['-A', 'RH-Firewall-1-INPUT', '-j', 'REJECT', '--reject-with', 'icmp-host-prohibited']);
    const base = await nsRules();

    const dry = await applyFirewall(ctx, fw, false);
    expect(dry).toEqual({ added: ours, present: [] });
    expect(await nsRules()).toEqual(base);

    expect(await applyFirewall(ctx, fw, true)).toEqual({ added: ours, present: [] });
    const chain = (await nsRules()).filter((l) => l.startsWith('-A RH-Firewall-1-INPUT'));
    expect(chain).toEqual([...ours, '-A RH-Firewall-1-INPUT -p tcp -m tcp --dport 22 -j ACCEPT', '-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited']);

    // Idempotent: nothing added twice.
    expect(await applyFirewall(ctx, fw, true)).toEqual({ added: [], present: ours });
    expect((await nsRules()).filter((l) => l.startsWith('-A RH-Firewall-1-INPUT'))).toEqual(chain);

    // Half removed by hand: apply restores the missing one only, in its place above the REJECT.
    await exec(['-D', 'RH-Firewall-1-INPUT', '-s', '10.10.10.0/24', '-p', 'tcp', '-m', 'tcp', '--dport', '7790', '-j', 'ACCEPT']);
    expect(await applyFirewall(ctx, fw, true)).toEqual({ added: [ours[1]], present: [ours[0], ours[2]] });
    expect((await nsRules()).filter((l) => l.startsWith('-A RH-Firewall-1-INPUT')).at(-1)).toBe('-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited');

    expect(await removeFirewall(ctx, fw, false)).toEqual({ removed: ours, absent: [] });
    expect(await removeFirewall(ctx, fw, true)).toEqual({ removed: ours, absent: [] });
    expect(await nsRules()).toEqual(base);
    expect(await removeFirewall(ctx, fw, true)).toEqual({ removed: [], absent: ours });

    expect(await hostRules()).toBe(hostBefore);
  }, 30_000);
});

const root = process.getuid?.() === 0;
const id = randomBytes(3).toString('hex');
const nsA = `xsctl-fi${id}-a`;
const nsB = `xsctl-fi${id}-b`;

describe.skipIf(!root)('floating IP with iproute2 and iputils arping (two namespaces)', () => {
  let a: AgentContext;
  let b: AgentContext;
  const spec = { address: '10.216.0.100', prefixLength: 24, interface: 'eth0', garpCount: 2 };
  const dirs: string[] = [];
  const ctxIn = async (ns: string): Promise<AgentContext> => {
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-fip-'));
    dirs.push(dir);
    const paths: Partial<Record<AllowedCommand, string>> = {};
    const prefixArgs: Partial<Record<AllowedCommand, readonly string[]>> = {};
    for (const cmd of allowedCommands) {
      paths[cmd] = 'ip';
      prefixArgs[cmd] = ['netns', 'exec', ns, cmd];
    }
    return { root: new SandboxRoot(dir), runner: new CommandRunner({ logger, paths, prefixArgs }), logger, stateDir: '/s' };
  };
  const mac = async (ns: string) => {
    const out = String((await execa('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])).stdout);
    return (JSON.parse(out) as { address: string }[])[0]?.address;
  };
  const neigh = async (ns: string) => {
    const out = String((await execa('ip', ['-n', ns, '-j', 'neigh', 'show', 'to', spec.address, 'dev', 'eth0'])).stdout);
    return (JSON.parse(out || '[]') as { lladdr?: string }[])[0]?.lladdr;
  };

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', nsA]);
    await execa('ip', ['netns', 'add', nsB]);
    await execa('ip', ['link', 'add', `fi${id}a`, 'type', 'veth', 'peer', 'name', `fi${id}b`]);
    await execa('ip', ['link', 'set', `fi${id}a`, 'netns', nsA]);
    await execa('ip', ['link', 'set', `fi${id}b`, 'netns', nsB]);
    await execa('ip', ['-n', nsA, 'link', 'set', `fi${id}a`, 'name', 'eth0']);
    await execa('ip', ['-n', nsB, 'link', 'set', `fi${id}b`, 'name', 'eth0']);
    await execa('ip', ['-n', nsA, 'addr', 'add', '10.216.0.1/24', 'dev', 'eth0']);
    await execa('ip', ['-n', nsB, 'addr', 'add', '10.216.0.2/24', 'dev', 'eth0']);
    for (const ns of [nsA, nsB]) await execa('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    a = await ctxIn(nsA);
    b = await ctxIn(nsB);
  });

  afterAll(async () => {
    for (const ns of [nsA, nsB]) await execa('ip', ['netns', 'del', ns], { reject: false });
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('adds once, refuses a duplicate that still answers (arping -D), moves, and repoints a neighbour with a GARP (arping -U)', async () => {
    const ip = normalizeFloatingIp(spec);
    expect(await addFloatingIp(a, ip)).toBe(true);
    expect(await addFloatingIp(a, ip)).toBe(false);
    expect(await floatingIpState(a, ip)).toEqual({ present: true, mac: await mac(nsA) });
    // The MAC is read before the call: awaiting it inside the matcher's argument left the call's
    // rejection without a handler until the read returned (an unhandled rejection under load).
    const macA = (await mac(nsA))?.toUpperCase();
    await expect(addFloatingIp(b, ip)).rejects.toMatchObject({ code: 'FLOATING_IP_IN_USE', answeredBy: macA });
    // A detection started earlier (a promotion starts it with DRBD Primary) refuses the same way.
    await expect(addFloatingIp(b, ip, undefined, addressAnswers(b, ip))).rejects.toMatchObject({ code: 'FLOATING_IP_IN_USE', answeredBy: macA });
    expect(await floatingIpState(b, ip)).toMatchObject({ present: false });
    expect(await removeFloatingIp(a, ip)).toBe(true);
    expect(await removeFloatingIp(a, ip)).toBe(false);
    // A's ARP cache still points the address somewhere stale; B's gratuitous ARP must repoint it.
    await execa('ip', ['-n', nsA, 'neigh', 'replace', spec.address, 'lladdr', '02:00:00:00:00:01', 'dev', 'eth0', 'nud', 'stale']);
    expect(await neigh(nsA)).toBe('02:00:00:00:00:01');
    expect(await addFloatingIp(b, ip)).toBe(true);
    expect(await announceFloatingIp(b, ip)).toBe(2);
    expect(await neigh(nsA)).toBe(await mac(nsB));
  }, 30_000);

  it('names a missing interface', async () => {
    await expect(floatingIpState(a, normalizeFloatingIp({ ...spec, interface: 'nope0' }))).rejects.toMatchObject({ code: 'INTERFACE_NOT_FOUND' });
  });
});

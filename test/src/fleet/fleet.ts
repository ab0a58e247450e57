import { randomBytes } from 'node:crypto';
import { execa, type Options, type ResultPromise } from 'execa';
import type { Logger } from 'pino';
import { CommandRunner, type CommandRunnerOptions } from '@xsctl/agent/exec/command-runner';
import { deleteNamespace } from './kill-namespace.js';
import { allowedCommands, type AllowedCommand } from '@xsctl/agent/exec/command-table';

/**
 * Hosts as network namespaces on one simulated switch (a bridge in its own namespace). Every
 * address lives inside namespaces this harness created: nothing is sent to the real network.
 *
 *   [xs1: eth0 10.213.N.1] --veth--\
 *   [xs2: eth0 10.213.N.2] --veth--- br0 (in the switch namespace)
 *   [ini: eth0 10.213.N.50] -veth--/
 *
 * An agent for a fleet host runs in the test process; its CommandRunner runs every program as
 * `ip netns exec NS PROGRAM`, so tgtd, arping and ip act inside that host.
 */
export interface FleetOptions {
  hosts: readonly string[];
  /**
   * A second network for storage (eth1 on its own switch, as the how-to's replication link with
   * the floating IP on it), so the management and the storage links can be cut one at a time.
   */
  storageNetwork?: boolean;
}

export interface FleetHost {
  name: string;
  ns: string;
  iface: 'eth0';
  address: string;
  prefixLength: number;
  /** eth1's address on the storage network, when the fleet has one. */
  storageAddress: string | undefined;
  /** Runs a program inside this host; the promise can be killed (`.kill()`) for long runners. */
  exec(cmd: string, args: readonly string[], options?: Options): ResultPromise;
  /** The MAC of eth0 (or `iface`). */
  mac(iface?: string): Promise<string>;
  /** This host's ARP entry for `address` on eth0 (or `iface`): the MAC it would send to, or null. */
  neighbour(address: string, iface?: string): Promise<{ mac: string; state: string } | null>;
  /** CommandRunner settings that run every allowed program inside this host. */
  runnerOptions(extra?: Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'>): Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'>;
  runner(logger: Logger, extra?: Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'>): CommandRunner;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function ip(args: readonly string[]): Promise<void> {
  await execa('ip', args, { stdin: 'ignore', timeout: 15_000 });
}

export class Fleet {
  readonly id: string;
  readonly subnet: string;
  /** The storage network's subnet, when the fleet has one. */
  readonly storageSubnet: string | undefined;
  readonly switchNs: string;
  readonly hosts = new Map<string, FleetHost>();
  /** host/iface -> the switch-side end of its cable. */
  readonly #ports = new Map<string, string>();
  #destroyed = false;

  private constructor(id: string, subnet: string, storageSubnet: string | undefined) {
    this.id = id;
    this.subnet = subnet;
    this.storageSubnet = storageSubnet;
    this.switchNs = `xsctl-${id}-sw`;
  }

  /** The `index`-th free address of the fleet subnet (for floating IPs). */
  address(lastOctet: number): string {
    return this.subnet.replace(/0\/24$/, String(lastOctet));
  }

  /** An address of the storage network. */
  storageAddress(lastOctet: number): string {
    if (this.storageSubnet === undefined) throw new Error('this fleet has no storage network');
    return this.storageSubnet.replace(/0\/24$/, String(lastOctet));
  }

  /** Pulls a host's cable out of the switch: the host's end loses carrier, frames are dropped both ways. */
  async cutLink(host: string, iface: 'eth0' | 'eth1'): Promise<void> {
    await ip(['-n', this.switchNs, 'link', 'set', this.#port(host, iface), 'down']);
  }

  async restoreLink(host: string, iface: 'eth0' | 'eth1'): Promise<void> {
    await ip(['-n', this.switchNs, 'link', 'set', this.#port(host, iface), 'up']);
  }

  #port(host: string, iface: string): string {
    const port = this.#ports.get(`${host}/${iface}`);
    if (port === undefined) throw new Error(`no ${iface} on fleet host ${host}`);
    return port;
  }

  /** The switch-side ends of a host's cables (what a BMC's power-off takes down). */
  portsOf(host: string): string[] {
    return [...this.#ports.entries()].filter(([k]) => k.startsWith(`${host}/`)).map(([, v]) => v);
  }

  host(name: string): FleetHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no fleet host ${name}`);
    return h;
  }

  static async create(options: FleetOptions): Promise<Fleet> {
    if (!isRoot()) throw new Error('the fleet harness needs root (network namespaces)');
    const id = randomBytes(3).toString('hex');
    const octet2 = randomBytes(1)[0] ?? 7;
    const fleet = new Fleet(id, `10.213.${octet2}.0/24`, options.storageNetwork === true ? `10.214.${octet2}.0/24` : undefined);
    try {
      await ip(['netns', 'add', fleet.switchNs]);
      for (const br of options.storageNetwork === true ? ['br0', 'br1'] : ['br0']) {
        await ip(['-n', fleet.switchNs, 'link', 'add', br, 'type', 'bridge']);
        // No STP/learning delay: a MAC that moves to another port is learned from its next frame.
        await ip(['-n', fleet.switchNs, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'ageing_time', '0']);
        await ip(['-n', fleet.switchNs, 'link', 'set', br, 'up']);
      }
      let octet = 1;
      for (const [i, name] of options.hosts.entries()) {
        const ns = `xsctl-${id}-${name}`;
        const last = name.startsWith('ini') ? 50 + i : octet++;
        const host = fleet.#makeHost(name, ns, fleet.address(last), fleet.storageSubnet === undefined ? undefined : fleet.storageAddress(last));
        fleet.hosts.set(name, host);
        await ip(['netns', 'add', ns]);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        const links: Array<[string, string, string]> = [['eth0', 'br0', host.address]];
        if (host.storageAddress !== undefined) links.push(['eth1', 'br1', host.storageAddress]);
        for (const [j, [iface, br, address]] of links.entries()) {
          const inner = `xf${id}${i}${j}a`;
          const outer = `xf${id}${i}${j}b`;
          await ip(['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer]);
          await ip(['link', 'set', inner, 'netns', ns]);
          await ip(['link', 'set', outer, 'netns', fleet.switchNs]);
          await ip(['-n', ns, 'link', 'set', inner, 'name', iface]);
          await ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface]);
          await ip(['-n', ns, 'link', 'set', iface, 'up']);
          await ip(['-n', fleet.switchNs, 'link', 'set', outer, 'master', br]);
          await ip(['-n', fleet.switchNs, 'link', 'set', outer, 'up']);
          fleet.#ports.set(`${name}/${iface}`, outer);
        }
      }
    } catch (err) {
      await fleet.destroy();
      throw err;
    }
    return fleet;
  }

  #makeHost(name: string, ns: string, address: string, storageAddress: string | undefined): FleetHost {
    const exec = (cmd: string, args: readonly string[], options: Options = {}): ResultPromise => execa('ip', ['netns', 'exec', ns, cmd, ...args], { stdin: 'ignore', timeout: 60_000, ...options }) as unknown as ResultPromise;
    const runnerOptions = (extra: Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'> = {}) => {
      const paths: Partial<Record<AllowedCommand, string>> = {};
      const prefixArgs: Partial<Record<AllowedCommand, readonly string[]>> = {};
      for (const cmd of allowedCommands) {
        paths[cmd] = 'ip';
        prefixArgs[cmd] = ['netns', 'exec', ns, extra.paths?.[cmd] ?? cmd, ...(extra.prefixArgs?.[cmd] ?? [])];
      }
      return { paths, prefixArgs, ...(extra.env === undefined ? {} : { env: extra.env }) };
    };
    return {
      name,
      ns,
      iface: 'eth0',
      address,
      prefixLength: 24,
      storageAddress,
      exec,
      async mac(iface = 'eth0') {
        const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', 'dev', iface]);
        return ((JSON.parse(r.stdout) as { address: string }[])[0]?.address ?? '').toLowerCase();
      },
      async neighbour(addr: string, iface = 'eth0') {
        const r = await execa('ip', ['-n', ns, '-j', 'neigh', 'show', 'to', addr, 'dev', iface]);
        const entry = (JSON.parse(r.stdout || '[]') as { lladdr?: string; state?: string[] }[])[0];
        return entry?.lladdr === undefined ? null : { mac: entry.lladdr.toLowerCase(), state: (entry.state ?? []).join(',') };
      },
      runnerOptions,
      runner(logger: Logger, extra?: Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'>) {
        return new CommandRunner({ logger, defaultTimeoutMs: 30_000, ...runnerOptions(extra) });
      },
    };
  }

  /** Kills what still runs inside the hosts (tgtd, arping) and deletes every namespace. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const namespaces = [...[...this.hosts.values()].map((h) => h.ns), this.switchNs];
    for (const ns of namespaces) {
      await deleteNamespace(ns);
    }
  }
}

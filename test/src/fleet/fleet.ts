import { randomBytes } from 'node:crypto';
import { execa, type Options, type ResultPromise } from 'execa';
import type { Logger } from 'pino';
import { CommandRunner, type CommandRunnerOptions } from '@xsctl/agent/exec/command-runner';
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
}

export interface FleetHost {
  name: string;
  ns: string;
  iface: 'eth0';
  address: string;
  prefixLength: number;
  /** Runs a program inside this host; the promise can be killed (`.kill()`) for long runners. */
  exec(cmd: string, args: readonly string[], options?: Options): ResultPromise;
  /** The MAC of eth0. */
  mac(): Promise<string>;
  /** This host's ARP entry for `address`: the MAC it would send to, or null. */
  neighbour(address: string): Promise<{ mac: string; state: string } | null>;
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
  readonly switchNs: string;
  readonly hosts = new Map<string, FleetHost>();
  #destroyed = false;

  private constructor(id: string, subnet: string) {
    this.id = id;
    this.subnet = subnet;
    this.switchNs = `xsctl-${id}-sw`;
  }

  /** The `index`-th free address of the fleet subnet (for floating IPs). */
  address(lastOctet: number): string {
    return this.subnet.replace(/0\/24$/, String(lastOctet));
  }

  host(name: string): FleetHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no fleet host ${name}`);
    return h;
  }

  static async create(options: FleetOptions): Promise<Fleet> {
    if (!isRoot()) throw new Error('the fleet harness needs root (network namespaces)');
    const id = randomBytes(3).toString('hex');
    const fleet = new Fleet(id, `10.213.${randomBytes(1)[0] ?? 7}.0/24`);
    try {
      await ip(['netns', 'add', fleet.switchNs]);
      await ip(['-n', fleet.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      // No STP/learning delay: a MAC that moves to another port is learned from its next frame.
      await ip(['-n', fleet.switchNs, 'link', 'set', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'ageing_time', '0']);
      await ip(['-n', fleet.switchNs, 'link', 'set', 'br0', 'up']);
      let octet = 1;
      for (const [i, name] of options.hosts.entries()) {
        const ns = `xsctl-${id}-${name}`;
        const host = fleet.#makeHost(name, ns, fleet.address(name.startsWith('ini') ? 50 + i : octet++));
        fleet.hosts.set(name, host);
        const inner = `xf${id}${i}a`;
        const outer = `xf${id}${i}b`;
        await ip(['netns', 'add', ns]);
        await ip(['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer]);
        await ip(['link', 'set', inner, 'netns', ns]);
        await ip(['link', 'set', outer, 'netns', fleet.switchNs]);
        await ip(['-n', ns, 'link', 'set', inner, 'name', 'eth0']);
        await ip(['-n', ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
        await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        await ip(['-n', fleet.switchNs, 'link', 'set', outer, 'master', 'br0']);
        await ip(['-n', fleet.switchNs, 'link', 'set', outer, 'up']);
      }
    } catch (err) {
      await fleet.destroy();
      throw err;
    }
    return fleet;
  }

  #makeHost(name: string, ns: string, address: string): FleetHost {
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
      exec,
      async mac() {
        const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', 'dev', 'eth0']);
        return ((JSON.parse(r.stdout) as { address: string }[])[0]?.address ?? '').toLowerCase();
      },
      async neighbour(addr: string) {
        const r = await execa('ip', ['-n', ns, '-j', 'neigh', 'show', 'to', addr, 'dev', 'eth0']);
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
      const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
      for (const pid of String(pids.stdout).split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  }
}

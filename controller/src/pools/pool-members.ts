import type { PoolConfig } from '../config/inventory.js';

/**
 * Where a pool's XAPI may answer. The configured URL names one host (usually the master at
 * install time); after a failover (pool.emergency_transition_to_master on the survivor) that host
 * may be dead or a slave. Like XenCenter, which keeps the pool's member addresses and tries them
 * when the master is gone, the controller remembers every member it has seen and the last master
 * that answered: connecting tries that master first, then the configured URL, then the members
 * (a slave answers HOST_IS_SLAVE naming the master, which the XAPI client follows).
 */
export class PoolMembers {
  readonly #members = new Map<string, string[]>();
  readonly #master = new Map<string, string>();

  /** Host addresses from XAPI's host records. */
  remember(pool: PoolConfig, addresses: readonly string[]): void {
    this.#members.set(pool.name, addresses.filter((a) => a !== ''));
  }

  /** The origin a session reached the master on. */
  answered(pool: PoolConfig, origin: string): void {
    this.#master.set(pool.name, origin);
  }

  /** URLs to try, best first, without repeats; the configured URL's scheme and port for members. */
  candidates(pool: PoolConfig): string[] {
    const configured = new URL(pool.xapi.url);
    const urls = [this.#master.get(pool.name), configured.origin];
    for (const address of this.#members.get(pool.name) ?? []) {
      const u = new URL(configured.origin);
      u.hostname = address.includes(':') ? `[${address}]` : address;
      urls.push(u.origin);
    }
    return [...new Set(urls.filter((u): u is string => u !== undefined))];
  }
}

import { ValidationError } from '@xsctl/common/errors/index';
import { StorageSetupOptions, type StorageSetupSpec } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';

/**
 * The setup's steps in order. Per-host steps run on both hosts (master first) before the next
 * step starts, so a failure leaves both hosts at the same point of the procedure:
 *   lvm, multipath-blacklist, firewall, drbd-conf, create-md, drbd-up  (per host)
 *   initial-sync                                                       (once, from syncFrom)
 *   targets-conf                                                       (per host)
 *   role-slave, role-master                                            (the other host, then the pool master)
 *   role-config                                                        (per host: boot-time assertion)
 * The firewall is opened before DRBD connects: the how-to does it in its step 2, and on a dom0
 * the RH-Firewall-1-INPUT chain rejects the peer's DRBD connection otherwise.
 */
export const beforeSyncSteps = ['lvm', 'multipath-blacklist', 'firewall', 'drbd-conf', 'create-md', 'drbd-up'] as const;
export const afterSyncSteps = ['targets-conf'] as const;
export const finalSteps = ['role-config'] as const;
export type PerHostStep = (typeof beforeSyncSteps)[number] | (typeof afterSyncSteps)[number] | (typeof finalSteps)[number];

/** Journal step name: `lvm:xs1`, `initial-sync`, `role-master:xs1`. */
export function stepName(step: string, host?: string): string {
  return host === undefined ? step : `${step}:${host}`;
}

export interface SetupHost {
  /** Pool name label. */
  name: string;
  /** `uname -n`, the drbd.conf `on NAME`. */
  hostname: string;
  isMaster: boolean;
  /** This host's backing disks, one per resource. */
  disks: string[];
}

/** What the workflow is started with (journaled): everything but the secrets. */
export interface SetupParams {
  /** StorageSetupOptions as proto JSON, secrets removed (see setup-secrets). */
  options: unknown;
}

/**
 * Pairs the pool's hosts with the DRBD nodes by hostname (the `on NAME` sections must be the
 * hosts' own names or drbdadm ignores them) and checks what the agents cannot check alone:
 * exactly two hosts, every resource on both, the sync source one of them.
 */
export function pairHosts(spec: StorageSetupSpec, pool: readonly { name: string; hostname: string; isMaster: boolean }[]): { hosts: SetupHost[]; syncFrom: string } {
  if (spec.drbd.length === 0) throw new ValidationError('spec.drbd', 'at least one DRBD resource');
  if (spec.storage === undefined) throw new ValidationError('spec.storage', 'the target, floating IP and drbdResources to serve');
  if (pool.length !== 2) throw new ValidationError('pool', `a two-node pool (the how-to's design); this pool has ${pool.length} hosts`);
  const hosts = pool.map((h): SetupHost => {
    const disks = spec.drbd.map((r, i) => {
      const node = r.nodes.find((n) => n.hostname.toLowerCase() === h.hostname.toLowerCase());
      if (node === undefined) throw new ValidationError(`spec.drbd[${i}].nodes`, `pool host ${h.name} (hostname ${h.hostname}) is not a node of resource ${r.name}: the on NAME sections must be the hosts' hostnames`);
      return node.disk;
    });
    return { name: h.name, hostname: h.hostname, isMaster: h.isMaster, disks };
  });
  // Master first: the order the roles are asserted, and the order an admin reads.
  hosts.sort((a, b) => Number(b.isMaster) - Number(a.isMaster));
  const syncFrom = spec.syncFrom === '' ? hosts[0]!.name : spec.syncFrom;
  if (!hosts.some((h) => h.name === syncFrom)) throw new ValidationError('spec.syncFrom', `${syncFrom} is not one of ${hosts.map((h) => h.name).join(', ')}`);
  return { hosts, syncFrom };
}

export interface SetupSecrets {
  /** Per resource name: the DRBD shared secret. */
  drbd: Record<string, string>;
  /** The target's incoming CHAP password. */
  chap: string;
}

/** The options without secrets (what is journaled and shown), and the secrets apart. */
export function splitSecrets(o: StorageSetupOptions): { options: StorageSetupOptions; secrets: SetupSecrets } {
  const copy = StorageSetupOptions.fromJSON(StorageSetupOptions.toJSON(o));
  const secrets: SetupSecrets = { drbd: {}, chap: '' };
  for (const r of copy.spec?.drbd ?? []) {
    if (r.sharedSecret !== '') secrets.drbd[r.name] = r.sharedSecret;
    r.sharedSecret = r.sharedSecret === '' ? '' : '[secret]';
  }
  const user = copy.spec?.storage?.target?.incomingUser;
  if (user !== undefined && user.password !== '') {
    secrets.chap = user.password;
    user.password = '[secret]';
  }
  return { options: copy, secrets };
}

/** Puts the secrets back into journaled options. */
export function withSecrets(o: StorageSetupOptions, secrets: SetupSecrets): StorageSetupOptions {
  const copy = StorageSetupOptions.fromJSON(StorageSetupOptions.toJSON(o));
  for (const r of copy.spec?.drbd ?? []) if (r.sharedSecret === '[secret]') r.sharedSecret = secrets.drbd[r.name] ?? '';
  const user = copy.spec?.storage?.target?.incomingUser;
  if (user !== undefined && user.password === '[secret]') user.password = secrets.chap;
  return copy;
}

/** The firewall ports: the spec's, else every resource's ports (7789 when unset, as drbd.conf gets it). */
export function firewallPorts(spec: StorageSetupSpec): number[] {
  if (spec.firewall !== undefined && spec.firewall.drbdPorts.length > 0) return spec.firewall.drbdPorts;
  return [...new Set(spec.drbd.flatMap((r) => r.nodes.map((n) => (n.port === 0 ? 7789 : n.port))))];
}

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@xsctl/common/errors/index';
import { StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { failoverDefaults } from './storage-config-schema.js';

/** How the controller reaches one host's BMC (IPMI over LAN). The password is read from a file. */
export interface IpmiTarget {
  address: string;
  port: number;
  user: string;
  password: string;
  /** ipmitool interface: lanplus (IPMI 2.0, default) or lan (1.5). */
  interface: 'lanplus' | 'lan';
  /** RMCP+ cipher suite (default 3: HMAC-SHA1/AES-CBC-128, which every BMC offers). */
  cipherSuite: number;
  /** Privilege to request (default OPERATOR: enough for chassis power). */
  privilege: 'OPERATOR' | 'ADMINISTRATOR';
}

export interface StorageHostConfig {
  /** This host's address on the replication network, and the interfaces that reach the peer. */
  replicationAddress: string;
  replicationInterface: string;
  managementInterface: string;
  /** tgtd's control port on this host, when not the default (labs running two tgtd on one machine). */
  tgtdControlPort: number | undefined;
}

export interface FailoverConfig {
  /** Fail over by itself (else: an alert, and `xsctl storage failover` performs it). */
  automatic: boolean;
  /** How long the storage master must stay lost before a failover starts. */
  detectAfterMs: number;
  /** Witness silence after which a storage master without replication stops serving. */
  selfFenceAfterMs: number;
  /** The agent's deadline for that tear-down; detectAfterMs > selfFenceAfterMs + this (checked by the schema). */
  selfFenceTeardownMs: number;
  /** Rule 11: after a role change, no automatic one for this long (a flapping link moves roles at most once). */
  holdDownMs: number;
  /** How often the witness asks each agent for its peer view. */
  pollIntervalMs: number;
}

export interface InitiatorProbeConfig {
  /** Argument prefix the probe runs under (e.g. ip netns exec NS in a lab, or nothing). */
  via: string[];
  /** Give up verifying after this long. */
  timeoutMs: number;
}

export interface PoolStorageConfig {
  spec: StorageSpec;
  hosts: Record<string, StorageHostConfig>;
  /** The pool master serves the storage (iSCSI-HA's design): a switchover hands the pool master role over too. */
  couplePoolMaster: boolean;
  failover: FailoverConfig;
  fencing: { method: 'ipmi'; hosts: Record<string, IpmiTarget> } | { method: 'self' };
  initiatorProbe: InitiatorProbeConfig | null;
}

const hostNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The `storage:` section of a pool in the controller config: what the two hosts serve (the same
 * keys as the CLI's storage spec), how they reach each other, the failover timers and fencing.
 *
 *   storage:
 *     spec: { drbdResources: [iscsi1], target: {...}, floatingIp: {...} }
 *     hosts:
 *       xcp1: { replicationAddress: 10.10.10.1, replicationInterface: xapi1, managementInterface: xenbr0 }
 *       xcp2: { replicationAddress: 10.10.10.2, replicationInterface: xapi1, managementInterface: xenbr0 }
 *     couplePoolMaster: true      # the pool master moves with the storage: set xapi.followMasterRedirect: true
 *     failover: { automatic: false, detectAfterMs: 3000, selfFenceAfterMs: 1500, selfFenceTeardownMs: 1000, holdDownMs: 60000 }
 *     fencing: { method: ipmi, hosts: { xcp1: { address: 10.0.0.21, user: fence, passwordFile: ipmi-xcp1.pw } } }
 */
export function parsePoolStorageConfig(raw: unknown, where: string, file: string, base: string): PoolStorageConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const fail = (reason: string): never => {
    throw new ConfigError(file, `${where}.${reason}`);
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('storage must be a mapping');
  const s = raw as Record<string, unknown>;
  const readSecret = (p: unknown, field: string): string => {
    if (typeof p !== 'string' || p === '') fail(`${field} must name a file`);
    const path = isAbsolute(p as string) ? (p as string) : resolve(base, p as string);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(path, `cannot read ${where}.${field}`, { cause: err });
    }
  };
  const specRaw = s['spec'];
  if (specRaw === null || typeof specRaw !== 'object') fail('storage.spec must be a mapping (drbdResources, target, floatingIp)');
  const user = ((specRaw as Record<string, unknown>)['target'] as Record<string, unknown> | undefined)?.['incomingUser'] as Record<string, unknown> | undefined;
  if (user !== undefined && 'password' in user) fail('storage.spec.target.incomingUser: put the CHAP secret in a file and name it with passwordFile');
  if (user?.['passwordFile'] !== undefined) {
    user['password'] = readSecret(user['passwordFile'], 'storage.spec.target.incomingUser.passwordFile');
    delete user['passwordFile'];
  }
  const spec = StorageSpec.fromJSON(specRaw);
  if (spec.drbdResources.length === 0 || spec.target === undefined || spec.floatingIp === undefined) fail('storage.spec needs drbdResources, target and floatingIp');

  const hostsRaw = s['hosts'];
  if (hostsRaw === null || typeof hostsRaw !== 'object' || Array.isArray(hostsRaw)) fail('storage.hosts must map the two host names to their links');
  const hosts: Record<string, StorageHostConfig> = {};
  for (const [name, h] of Object.entries(hostsRaw as Record<string, unknown>)) {
    if (!hostNamePattern.test(name)) fail(`storage.hosts: ${name} is not a host name`);
    const o = (h ?? {}) as Record<string, unknown>;
    const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : fail(`storage.hosts.${name}.${k} is required`));
    hosts[name] = {
      replicationAddress: str('replicationAddress'),
      replicationInterface: str('replicationInterface'),
      managementInterface: str('managementInterface'),
      tgtdControlPort: typeof o['tgtdControlPort'] === 'number' ? o['tgtdControlPort'] : undefined,
    };
  }
  if (Object.keys(hosts).length !== 2) fail('storage.hosts must list exactly the two hosts of the pool');

  const f = (s['failover'] ?? {}) as Record<string, unknown>;
  const ms = (k: string, d: number, min: number, max: number): number => {
    const v = f[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`storage.failover.${k} must be an integer between ${min} and ${max}`);
    return v as number;
  };
  const failover: FailoverConfig = {
    automatic: f['automatic'] === true,
    detectAfterMs: ms('detectAfterMs', failoverDefaults.detectAfterMs, 500, 600_000),
    selfFenceAfterMs: ms('selfFenceAfterMs', failoverDefaults.selfFenceAfterMs, 200, 600_000),
    selfFenceTeardownMs: ms('selfFenceTeardownMs', failoverDefaults.selfFenceTeardownMs, 200, 60_000),
    holdDownMs: ms('holdDownMs', 60_000, 0, 3_600_000),
    pollIntervalMs: ms('pollIntervalMs', 500, 50, 60_000),
  };
  // The bound that makes self-fencing useful (the old master has stopped before the peer is
  // promoted) is checked by storage-config-schema.ts at load; this repeats it for callers that
  // parse a storage section without the schema.
  if (failover.detectAfterMs <= failover.selfFenceAfterMs + failover.selfFenceTeardownMs) fail('storage.failover.detectAfterMs must exceed failover.selfFenceAfterMs + failover.selfFenceTeardownMs');

  const fence = (s['fencing'] ?? { method: 'self' }) as Record<string, unknown>;
  let fencing: PoolStorageConfig['fencing'];
  if (fence['method'] === 'ipmi') {
    const targets: Record<string, IpmiTarget> = {};
    for (const [name, t] of Object.entries((fence['hosts'] ?? {}) as Record<string, unknown>)) {
      const o = (t ?? {}) as Record<string, unknown>;
      if (hosts[name] === undefined) fail(`storage.fencing.hosts.${name} is not one of storage.hosts`);
      if ('password' in o) fail(`storage.fencing.hosts.${name}: put the BMC password in a file and name it with passwordFile`);
      if (typeof o['address'] !== 'string' || typeof o['user'] !== 'string') fail(`storage.fencing.hosts.${name} needs address and user`);
      const iface = o['interface'] ?? 'lanplus';
      if (iface !== 'lanplus' && iface !== 'lan') fail(`storage.fencing.hosts.${name}.interface must be lanplus or lan`);
      const privilege = o['privilege'] ?? 'OPERATOR';
      if (privilege !== 'OPERATOR' && privilege !== 'ADMINISTRATOR') fail(`storage.fencing.hosts.${name}.privilege must be OPERATOR or ADMINISTRATOR`);
      targets[name] = {
        address: o['address'] as string,
        port: typeof o['port'] === 'number' ? o['port'] : 623,
        user: o['user'] as string,
        password: readSecret(o['passwordFile'], `storage.fencing.hosts.${name}.passwordFile`),
        interface: iface as 'lanplus' | 'lan',
        cipherSuite: typeof o['cipherSuite'] === 'number' ? o['cipherSuite'] : 3,
        privilege: privilege as 'OPERATOR' | 'ADMINISTRATOR',
      };
    }
    for (const name of Object.keys(hosts)) if (targets[name] === undefined) fail(`storage.fencing.hosts.${name} is missing: every host needs its BMC`);
    fencing = { method: 'ipmi', hosts: targets };
  } else if (fence['method'] === 'self') {
    fencing = { method: 'self' };
  } else {
    fail('storage.fencing.method must be ipmi or self');
  }
  const p = s['initiatorProbe'] as Record<string, unknown> | undefined;
  const initiatorProbe =
    p === undefined
      ? null
      : {
          via: Array.isArray(p['via']) ? (p['via'] as unknown[]).map(String) : [],
          timeoutMs: typeof p['timeoutMs'] === 'number' ? p['timeoutMs'] : 30_000,
        };
  return { spec, hosts, couplePoolMaster: s['couplePoolMaster'] === true, failover, fencing: fencing!, initiatorProbe };
}

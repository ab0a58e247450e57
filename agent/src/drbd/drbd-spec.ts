import { isIP } from 'node:net';
import { ValidationError } from '@xsctl/common/errors/index';
import type { DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { drbdBackingDisk, drbdHostname, drbdPeerAddress, drbdResourceName, drbdSharedSecret, integerInRange, oneOf, port, sizeWithUnit } from '../validate/validators.js';

/**
 * After-split-brain policies we allow. Rule 10: a split brain is resolved only by an admin naming
 * the victim, so policies that throw away changes on their own (discard-younger-primary,
 * discard-least-changes, discard-local/remote, discard-secondary, violently-as0p) are refused.
 * discard-zero-changes only acts when one side wrote nothing, so no data is lost.
 */
export const afterSb0priPolicies = ['disconnect', 'discard-zero-changes'] as const;
export const afterSb1priPolicies = ['disconnect', 'consensus', 'call-pri-lost-after-sb'] as const;
export const afterSb2priPolicies = ['disconnect', 'call-pri-lost-after-sb'] as const;
/**
 * The how-to's `common { syncer { rate 100M; } }`. Without a rate DRBD 8.3 resyncs at its
 * 250 KB/s default (a 1 TB initial sync would take about 46 days).
 */
export const howtoResyncRate = '100M';
export const cramHmacAlgs = ['sha1', 'sha256', 'sha512', 'md5'] as const;

export interface DrbdNodeConfig {
  hostname: string;
  disk: string;
  address: string;
  port: number;
  nodeId: number;
}

/** A validated resource with every default filled in; what the renderers take. */
export interface DrbdResourceConfig {
  name: string;
  minor: number;
  nodes: DrbdNodeConfig[];
  protocol: 'A' | 'B' | 'C';
  afterSb0pri: string;
  afterSb1pri: string;
  afterSb2pri: string;
  /** Empty: no peer authentication. */
  sharedSecret: string;
  cramHmacAlg: string;
  /** Always set: the spec's, else the how-to's 100M. */
  resyncRate: string;
  quorum: 'off' | 'majority' | 'all';
  onNoQuorum: 'io-error' | 'suspend-io' | '';
}

/** Validates every field through the allow-lists and fills the how-to's defaults. */
export function normalizeDrbdSpec(spec: DrbdResourceSpec, index = 0): DrbdResourceConfig {
  const f = (name: string) => `resources[${index}].${name}`;
  const name = drbdResourceName(f('name'), spec.name);
  const minor = integerInRange(f('minor'), spec.minor, 0, 1_048_575);
  if (spec.nodes.length < 2) throw new ValidationError(f('nodes'), 'a replicated resource needs at least two nodes');
  if (spec.nodes.length > 16) throw new ValidationError(f('nodes'), 'at most 16 nodes');
  const nodes = spec.nodes.map((n, i): DrbdNodeConfig => ({
    hostname: drbdHostname(f(`nodes[${i}].hostname`), n.hostname),
    disk: drbdBackingDisk(f(`nodes[${i}].disk`), n.disk),
    address: drbdPeerAddress(f(`nodes[${i}].address`), n.address),
    port: port(f(`nodes[${i}].port`), n.port === 0 ? 7789 : n.port),
    nodeId: integerInRange(f(`nodes[${i}].nodeId`), n.nodeId ?? i, 0, 31),
  }));
  const unique = (what: string, values: readonly (string | number)[]) => {
    if (new Set(values).size !== values.length) throw new ValidationError(f('nodes'), `${what} must differ between nodes`);
  };
  unique('hostnames', nodes.map((n) => n.hostname.toLowerCase()));
  unique('node ids', nodes.map((n) => n.nodeId));
  unique('addresses', nodes.map((n) => `${n.address}:${n.port}`));
  const quorum = oneOf(f('quorum'), spec.quorum || 'off', ['off', 'majority', 'all'] as const);
  return {
    name,
    minor,
    nodes,
    protocol: oneOf(f('protocol'), spec.protocol || 'C', ['A', 'B', 'C'] as const),
    afterSb0pri: oneOf(f('afterSb0pri'), spec.afterSb0pri || 'discard-zero-changes', afterSb0priPolicies),
    afterSb1pri: oneOf(f('afterSb1pri'), spec.afterSb1pri || 'consensus', afterSb1priPolicies),
    afterSb2pri: oneOf(f('afterSb2pri'), spec.afterSb2pri || 'disconnect', afterSb2priPolicies),
    sharedSecret: spec.sharedSecret === '' ? '' : drbdSharedSecret(f('sharedSecret'), spec.sharedSecret),
    cramHmacAlg: oneOf(f('cramHmacAlg'), spec.cramHmacAlg || 'sha1', cramHmacAlgs),
    resyncRate: sizeWithUnit(f('resyncRate'), spec.resyncRate === '' ? howtoResyncRate : spec.resyncRate),
    quorum,
    onNoQuorum: spec.onNoQuorum === '' ? (quorum === 'off' ? '' : 'io-error') : oneOf(f('onNoQuorum'), spec.onNoQuorum, ['io-error', 'suspend-io'] as const),
  };
}

export function normalizeDrbdSpecs(specs: readonly DrbdResourceSpec[]): DrbdResourceConfig[] {
  if (specs.length === 0) throw new ValidationError('resources', 'at least one resource');
  const out = specs.map((s, i) => normalizeDrbdSpec(s, i));
  if (new Set(out.map((r) => r.name)).size !== out.length) throw new ValidationError('resources', 'resource names must be unique');
  if (new Set(out.map((r) => r.minor)).size !== out.length) throw new ValidationError('resources', 'minors must be unique');
  return out;
}

/** `ipv4 10.0.0.1:7789` / `ipv6 [fd00::1]:7789`, the address form drbd.conf takes. */
export function drbdAddress(address: string, portNumber: number): string {
  return isIP(address) === 6 ? `ipv6 [${address}]:${portNumber}` : `${address}:${portNumber}`;
}

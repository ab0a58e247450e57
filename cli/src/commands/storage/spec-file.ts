import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageRoleTiming, StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { CliError } from '../../output/cli-error.js';

/**
 * The storage spec of a two-node pool, one YAML (or JSON) file kept by the admin:
 *
 *   drbd:                      # resources, for `xsctl drbd config --spec`
 *     - name: iscsi1
 *       minor: 1
 *       nodes: [{ hostname: XCP1, disk: /dev/sdb, address: 10.10.10.1, port: 7789 }, ...]
 *       sharedSecretFile: drbd-secret     # read from a file, never on the command line
 *   drbdResources: [iscsi1]
 *   target: { tid: 1, iqn: ..., luns: [{ lun: 10, backingStore: /dev/drbd1, scsiId, scsiSn, vendorId, productId }],
 *             initiatorAddresses: [10.10.10.0/24], incomingUser: { user: xsinit, passwordFile: chap-secret } }
 *   floatingIp: { address: 10.10.10.3, prefixLength: 24, interface: xapi1 }
 *   peerSafety: { witnessAddress: 192.168.1.253, witnessInterface: xenbr0 }
 *   firewall: { subnet: 10.10.10.0/24 }   # xsctl storage setup: opened on both hosts (DRBD ports, iSCSI)
 *   timing: { hysteresisMs: 30000 }        # xsctl storage setup: the boot-time role assertion
 *   syncFrom: XCP1                         # xsctl storage setup: whose data the initial sync keeps
 *
 * Relative secret files are relative to the spec file.
 */
export interface SpecFile {
  storage: StorageSpec;
  drbd: DrbdResourceSpec[];
  targets: TargetSpec[];
  firewall: StorageFirewallSpec | undefined;
  timing: StorageRoleTiming | undefined;
  syncFrom: string;
}

async function readSecret(base: string, file: unknown, what: string): Promise<string> {
  if (typeof file !== 'string' || file === '') throw new CliError('SPEC_INVALID', `${what}: expected a file name`, 'secrets are read from files, never written in the spec');
  const path = isAbsolute(file) ? file : resolve(base, file);
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new CliError('SPEC_INVALID', `cannot read ${what} from ${path}`, 'check the path (relative paths are relative to the spec file)', { cause: err });
  }
}

export async function loadSpecFile(file: string): Promise<SpecFile> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError('SPEC_INVALID', `cannot read or parse ${file}`, 'a YAML or JSON storage spec (see xsctl storage --help)', { cause: err });
  }
  if (raw === null || typeof raw !== 'object') throw new CliError('SPEC_INVALID', `${file}: expected a mapping`);
  const o = raw as Record<string, unknown>;
  const base = dirname(resolve(file));
  const target = o['target'] as Record<string, unknown> | undefined;
  const user = target?.['incomingUser'] as Record<string, unknown> | undefined;
  if (user !== undefined && 'password' in user) throw new CliError('SPEC_INVALID', `${file}: target.incomingUser.password`, 'put the CHAP secret in a file and name it with passwordFile');
  if (user?.['passwordFile'] !== undefined) user['password'] = await readSecret(base, user['passwordFile'], 'the CHAP secret');
  const drbd: DrbdResourceSpec[] = [];
  for (const r of Array.isArray(o['drbd']) ? (o['drbd'] as Record<string, unknown>[]) : []) {
    if ('sharedSecret' in r) throw new CliError('SPEC_INVALID', `${file}: drbd[].sharedSecret`, 'put the DRBD secret in a file and name it with sharedSecretFile');
    if (r['sharedSecretFile'] !== undefined) r['sharedSecret'] = await readSecret(base, r['sharedSecretFile'], 'the DRBD shared secret');
    drbd.push(DrbdResourceSpec.fromJSON(r));
  }
  const safety = o['peerSafety'] as Record<string, unknown> | undefined;
  if (safety !== undefined && safety !== null && 'peerFencedByPower' in safety) throw new CliError('SPEC_INVALID', `${file}: peerSafety.peerFencedByPower`, "only the controller's failover sets it, after its fencer read the peer's power state back off");
  const storage = StorageSpec.fromJSON(o);
  if (storage.drbdResources.length === 0) storage.drbdResources = drbd.map((r) => r.name);
  return {
    storage,
    drbd,
    targets: storage.target === undefined ? [] : [storage.target],
    firewall: o['firewall'] === undefined ? undefined : StorageFirewallSpec.fromJSON(o['firewall']),
    timing: o['timing'] === undefined ? undefined : StorageRoleTiming.fromJSON(o['timing']),
    syncFrom: typeof o['syncFrom'] === 'string' ? o['syncFrom'] : '',
  };
}

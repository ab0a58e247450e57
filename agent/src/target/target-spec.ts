import { ValidationError } from '@xsctl/common/errors/index';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { chapSecret, chapUser, initiatorAddress, integerInRange, iqn, oneOf, scsiIdentity, tgtBackingStore, tgtParamText } from '../validate/validators.js';

export interface LunConfig {
  lun: number;
  backingStore: string;
  scsiId: string;
  scsiSn: string;
  vendorId: string;
  productId: string;
  bsType: 'rdwr' | 'aio';
}

export interface TargetConfig {
  tid: number;
  iqn: string;
  luns: LunConfig[];
  initiatorAddresses: string[];
  initiatorNames: string[];
  chap: { user: string; password: string } | null;
}

/** tgt's limits: scsi_id 24 bytes, scsi_sn 36 (VPD 0x80), vendor 8, product 16. */
export const scsiIdMax = 24;
export const scsiSnMax = 36;

/**
 * Rule 7: every identity field is required, so both nodes present the same SCSI identity and
 * XenServer keeps recognising the SR after a failover (tgtd's defaults are per-tid and per-host).
 */
export interface TargetSpecOptions {
  /** Directories a file-backed LUN may lie in (the agent's lunFileDirs); none by default. */
  lunFileDirs?: readonly string[];
}

export function normalizeTargetSpec(spec: TargetSpec, field = 'target', options: TargetSpecOptions = {}): TargetConfig {
  const f = (n: string) => `${field}.${n}`;
  if (spec.luns.length === 0) throw new ValidationError(f('luns'), 'at least one LUN');
  const luns = spec.luns.map(
    (l, i): LunConfig => ({
      lun: integerInRange(f(`luns[${i}].lun`), l.lun, 1, 255),
      backingStore: tgtBackingStore(f(`luns[${i}].backingStore`), l.backingStore, options.lunFileDirs),
      scsiId: scsiIdentity(f(`luns[${i}].scsiId`), l.scsiId, scsiIdMax),
      scsiSn: scsiIdentity(f(`luns[${i}].scsiSn`), l.scsiSn, scsiSnMax),
      vendorId: tgtParamText(f(`luns[${i}].vendorId`), l.vendorId, 8),
      productId: tgtParamText(f(`luns[${i}].productId`), l.productId, 16),
      bsType: oneOf(f(`luns[${i}].bsType`), l.bsType || 'rdwr', ['rdwr', 'aio'] as const),
    }),
  );
  if (new Set(luns.map((l) => l.lun)).size !== luns.length) throw new ValidationError(f('luns'), 'LUN numbers must be unique');
  if (new Set(luns.map((l) => l.scsiSn)).size !== luns.length) throw new ValidationError(f('luns'), 'serial numbers must be unique');
  const incoming = spec.incomingUser;
  const chap =
    incoming === undefined || (incoming.user === '' && incoming.password === '')
      ? null
      : { user: chapUser(f('incomingUser.user'), incoming.user), password: chapSecret(f('incomingUser.password'), incoming.password) };
  const addresses = spec.initiatorAddresses.map((a, i) => initiatorAddress(f(`initiatorAddresses[${i}]`), a));
  const names = spec.initiatorNames.map((n, i) => iqn(f(`initiatorNames[${i}]`), n));
  if (addresses.length === 0 && names.length === 0) throw new ValidationError(f('initiatorAddresses'), 'name the initiators allowed in (an address, a CIDR or ALL)');
  return { tid: integerInRange(f('tid'), spec.tid, 1, 65535), iqn: iqn(f('iqn'), spec.iqn), luns, initiatorAddresses: addresses, initiatorNames: names, chap };
}

/**
 * The targets of a targets.conf. tgt-admin binds `-I ALL` to every target without an
 * `initiator-address` line, and tgtd admits an initiator whose address OR name matches
 * (usr/iscsi/iscsid.c: rejected only when ip_acl and iqn_acl both fail): a target restricted by
 * initiator name alone would be open to everyone once tgt-admin loads the file.
 */
export function normalizeTargetSpecs(specs: readonly TargetSpec[], options: TargetSpecOptions = {}): TargetConfig[] {
  if (specs.length === 0) throw new ValidationError('targets', 'at least one target');
  const out = specs.map((s, i) => normalizeTargetSpec(s, `targets[${i}]`, options));
  out.forEach((t, i) => {
    if (t.initiatorAddresses.length === 0) {
      throw new ValidationError(`targets[${i}].initiatorAddresses`, 'targets.conf needs initiator addresses too: with names alone tgt-admin binds ALL addresses, and tgtd admits an address or a name');
    }
  });
  if (new Set(out.map((t) => t.tid)).size !== out.length) throw new ValidationError('targets', 'tids must be unique');
  if (new Set(out.map((t) => t.iqn)).size !== out.length) throw new ValidationError('targets', 'IQNs must be unique');
  // tgtd keeps one CHAP account per user name, and tgt-admin creates it only for the first target
  // naming it (tgt-admin: "Only delete or create account if it doesn't already exist"): a second
  // target with the same user and another secret would silently take the first one's.
  const secretOf = new Map<string, { index: number; password: string }>();
  out.forEach((t, i) => {
    if (t.chap === null) return;
    const first = secretOf.get(t.chap.user);
    if (first === undefined) secretOf.set(t.chap.user, { index: i, password: t.chap.password });
    else if (first.password !== t.chap.password) {
      throw new ValidationError(`targets[${i}].incomingUser.password`, `CHAP user ${t.chap.user} has another secret in targets[${first.index}]; tgtd keeps one account per user name`);
    }
  });
  return out;
}

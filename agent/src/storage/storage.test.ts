import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { normalizeStorageSpec } from './assert-role.js';
import { apparentRole } from './storage-status.js';

const d = (role: string): DrbdResourceState => ({ name: 'r', minor: 1, role, peerRole: '', disk: 'UpToDate', peerDisk: '', connection: 'Connected', replication: '', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' });

const spec: StorageSpec = {
  drbdResources: ['iscsi1'],
  target: { tid: 1, iqn: 'iqn.2013-05.com.example:x', luns: [{ lun: 10, backingStore: '/dev/drbd1', scsiId: 'X1', scsiSn: 'S1', vendorId: 'XSCTL', productId: 'P', bsType: '' }], initiatorAddresses: ['ALL'], initiatorNames: [], incomingUser: undefined },
  floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1', garpCount: 0 },
  tgtd: undefined,
  peerSafety: undefined,
  stopGraceMs: 0,
};

describe('storage role', () => {
  it('tells master, slave and the half-way states apart', () => {
    expect(apparentRole([d('Primary')], true, true)).toBe('master');
    expect(apparentRole([d('Secondary')], false, false)).toBe('slave');
    expect(apparentRole([d('Primary')], false, false)).toBe('mixed');
    expect(apparentRole([d('Secondary')], false, true)).toBe('mixed');
    expect(apparentRole([d('Primary')], true, null)).toBe('master');
    expect(apparentRole([], false, false)).toBe('unknown');
  });

  it('validates the whole spec before any step runs', () => {
    expect(normalizeStorageSpec(spec)).toMatchObject({ resources: ['iscsi1'], tgtd: { controlPort: 0 }, stopGraceMs: 5_000, ip: { garpCount: 3 } });
    expect(() => normalizeStorageSpec({ ...spec, drbdResources: [] })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, drbdResources: ['r0 --force'] })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, floatingIp: undefined })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, stopGraceMs: 10 })).toThrow(ValidationError);
  });
});

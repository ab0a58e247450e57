import { describe, expect, it } from 'vitest';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { storageStatus, thrownBy } from '@xsctl/test/storage/storage-status';
import { switchoverPlan, type StorageHost } from './storage-pool.js';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

const host = (name: string): StorageHost => ({ name, ref: `OpaqueRef:${name}`, uuid: name, address: '', hostname: name, isMaster: name === 'xs1' });
const status = (apparentRole: string, d: Partial<DrbdResourceState>) => storageStatus(apparentRole, [d]);
const hosts = [host('xs1'), host('xs2')];
const refusal = (f: () => unknown) => thrownBy(f) as StorageRoleChangeRefusedError;

describe('switchover preconditions (typed refusals naming the reason)', () => {
  it('moves from the host that serves to its UpToDate, Connected peer', () => {
    const plan = switchoverPlan(hosts, [status('master', { role: 'Primary', peerRole: 'Secondary' }), status('slave', {})], '');
    expect([plan.from.name, plan.to.name]).toEqual(['xs1', 'xs2']);
  });

  it('refuses while the peer is Inconsistent (syncing): rule 1', () => {
    const err = refusal(() => switchoverPlan(hosts, [status('master', { role: 'Primary' }), status('slave', { disk: 'Inconsistent', connection: 'SyncTarget', syncPercent: 42.5 })], ''));
    expect(err).toBeInstanceOf(StorageRoleChangeRefusedError);
    expect(err).toMatchObject({ code: 'STORAGE_PEER_NOT_UP_TO_DATE', reason: 'peer-not-up-to-date', host: 'xs2' });
    expect(err.message).toMatch(/xs2's copy of iscsi1 is Inconsistent \(42\.5% synced\)/);
  });

  it('refuses a peer that is not Connected', () => {
    expect(refusal(() => switchoverPlan(hosts, [status('master', { role: 'Primary' }), status('slave', { connection: 'WFConnection' })], ''))).toMatchObject({ code: 'STORAGE_PEER_NOT_CONNECTED', host: 'xs2' });
  });

  it('refuses during a split brain on either host: rule 10', () => {
    const err = refusal(() => switchoverPlan(hosts, [status('master', { role: 'Primary', connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'block drbd1: Split-Brain detected' }), status('slave', { connection: 'StandAlone' })], ''));
    expect(err).toMatchObject({ code: 'STORAGE_SPLIT_BRAIN', host: 'xs1' });
    expect(err.message).toMatch(/resolve it naming the victim/);
  });

  it('refuses when nobody serves, and a switchover to the master itself', () => {
    expect(refusal(() => switchoverPlan(hosts, [status('slave', {}), status('slave', {})], ''))).toMatchObject({ code: 'STORAGE_NO_STORAGE_MASTER' });
    expect(refusal(() => switchoverPlan(hosts, [status('master', { role: 'Primary' }), status('slave', {})], 'xs1')).message).toMatch(/xs1 is the storage master already/);
  });
});

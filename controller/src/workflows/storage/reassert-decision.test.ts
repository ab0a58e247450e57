import { describe, expect, it } from 'vitest';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { storageStatus, thrownBy } from '@xsctl/test/storage/storage-status';
import { reassertPlan, reassertTrigger, type ReassertHost, type ReassertInput } from './reassert-decision.js';
import type { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

const drbd = (o: Partial<DrbdResourceState> = {}) => ({ role: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, ...o });
/** A host as the witness saw it: a healed slave unless told otherwise. */
const host = (name: string, o: { reachable?: boolean; heldRole?: string; selfFenced?: boolean; replicationConnected?: boolean; drbd?: ReturnType<typeof drbd>[] } = {}): ReassertHost => ({
  name,
  reachable: o.reachable ?? true,
  view: { heldRole: o.heldRole ?? 'slave', selfFenced: o.selfFenced ?? false, replicationConnected: o.replicationConnected ?? true, drbd: o.drbd ?? [drbd()] },
});
// The lab's timers: detectAfterMs 6 s (the hysteresis), a 60 s hold-down; the pair healed since t = 100 000.
const base = (o: Partial<ReassertInput> = {}): ReassertInput => ({
  now: 106_000,
  hosts: [host('xs1', { selfFenced: true }), host('xs2')],
  healedSince: 100_000,
  alerted: false,
  lastRoleChange: () => 0,
  workflowActive: () => false,
  stableMs: 6_000,
  holdDownMs: 60_000,
  automatic: true,
  ...o,
});

describe('reassertTrigger: the witness puts the master role back on a self-fenced master once the pair is healed', () => {
  it('row 7 after the flaps: xs1 self-fenced, both slaves, Connected and UpToDate for detectAfterMs: re-assert xs1', () => {
    expect(reassertTrigger(base())).toEqual({ act: 'reassert', healedSince: 100_000, host: 'xs1' });
    // Whichever host fenced itself is the one (here xs2, listed second).
    expect(reassertTrigger(base({ hosts: [host('xs1'), host('xs2', { selfFenced: true })] }))).toMatchObject({ act: 'reassert', host: 'xs2' });
  });

  it('rule 11: the pair must stay healed stableMs in a row; the first healed round starts the count (inclusive at the bound)', () => {
    expect(reassertTrigger(base({ healedSince: 0, now: 50_000 }))).toEqual({ act: 'wait', healedSince: 50_000, host: 'xs1', until: 'stable' });
    expect(reassertTrigger(base({ now: 105_999 }))).toMatchObject({ act: 'wait', until: 'stable' });
    expect(reassertTrigger(base({ now: 106_000 })).act).toBe('reassert');
  });

  it('anything but a healed pair without a master clears the count', () => {
    const cases: ReassertHost[][] = [
      // Someone serves, or holds half a role.
      [host('xs1', { selfFenced: true }), host('xs2', { heldRole: 'master' })],
      [host('xs1', { selfFenced: true, heldRole: 'mixed' }), host('xs2')],
      [host('xs1', { selfFenced: true, heldRole: 'unknown' }), host('xs2')],
      // A host the witness does not reach, or has no view of.
      [host('xs1', { selfFenced: true, reachable: false }), host('xs2')],
      [host('xs1', { selfFenced: true }), { name: 'xs2', reachable: true, view: undefined }],
      // The link still down on either side (a flap).
      [host('xs1', { selfFenced: true, replicationConnected: false }), host('xs2')],
      [host('xs1', { selfFenced: true }), host('xs2', { replicationConnected: false })],
      // Rule 1: not UpToDate on both sides (a resync under way), not Secondary, or no resource read.
      [host('xs1', { selfFenced: true, drbd: [drbd({ disk: 'Inconsistent' })] }), host('xs2')],
      [host('xs1', { selfFenced: true }), host('xs2', { drbd: [drbd({ peerDisk: 'Inconsistent' })] })],
      [host('xs1', { selfFenced: true }), host('xs2', { drbd: [drbd(), drbd({ role: 'Primary' })] })],
      [host('xs1', { selfFenced: true, drbd: [] }), host('xs2')],
      // Rule 10: a split brain.
      [host('xs1', { selfFenced: true }), host('xs2', { drbd: [drbd({ splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED })] })],
      // Nobody self-fenced (an admin's demotion), or both did: not the witness's to guess.
      [host('xs1'), host('xs2')],
      [host('xs1', { selfFenced: true }), host('xs2', { selfFenced: true })],
      // Not a pair.
      [host('xs1', { selfFenced: true })],
    ];
    for (const hosts of cases) expect(reassertTrigger(base({ hosts })), JSON.stringify(hosts)).toEqual({ act: 'clear' });
  });

  it('waits for another workflow on the pool (a refused failover still running, a switchover)', () => {
    expect(reassertTrigger(base({ workflowActive: () => true }))).toEqual({ act: 'wait', healedSince: 100_000, host: 'xs1', until: 'workflow' });
  });

  it('at most one role change per hold-down, counted from the last one that happened (inclusive at the bound)', () => {
    expect(reassertTrigger(base({ lastRoleChange: () => 46_001 }))).toMatchObject({ act: 'wait', until: 'hold-down' });
    expect(reassertTrigger(base({ lastRoleChange: () => 46_000 })).act).toBe('reassert');
  });

  it('automatic failover off: one alert per incident, then the admin', () => {
    expect(reassertTrigger(base({ automatic: false }))).toEqual({ act: 'alert', healedSince: 100_000, host: 'xs1' });
    expect(reassertTrigger(base({ automatic: false, alerted: true }))).toEqual({ act: 'wait', healedSince: 100_000, host: 'xs1', until: 'admin' });
  });
});

// A healed pair: both Secondary, Connected, UpToDate.
const status = (apparentRole: string, d: Partial<DrbdResourceState> = {}) => storageStatus(apparentRole, [{ peerRole: 'Secondary', ...d }]);
const pair = (xs1: StorageStatus, xs2: StorageStatus) => [
  { name: 'xs1', status: xs1 },
  { name: 'xs2', status: xs2 },
];
const refusal = (f: () => unknown) => thrownBy(f) as StorageRoleChangeRefusedError;

describe('reassertPlan: the workflow checks both hosts as they are now', () => {
  it('passes for a healed pair without a master', () => {
    expect(() => reassertPlan(pair(status('slave'), status('slave')), 'xs1')).not.toThrow();
  });

  it('refuses a split brain (rule 10) and a host that serves (someone took the role meanwhile)', () => {
    const sb = refusal(() => reassertPlan(pair(status('slave'), status('slave', { splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED })), 'xs1'));
    expect(sb).toMatchObject({ code: 'STORAGE_SPLIT_BRAIN', host: 'xs2' });
    expect(sb.message).toBe('SPLIT BRAIN on xs2 (iscsi1): no automatic role change (rule 10)');
    const served = refusal(() => reassertPlan(pair(status('slave'), status('master')), 'xs1'));
    expect(served).toMatchObject({ code: 'STORAGE_MASTER_PRESENT', host: 'xs2' });
    expect(served.message).toBe('xs2 holds master now: nothing to re-assert');
    expect(refusal(() => reassertPlan(pair(status('mixed'), status('slave')), 'xs1'))).toMatchObject({ code: 'STORAGE_MASTER_PRESENT', host: 'xs1' });
  });

  it("refuses unless the host's resources are UpToDate on both sides (rule 1) and Connected", () => {
    expect(refusal(() => reassertPlan(pair(status('slave', { disk: 'Outdated' }), status('slave')), 'xs1'))).toMatchObject({ code: 'STORAGE_PEER_NOT_UP_TO_DATE', host: 'xs1' });
    expect(refusal(() => reassertPlan(pair(status('slave', { peerDisk: 'DUnknown' }), status('slave')), 'xs1')).message).toBe('iscsi1 on xs1 is UpToDate/DUnknown, not UpToDate on both sides: no automatic promotion (rule 1)');
    const apart = refusal(() => reassertPlan(pair(status('slave', { connection: 'WFConnection' }), status('slave')), 'xs1'));
    expect(apart).toMatchObject({ code: 'STORAGE_PEER_NOT_CONNECTED', host: 'xs1' });
    expect(apart.message).toBe('iscsi1 on xs1 is WFConnection, not Connected: re-asserting the master needs the peer in sync now');
    // It reads the named host's resources, not the peer's.
    expect(refusal(() => reassertPlan(pair(status('slave'), status('slave', { disk: 'Outdated' })), 'xs2'))).toMatchObject({ code: 'STORAGE_PEER_NOT_UP_TO_DATE', host: 'xs2' });
    const stranger = refusal(() => reassertPlan(pair(status('slave'), status('slave')), 'xs3'));
    expect(stranger).toMatchObject({ code: 'STORAGE_NO_STORAGE_CONFIG', host: 'xs3' });
    expect(stranger.message).toBe('xs3 is not a storage host of this pool');
  });
});

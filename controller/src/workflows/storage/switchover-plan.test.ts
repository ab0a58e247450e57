import { describe, expect, it } from 'vitest';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { storageStatus, thrownBy } from '@xsctl/test/storage/storage-status';
import { Status } from 'nice-grpc-common';
import { toServerError } from '@xsctl/common/grpc/index';
import { checkFloatingIpAnswers, switchoverPlan, type StorageHost } from './storage-pool.js';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

/**
 * The switchover's guards before a promotion (docs/storage-safety-rules.md rules 1 and 10), table
 * by table: each refusal's reason, host and full message, and which peer is chosen. States are
 * drbdadm's words (disk UpToDate/Outdated/Inconsistent, connection Connected/WFConnection/...).
 */
const host = (name: string): StorageHost => ({ name, ref: `OpaqueRef:${name}`, uuid: name, address: '', hostname: name, isMaster: name === 'xs1' });
const status = (apparentRole: string, ...resources: Array<Partial<DrbdResourceState>>) => storageStatus(apparentRole, resources);
const master = status('master', { role: 'Primary', peerRole: 'Secondary' });
const two = [host('xs1'), host('xs2')];
const three = [host('xs1'), host('xs2'), host('xs3')];

function refusal(f: () => unknown): { reason: string; code: string; host: string; message: string } {
  const err = thrownBy(f);
  if (!(err instanceof StorageRoleChangeRefusedError)) throw err;
  return { reason: err.reason, code: err.code, host: err.host, message: err.message };
}

describe('switchoverPlan: which peer', () => {
  it('the named peer, else the first host that does not serve', () => {
    const statuses = [master, status('slave', {}), status('slave', {})];
    expect(Object.values(switchoverPlan(three, statuses, '')).map((h) => h.name)).toEqual(['xs1', 'xs2']);
    expect(Object.values(switchoverPlan(three, statuses, 'xs2')).map((h) => h.name)).toEqual(['xs1', 'xs2']);
    expect(Object.values(switchoverPlan(three, statuses, 'xs3')).map((h) => h.name)).toEqual(['xs1', 'xs3']);
    // The master need not be the first host.
    expect(Object.values(switchoverPlan(two, [status('slave', {}), master], '')).map((h) => h.name)).toEqual(['xs2', 'xs1']);
  });
});

describe('switchoverPlan: refusals', () => {
  it.each([
    {
      why: 'nobody serves',
      statuses: [status('slave', {}), status('slave', {})],
      to: '',
      refused: { reason: 'no-storage-master', code: 'STORAGE_NO_STORAGE_MASTER', host: '', message: 'no host serves the storage now (xs1: slave, xs2: slave): nothing to switch over' },
    },
    {
      why: 'to the master itself',
      statuses: [master, status('slave', {})],
      to: 'xs1',
      refused: { reason: 'no-storage-master', code: 'STORAGE_NO_STORAGE_MASTER', host: 'xs1', message: 'xs1 is the storage master already' },
    },
    {
      why: 'to a host that is not in the pair',
      statuses: [master, status('slave', {})],
      to: 'xs9',
      refused: { reason: 'no-storage-master', code: 'STORAGE_NO_STORAGE_MASTER', host: 'xs9', message: 'no peer xs9 to switch over to' },
    },
    {
      why: 'the peer Outdated (no resync under way)',
      statuses: [master, status('slave', { disk: 'Outdated', connection: 'StandAlone' })],
      to: '',
      refused: { reason: 'peer-not-up-to-date', code: 'STORAGE_PEER_NOT_UP_TO_DATE', host: 'xs2', message: "xs2's copy of iscsi1 is Outdated, not UpToDate: a switchover now would serve stale or partial data (rule 1)" },
    },
    {
      why: 'the peer syncing',
      statuses: [master, status('slave', { disk: 'Inconsistent', connection: 'SyncTarget', syncPercent: 42.5 })],
      to: '',
      refused: { reason: 'peer-not-up-to-date', code: 'STORAGE_PEER_NOT_UP_TO_DATE', host: 'xs2', message: "xs2's copy of iscsi1 is Inconsistent (42.5% synced), not UpToDate: a switchover now would serve stale or partial data (rule 1)" },
    },
    {
      why: 'the peer UpToDate but not connected',
      statuses: [master, status('slave', { connection: 'WFConnection' })],
      to: '',
      refused: { reason: 'peer-not-connected', code: 'STORAGE_PEER_NOT_CONNECTED', host: 'xs2', message: 'iscsi1 on xs2 is WFConnection, not Connected: a switchover needs the peer in sync now' },
    },
    {
      why: "the peer's second resource behind, its first in sync",
      statuses: [master, status('slave', {}, { name: 'iscsi2', disk: 'Outdated' })],
      to: '',
      refused: { reason: 'peer-not-up-to-date', code: 'STORAGE_PEER_NOT_UP_TO_DATE', host: 'xs2', message: "xs2's copy of iscsi2 is Outdated, not UpToDate: a switchover now would serve stale or partial data (rule 1)" },
    },
    {
      why: 'a split brain on the peer, even with nobody serving (it is checked first)',
      statuses: [status('slave', { connection: 'StandAlone' }), status('slave', { connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'block drbd1: Split-Brain detected, dropping connection!' })],
      to: '',
      refused: { reason: 'split-brain', code: 'STORAGE_SPLIT_BRAIN', host: 'xs2', message: 'SPLIT BRAIN on xs2 (iscsi1: block drbd1: Split-Brain detected, dropping connection!): resolve it naming the victim (xsctl drbd resolve-split-brain) before any role change' },
    },
  ])('$why', ({ statuses, to, refused }) => {
    expect(refusal(() => switchoverPlan(two, statuses, to))).toEqual(refused);
  });

  it('the other peer out of sync does not matter when the named one is in sync', () => {
    const statuses = [master, status('slave', { disk: 'Outdated' }), status('slave', {})];
    expect(switchoverPlan(three, statuses, 'xs3').to.name).toBe('xs3');
    expect(refusal(() => switchoverPlan(three, statuses, 'xs2')).reason).toBe('peer-not-up-to-date');
  });
});

describe('checkFloatingIpAnswers: rule 4 before the switchover moves anything (STORAGE_FLOATING_IP_ELSEWHERE)', () => {
  const [xs1, xs2] = two as [StorageHost, StorageHost];
  // The master's status reads its MAC as ip(8) prints it; arping's reply lines are lower-cased by the agent.
  const holder = '52:54:00:AA:BB:01';

  it('passes when only the master answers, or nobody does', () => {
    expect(() => checkFloatingIpAnswers('10.10.10.3', xs1, xs2, holder, ['52:54:00:aa:bb:01'])).not.toThrow();
    expect(() => checkFloatingIpAnswers('10.10.10.3', xs1, xs2, holder, [])).not.toThrow();
  });

  it.each([
    {
      why: 'a third host answers',
      holderMac: holder,
      answeredBy: ['52:54:00:cc:dd:09'],
      message: '10.10.10.3 answers from 52:54:00:cc:dd:09, not only from xs1 (52:54:00:AA:BB:01): another host holds the floating IP (rule 4)',
    },
    {
      why: 'the master and a third host answer: only the other is named',
      holderMac: holder,
      answeredBy: ['52:54:00:aa:bb:01', '52:54:00:cc:dd:09'],
      message: '10.10.10.3 answers from 52:54:00:cc:dd:09, not only from xs1 (52:54:00:AA:BB:01): another host holds the floating IP (rule 4)',
    },
    {
      why: 'two other hosts answer: both named',
      holderMac: holder,
      answeredBy: ['52:54:00:cc:dd:09', '52:54:00:cc:dd:0a'],
      message: '10.10.10.3 answers from 52:54:00:cc:dd:09, 52:54:00:cc:dd:0a, not only from xs1 (52:54:00:AA:BB:01): another host holds the floating IP (rule 4)',
    },
    {
      why: "no MAC read on the master: even the master's own answer cannot be told apart",
      holderMac: '',
      answeredBy: ['52:54:00:aa:bb:01'],
      message: '10.10.10.3 answers from 52:54:00:aa:bb:01, not only from xs1 (no MAC read): another host holds the floating IP (rule 4)',
    },
  ])('refuses when $why', ({ holderMac, answeredBy, message }) => {
    expect(refusal(() => checkFloatingIpAnswers('10.10.10.3', xs1, xs2, holderMac, answeredBy))).toEqual({ reason: 'floating-ip-elsewhere', code: 'STORAGE_FLOATING_IP_ELSEWHERE', host: 'xs2', message });
  });

  it('goes over gRPC as FAILED_PRECONDITION with its code first in the details (the one status table)', () => {
    let err: unknown;
    try {
      checkFloatingIpAnswers('10.10.10.3', xs1, xs2, holder, ['52:54:00:cc:dd:09']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageRoleChangeRefusedError);
    const wire = toServerError(err as StorageRoleChangeRefusedError);
    expect(wire.code).toBe(Status.FAILED_PRECONDITION);
    expect(wire.details).toBe('STORAGE_FLOATING_IP_ELSEWHERE: 10.10.10.3 answers from 52:54:00:cc:dd:09, not only from xs1 (52:54:00:AA:BB:01): another host holds the floating IP (rule 4)');
  });
});

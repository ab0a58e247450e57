import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { FailoverReason, SplitBrainState, type DrbdResourceState, type PeerSafety } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { checkPromotion, failoverReasonName, peerSafetyCheck, unverifiedPeer, witnessVerdict } from './promotion-guard.js';

/**
 * The promotion guard, branch by branch (DESIGN.md storage safety rules 1-4). Expected verdicts
 * follow the rules as written there; each case changes one fact of an otherwise promotable state.
 */
const state = (s: Partial<DrbdResourceState>): DrbdResourceState => ({
  name: 'iscsi1', minor: 0, role: 'Secondary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established', peer: '',
  splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '', ...s,
});
const safety = (s: Partial<PeerSafety>): PeerSafety => ({ peerFenced: false, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED, ...s });
const failover = safety({ failoverReason: FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST });

function refusal(fn: () => unknown): Error & { code: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code: string };
  }
  throw new Error('no refusal');
}

// 8.x states in which the peer is connected and talking (drbd 8.4 user guide, "Connection states"), and 9's Connected.
const connectedStates = ['Connected', 'WFReportParams', 'Ahead', 'Behind', 'SyncSource', 'SyncTarget', 'PausedSyncS', 'PausedSyncT', 'StartingSyncS', 'StartingSyncT', 'WFBitMapS', 'WFBitMapT', 'WFSyncUUID', 'VerifyS', 'VerifyT'];
const apartStates = ['StandAlone', 'WFConnection', 'Disconnecting', 'Unconnected', 'Timeout', 'BrokenPipe', 'NetworkFailure', 'ProtocolError', 'TearDown', 'Connecting', ''];

describe('checkPromotion (rules 1, 3, 4 in that order; rule 2 left to the caller)', () => {
  it('an already Primary resource needs nothing, whatever else holds', () => {
    expect(checkPromotion('iscsi1', state({ role: 'Primary', disk: 'Inconsistent', peerRole: 'Primary' }), failover)).toBe('already-primary');
  });
  it('a connected, UpToDate Secondary with a Secondary peer is promoted (switchover, no failover reason)', () => {
    expect(checkPromotion('iscsi1', state({}), undefined)).toBe('promote');
    expect(checkPromotion('iscsi1', state({}), safety({}))).toBe('promote');
    expect(checkPromotion('iscsi1', state({ peerRole: 'Unknown' }), safety({}))).toBe('promote');
  });
  it.each(connectedStates)('rule 3: a failover is refused while the link is %s (the peer is alive)', (connection) => {
    const err = refusal(() => checkPromotion('iscsi1', state({ connection }), failover));
    expect(err.code).toBe('DRBD_PEER_ALIVE');
    expect(err.message).toBe(`refusing failover promotion of iscsi1 (management-link-lost): the replication link is ${connection}, so the peer is alive; switch over instead (demote the peer first)`);
  });
  it.each(connectedStates)('a switchover over a %s link is promoted without asking for fencing', (connection) => {
    expect(checkPromotion('iscsi1', state({ connection }), undefined)).toBe('promote');
  });
  it.each(apartStates)('a peer apart (%j) must be proven safe first; a failover is allowed to ask', (connection) => {
    expect(checkPromotion('iscsi1', state({ connection, peerRole: 'Unknown' }), failover)).toBe('verify-peer');
    expect(checkPromotion('iscsi1', state({ connection, peerRole: 'Unknown' }), undefined)).toBe('verify-peer');
  });
  it('rule 3 comes before rule 1: a failover over a live link is refused as such even with stale data', () => {
    expect(refusal(() => checkPromotion('iscsi1', state({ disk: 'Inconsistent', peerRole: 'Primary' }), safety({ failoverReason: FailoverReason.FAILOVER_REASON_PEER_HOST_NOT_LIVE }))).code).toBe('DRBD_PEER_ALIVE');
  });
  it.each(['Inconsistent', 'Outdated', 'Consistent', 'Diskless', 'DUnknown', 'Attaching', 'Failed', 'Negotiating', 'uptodate'])('rule 1: a %s disk is never promoted', (disk) => {
    const err = refusal(() => checkPromotion('iscsi1', state({ disk, connection: 'StandAlone' }), safety({ peerFenced: true })));
    expect(err.code).toBe('DRBD_NOT_UP_TO_DATE');
    expect(err.message).toBe(`refusing to promote iscsi1: local disk is ${disk}, not UpToDate`);
  });
  it('rule 1 names an unknown disk state as unknown', () => {
    expect(refusal(() => checkPromotion('iscsi1', state({ disk: '' }), undefined)).message).toBe('refusing to promote iscsi1: local disk is unknown, not UpToDate');
  });
  it('rule 1 comes before rule 4', () => {
    expect(refusal(() => checkPromotion('iscsi1', state({ disk: 'Outdated', peerRole: 'Primary' }), undefined)).code).toBe('DRBD_NOT_UP_TO_DATE');
  });
  it('rule 4: never while the peer is Primary, connected or not', () => {
    for (const connection of ['Connected', 'WFConnection']) {
      const err = refusal(() => checkPromotion('r2', state({ peerRole: 'Primary', connection }), safety({ peerFenced: true })));
      expect(err.code).toBe('DRBD_PEER_PRIMARY');
      expect(err.message).toBe('refusing to promote r2: the peer is Primary; demote it first');
    }
  });
});

describe('failoverReasonName', () => {
  it.each([
    [undefined, null],
    [FailoverReason.FAILOVER_REASON_UNSPECIFIED, null],
    [FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST, 'management-link-lost'],
    [FailoverReason.FAILOVER_REASON_PEER_HOST_NOT_LIVE, 'peer-host-not-live'],
    [FailoverReason.UNRECOGNIZED, 'unrecognized'],
    [99 as FailoverReason, 'failover reason 99'],
  ])('%j -> %j', (reason, name) => {
    expect(failoverReasonName(reason)).toBe(name);
  });
  it('an unknown reason number is still a failover (rule 3 applies)', () => {
    expect(refusal(() => checkPromotion('iscsi1', state({}), safety({ failoverReason: 99 as FailoverReason }))).code).toBe('DRBD_PEER_ALIVE');
  });
});

describe('peerSafetyCheck (rule 2)', () => {
  it('without safety information the peer cannot be verified', () => {
    expect(peerSafetyCheck(undefined)).toEqual({ kind: 'unverifiable', reason: 'it is neither fenced nor outvoted by a witness' });
    expect(peerSafetyCheck(safety({}))).toEqual({ kind: 'unverifiable', reason: 'it is neither fenced nor outvoted by a witness' });
    expect(peerSafetyCheck(safety({ witnessInterface: 'xenbr1' }))).toEqual({ kind: 'unverifiable', reason: 'it is neither fenced nor outvoted by a witness' });
  });
  it('a fenced peer is safe, and fencing needs no witness', () => {
    expect(peerSafetyCheck(safety({ peerFenced: true }))).toEqual({ kind: 'fenced' });
    expect(peerSafetyCheck(safety({ peerFenced: true, peerFencedByPower: false, witnessAddress: '10.0.0.9', witnessInterface: 'xenbr1' }))).toEqual({ kind: 'fenced' });
  });
  it('a witness address asks for an ARP probe on the named interface', () => {
    expect(peerSafetyCheck(safety({ witnessAddress: '10.0.0.9', witnessInterface: 'xenbr1' }))).toEqual({ kind: 'witness', address: '10.0.0.9', iface: 'xenbr1' });
  });
  it('the witness address and interface go through their allow-lists before arping sees them', () => {
    const bad = (s: Partial<PeerSafety>) => {
      const err = refusal(() => peerSafetyCheck(safety(s)));
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).field;
    };
    expect(bad({ witnessAddress: '::1', witnessInterface: 'xenbr1' })).toBe('peerSafety.witnessAddress');
    expect(bad({ witnessAddress: '10.0.0.9;reboot', witnessInterface: 'xenbr1' })).toBe('peerSafety.witnessAddress');
    expect(bad({ witnessAddress: '10.0.0.9', witnessInterface: '-I' })).toBe('peerSafety.witnessInterface');
    expect(bad({ witnessAddress: '10.0.0.9', witnessInterface: '' })).toBe('peerSafety.witnessInterface');
  });
});

describe('witnessVerdict', () => {
  const w = { address: '10.0.0.9', iface: 'xenbr1' };
  it('arping exit 0 (a reply) proves quorum', () => {
    expect(witnessVerdict('iscsi1', state({ connection: 'WFConnection' }), w, 0)).toBe('witness 10.0.0.9 answers');
  });
  it.each([1, 2, 124])('arping exit %i refuses the promotion', (code) => {
    const err = refusal(() => witnessVerdict('iscsi1', state({ connection: 'WFConnection' }), w, code));
    expect(err.code).toBe('DRBD_PEER_UNVERIFIED');
    expect(err.message).toBe('refusing to promote iscsi1: peer is not connected (WFConnection) and witness 10.0.0.9 does not answer on xenbr1');
  });
  it('unverifiedPeer carries the connection and the reason', () => {
    const err = unverifiedPeer('iscsi1', state({ connection: '' }), 'it is neither fenced nor outvoted by a witness');
    expect(err.code).toBe('DRBD_PEER_UNVERIFIED');
    expect(err.message).toBe('refusing to promote iscsi1: peer is not connected (unknown) and it is neither fenced nor outvoted by a witness');
  });
});

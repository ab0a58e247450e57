import { describe, expect, it } from 'vitest';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { assessSurvivor, fencedByPower, floatingIpObservation, selfFenceBound, selfFenceEvidence, selfFenceVerdict } from './failover-assess.js';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';

/**
 * The failover's promotion preconditions, each flipped alone from a survivor that may be promoted
 * (docs/storage-safety-rules.md rules 1-4 and 10, and "The bound, and how it is enforced"). The
 * expected codes, hosts and messages are written out here from the rules and the error table
 * (STORAGE_<REASON>), not taken from the code; states are drbdadm's words.
 */
const drbd = (o: Partial<DrbdResourceState>): DrbdResourceState => ({ name: 'iscsi1', minor: 1, role: 'Secondary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown', connection: 'WFConnection', replication: 'Off', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '', ...o });
const survivor = (replicationConnected: boolean, ...resources: Array<Partial<DrbdResourceState>>) => ({ replicationConnected, drbd: resources.map(drbd) });
type Refusal = { code: string; reason: string; host: string; message: string } | null;
const outcome = (e: StorageRoleChangeRefusedError | null): Refusal => {
  if (e === null) return null;
  expect(e).toBeInstanceOf(StorageRoleChangeRefusedError);
  return { code: e.code, reason: e.reason, host: e.host, message: e.message };
};

describe('assessSurvivor: promote only a survivor with its link down, no split brain, UpToDate', () => {
  const cases: Array<[string, ReturnType<typeof survivor>, Refusal]> = [
    ['rules 1, 3, 10: link down, one resource UpToDate, no split brain: promote', survivor(false, {}), null],
    ['rules 1, 3, 10: link down, two resources both UpToDate: promote', survivor(false, { name: 'iscsi1' }, { name: 'iscsi2', minor: 2 }), null],
    ['rule 3: the replication link Connected: the peer is alive, refused naming the failed host', survivor(true, { connection: 'Connected' }), { code: 'STORAGE_PEER_ALIVE', reason: 'peer-alive', host: 'xs1', message: "xs2's replication link to xs1 is Connected: the peer is alive, no failover (rule 3); switch over instead" }],
    ['rule 3: Connected wins over a split brain and stale data (checked first)', survivor(true, { splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, disk: 'Outdated' }), { code: 'STORAGE_PEER_ALIVE', reason: 'peer-alive', host: 'xs1', message: "xs2's replication link to xs1 is Connected: the peer is alive, no failover (rule 3); switch over instead" }],
    ['rule 10: a split brain on the survivor: refused naming the survivor', survivor(false, { connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED }), { code: 'STORAGE_SPLIT_BRAIN', reason: 'split-brain', host: 'xs2', message: 'SPLIT BRAIN on xs2 (iscsi1): no automatic promotion (rule 10)' }],
    ['rule 10: a split brain on the second resource only', survivor(false, {}, { name: 'iscsi2', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED }), { code: 'STORAGE_SPLIT_BRAIN', reason: 'split-brain', host: 'xs2', message: 'SPLIT BRAIN on xs2 (iscsi2): no automatic promotion (rule 10)' }],
    ['rule 10: a split brain reported before stale data of the same resource', survivor(false, { splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, disk: 'Outdated' }), { code: 'STORAGE_SPLIT_BRAIN', reason: 'split-brain', host: 'xs2', message: 'SPLIT BRAIN on xs2 (iscsi1): no automatic promotion (rule 10)' }],
    ['rule 10: split brain state unknown (unspecified) is not a split brain', survivor(false, { splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_UNSPECIFIED }), null],
    ['rule 1: the survivor Outdated: refused, nothing promoted', survivor(false, { disk: 'Outdated' }), { code: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', reason: 'survivor-not-up-to-date', host: 'xs2', message: "xs2's copy of iscsi1 is Outdated, not UpToDate: promoting it would serve stale data (rule 1)" }],
    ['rule 1: the survivor Inconsistent (resync cut short)', survivor(false, { disk: 'Inconsistent' }), { code: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', reason: 'survivor-not-up-to-date', host: 'xs2', message: "xs2's copy of iscsi1 is Inconsistent, not UpToDate: promoting it would serve stale data (rule 1)" }],
    ['rule 1: the second resource Diskless while the first is UpToDate', survivor(false, {}, { name: 'iscsi2', disk: 'Diskless' }), { code: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', reason: 'survivor-not-up-to-date', host: 'xs2', message: "xs2's copy of iscsi2 is Diskless, not UpToDate: promoting it would serve stale data (rule 1)" }],
    ['rule 1: the first resource stale is reported, not the second', survivor(false, { disk: 'Outdated' }, { name: 'iscsi2', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED }), { code: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', reason: 'survivor-not-up-to-date', host: 'xs2', message: "xs2's copy of iscsi1 is Outdated, not UpToDate: promoting it would serve stale data (rule 1)" }],
    ['rule 1: the disk state compared exactly (drbdadm prints UpToDate, not uptodate)', survivor(false, { disk: 'uptodate' }), { code: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', reason: 'survivor-not-up-to-date', host: 'xs2', message: "xs2's copy of iscsi1 is uptodate, not UpToDate: promoting it would serve stale data (rule 1)" }],
  ];
  it.each(cases)('%s', (_name, view, expected) => {
    expect(outcome(assessSurvivor(view, 'xs1', 'xs2'))).toEqual(expected);
  });
});

describe('selfFenceBound: detection + selfFenceAfterMs + detectAfterMs (the bound section)', () => {
  it('bound section: 01:00:00.000 + 1500 + 3000 ms = 01:00:04.500', () => {
    expect(selfFenceBound('2026-12-05T01:00:00.000Z', 1500, 3000)).toBe(Date.UTC(2026, 11, 5, 1, 0, 4, 500));
  });
  it('bound section: each term counts (1 ms of selfFenceAfterMs, 2 ms of detectAfterMs)', () => {
    expect(selfFenceBound('1970-01-01T00:00:01.000Z', 1, 2)).toBe(1003);
  });
});

const peer = (o: Partial<PeerView>): PeerView => ({ hostname: 'xs2', drbd: [], replicationConnected: false, replicationReachable: false, managementReachable: true, heldRole: 'slave', witnessSilenceMs: 0, selfFenced: false, selfFencedAt: '', observedAgeMs: 0, warnings: [], floatingIpPresent: false, floatingIpAnswersElsewhere: false, peerFencedHold: false, peerFencedHoldSince: '', ...o });

describe('floatingIpObservation: evidence only from an observation taken after the bound (rule 4)', () => {
  // Asked at 10_000 with the bound at 9_000: an observation 1000 ms old was taken at the bound.
  const cases: Array<[string, PeerView | null, number, string]> = [
    ['rule 4: no IP on the survivor, no ARP answer elsewhere, observed at the bound: silent', peer({ observedAgeMs: 1000 }), 10_000, 'silent'],
    ['rule 4: the same observed 1 ms after the bound: silent', peer({ observedAgeMs: 999 }), 10_000, 'silent'],
    ['rule 4: the same observed 1 ms before the bound: no evidence', peer({ observedAgeMs: 1001 }), 10_000, 'none'],
    ['rule 4: asked 1 ms earlier, the same age puts it before the bound: no evidence', peer({ observedAgeMs: 1000 }), 9_999, 'none'],
    ['rule 4: the IP answers ARP elsewhere after the bound: answers', peer({ floatingIpAnswersElsewhere: true }), 10_000, 'answers'],
    ['rule 4: answering elsewhere and present on the survivor too: answers', peer({ floatingIpAnswersElsewhere: true, floatingIpPresent: true }), 10_000, 'answers'],
    ['rule 4: answering elsewhere but observed 1 ms before the bound: no evidence', peer({ floatingIpAnswersElsewhere: true, observedAgeMs: 1001 }), 10_000, 'none'],
    ['rule 4: the IP on the survivor itself, not elsewhere: neither silent nor answering', peer({ floatingIpPresent: true }), 10_000, 'none'],
    ['rule 4: the survivor did not answer: no evidence', null, 10_000, 'none'],
    ['rule 4: its floating IP probe failed: no evidence', peer({ warnings: ['floating IP: arping: exit 2'] }), 10_000, 'none'],
    ['rule 4: a failed probe that also reports answers is no evidence', peer({ warnings: ['floating IP: arping timed out'], floatingIpAnswersElsewhere: true }), 10_000, 'none'],
    ['rule 4: no observation yet: no evidence', peer({ warnings: ['no observation yet'] }), 10_000, 'none'],
    ['rule 4: another warning (not about the IP) does not void a silent observation', peer({ warnings: ['drbd: no resources configured', 'no observation yet, maybe'] }), 10_000, 'silent'],
    ['rule 4: a warning naming the floating IP not at its start does not void it', peer({ warnings: ['the floating IP: fine'] }), 10_000, 'silent'],
  ];
  it.each(cases)('%s', (_name, v, asked, expected) => {
    expect(floatingIpObservation(v, asked, 9_000)).toBe(expected);
  });
});

describe('selfFenceEvidence: wait for silence until one more detectAfterMs past the bound', () => {
  // until = 20_000: the bound plus one failover delay.
  const cases: Array<[string, 'answers' | 'unknown', 'silent' | 'answers' | 'none', number, object]> = [
    ['rule 4: silent ends the wait at once, before until', 'unknown', 'silent', 10_000, { done: 'silent' }],
    ['rule 4: silent wins over an earlier answer', 'answers', 'silent', 19_999, { done: 'silent' }],
    ['rule 4: silent at until', 'answers', 'silent', 20_000, { done: 'silent' }],
    ['rule 4: nothing usable 1 ms before until: observe again', 'unknown', 'none', 19_999, { seen: 'unknown' }],
    ['rule 4: nothing usable at until: the bound alone decides (unknown)', 'unknown', 'none', 20_000, { done: 'unknown' }],
    ['rule 4: nothing usable 1 ms after until: unknown', 'unknown', 'none', 20_001, { done: 'unknown' }],
    ['rule 4: answers 1 ms before until: remembered, observe again', 'unknown', 'answers', 19_999, { seen: 'answers' }],
    ['rule 4: answers at until: answers', 'unknown', 'answers', 20_000, { done: 'answers' }],
    ['rule 4: an earlier answer is kept through a later unusable view', 'answers', 'none', 15_000, { seen: 'answers' }],
    ['rule 4: an earlier answer then nothing usable at until: answers', 'answers', 'none', 20_000, { done: 'answers' }],
  ];
  it.each(cases)('%s', (_name, seen, observed, now, expected) => {
    expect(selfFenceEvidence(seen, observed, now, 20_000)).toEqual(expected);
  });
});

describe('selfFenceVerdict: STORAGE_OLD_MASTER_SERVING when the IP still answers', () => {
  it('rule 4: answers past the bound: refused naming the old master', () => {
    expect(outcome(selfFenceVerdict('answers', 'xs1', 3000))).toEqual({ code: 'STORAGE_OLD_MASTER_SERVING', reason: 'old-master-serving', host: 'xs1', message: "the floating IP still answers ARP from xs1's side 3000 ms past its self-fence bound: it has not stopped serving; nothing is promoted (rule 4)" });
  });
  it('rule 2 (quorum) and rule 4: silent: promote', () => {
    expect(selfFenceVerdict('silent', 'xs1', 3000)).toBeNull();
  });
  it('rule 2: no usable answer from the survivor: the bound alone decides, promote', () => {
    expect(selfFenceVerdict('unknown', 'xs1', 3000)).toBeNull();
  });
});

describe('fencedByPower: only a power state read back off is a fence (rule 2)', () => {
  it.each([
    ['rule 2: off is fenced', 'off', true],
    ['rule 2: on is not fenced', 'on', false],
    ['rule 2: anything else is not fenced', 'unknown', false],
  ] as const)('%s', (_name, state, expected) => {
    expect(fencedByPower(state)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { holdAfterAssertion, peerFencedHoldEnd, selfFenceDecision, type HoldObservation, type RoleAssertionFacts, type SelfFenceInput } from './self-fence-decision.js';

/**
 * A master whose witness last called at t = 10 000 ms, bound 1500 ms, asked at t = 11 500 ms:
 * silence 11 500 - 10 000 = 1500 ms, exactly the bound, so it stops serving. Each case below
 * changes one thing from this and names the rule that decides it (docs/storage-safety-rules.md).
 */
const primary = { name: 'r0', role: 'Primary', connection: 'WFConnection', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' };
const base: SelfFenceInput = {
  selfFenceAfterMs: 1500,
  fencing: false,
  lastWitnessAt: 10_000,
  controllerCalls: 0,
  tornDownAt: 0,
  now: 11_500,
  peerFencedSince: 0,
  observation: { startedAt: 11_000, ipPresent: true, replicationConnected: false, drbd: [primary], probesStartedAt: 11_000, replicationReachable: false, managementReachable: false },
};
const obs = (o: Partial<SelfFenceInput['observation']>): Pick<SelfFenceInput, 'observation'> => ({ observation: { ...base.observation, ...o } });
const fence = (silenceMs: number) => ({ action: 'fence', silenceMs });
const none = { action: 'none' };

describe('whether a master that lost its witness stops serving (the self-fence)', () => {
  it.each<[string, Partial<SelfFenceInput>, unknown]>([
    ['bound reached, replication down, serving: fences (silence 1500 = bound)', {}, fence(1500)],
    ['1 ms before the bound: not yet (silence 1499)', { now: 11_499 }, none],
    ['1 ms past the bound: fences (silence 1501)', { now: 11_501 }, fence(1501)],
    ['self-fencing configured off (bound 0)', { selfFenceAfterMs: 0, now: 20_000 }, none],
    ['a tear-down already under way', { fencing: true }, none],
    ['no witness has called yet: the watch is not armed', { lastWitnessAt: 0 }, none],
    ['a role assertion from the controller under way: the witness is there', { controllerCalls: 1 }, none],
    ['two under way', { controllerCalls: 2 }, none],
    ['a round of probes begun 1 ms before the last tear-down ended shows what it removed', { tornDownAt: 11_001 }, none],
    ['a round begun as the last tear-down ended counts', { tornDownAt: 11_000 }, fence(1500)],
    ['rule 3: replication Connected means a live peer that no controller promotes', obs({ replicationConnected: true }), none],
    ['serving nothing (Secondary, no floating IP): nothing to stop', obs({ ipPresent: false, drbd: [{ ...primary, role: 'Secondary' }] }), none],
    ['no resources and no floating IP: nothing to stop', obs({ ipPresent: false, drbd: [] }), none],
    ['the floating IP alone (DRBD Secondary) is serving', obs({ drbd: [{ ...primary, role: 'Secondary' }] }), fence(1500)],
    ['a Primary alone (no floating IP) is serving', obs({ ipPresent: false }), fence(1500)],
    ['the second of two resources Primary is serving', obs({ ipPresent: false, drbd: [{ ...primary, name: 'r0', role: 'Secondary' }, { ...primary, name: 'r1' }] }), fence(1500)],
    [
      'rule 10: a split brain on one resource holds the role (the peer is alive, nothing will be promoted)',
      obs({ drbd: [primary, { ...primary, name: 'r1', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'Split-Brain detected, dropping connection!' }] }),
      { action: 'hold-split-brain', silenceMs: 1500, splitBrain: ['r1:Split-Brain detected, dropping connection!'] },
    ],
    ['split brain not known (unspecified) is not a split brain', obs({ drbd: [{ ...primary, splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_UNSPECIFIED }] }), fence(1500)],
    ['rule 3 before rule 10: Connected with a split brain flag is still a live peer, no hold and no fence', obs({ replicationConnected: true, drbd: [{ ...primary, splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED }] }), none],
    ['before the bound a split brain changes nothing', { now: 11_499, ...obs({ drbd: [{ ...primary, splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED }] }) }, none],
  ])('%s', (_name, change, expected) => {
    expect(selfFenceDecision({ ...base, ...change })).toEqual(expected);
  });
});

/**
 * The peer-fenced hold (issue 11, the lone survivor): the same master, promoted at t = 10 500 ms by
 * a failover that powered its peer off (peerFencedSince 10 500), its witness last heard at 10 000,
 * asked at 11 500: silence 1500 = the bound. The observation (DRBD read and ARP probes begun at
 * 11 000, after the promotion) shows the peer on neither link: WFConnection, no ARP answer on the
 * replication or the management network.
 */
const held: SelfFenceInput = { ...base, peerFencedSince: 10_500 };
const holdOf = (silenceMs: number) => ({ action: 'hold-peer-fenced', silenceMs });

describe('the peer-fenced hold: a survivor whose peer was powered off is not torn down by a late witness', () => {
  it.each<[string, Partial<SelfFenceInput>, unknown]>([
    ['peerFenced, peer silent on both links, witness 1500 ms late (= bound): held, not fenced', {}, holdOf(1500)],
    ['witness silent a minute (now 70 000): still held while the peer stays silent', { now: 70_000 }, holdOf(60_000)],
    ['without the peer-fenced fact (0): the normal rule fences', { peerFencedSince: 0 }, fence(1500)],
    ['the peer answers ARP on the replication link only (DRBD still WFConnection): fenced', obs({ replicationReachable: true }), fence(1500)],
    ['the peer answers ARP on the management link only: fenced', obs({ managementReachable: true }), fence(1500)],
    ['the peer answers DRBD\'s handshake (WFReportParams, not yet Connected): fenced', obs({ drbd: [{ ...primary, connection: 'WFReportParams' }] }), fence(1500)],
    ['the peer resyncing (SyncSource: Connected, rule 3): not fenced, nothing held', obs({ replicationConnected: true, drbd: [{ ...primary, connection: 'SyncSource' }] }), none],
    ['a connection state not known here counts as the peer answering: fenced', obs({ drbd: [{ ...primary, connection: 'Ahead' }] }), fence(1500)],
    ['ARP answers from probes begun 1 ms before the promotion (10 499) say nothing after the power-off: held', obs({ probesStartedAt: 10_499, replicationReachable: true, managementReachable: true }), holdOf(1500)],
    ['ARP answers from probes begun at the promotion (10 500) count: fenced', obs({ probesStartedAt: 10_500, managementReachable: true }), fence(1500)],
    ['a DRBD handshake read in a round begun before the promotion (10 499): held', obs({ startedAt: 10_499, drbd: [{ ...primary, connection: 'WFReportParams' }] }), holdOf(1500)],
    ['a DRBD handshake read in a round begun at the promotion (10 500): fenced', obs({ startedAt: 10_500, drbd: [{ ...primary, connection: 'WFReportParams' }] }), fence(1500)],
    ['before the bound (silence 1499) nothing happens, held or not', { now: 11_499 }, none],
    ['a role assertion under way: the witness is there, nothing to hold', { controllerCalls: 1 }, none],
    ['serving nothing: nothing to hold', obs({ ipPresent: false, drbd: [{ ...primary, role: 'Secondary' }] }), none],
    [
      'a split brain is rule 10\'s hold, reported as such',
      obs({ drbd: [{ ...primary, connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'Split-Brain detected' }] }),
      { action: 'hold-split-brain', silenceMs: 1500, splitBrain: ['r0:Split-Brain detected'] },
    ],
    ['the second of two resources answering on DRBD (r1 WFReportParams): fenced', obs({ drbd: [primary, { ...primary, name: 'r1', connection: 'WFReportParams' }] }), fence(1500)],
  ])('%s', (_name, change, expected) => {
    expect(selfFenceDecision({ ...held, ...change })).toEqual(expected);
  });

  // DRBD 8.4 and 9 states with no peer on the other end (drbdsetup(8), "connection states"), and ''
  // (no connection read): each one alone keeps the hold.
  it.each(['', 'StandAlone', 'Unconnected', 'WFConnection', 'Connecting', 'Disconnecting', 'Timeout', 'BrokenPipe', 'NetworkFailure', 'ProtocolError', 'TearDown'])('DRBD connection %j is the peer silent on replication: held', (connection) => {
    expect(selfFenceDecision({ ...held, ...obs({ drbd: [{ ...primary, connection }] }) })).toEqual(holdOf(1500));
  });
});

/** The watch's question every check: does the hold begun at 10 500 end with this observation? */
const quiet: HoldObservation = { startedAt: 11_000, ipPresent: true, drbd: [{ role: 'Primary', connection: 'WFConnection' }], probesStartedAt: 11_000, replicationReachable: false, managementReachable: false };
describe('peerFencedHoldEnd: when the hold ends for good', () => {
  it.each<[string, number, Partial<HoldObservation>, string | null]>([
    ['no hold (since 0): nothing to end, whatever the peer does', 0, { replicationReachable: true, managementReachable: true }, null],
    ['peer silent on both links, serving: it holds', 10_500, {}, null],
    ['the peer answers ARP on replication only', 10_500, { replicationReachable: true }, 'the peer answers on the replication link'],
    ['the peer answers ARP on management only', 10_500, { managementReachable: true }, 'the peer answers on the management link'],
    ['the peer answers on both: replication named first', 10_500, { replicationReachable: true, managementReachable: true }, 'the peer answers on the replication link'],
    ['DRBD Connected again (replication)', 10_500, { drbd: [{ role: 'Primary', connection: 'Connected' }] }, 'the peer answers on the replication link'],
    ['DRBD handshake under way (WFReportParams)', 10_500, { drbd: [{ role: 'Primary', connection: 'WFReportParams' }] }, 'the peer answers on the replication link'],
    ['ARP answers from probes begun 1 ms before the hold: it holds', 10_500, { probesStartedAt: 10_499, replicationReachable: true, managementReachable: true }, null],
    ['ARP answers from probes begun as the hold began: ends', 10_500, { probesStartedAt: 10_500, managementReachable: true }, 'the peer answers on the management link'],
    ['a replication ARP answer from probes begun as the hold began: ends', 10_500, { probesStartedAt: 10_500, replicationReachable: true }, 'the peer answers on the replication link'],
    ['a DRBD answer in a round begun 1 ms before the hold: it holds', 10_500, { startedAt: 10_499, drbd: [{ role: 'Primary', connection: 'Connected' }] }, null],
    ['role changed: neither Primary nor the floating IP here any more', 10_500, { ipPresent: false, drbd: [{ role: 'Secondary', connection: 'WFConnection' }] }, 'this node no longer serves'],
    ['no resource and no floating IP: no longer serves', 10_500, { ipPresent: false, drbd: [] }, 'this node no longer serves'],
    ['the floating IP alone still here: it holds', 10_500, { drbd: [{ role: 'Secondary', connection: 'WFConnection' }] }, null],
    ['a Primary alone (no floating IP): it holds', 10_500, { ipPresent: false }, null],
    ['not serving in a round begun before the hold (the promotion under way): it holds', 10_500, { startedAt: 10_499, ipPresent: false, drbd: [{ role: 'Secondary', connection: 'WFConnection' }] }, null],
    ['not serving in a round begun as the hold began: ends', 10_500, { startedAt: 10_500, ipPresent: false, drbd: [{ role: 'Secondary', connection: 'WFConnection' }] }, 'this node no longer serves'],
  ])('%s', (_name, since, change, expected) => {
    expect(peerFencedHoldEnd(since, { ...quiet, ...change })).toBe(expected);
  });
});

/** The failover's promotion after IPMI read the peer's power off: master, completed, both facts. */
const promotion: RoleAssertionFacts = { master: true, handover: false, dryRun: false, ok: true, peerFenced: true, peerFencedByPower: true };
describe('holdAfterAssertion: only a power-fenced failover promotion starts the hold', () => {
  it.each<[string, Partial<RoleAssertionFacts>, 'start' | 'keep' | 'end']>([
    ['the failover\'s promotion after IPMI confirmed the peer off: starts', {}, 'start'],
    ['peer fenced without power (an admin\'s claim, removed from the pool): ends, never starts', { peerFencedByPower: false }, 'end'],
    ['self-fencing or quorum failover (neither fact): ends', { peerFenced: false, peerFencedByPower: false }, 'end'],
    ['power claimed without the fence claim: inconsistent, ends', { peerFenced: false }, 'end'],
    ['the promotion failed: ends', { ok: false }, 'end'],
    ['a slave assertion (role change): ends', { master: false }, 'end'],
    ['a switchover phase (handover): ends', { handover: true }, 'end'],
    ['a dry run changes nothing: keeps', { dryRun: true }, 'keep'],
    ['a dry run of a slave assertion: keeps', { dryRun: true, master: false, ok: false }, 'keep'],
  ])('%s', (_name, change, expected) => {
    expect(holdAfterAssertion({ ...promotion, ...change })).toBe(expected);
  });
});

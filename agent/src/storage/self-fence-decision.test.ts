import { describe, expect, it } from 'vitest';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { selfFenceDecision, type SelfFenceInput } from './self-fence-decision.js';

/**
 * A master whose witness last called at t = 10 000 ms, bound 1500 ms, asked at t = 11 500 ms:
 * silence 11 500 - 10 000 = 1500 ms, exactly the bound, so it stops serving. Each case below
 * changes one thing from this and names the rule that decides it (docs/storage-safety-rules.md).
 */
const primary = { name: 'r0', role: 'Primary', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' };
const base: SelfFenceInput = {
  selfFenceAfterMs: 1500,
  fencing: false,
  lastWitnessAt: 10_000,
  controllerCalls: 0,
  tornDownAt: 0,
  now: 11_500,
  observation: { startedAt: 11_000, ipPresent: true, replicationConnected: false, drbd: [primary] },
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

import { describe, expect, it } from 'vitest';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { bootPromotion } from './boot-promotion.js';
import { WitnessWord, witnessWordValidMs } from './witness-word.js';

const state = (role: string, connection: string): DrbdResourceState => ({ name: 'iscsi1', minor: 1, role, peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown', connection, replication: '', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' });
const secondary = (connection: string) => state('Secondary', connection);
const word = (role: StorageRole, at: number, validMs = 4_000) => ({ role, at, validMs });

describe('bootPromotion: may a host whose pool.conf says master assert it at boot (rules 1, 2, 9)', () => {
  it('a Connected peer needs no witness: the promotion guard sees its role (rule 4); resyncing counts as Connected', () => {
    for (const c of ['Connected', 'SyncTarget', 'WFBitMapT']) {
      expect(bootPromotion({ resources: [secondary(c)], witness: null, now: 10_000 })).toMatchObject({ act: 'master' });
    }
    expect(bootPromotion({ resources: [secondary('Connected'), secondary('Connected')], witness: null, now: 0 }).why).toMatch(/peer is Connected/);
  });

  it('already Primary everywhere (the agent restarted on a serving master): nothing is promoted, no witness needed', () => {
    expect(bootPromotion({ resources: [state('Primary', 'WFConnection')], witness: null, now: 0 })).toEqual({ act: 'master', why: 'already Primary: nothing is promoted' });
  });

  it('the returning old master, its replication link cut: no word from the witness means no promotion (controller unreachable)', () => {
    const d = bootPromotion({ resources: [secondary('WFConnection')], witness: null, now: 10_000 });
    expect(d.act).toBe('wait');
    expect(d.why).toMatch(/has not called since this agent started/);
  });

  it('the witness names the peer (the survivor serves): the host comes back a slave, whatever pool.conf says', () => {
    expect(bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_SLAVE, 9_000), now: 10_000 })).toEqual({ act: 'slave', why: 'the witness names the peer the storage master (this host was failed over): coming back a slave' });
    // Also with a split brain (StandAlone): only the witness can say who serves.
    expect(bootPromotion({ resources: [secondary('StandAlone')], witness: word(StorageRole.STORAGE_ROLE_SLAVE, 9_000), now: 10_000 }).act).toBe('slave');
  });

  it('the witness names this host, within its self-fence bound: the master role may be asserted (the guard still wants quorum)', () => {
    expect(bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_MASTER, 6_000), now: 10_000 })).toEqual({ act: 'master', why: 'the witness names this host the storage master' });
  });

  it('a word older than its bound proves nothing: the boundary is inclusive', () => {
    expect(bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_MASTER, 6_000), now: 10_000 }).act).toBe('master');
    const stale = bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_MASTER, 6_000), now: 10_001 });
    expect(stale).toEqual({ act: 'wait', why: "the DRBD peer is not Connected and the witness's last word is 4001 ms old (valid 4000 ms): no promotion by quorum without it" });
    // A stale word naming the peer is no order either.
    expect(bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_SLAVE, 0), now: 10_000 }).act).toBe('wait');
  });

  it('a witness that names nobody (a restarted controller that has seen no master yet): wait', () => {
    expect(bootPromotion({ resources: [secondary('WFConnection')], witness: word(StorageRole.STORAGE_ROLE_UNSPECIFIED, 9_000), now: 10_000 })).toMatchObject({ act: 'wait', why: expect.stringMatching(/names no storage master/) });
  });

  it('one resource apart, or one not read, is a promotion by quorum: the witness decides', () => {
    expect(bootPromotion({ resources: [secondary('Connected'), secondary('WFConnection')], witness: null, now: 0 }).act).toBe('wait');
    expect(bootPromotion({ resources: [secondary('Connected'), null], witness: null, now: 0 }).act).toBe('wait');
    expect(bootPromotion({ resources: [state('Primary', 'WFConnection'), secondary('WFConnection')], witness: null, now: 0 }).act).toBe('wait');
    expect(bootPromotion({ resources: [state('Primary', 'WFConnection'), null], witness: null, now: 0 }).act).toBe('wait');
    // No resource read at all proves nothing either.
    expect(bootPromotion({ resources: [], witness: null, now: 0 }).act).toBe('wait');
  });
});

describe('WitnessWord', () => {
  it('keeps the latest word with its validity: the self-fence bound, or 1.5 s with self-fencing off', () => {
    const w = new WitnessWord();
    expect(w.latest()).toBeNull();
    w.heard(StorageRole.STORAGE_ROLE_MASTER, witnessWordValidMs(4_000), 100);
    w.heard(StorageRole.STORAGE_ROLE_SLAVE, witnessWordValidMs(0), 200);
    expect(w.latest()).toEqual({ role: StorageRole.STORAGE_ROLE_SLAVE, at: 200, validMs: 1_500 });
    expect(witnessWordValidMs(4_000)).toBe(4_000);
  });
});

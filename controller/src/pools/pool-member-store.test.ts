import { describe, expect, it } from 'vitest';
import { Journal } from '../journal/journal.js';
import { PoolMemberStore, type PoolMemberRecord } from './pool-member-store.js';

const xs1: PoolMemberRecord = { uuid: 'b1', ref: 'OpaqueRef:1', nameLabel: 'xs1', hostname: 'xs1.lab', address: '10.0.0.11', isMaster: false, agentEndpoint: '10.0.0.11:7443' };
const xs2: PoolMemberRecord = { uuid: 'a2', ref: 'OpaqueRef:2', nameLabel: 'xs2', hostname: 'xs2.lab', address: '10.0.0.12', isMaster: true, agentEndpoint: '10.0.0.12:7443' };

describe('the pool members the journal keeps', () => {
  it('nothing before XAPI listed the pool', () => {
    expect(new PoolMemberStore(new Journal(':memory:')).load('hc1')).toBeNull();
  });

  it('a listing survives a new store on the same journal (a restarted controller), per pool, sorted by uuid', () => {
    const journal = new Journal(':memory:');
    new PoolMemberStore(journal).save('hc1', [xs1, xs2], new Date('2026-12-05T01:00:00Z'));
    const again = new PoolMemberStore(journal);
    expect(again.load('hc1')).toEqual({ members: [xs2, xs1], seenAt: '2026-12-05T01:00:00.000Z' });
    expect(again.load('other')).toBeNull();
  });

  it('an unchanged listing is not written again (seen_at stays); a changed one replaces the pool rows', () => {
    const journal = new Journal(':memory:');
    const store = new PoolMemberStore(journal);
    store.save('hc1', [xs1, xs2], new Date('2026-12-05T01:00:00Z'));
    store.save('hc1', [xs2, xs1], new Date('2026-12-05T02:00:00Z'));
    expect(new PoolMemberStore(journal).load('hc1')?.seenAt).toBe('2026-12-05T01:00:00.000Z');
    // A fresh store (no memory of the last write) compares with the rows too.
    new PoolMemberStore(journal).save('hc1', [xs1, xs2], new Date('2026-12-05T02:30:00Z'));
    expect(new PoolMemberStore(journal).load('hc1')?.seenAt).toBe('2026-12-05T01:00:00.000Z');
    const moved = { ...xs1, isMaster: true };
    store.save('hc1', [moved, { ...xs2, isMaster: false }], new Date('2026-12-05T03:00:00Z'));
    expect(new PoolMemberStore(journal).load('hc1')).toEqual({ members: [{ ...xs2, isMaster: false }, moved], seenAt: '2026-12-05T03:00:00.000Z' });
    store.save('hc1', [moved], new Date('2026-12-05T04:00:00Z'));
    expect(new PoolMemberStore(journal).load('hc1')?.members).toEqual([moved]);
  });
});

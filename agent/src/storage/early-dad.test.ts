import { describe, expect, it } from 'vitest';
import { earlyDadMaxAgeMs, earlyDadMinListenMs, earlyDadVerdict, type DadProbe } from './early-dad.js';

// Rule 4 and the power fence (docs/storage-safety-rules.md): when the peer watch's probes may stand
// for a promotion's own duplicate address detection. Times are performance.now() ms, by hand.

const silent = (startedAt: number, endedAt: number): DadProbe => ({ startedAt, endedAt, answered: false });
// Two probes of a second each, the newer ended at 10 000.
const two = [silent(7_900, 8_900), silent(9_000, 10_000)];
const fenced = { peerFenced: true, peerFencedByPower: true };

describe('earlyDadVerdict', () => {
  it('two silent probes of a full second, the newer ended 1.5 s ago at most, the peer powered off: yes', () => {
    expect(earlyDadVerdict({ ...fenced, probes: two, now: 10_000 })).toEqual({ use: true, detail: "nobody answered the peer watch's last 2 duplicate address probes (the last ended 0 ms ago) and the peer is powered off" });
    expect(earlyDadVerdict({ ...fenced, probes: two, now: 11_500 })).toMatchObject({ use: true });
    expect(earlyDadMaxAgeMs).toBe(1_500);
  });

  it('older than 1.5 s: no', () => {
    expect(earlyDadVerdict({ ...fenced, probes: two, now: 11_501 })).toEqual({ use: false, reason: 'the last probe ended 1501 ms ago' });
  });

  it('without a power fence (quorum, self-fencing, an admin claim): no', () => {
    expect(earlyDadVerdict({ peerFenced: true, peerFencedByPower: false, probes: two, now: 10_000 })).toEqual({ use: false, reason: 'the peer was not fenced by power' });
    expect(earlyDadVerdict({ peerFenced: false, peerFencedByPower: true, probes: two, now: 10_000 })).toEqual({ use: false, reason: 'the peer was not fenced by power' });
  });

  it('fewer than two probes: no (the promotion\'s own detection sends two)', () => {
    expect(earlyDadVerdict({ ...fenced, probes: [two[1]!], now: 10_000 })).toEqual({ use: false, reason: '1 of 2 probes' });
    expect(earlyDadVerdict({ ...fenced, probes: [], now: 10_000 })).toEqual({ use: false, reason: '0 of 2 probes' });
  });

  it('an answer or a failed probe among the last two: no; one before them does not matter', () => {
    expect(earlyDadVerdict({ ...fenced, probes: [two[0]!, { ...two[1]!, answered: true }], now: 10_000 })).toEqual({ use: false, reason: 'a host answered' });
    expect(earlyDadVerdict({ ...fenced, probes: [{ ...two[0]!, answered: true }, two[1]!], now: 10_000 })).toEqual({ use: false, reason: 'a host answered' });
    expect(earlyDadVerdict({ ...fenced, probes: [{ ...two[0]!, answered: null }, two[1]!], now: 10_000 })).toEqual({ use: false, reason: 'a probe failed' });
    // The old master answered before it died; the two probes since are silent.
    expect(earlyDadVerdict({ ...fenced, probes: [{ startedAt: 6_000, endedAt: 6_010, answered: true }, ...two], now: 10_000 })).toMatchObject({ use: true });
  });

  it('a probe that listened less than 900 ms proves nothing: no', () => {
    expect(earlyDadMinListenMs).toBe(900);
    expect(earlyDadVerdict({ ...fenced, probes: [two[0]!, silent(9_101, 10_000)], now: 10_000 })).toEqual({ use: false, reason: 'a probe listened 899 ms' });
    expect(earlyDadVerdict({ ...fenced, probes: [two[0]!, silent(9_100, 10_000)], now: 10_000 })).toMatchObject({ use: true });
    expect(earlyDadVerdict({ ...fenced, probes: [silent(8_001, 8_900), two[1]!], now: 10_000 })).toEqual({ use: false, reason: 'a probe listened 899 ms' });
  });
});

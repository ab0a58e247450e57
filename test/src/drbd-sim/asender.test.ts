import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The DRBD simulator's keep-alive against the kernel's (drbd_receiver.c drbd_asender; drbd.conf(5)
// 8.4: ping-int "idle for more than time seconds ... keep-alive packet", ping-timeout "in case the
// peer's reply is not received within this time period, it is considered as dead"). Times by hand,
// ms: ping-int 1000, ping-timeout 500, as the lab's fast-failover net section.

interface KeepAlive {
  lastRx: number;
  pingSentAt: number;
}
interface Asender {
  keepAlive(now: number): KeepAlive;
  received(k: KeepAlive, now: number): void;
  tick(k: KeepAlive, now: number, pingIntMs: number, pingTimeoutMs: number): 'drop' | 'ping' | null;
}
// A plain script module of the simulator (drbdadm runs it as drbdsetup): loaded as it is.
const asender = (await import(fileURLToPath(new URL('./asender.mjs', import.meta.url)))) as Asender;
const { keepAlive, received, tick } = asender;

/** Runs the link process's 50 ms checks from `from` to `to`; the peer answers a ping after `answerMs` (null: never). */
function run(k: KeepAlive, from: number, to: number, answerMs: number | null): { pings: number[]; drop: number | null } {
  const pings: number[] = [];
  let answerAt = Infinity;
  for (let now = from; now <= to; now += 50) {
    if (now >= answerAt) {
      received(k, answerAt);
      answerAt = Infinity;
    }
    const step = tick(k, now, 1_000, 500);
    if (step === 'drop') return { pings, drop: now };
    if (step === 'ping') {
      pings.push(now);
      if (answerMs !== null) answerAt = now + answerMs;
    }
  }
  return { pings, drop: null };
}

describe('drbd-sim keep-alive (the asender)', () => {
  it('idle: a ping after ping-int with nothing received; answered, the next one ping-int after the answer', () => {
    const k = keepAlive(0);
    expect(run(k, 0, 3_000, 0)).toEqual({ pings: [1_000, 2_000, 3_000], drop: null });
  });

  it('an answer in the very millisecond the ping went out keeps the connection (real-time processes on a veth)', () => {
    const k = keepAlive(0);
    expect(tick(k, 1_000, 1_000, 500)).toBe('ping');
    received(k, 1_000);
    expect(tick(k, 1_600, 1_000, 500)).toBeNull();
    expect(tick(k, 1_999, 1_000, 500)).toBeNull();
    expect(tick(k, 2_000, 1_000, 500)).toBe('ping');
  });

  it('no answer: dropped once ping-timeout has passed since the ping, not before', () => {
    const k = keepAlive(0);
    expect(tick(k, 1_000, 1_000, 500)).toBe('ping');
    expect(tick(k, 1_500, 1_000, 500)).toBeNull();
    expect(tick(k, 1_501, 1_000, 500)).toBe('drop');
  });

  it('a peer that dies is seen ping-timeout to ping-int + ping-timeout after its death (its last packet 0 to ping-int before)', () => {
    // The last exchange at 0; the next ping would go out at 1000. Dead at 50 or at 990: no answer
    // to that ping, dropped at 1550 either way: 1500 ms after the first death, 560 after the second.
    const k = keepAlive(0);
    const r = run(k, 0, 5_000, null);
    expect(r).toEqual({ pings: [1_000], drop: 1_550 });
    expect(r.drop! - 50).toBe(1_500);
    expect(r.drop! - 990).toBe(560);
    // A packet later than the last exchange moves it all: received at 950, dropped at 2500.
    const later = keepAlive(0);
    received(later, 950);
    expect(run(later, 1_000, 5_000, null)).toEqual({ pings: [1_950], drop: 2_500 });
  });

  it('traffic (a ping from the peer, replication data) keeps an idle connection without a ping of its own', () => {
    const k = keepAlive(0);
    for (let now = 0; now <= 5_000; now += 50) {
      if (now % 700 === 0) received(k, now);
      expect(tick(k, now, 1_000, 500)).toBeNull();
    }
  });
});

// The DRBD simulator's keep-alive, as the kernel's asender does it (drbd_receiver.c; drbd.conf(5)
// 8.4 ping-int, ping-timeout): after ping-int with nothing received it sends a ping, and drops the
// connection when nothing comes back within ping-timeout. Its own module so a unit test can hold
// it to that (asender.test.ts); drbd-sim.mjs's link process calls it every 50 ms.

/** A new connection's keep-alive state: `now` counts as the last packet received. */
export function keepAlive(now) {
  return { lastRx: now, pingSentAt: 0 };
}

/**
 * Something came from the peer: it is alive, and it answers the ping out. A flag, not a time:
 * between two real-time processes on a veth the answer comes within the millisecond the ping
 * went out, and a time compared with `<=` took it for no answer.
 */
export function received(k, now) {
  k.lastRx = now;
  k.pingSentAt = 0;
}

/** One check at `now`: 'drop' (PingAck did not arrive in time), 'ping' (send one now), or null. */
export function tick(k, now, pingIntMs, pingTimeoutMs) {
  if (k.pingSentAt > 0) return now - k.pingSentAt > pingTimeoutMs ? 'drop' : null;
  if (now - k.lastRx >= pingIntMs) {
    k.pingSentAt = now;
    return 'ping';
  }
  return null;
}

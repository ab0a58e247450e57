import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { checkDrbdNetTimers, drbdDeadPeerSeenWithinMs, drbdNetLimits, drbdNetTimerLines, drbdNetTimers, minDetectAfterMs, type DrbdNetTimers } from './drbd-net-timers.js';

const ok: DrbdNetTimers = { pingIntS: 1, pingTimeoutDs: 5, timeoutDs: 9, connectIntS: 10, koCount: 47 };
const with_ = (p: Partial<DrbdNetTimers>): DrbdNetTimers => ({ ...ok, ...p });

describe('the DRBD net timers xsctl writes', () => {
  it('are the fast-failover values, in drbd.conf units', () => {
    expect(drbdNetTimers).toEqual(ok);
    expect(drbdNetTimerLines(drbdNetTimers)).toEqual(['ping-int 1;', 'ping-timeout 5;', 'timeout 9;', 'connect-int 10;', 'ko-count 47;']);
  });

  it("a dead peer is seen within ping-int + ping-timeout (1 s + 0.5 s), reported to the witness 0.5 s later at most: under the default detectAfterMs 3000", () => {
    expect(drbdDeadPeerSeenWithinMs(drbdNetTimers)).toBe(1_500);
    expect(minDetectAfterMs(drbdNetTimers)).toBe(2_000);
    // DRBD's defaults (ping-int 10, ping-timeout 5): 10.5 s.
    expect(drbdDeadPeerSeenWithinMs(with_({ pingIntS: 10 }))).toBe(10_500);
    expect(minDetectAfterMs(with_({ pingIntS: 2, pingTimeoutDs: 7 }))).toBe(3_200);
  });

  it("keeps the 8.4 default's slow-peer budget: timeout x ko-count about 42 s (60 x 7 tenths)", () => {
    expect(drbdNetTimers.timeoutDs * drbdNetTimers.koCount).toBeGreaterThanOrEqual(60 * 7);
    expect(drbdNetTimers.timeoutDs * drbdNetTimers.koCount).toBeLessThan(60 * 7 + drbdNetTimers.timeoutDs);
  });

  it('accepts the limits of drbd_limits.h, refuses one past them', () => {
    expect(checkDrbdNetTimers(with_({ pingIntS: 120, connectIntS: 120, timeoutDs: 600 - 1 }))).toBeTruthy();
    expect(checkDrbdNetTimers(with_({ pingTimeoutDs: 1, koCount: 0, timeoutDs: 1 }))).toBeTruthy();
    expect(checkDrbdNetTimers(with_({ pingTimeoutDs: 300, koCount: 200 }))).toBeTruthy();
    const refused: [Partial<DrbdNetTimers>, string][] = [
      [{ pingIntS: 0 }, 'drbdNet.pingIntS'],
      [{ pingIntS: 121 }, 'drbdNet.pingIntS'],
      [{ pingTimeoutDs: 0 }, 'drbdNet.pingTimeoutDs'],
      [{ pingTimeoutDs: 301 }, 'drbdNet.pingTimeoutDs'],
      [{ timeoutDs: 0 }, 'drbdNet.timeoutDs'],
      [{ pingIntS: 120, connectIntS: 120, timeoutDs: 601 }, 'drbdNet.timeoutDs'],
      [{ connectIntS: 0 }, 'drbdNet.connectIntS'],
      [{ connectIntS: 121 }, 'drbdNet.connectIntS'],
      [{ koCount: -1 }, 'drbdNet.koCount'],
      [{ koCount: 201 }, 'drbdNet.koCount'],
      [{ pingIntS: 1.5 }, 'drbdNet.pingIntS'],
      [{ koCount: Number.NaN }, 'drbdNet.koCount'],
    ];
    for (const [p, field] of refused) {
      expect(() => checkDrbdNetTimers(with_(p)), JSON.stringify(p)).toThrow(ValidationError);
      expect(() => drbdNetTimerLines(with_(p)), JSON.stringify(p)).toThrow(expect.objectContaining({ field }));
      const [min, max] = drbdNetLimits[field.slice('drbdNet.'.length) as keyof DrbdNetTimers];
      expect(() => checkDrbdNetTimers(with_(p)), JSON.stringify(p)).toThrow(`invalid ${field}: must be an integer from ${min} to ${max}`);
    }
  });

  it('refuses a timeout not below ping-int or connect-int (drbd.conf(5)); drbdadm would take it', () => {
    expect(() => checkDrbdNetTimers(with_({ timeoutDs: 10 }))).toThrow(/lower than ping-int/);
    expect(() => checkDrbdNetTimers(with_({ timeoutDs: 10 }))).toThrow(expect.objectContaining({ field: 'drbdNet.timeoutDs' }));
    expect(checkDrbdNetTimers(with_({ pingIntS: 2, timeoutDs: 19, connectIntS: 2 }))).toBeTruthy();
    expect(() => checkDrbdNetTimers(with_({ pingIntS: 5, timeoutDs: 30, connectIntS: 3 }))).toThrow(/lower than connect-int/);
    expect(() => checkDrbdNetTimers(with_({ pingIntS: 5, timeoutDs: 30, connectIntS: 3 }))).toThrow(expect.objectContaining({ field: 'drbdNet.timeoutDs' }));
  });
});

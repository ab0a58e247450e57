import { describe, expect, it } from 'vitest';
import { parsePowerStatus, powerOffAccepted, runIpmitoolBatch } from './ipmitool.js';

// `ipmitool -I lanplus ... exec FILE` with "chassis power off" and "chassis power status", as
// ipmitool 1.8.19 printed it against OpenIPMI's ipmi_sim (test/src/fleet/bmc-sim.ts); the strings
// are ipmi_chassis.c's printf()s, the same in 1.8.18.
const batchOff = 'Chassis Power Control: Down/Off\nChassis Power is off\n';
// A stuck chassis: the power-off accepted, the read-back still on.
const batchStuck = 'Chassis Power Control: Down/Off\nChassis Power is on\n';

describe('ipmitool outputs', () => {
  it('reads the last power state of a batch, and whether the power-off was accepted', () => {
    expect(parsePowerStatus(batchOff)).toBe('off');
    expect(powerOffAccepted(batchOff)).toBe(true);
    expect(parsePowerStatus(batchStuck)).toBe('on');
    expect(parsePowerStatus('Chassis Power is on\nChassis Power is off\n')).toBe('off');
    // A refused power-off prints nothing on stdout (its error goes to stderr).
    expect(powerOffAccepted('Chassis Power is on\n')).toBe(false);
    expect(parsePowerStatus('')).toBeNull();
  });

  it('a batch takes plain lower-case words only (exec reads # as a comment, quotes as grouping)', async () => {
    const t = { address: '127.0.0.1', port: 1, user: 'u', password: 'p', interface: 'lanplus' as const, cipherSuite: 3, privilege: 'OPERATOR' as const };
    await expect(runIpmitoolBatch(t, [['chassis', 'power', 'off # and more']], { program: '/bin/false' })).rejects.toThrow(/plain lower-case words only/);
    await expect(runIpmitoolBatch(t, [['chassis', "'power'"]], { program: '/bin/false' })).rejects.toThrow(/plain lower-case words only/);
    await expect(runIpmitoolBatch(t, [[]], { program: '/bin/false' })).rejects.toThrow(/plain lower-case words only/);
  });
});

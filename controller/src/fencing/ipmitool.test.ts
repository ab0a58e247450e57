import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

describe('runIpmitoolBatch: the commands file', () => {
  const target = { address: '127.0.0.1', port: 1, user: 'u', password: 'secret-pw', interface: 'lanplus' as const, cipherSuite: 3, privilege: 'OPERATOR' as const };

  /** A stand-in ipmitool that records its last argument (the file), the file's and its directory's modes, then runs `then`. */
  async function fakeIpmitool(then: string): Promise<{ program: string; seen: () => Promise<string[]>; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-ipmitool-test-'));
    const log = join(dir, 'log');
    const program = join(dir, 'ipmitool');
    await writeFile(program, `#!/bin/sh\nfor a in "$@"; do last="$a"; done\necho "$last" >> ${log}\nstat -c '%a' "$last" "$(dirname "$last")" >> ${log}\necho "argv $*" >> ${log}\n${then}\n`);
    await chmod(program, 0o755);
    return { program, seen: async () => (await readFile(log, 'utf8')).trim().split('\n'), cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  it('is 0600 in a 0700 directory of its own, and is gone when ipmitool is aborted mid-run', async () => {
    const f = await fakeIpmitool('exec sleep 30');
    try {
      const abort = new AbortController();
      const run = runIpmitoolBatch(target, [['chassis', 'power', 'off']], { program: f.program, signal: abort.signal });
      // Abort once the stand-in has recorded the file (it is then asleep).
      for (let i = 0; i < 100 && !existsSync(join(dirname(f.program), 'log')); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      abort.abort();
      await expect(run).rejects.toThrow();
      const [file, fileMode, dirMode, argv] = await f.seen();
      expect([fileMode, dirMode]).toEqual(['600', '700']);
      expect(existsSync(dirname(file!))).toBe(false);
      // The password goes through IPMI_PASSWORD (-E), never argv.
      expect(argv).toContain(' -E ');
      expect(argv).not.toContain('secret-pw');
    } finally {
      await f.cleanup();
    }
  });

  it('is gone when ipmitool fails', async () => {
    const f = await fakeIpmitool('echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2; exit 1');
    try {
      const r = await runIpmitoolBatch(target, [['chassis', 'power', 'off'], ['chassis', 'power', 'status']], { program: f.program });
      expect(r.exitCode).toBe(1);
      const [file] = await f.seen();
      expect(existsSync(dirname(file!))).toBe(false);
    } finally {
      await f.cleanup();
    }
  });
});

import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FencingFailedError } from './fencing-errors.js';
import { IpmiFencer } from './ipmi-fencer.js';

/**
 * The fencer's reading of an ipmitool batch (power off, then status, in one `exec`), for the BMC
 * answers ipmi_sim cannot give. The lines are ipmitool 1.8.18's own (lib/ipmi_chassis.c:
 * "Set Chassis Power Control to %s failed: %s", "Get Chassis Power Status failed: %s",
 * "Chassis Power is %s"; lib/hpm2.c: the HPM.x notice lanplus prints at each session open, as the
 * real ipmitool printed it against ipmi_sim); completion-code text from lib/ipmi_strings.c.
 */
const HPM = 'Get HPM.x Capabilities request failed, compcode = d4';
const target = { address: '127.0.0.1', port: 623, user: 'fence', password: 'pw', interface: 'lanplus' as const, cipherSuite: 3, privilege: 'OPERATOR' as const };

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** A stand-in ipmitool that counts its runs and answers each with `stdout`, `stderr` and `exit`. */
async function bmc(stdout: string, stderr: string, exit: number): Promise<{ program: string; runs: () => Promise<number> }> {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-fencer-test-'));
  const program = join(dir, 'ipmitool');
  const count = join(dir, 'runs');
  await writeFile(program, `#!/bin/sh\necho run >> ${count}\nprintf '%s' '${stdout}'\nprintf '%s' '${stderr}' >&2\nexit ${exit}\n`);
  await chmod(program, 0o755);
  return { program, runs: async () => (await readFile(count, 'utf8')).trim().split('\n').length };
}

describe('IpmiFencer: only a read-back "off" counts', () => {
  it('a refused power-off with the chassis read back on is a failed fence, each attempt one run; the HPM.x notice is not the reason', async () => {
    const b = await bmc('Chassis Power is on\n', `${HPM}\nSet Chassis Power Control to Down/Off failed: Insufficient privilege level\n`, 1);
    const err = await new IpmiFencer({ xs1: target }, { program: b.program, attempts: 2 }).fence('xs1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencingFailedError);
    expect((err as FencingFailedError).reason).toBe('power off refused (exit 1: Set Chassis Power Control to Down/Off failed: Insufficient privilege level) after 2 attempts');
    expect(await b.runs()).toBe(2);
  });

  it('a power-off accepted with no power state read back is a failed fence', async () => {
    const b = await bmc('Chassis Power Control: Down/Off\n', `${HPM}\nGet Chassis Power Status failed: Node busy\n`, 1);
    const err = await new IpmiFencer({ xs1: target }, { program: b.program, attempts: 1 }).fence('xs1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencingFailedError);
    expect((err as FencingFailedError).reason).toBe('BMC 127.0.0.1:623 gave no power state (exit 1: Get Chassis Power Status failed: Node busy) after 1 attempts');
  });

  it('a refused power-off with the chassis read back off is fenced: the read-back decides', async () => {
    const b = await bmc('Chassis Power is off\n', `${HPM}\nSet Chassis Power Control to Down/Off failed: Command not supported in present state\n`, 1);
    const out = await new IpmiFencer({ xs1: target }, { program: b.program, attempts: 1 }).fence('xs1');
    expect(out).toMatchObject({ confirmedOff: true, detail: 'off by read-back after the power-off answered: power off refused (exit 1: Set Chassis Power Control to Down/Off failed: Command not supported in present state)' });
    expect(await b.runs()).toBe(1);
  });
});

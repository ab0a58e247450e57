import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpmiTarget } from '@xsctl/controller/config/pool-storage-config';
import { FencingFailedError } from '@xsctl/controller/fencing/fencing-errors';
import { IpmiFencer } from '@xsctl/controller/fencing/ipmi-fencer';
import { startBmcSim, type BmcSim } from '../src/fleet/bmc-sim.js';

/**
 * The IPMI fencer against OpenIPMI's ipmi_sim (a BMC simulator speaking IPMI 2.0 RMCP+ on
 * loopback) with the real ipmitool: chassis power off, then power status until it reads off; the
 * first read-back in the power-off's session (ipmitool exec).
 */
describe('IPMI fencing (ipmitool against ipmi_sim)', () => {
  let base: string;
  let bmc: BmcSim;
  let stuck: BmcSim;
  const target = (b: BmcSim, password = b.password): IpmiTarget => ({ address: b.address, port: b.port, user: b.user, password, interface: 'lanplus', cipherSuite: 3, privilege: 'OPERATOR' });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'xsctl-ipmi-'));
    bmc = await startBmcSim({ dir: join(base, 'xs1'), name: 'xs1' });
    stuck = await startBmcSim({ dir: join(base, 'xs2'), name: 'xs2', stuck: true });
  });

  afterAll(async () => {
    await bmc?.close();
    await stuck?.close();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  });

  it('powers the host off and reads the power state back as off', async () => {
    const fencer = new IpmiFencer({ xs1: target(bmc) });
    expect(await fencer.powerState('xs1')).toBe('on');
    const out = await fencer.fence('xs1');
    expect(out).toMatchObject({ host: 'xs1', method: 'ipmi', confirmedOff: true });
    expect(out.detail).toMatch(/chassis power off confirmed by 127\.0\.0\.1/);
    // The chassis itself recorded the power-off, and ipmitool (not our code) reads it as off.
    expect((await readFile(bmc.stateFile, 'utf8')).trim()).toBe('0');
    const { stdout } = await execa('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(bmc.port), '-U', bmc.user, '-E', '-L', 'OPERATOR', 'chassis', 'power', 'status'], { env: { ...process.env, IPMI_PASSWORD: bmc.password } });
    expect(stdout.trim()).toBe('Chassis Power is off');
  });

  it('fencing a host that is already off succeeds (the power-off is a no-op, the read-back says off)', async () => {
    const out = await new IpmiFencer({ xs1: target(bmc) }).fence('xs1');
    expect(out).toMatchObject({ confirmedOff: true });
    expect(out.detail).toMatch(/chassis power off confirmed by 127\.0\.0\.1$/);
    expect((await readFile(bmc.stateFile, 'utf8')).trim()).toBe('0');
  });

  it('the path to the promotion is one ipmitool run, one RMCP+ session: the power-off, then the read-back, no status read before', async () => {
    // ipmitool through a wrapper that logs each run (its command file: path, mode, lines) and runs
    // the real one with -vv, whose session trace (stderr) says how many RMCP+ sessions it opened.
    const fresh = await startBmcSim({ dir: join(base, 'xs4'), name: 'xs4' });
    try {
      const calls = join(base, 'ipmitool-calls');
      const trace = join(base, 'ipmitool-trace');
      const wrapper = join(base, 'ipmitool-logged');
      await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do last="$a"; done\necho "run $last" >> ${calls}\nstat -c '%a' "$last" >> ${calls}\ncat "$last" >> ${calls}\nexec ipmitool -vv "$@" 2>> ${trace}\n`);
      await chmod(wrapper, 0o755);
      const out = await new IpmiFencer({ xs4: target(fresh) }, { program: wrapper }).fence('xs4');
      expect(out).toMatchObject({ confirmedOff: true });
      expect(out.detail).toBe('chassis power off confirmed by 127.0.0.1');
      const [run, mode, ...lines] = (await readFile(calls, 'utf8')).trim().split('\n');
      expect(run).toMatch(/^run \/.*\/xsctl-ipmitool-[^/]+\/commands$/);
      expect(mode).toBe('600');
      expect(lines).toEqual(['chassis power off', 'chassis power status']);
      // The commands' file is gone with its directory.
      expect(existsSync(dirname(run!.slice(4)))).toBe(false);
      // ipmitool's own trace: one session opened (and closed) for both commands.
      const t = await readFile(trace, 'utf8');
      expect(t.match(/IPMIv2 \/ RMCP\+ SESSION OPENED SUCCESSFULLY/g)).toHaveLength(1);
      expect(t.match(/^Closed Session /gm)).toHaveLength(1);
      expect((await readFile(fresh.stateFile, 'utf8')).trim()).toBe('0');
    } finally {
      await fresh.close();
    }
  });

  it('a wrong password is a failed fence, and the password is in no message', async () => {
    const err = await new IpmiFencer({ xs1: target(bmc, 'not-the-password') }, { attempts: 1 }).fence('xs1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencingFailedError);
    expect((err as FencingFailedError).code).toBe('FENCING_FAILED');
    expect((err as Error).message).toMatch(/xs1 FAILED \(ipmi\): BMC 127\.0\.0\.1:\d+ gave no power state/);
    expect((err as Error).message).not.toContain('not-the-password');
  });

  it('a chassis that stays on is a failed fence: nothing may be promoted', async () => {
    const err = await new IpmiFencer({ xs2: target(stuck) }, { attempts: 2, confirmTimeoutMs: 600 }).fence('xs2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencingFailedError);
    expect((err as Error).message).toMatch(/the BMC still reports power on after 2 attempts; nothing was promoted/);
  }, 30_000);

  it('a BMC that does not answer is a failed fence within a bounded time', async () => {
    const dead = { ...target(bmc), port: bmc.port + 1 };
    const start = performance.now();
    const err = await new IpmiFencer({ xs3: dead }, { attempts: 1 }).fence('xs3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencingFailedError);
    expect(performance.now() - start).toBeLessThan(15_000);
  }, 30_000);

  it('a host without a configured BMC cannot be fenced', async () => {
    await expect(new IpmiFencer({}).fence('xs9')).rejects.toThrow(/no BMC configured for this host/);
  });
});

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandFailedError } from '../exec/command-errors.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { parseChkconfigList, planEnableDaemon } from './daemon.js';
import { compareVersions, detectFlavor, parseMultipathVersion } from './flavors.js';
import { multipathService } from './multipath-service.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// multipathd, systemctl and chkconfig are simulated by a stub runner (their outputs as the tools
// print them); the service logic around them is the real one.
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const call = { signal: new AbortController().signal } as never;

type Handler = (command: string, args: readonly string[]) => { exitCode?: number; stdout?: string } | null;

function stub(handler: Handler, calls: string[]): CommandRunner {
  return {
    async run(command: string, args: readonly string[], options?: { okExitCodes?: readonly number[] }) {
      calls.push(`${command} ${args.join(' ')}`);
      const r = handler(command, args);
      if (r === null) throw new CommandFailedError(command, args, 1, 'not simulated');
      const exitCode = r.exitCode ?? 0;
      if (exitCode !== 0 && !(options?.okExitCodes ?? []).includes(exitCode)) throw new CommandFailedError(command, args, exitCode, '');
      return { command, args, exitCode, stdout: r.stdout ?? '', stderr: '', durationMs: 1 } as never;
    },
  } as unknown as CommandRunner;
}

async function ctxWith(inventory: string | null, runner: CommandRunner): Promise<AgentContext> {
  const dir = await tempDir('xsctl-mps-');
  await mkdir(join(dir, 'etc'), { recursive: true });
  if (inventory !== null) await writeFile(join(dir, 'etc/xensource-inventory'), inventory);
  return { root: new SandboxRoot(dir), runner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl-agent' };
}

describe('flavors', () => {
  it('maps XenServer/XCP-ng versions to their multipath-tools', () => {
    const f = (brand: string, version: string) => detectFlavor({ PRODUCT_BRAND: brand, PRODUCT_VERSION: version }, null);
    expect(f('XenServer', '6.2.0').id).toBe('xs6-0.4.7');
    expect(f('XenServer', '6.5.0')).toMatchObject({ id: 'xs65-0.4.9', init: 'sysv', layout: 'main-file' });
    expect(f('XenServer', '7.1.2')).toMatchObject({ id: 'xs7-0.4.9', init: 'systemd', layout: 'main-file' });
    expect(f('XCP-ng', '8.2.1')).toMatchObject({ id: 'xcpng8-0.4.9', layout: 'conf-d' });
    expect(f('Citrix Hypervisor', '8.0.0').id).toBe('xcpng8-0.4.9');
    expect(detectFlavor({}, '0.9.4')).toMatchObject({ id: 'upstream', version: '0.9.4', queueFeatureDeprecated: true, reconfigureArgs: ['reconfigure'] });
    expect(compareVersions('0.4.10', '0.4.9')).toBe(1);
    expect(parseMultipathVersion('multipath-tools v0.4.9 (04/04, 2009)\nUsage:')).toBe('0.4.9');
  });
});

describe('EnableDaemon', () => {
  it('XenServer 7: systemctl, dry run first, then enable + start, idempotent when already running', async () => {
    const calls: string[] = [];
    let enabled = false;
    let active = false;
    const runner = stub((cmd, args) => {
      if (cmd !== 'systemctl') return null;
      if (args[0] === 'is-enabled') return enabled ? { stdout: 'enabled\n' } : { exitCode: 1, stdout: 'disabled\n' };
      if (args[0] === 'is-active') return active ? { stdout: 'active\n' } : { exitCode: 3, stdout: 'inactive\n' };
      if (args[0] === 'enable') enabled = true;
      if (args[0] === 'start') active = true;
      return {};
    }, calls);
    const svc = multipathService(await ctxWith("PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.0'\n", runner));
    const dry = await svc.enableDaemon({ confirm: false }, call);
    expect(dry).toMatchObject({ dryRun: true, changed: false, commands: ['systemctl enable multipathd', 'systemctl start multipathd'] });
    expect(calls.some((c) => c.startsWith('systemctl enable') || c.startsWith('systemctl start'))).toBe(false);
    const done = await svc.enableDaemon({ confirm: true }, call);
    expect(done).toMatchObject({ changed: true, after: { enabled: true, running: true } });
    const again = await svc.enableDaemon({ confirm: true }, call);
    expect(again).toMatchObject({ changed: false, commands: [] });
  });

  it('XenServer 6.x: chkconfig and service', async () => {
    const calls: string[] = [];
    const runner = stub((cmd) => {
      if (cmd === 'chkconfig') return { stdout: 'multipathd     \t0:off\t1:off\t2:off\t3:off\t4:off\t5:off\t6:off\n' };
      if (cmd === 'service') return { exitCode: 3, stdout: 'multipathd is stopped\n' };
      return null;
    }, calls);
    const svc = multipathService(await ctxWith("PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='6.2.0'\n", runner));
    expect((await svc.enableDaemon({ confirm: false }, call)).commands).toEqual(['chkconfig multipathd on', 'service multipathd start']);
    expect(parseChkconfigList('multipathd     \t0:off\t1:off\t2:on\t3:on\t4:on\t5:on\t6:off')).toBe(true);
    expect(planEnableDaemon({ enabled: true, running: false }, 'sysv')).toEqual([{ command: 'service', args: ['multipathd', 'start'] }]);
  });
});

describe('ListMaps', () => {
  it('multipathd JSON where multipathd has it', async () => {
    const calls: string[] = [];
    const runner = stub((cmd, args) => {
      if (cmd === 'multipath' && args[0] === '-h') return { exitCode: 1, stdout: 'multipath-tools v0.9.4 (12/19, 2022)\n' };
      if (cmd === 'multipathd') return { stdout: fixture('ibm-ubiquity-multipathd-json.txt') };
      return null;
    }, calls);
    const r = await multipathService(await ctxWith(null, runner)).listMaps({}, call);
    expect(r).toMatchObject({ source: 'multipathd-json', maps: [{ name: 'mpathp', vendor: 'IBM' }] });
    expect(calls).toContain('multipathd show maps json');
  });

  it('falls back to multipath -ll when multipathd does not answer, and uses -ll directly on XenServer', async () => {
    const calls: string[] = [];
    const runner = stub((cmd, args) => {
      if (cmd === 'multipath' && args[0] === '-h') return { stdout: 'multipath-tools v0.8.5 (01/01, 2021)\n' };
      if (cmd === 'multipath' && args[0] === '-ll') return { stdout: fixture('netapp-failed-paths.txt') };
      return null;
    }, calls);
    const r = await multipathService(await ctxWith(null, runner)).listMaps({}, call);
    expect(r.source).toBe('multipath-ll');
    expect(r.warnings?.[0]).toMatch(/multipathd show maps json: .*falling back/);
    expect(r.maps?.[0]?.groups?.[0]?.paths?.map((p) => p?.checkerState)).toEqual(['ready', 'ready', 'faulty', 'faulty']);

    const xsCalls: string[] = [];
    const xs = stub((cmd, args) => (cmd === 'multipath' && args[0] === '-ll' ? { stdout: fixture('dell-md36xxi-rdac-lio.txt') } : null), xsCalls);
    const r2 = await multipathService(await ctxWith("PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.0'\n", xs)).listMaps({}, call);
    expect(r2.maps).toHaveLength(3);
    expect(xsCalls).toEqual(['multipath -ll']);
  });
});

describe('Apply refuses a file it cannot parse', () => {
  it('the euroNAS stanza pasted as printed (no closing brace): CONFIG_INVALID naming the line, nothing written', async () => {
    const calls: string[] = [];
    const ctx = await ctxWith("PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.0'\n", stub(() => null, calls));
    const pasted = `devices {\n${fixture('euronas-stanza-as-pasted.txt')}`;
    await writeFile(ctx.root.resolve('/etc/multipath.conf'), pasted);
    const err = await multipathService(ctx)
      .apply({ profile: 'euronas-essm', confirm: true, layout: 0, skipReconfigure: false }, call)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toMatch(/line 3: section "device" is never closed/);
    expect(readFileSync(ctx.root.resolve('/etc/multipath.conf'), 'utf8')).toBe(pasted);
    expect(calls).toEqual([]);
  });
});

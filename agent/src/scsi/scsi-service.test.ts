import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandFailedError } from '../exec/command-errors.js';
import type { CommandRunner, RunOptions } from '../exec/command-runner.js';
import { isAllowedCommand } from '../exec/command-table.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { toSpacedHex } from './hex-input.js';
import { scsiService } from './scsi-service.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// Simulated: there are no SCSI devices behind multipathd on this machine. The sysfs tree is a
// sandbox, the tool outputs are the captured ones (multipath -ll from insights-core, sg_vpd 0xc9
// bytes from the MD3600i of the seed blog); everything is decoded by the real decoders.
const mpFixture = readFileSync(new URL('../multipath/__fixtures__/dell-md36xxi-rdac-lio.txt', import.meta.url), 'utf8');
const ioshipLog = readFileSync(new URL('./__fixtures__/messages-rdac-ioship-blog.txt', import.meta.url), 'utf8');
const call = { signal: new AbortController().signal } as never;

const md36Inquiry = (() => {
  const b = Buffer.alloc(74);
  b.set([0x00, 0x00, 0x05, 0x32, 0x45, 0x08, 0x50, 0x32]);
  b.write('DELL    MD36xxi         0784', 8, 'latin1');
  return b;
})();
const c9 = (owned: boolean) => {
  const b = Buffer.alloc(48);
  b.set([0x00, 0xc9, 0x00, 0x2c, 0x76, 0x61, 0x63, 0x31, owned ? 0xf1 : 0xf0, owned ? 0x01 : 0x02, owned ? 0x00 : 0x01, 0x01, owned ? 0x01 : 0x00, 0x01]);
  return `Volume access control (RDAC) VPD Page:\n${toSpacedHex(b)}`;
};

// mpathg: group 1 (sdc sdi sdo sdv) on the owning controller, group 2 (sdf sdl sdr sdx) on the other.
const paths: Record<string, { hctl: string; owned: boolean }> = {
  sdc: { hctl: '12:0:0:1', owned: true },
  sdi: { hctl: '11:0:0:1', owned: true },
  sdo: { hctl: '15:0:0:1', owned: true },
  sdv: { hctl: '17:0:0:1', owned: true },
  sdf: { hctl: '13:0:0:1', owned: false },
  sdl: { hctl: '14:0:0:1', owned: false },
  sdr: { hctl: '16:0:0:1', owned: false },
  sdx: { hctl: '18:0:0:1', owned: false },
};

interface Call {
  command: string;
  args: readonly string[];
}

function stubRunner(calls: Call[]): CommandRunner {
  return {
    async run(command: string, args: readonly string[], _options?: RunOptions) {
      calls.push({ command, args });
      expect(isAllowedCommand(command)).toBe(true);
      const ok = (stdout: string) => ({ command, args, exitCode: 0, stdout, stderr: '', durationMs: 1 }) as never;
      if (command === 'multipath' && args[0] === '-ll') return ok(mpFixture);
      if (command === 'sg_vpd' && args.join(' ').startsWith('-p 0xc9 -H /dev/')) {
        const dev = (args[3] as string).slice(5);
        const p = paths[dev];
        if (p !== undefined) return ok(c9(p.owned));
      }
      throw new CommandFailedError(command, args, 1, 'not simulated');
    },
  } as unknown as CommandRunner;
}

async function sandbox(): Promise<string> {
  const root = await tempDir('xsctl-scsi-');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/xensource-inventory'), "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='6.5.0'\n");
  for (const [dev, p] of Object.entries(paths)) {
    const d = join(root, 'sys/block', dev, 'device');
    await mkdir(join(d, 'scsi_device', p.hctl), { recursive: true });
    await writeFile(join(d, 'inquiry'), md36Inquiry);
    await writeFile(join(d, 'dh_state'), 'rdac\n');
    await mkdir(join(root, 'sys/block/dm-2/slaves', dev), { recursive: true });
  }
  await mkdir(join(root, 'sys/block/dm-2/dm'), { recursive: true });
  await writeFile(join(root, 'sys/block/dm-2/dm/name'), 'mpathg\n');
  await mkdir(join(root, 'var/log'), { recursive: true });
  // Two of the paths have IOSHIP lines in the kernel log (hctl 8:0:0:1 is not one of ours: ignored).
  await writeFile(join(root, 'var/log/messages'), `${ioshipLog}\nMar 11 09:45:48 xs65 kernel: [ 73.1] scsi 12:0:0:1: rdac: LUN 1 (IOSHIP) (owned)\n`);
  return root;
}

async function service(calls: Call[]) {
  const root = await sandbox();
  const logger = pino({ level: 'silent' });
  const ctx: AgentContext = { root: new SandboxRoot(root), runner: stubRunner(calls), logger, stateDir: '/var/lib/xsctl-agent' };
  return scsiService(ctx, { runTools: true });
}

describe('ScsiService (sandbox sysfs, simulated tool outputs)', () => {
  it('GetAluaReport on every map: mpathg runs IOSHIP with TPGS=0, optimized paths from 0xc9, prio 0 groups flagged', async () => {
    const calls: Call[] = [];
    const svc = await service(calls);
    const r = await svc.getAluaReport({ device: '' }, call);
    const g = r.luns?.find((l) => l?.name === 'mpathg');
    expect(g).toMatchObject({ mode: 'IOSHIP', aluaInUse: true, tpgs: 0, vendor: 'DELL', product: 'MD36xxi', groupsMatch: false });
    expect(g?.optimizedPaths).toEqual(['sdc', 'sdi', 'sdo', 'sdv']);
    expect(g?.nonOptimizedPaths).toEqual(['sdf', 'sdl', 'sdr', 'sdx']);
    expect(g?.problems?.[0]).toMatch(/every path group has prio 0/);
    const sdc = g?.paths?.find((p) => p?.device === '/dev/sdc');
    expect(sdc).toMatchObject({ hctl: '12:0:0:1', dhState: 'rdac', aluaState: 'active/optimized', aluaStateSource: 'vpd-c9' });
    expect(sdc?.vpdC9).toMatchObject({ mode: 'IOSHIP', owned: true, avteCvp: 0xf1, sgVpdMode: 'IOSHIP', divergent: false });
    expect(sdc?.kernelLog).toMatchObject({ mode: 'IOSHIP', owned: true, lun: 1 });
    expect(sdc?.inquiry).toMatchObject({ tpgs: 0, vendor: 'DELL' });
    // Arguments are arrays, device paths are the validated /dev/sdX ones, nothing goes through a shell.
    for (const c of calls) expect(c.args.every((a) => !/[;&|`$]/.test(a))).toBe(true);
    expect(calls.filter((c) => c.command === 'sg_vpd').map((c) => c.args[3])).toEqual(expect.arrayContaining(['/dev/sdc', '/dev/sdx']));
  });

  it('GetAluaReport for /dev/mapper/mpathg and /dev/dm-2 finds the map through sysfs', async () => {
    const svc = await service([]);
    for (const device of ['/dev/mapper/mpathg', '/dev/dm-2']) {
      const r = await svc.getAluaReport({ device }, call);
      expect(r.luns).toHaveLength(1);
      expect(r.luns?.[0]).toMatchObject({ name: 'mpathg', mode: 'IOSHIP', wwid: '36f01faf000da360b0000033c528fea6d' });
      expect(r.luns?.[0]?.map?.groups).toHaveLength(2);
    }
  });

  it('GetAluaReport without tools (sandbox root): maps found in sysfs by dm/uuid mpath-*, states from sysfs access_state', async () => {
    const root = await sandbox();
    await writeFile(join(root, 'sys/block/dm-2/dm/uuid'), 'mpath-36f01faf000da360b0000033c528fea6d\n');
    // Another dm device that is not a multipath map (LVM) is not a LUN.
    await mkdir(join(root, 'sys/block/dm-0/dm'), { recursive: true });
    await writeFile(join(root, 'sys/block/dm-0/dm/uuid'), 'LVM-abc\n');
    for (const [dev, p] of Object.entries(paths)) await writeFile(join(root, 'sys/block', dev, 'device/access_state'), p.owned ? 'active/optimized\n' : 'active/non-optimized\n');
    const calls: Call[] = [];
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: stubRunner(calls), logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl-agent' };
    const r = await scsiService(ctx).getAluaReport({ device: '' }, call);
    expect(calls).toEqual([]);
    expect(r.warnings).toEqual(['sandbox root: no multipath maps and no sg3_utils, sysfs only', 'maps from sysfs (dm/uuid mpath-*): mpathg; no path groups to check']);
    expect(r.luns).toHaveLength(1);
    expect(r.luns?.[0]).toMatchObject({ name: 'mpathg', wwid: '36f01faf000da360b0000033c528fea6d', mode: 'IOSHIP', aluaInUse: true, tpgs: 0, groupsMatch: true });
    expect(r.luns?.[0]?.map).toBeUndefined();
    expect(r.luns?.[0]?.optimizedPaths).toEqual(['sdc', 'sdi', 'sdo', 'sdv']);
    expect(r.luns?.[0]?.nonOptimizedPaths).toEqual(['sdf', 'sdl', 'sdr', 'sdx']);
    expect(r.luns?.[0]?.paths?.find((p) => p.device === '/dev/sdf')).toMatchObject({ aluaState: 'active/non-optimized', aluaStateSource: 'sysfs', accessState: 'active/non-optimized' });
  });

  it('Inspect one path', async () => {
    const svc = await service([]);
    const r = await svc.inspect({ device: '/dev/sdf' }, call);
    expect(r.paths).toHaveLength(1);
    expect(r.paths?.[0]).toMatchObject({ device: '/dev/sdf', hctl: '13:0:0:1', aluaState: 'active/non-optimized' });
    expect(r.paths?.[0]?.vpdC9).toMatchObject({ owned: false, preferred: false });
  });

  it('refuses device paths outside /dev/sd*, /dev/mapper/*, /dev/dm-* before running anything', async () => {
    const calls: Call[] = [];
    const svc = await service(calls);
    for (const device of ['/dev/sda; reboot', '/etc/passwd', '/dev/../etc/shadow', '/dev/nvme0n1', '/dev/mapper/../../etc', 'sda', '/dev/dm-x']) {
      await expect(svc.inspect({ device }, call), device).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(svc.getAluaReport({ device }, call), device).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(calls.filter((c) => c.command !== 'multipath')).toEqual([]);
  });
});

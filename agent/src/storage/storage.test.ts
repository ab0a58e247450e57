import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { storageSpec } from '@xsctl/test/storage/storage-spec';
import { normalizeStorageSpec } from './assert-role.js';
import { pino } from 'pino';
import { CommandNotFoundError } from '../exec/command-errors.js';
import { CommandRunner, type CommandResult, type RunOptions } from '../exec/command-runner.js';
import type { AgentContext } from '../server/agent-context.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apparentRole, haLizardInstalled, runningHaServices } from './storage-status.js';

const d = (role: string): DrbdResourceState => ({ name: 'r', minor: 1, role, peerRole: '', disk: 'UpToDate', peerDisk: '', connection: 'Connected', replication: '', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '' });

const spec = storageSpec();

describe('storage role', () => {
  it('tells master, slave and the half-way states apart', () => {
    expect(apparentRole([d('Primary')], true, true)).toBe('master');
    expect(apparentRole([d('Secondary')], false, false)).toBe('slave');
    expect(apparentRole([d('Primary')], false, false)).toBe('mixed');
    expect(apparentRole([d('Secondary')], false, true)).toBe('mixed');
    expect(apparentRole([d('Primary')], true, null)).toBe('master');
    expect(apparentRole([], false, false)).toBe('unknown');
  });

  it('validates the whole spec before any step runs', () => {
    expect(normalizeStorageSpec(spec)).toMatchObject({ resources: ['iscsi1'], tgtd: { controlPort: 0 }, stopGraceMs: 5_000, ip: { garpCount: 3 } });
    expect(() => normalizeStorageSpec({ ...spec, drbdResources: [] })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, drbdResources: ['r0 --force'] })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, floatingIp: undefined })).toThrow(ValidationError);
    expect(() => normalizeStorageSpec({ ...spec, stopGraceMs: 10 })).toThrow(ValidationError);
  });
});

/** systemd answers `is-active` per unit; without systemd (XenServer 6 dom0) `service NAME status` answers by exit code. */
class Units extends CommandRunner {
  constructor(
    private readonly systemd: Record<string, string> | null,
    private readonly sysv: Record<string, number>,
  ) {
    super({ logger: pino({ level: 'silent' }) });
  }
  override async run(command: string, args: readonly string[], _o: RunOptions = {}): Promise<CommandResult> {
    if (command === 'systemctl') {
      if (this.systemd === null) throw new CommandNotFoundError('systemctl');
      const state = this.systemd[(args[1] ?? '').replace(/\.service$/, '')] ?? 'inactive';
      return { command: 'systemctl', args, exitCode: state === 'active' ? 0 : 3, stdout: `${state}\n`, stderr: '', durationMs: 0 };
    }
    return { command: 'service', args, exitCode: this.sysv[args[0] ?? ''] ?? 3, stdout: '', stderr: '', durationMs: 0 };
  }
}

describe('HA processes (the how-to stops them before a split-brain recovery)', () => {
  const ctx = (runner: CommandRunner): AgentContext => ({ root: new SandboxRoot('/nonexistent'), runner, logger: pino({ level: 'silent' }), stateDir: '/s' });
  it('finds ha-lizard and iscsi-ha running through systemd, or through their init scripts', async () => {
    expect(await runningHaServices(ctx(new Units({ 'ha-lizard': 'active', 'iscsi-ha': 'inactive' }, {})))).toEqual(['ha-lizard']);
    expect(await runningHaServices(ctx(new Units(null, { 'ha-lizard': 0, 'iscsi-ha': 0 })))).toEqual(['ha-lizard', 'iscsi-ha']);
    expect(await runningHaServices(ctx(new Units(null, { 'ha-lizard': 3 })))).toEqual([]);
  });
});

describe('HA-Lizard installed (its configuration directory)', () => {
  it('is installed when /etc/ha-lizard is a directory under the root, not when absent or a file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'xsctl-hal-'));
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: new Units({}, {}), logger: pino({ level: 'silent' }), stateDir: '/s' };
    try {
      expect(await haLizardInstalled(ctx)).toBe(false);
      await mkdir(join(root, 'etc'), { recursive: true });
      await writeFile(join(root, 'etc/ha-lizard'), '');
      expect(await haLizardInstalled(ctx)).toBe(false);
      await rm(join(root, 'etc/ha-lizard'));
      await mkdir(join(root, 'etc/ha-lizard'));
      await writeFile(join(root, 'etc/ha-lizard/ha-lizard.conf'), 'MONITOR_DELAY=15\n');
      expect(await haLizardInstalled(ctx)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

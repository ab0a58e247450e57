import { hostname } from 'node:os';
import { stat } from 'node:fs/promises';
import { XsctlError } from '@xsctl/common/errors/index';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { StorageSpec, StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { readStatus } from '../drbd/drbd-ops.js';
import { CommandNotFoundError } from '../exec/command-errors.js';
import { floatingIpState, normalizeFloatingIp } from '../network/floating-ip.js';
import type { AgentContext } from '../server/agent-context.js';
import { targetStateOf, tgtdOf } from '../target/target-service.js';
import { showTargets } from '../target/tgt-ops.js';
import { resourceName } from '../validate/validators.js';

/** Units that must not start at boot on a storage node (rule 8): the storage role starts them. */
export const storageUnits = ['tgtd', 'tgt', 'drbd'] as const;

/** Which of tgtd/tgt/drbd are enabled at boot: systemd, or chkconfig on XenServer 6 dom0s. */
export async function bootEnabledUnits(ctx: AgentContext, signal?: AbortSignal): Promise<string[]> {
  const enabled: string[] = [];
  for (const unit of storageUnits) {
    try {
      const r = await ctx.runner.run('systemctl', ['is-enabled', `${unit}.service`], { signal, timeoutMs: 10_000, okExitCodes: [1, 4] });
      if (r.stdout.trim() === 'enabled') enabled.push(unit);
    } catch (err) {
      if (!(err instanceof CommandNotFoundError)) continue;
      const r = await ctx.runner.run('chkconfig', ['--list', unit], { signal, timeoutMs: 10_000, okExitCodes: [1] }).catch(() => null);
      if (r !== null && /\b[345]:on\b/.test(r.stdout)) enabled.push(unit);
    }
  }
  return enabled;
}

/**
 * The HA services of the how-to ("service ha-lizard start", "service iscsi-ha start"): they promote,
 * demote and restart DRBD on their own, so the how-to stops "all HA processes" before a split-brain
 * recovery. systemd (their SysV scripts appear as units) or `service NAME status` (exit 0 = running).
 */
export const haServices = ['ha-lizard', 'iscsi-ha'] as const;

export async function runningHaServices(ctx: AgentContext, signal?: AbortSignal): Promise<string[]> {
  const running: string[] = [];
  for (const unit of haServices) {
    try {
      const r = await ctx.runner.run('systemctl', ['is-active', `${unit}.service`], { signal, timeoutMs: 10_000, okExitCodes: [1, 3, 4] });
      if (r.stdout.trim() === 'active') running.push(unit);
    } catch (err) {
      if (!(err instanceof CommandNotFoundError)) continue;
      const r = await ctx.runner.run('service', [unit, 'status'], { signal, timeoutMs: 10_000, okExitCodes: [1, 2, 3, 4] }).catch(() => null);
      if (r !== null && r.exitCode === 0) running.push(unit);
    }
  }
  return running;
}

/** HA-Lizard keeps its configuration in /etc/ha-lizard (ha-lizard.conf, ha-lizard.pool.conf). */
export async function haLizardInstalled(ctx: AgentContext): Promise<boolean> {
  return (await stat(ctx.root.resolve('/etc/ha-lizard')).catch(() => null))?.isDirectory() === true;
}

/** What the node looks like: master (Primary, target, IP), slave (none of them), mixed, unknown. */
export function apparentRole(drbd: readonly DrbdResourceState[], targetUp: boolean, ipPresent: boolean | null): string {
  if (drbd.length === 0) return 'unknown';
  const primary = drbd.filter((r) => r.role === 'Primary').length;
  const masterParts = [primary === drbd.length, targetUp, ipPresent ?? targetUp];
  if (masterParts.every(Boolean)) return 'master';
  if (primary === 0 && !targetUp && ipPresent !== true) return 'slave';
  return 'mixed';
}

const message = (err: unknown) => (err instanceof XsctlError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err));

export async function storageStatus(ctx: AgentContext, spec: StorageSpec | undefined, signal?: AbortSignal): Promise<StorageStatus> {
  const warnings: string[] = [];
  const status: StorageStatus = { hostname: hostname(), drbd: [], drbdVersion: undefined, tgtdRunning: false, targets: [], floatingIpPresent: false, floatingIp: '', apparentRole: 'unknown', bootEnabled: [], warnings, haProcessesRunning: [], haLizardInstalled: false, floatingIpMac: '' };
  const only = spec !== undefined && spec.drbdResources.length === 1 ? resourceName('spec.drbdResources[0]', spec.drbdResources[0] ?? '') : null;
  try {
    const snap = await readStatus(ctx, only, signal);
    status.drbdVersion = snap.version;
    status.drbd = snap.resources;
    for (const r of snap.resources) {
      if (r.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) warnings.push(`SPLIT BRAIN on ${r.name}: ${r.splitBrainEvidence}`);
    }
  } catch (err) {
    warnings.push(`drbd: ${message(err)}`);
  }
  try {
    const shown = await showTargets(ctx, tgtdOf(spec?.tgtd), signal);
    status.tgtdRunning = shown.running;
    status.targets = shown.targets.map(targetStateOf);
  } catch (err) {
    warnings.push(`tgtd: ${message(err)}`);
  }
  let ipPresent: boolean | null = null;
  if (spec?.floatingIp !== undefined && spec.floatingIp.address !== '') {
    try {
      const ip = normalizeFloatingIp(spec.floatingIp, 'spec.floatingIp');
      status.floatingIp = ip.address;
      const st = await floatingIpState(ctx, ip, signal);
      ipPresent = st.present;
      status.floatingIpPresent = ipPresent;
      status.floatingIpMac = ipPresent ? st.mac : '';
    } catch (err) {
      warnings.push(`floating IP: ${message(err)}`);
    }
  }
  status.bootEnabled = await bootEnabledUnits(ctx, signal).catch(() => []);
  for (const u of status.bootEnabled) warnings.push(`${u} is enabled at boot: disable it, the storage role starts it (rule 8)`);
  status.haProcessesRunning = await runningHaServices(ctx, signal).catch(() => []);
  status.haLizardInstalled = await haLizardInstalled(ctx);
  const wanted = spec?.target?.tid;
  const targetUp = status.targets.some((t) => (wanted === undefined || wanted === 0 || t.tid === wanted) && t.state === 'ready');
  status.apparentRole = apparentRole(status.drbd, targetUp, ipPresent);
  return status;
}

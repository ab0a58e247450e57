import { memoryPolicies, type MemoryPolicy } from '../../pool-model/memory.js';
import { upgradeActionNames, type UpgradeActionName } from './upgrade-actions.js';

export interface RollingUpgradeParams {
  action: UpgradeActionName;
  /** Migrations run at once. */
  maxParallel: number;
  /** Non-master hosts out of the pool at once, when the whole sequence's capacity allows it. */
  maxHostsDown: number;
  exclude: string[];
  /** Named checks the admin overrides (precheck names, XAPI codes of plan blockers). */
  overrides: string[];
  hostBootTimeoutSeconds: number;
  storageTimeoutSeconds: number;
  pollIntervalMs: number;
  /** Wait for the host's agent to answer after the reboot. */
  agentCheck: boolean;
  /** Action options, e.g. `version` for the simulated upgrade. */
  actionOptions: Record<string, string>;
  /** XAPI's accounting (dynamic_min + overhead) or the stricter static_max + overhead. */
  memoryPolicy: MemoryPolicy;
  /** Pinned VMs: how long a clean shutdown may take before a hard one. */
  shutdownTimeoutSeconds: number;
  /** Pinned VMs started at once after their host is back (a host that just booted takes a boot storm badly). */
  startConcurrency: number;
  /** A network (ref or uuid) for the migration traffic ('' = the management network). */
  migrationNetwork: string;
}

export function normalizeParams(raw: unknown): RollingUpgradeParams {
  const p = (raw ?? {}) as Partial<RollingUpgradeParams>;
  const action = (p.action ?? 'xcp-ng-update') as UpgradeActionName;
  if (!upgradeActionNames.includes(action)) throw new Error(`unknown upgrade action ${String(action)}`);
  const memoryPolicy = (p.memoryPolicy ?? 'xapi') as MemoryPolicy;
  if (!memoryPolicies.includes(memoryPolicy)) throw new Error(`unknown memory policy ${String(memoryPolicy)}`);
  const int = (v: number | undefined, dflt: number, min: number, max: number): number => Math.max(min, Math.min(max, Math.floor(v ?? dflt)));
  return {
    action,
    maxParallel: int(p.maxParallel, 2, 1, 16),
    maxHostsDown: int(p.maxHostsDown, 1, 1, 16),
    exclude: [...(p.exclude ?? [])],
    overrides: [...(p.overrides ?? [])],
    hostBootTimeoutSeconds: p.hostBootTimeoutSeconds ?? 1800,
    storageTimeoutSeconds: p.storageTimeoutSeconds ?? 600,
    pollIntervalMs: p.pollIntervalMs ?? 2000,
    agentCheck: p.agentCheck ?? true,
    actionOptions: { ...(p.actionOptions ?? {}) },
    memoryPolicy,
    shutdownTimeoutSeconds: p.shutdownTimeoutSeconds ?? 300,
    startConcurrency: int(p.startConcurrency, 2, 1, 16),
    migrationNetwork: p.migrationNetwork ?? '',
  };
}

import type { XapiClient } from '../../xapi/xapi-client.js';
import type { CompensationContext } from '../engine/workflow-engine.js';
import type { HostStage } from './phases/host-stage.js';

/** Agents answer (HostService.GetFacts) once a host is back. */
export type AgentProbe = (pool: string, host: { uuid: string; name: string; address: string }, signal: AbortSignal) => Promise<void>;

export interface PrecheckFinding {
  /** Named check, e.g. `dell-utility-partition`, `VM_REQUIRES_SR`. */
  check: string;
  host: string;
  vm?: string;
  severity: 'blocker' | 'warning';
  message: string;
}

/** The prechecks (controller/src/prechecks) as the workflow consumes them. */
export type PrecheckRunner = (pool: string, signal: AbortSignal) => Promise<PrecheckFinding[]>;

/** Precheck findings the workflow handles itself: HA/WLB are switched off and back on; evacuation
 * and capacity are what the plan decides, with finer-grained overrides (VM_REQUIRES_SR, ...). */
export const precheckIdsHandledByTheWorkflow: ReadonlySet<string> = new Set(['ha', 'wlb', 'evacuation', 'capacity']);

/**
 * What the rolling-upgrade workflow is given. XAPI is reached only through the typed adapter
 * (XapiClient): the controller opens one on the pool's master, tests and benchmarks one on the
 * in-process simulator.
 */
export interface RollingUpgradeDeps {
  openXapi(pool: string, signal: AbortSignal): Promise<XapiClient>;
  probeAgent?: AgentProbe;
  runPrechecks?: PrecheckRunner;
  /** Saves the pool database on the controller (as `xe pool-dump-database`) before anything changes. */
  takeMetadataBackup?: (pool: string, signal: AbortSignal) => Promise<{ file: string; sha256: string; bytes: number }>;
  /** How waits sleep; tests and benchmarks pass the simulator's clock. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The stages each host goes through, in order (phases/host-stages.ts). The seam for steps other
   * workflows add around a host's reboot, e.g. a storage switchover before the host is disabled.
   */
  hostStages?: readonly HostStage[];
  /**
   * Compensations that added stages registered (e.g. the storage switchover's restore-master);
   * resolves true when it handled `name`.
   */
  compensateStage?: (name: string, args: Record<string, unknown>, ctx: CompensationContext) => Promise<boolean>;
}

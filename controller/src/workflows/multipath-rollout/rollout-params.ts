import { MultipathLayout } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { MultipathRolloutOptions } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { ValidationError } from '@xsctl/common/errors/index';
import { normalizeParams, type RollingUpgradeParams } from '../rolling-upgrade/index.js';

/** What the rollout workflow journals as its parameters. */
export interface RolloutParams {
  profile: string;
  layout: MultipathLayout;
  /** Active paths per LUN after the re-plug. */
  expectedPaths: number;
  pathTimeoutSeconds: number;
  pollIntervalMs: number;
  maxParallel: number;
  exclude: string[];
  overrides: string[];
}

const profileName = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const hostName = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const checkName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The request's options, checked, with the defaults filled in (docs/CLI.md). */
export function rolloutParamsFromOptions(o: MultipathRolloutOptions | undefined): RolloutParams {
  if (o === undefined || o.pool === '') throw new ValidationError('options.pool', 'name the pool');
  if (!profileName.test(o.profile)) throw new ValidationError('options.profile', 'a profile name of `xsctl multipath profiles`');
  for (const h of o.exclude) if (!hostName.test(h)) throw new ValidationError('options.exclude', `not a host name or uuid: ${h}`);
  for (const c of o.overrides) if (!checkName.test(c)) throw new ValidationError('options.overrides', `not a check name: ${c}`);
  if (o.expectedPaths < 0 || o.expectedPaths > 32) throw new ValidationError('options.expected_paths', 'between 1 and 32');
  if (o.pathTimeoutSeconds < 0 || o.pathTimeoutSeconds > 3600) throw new ValidationError('options.path_timeout_seconds', 'at most 3600');
  if (o.pollIntervalMs < 0 || o.pollIntervalMs > 60_000) throw new ValidationError('options.poll_interval_ms', 'at most 60000');
  if (o.maxParallel < 0 || o.maxParallel > 16) throw new ValidationError('options.max_parallel', 'at most 16');
  if (![MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED, MultipathLayout.MULTIPATH_LAYOUT_MAIN_FILE, MultipathLayout.MULTIPATH_LAYOUT_CONF_D].includes(o.layout)) throw new ValidationError('options.layout', 'a multipath layout');
  return {
    profile: o.profile,
    layout: o.layout,
    expectedPaths: o.expectedPaths === 0 ? 2 : o.expectedPaths,
    pathTimeoutSeconds: o.pathTimeoutSeconds === 0 ? 120 : o.pathTimeoutSeconds,
    pollIntervalMs: o.pollIntervalMs === 0 ? 2000 : o.pollIntervalMs,
    maxParallel: o.maxParallel === 0 ? 2 : o.maxParallel,
    exclude: [...o.exclude],
    overrides: [...o.overrides],
  };
}

/**
 * The rolling upgrade's parameters for the parts the rollout borrows (placement, evacuation,
 * disable/enable): one host out at a time, the same migration and shutdown limits. The upgrade
 * action is never run by the rollout's stages.
 */
export function hostStageParams(p: RolloutParams): RollingUpgradeParams {
  return normalizeParams({ maxHostsDown: 1, maxParallel: p.maxParallel, exclude: p.exclude, overrides: p.overrides, pollIntervalMs: p.pollIntervalMs, agentCheck: false });
}

import { describe, expect, it } from 'vitest';
import { MultipathLayout } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { MultipathRolloutOptions } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { hostStageParams, rolloutParamsFromOptions } from './rollout-params.js';

const o = (extra: Partial<MultipathRolloutOptions> = {}): MultipathRolloutOptions => ({
  pool: 'prod',
  profile: 'starwind',
  expectedPaths: 0,
  pathTimeoutSeconds: 0,
  pollIntervalMs: 0,
  exclude: [],
  overrides: [],
  layout: MultipathLayout.MULTIPATH_LAYOUT_UNSPECIFIED,
  maxParallel: 0,
  ...extra,
});

describe('rollout options', () => {
  it('defaults: 2 paths, 120 s, 2 s polls, 2 migrations at once', () => {
    expect(rolloutParamsFromOptions(o())).toEqual({ profile: 'starwind', layout: 0, expectedPaths: 2, pathTimeoutSeconds: 120, pollIntervalMs: 2000, maxParallel: 2, exclude: [], overrides: [] });
  });
  it('refuses what it cannot pass on safely', () => {
    expect(() => rolloutParamsFromOptions(o({ pool: '' }))).toThrow(/pool/);
    expect(() => rolloutParamsFromOptions(o({ profile: 'Star Wind' }))).toThrow(/profile/);
    expect(() => rolloutParamsFromOptions(o({ profile: '' }))).toThrow(/profile/);
    expect(() => rolloutParamsFromOptions(o({ exclude: ['xs1;reboot'] }))).toThrow(/exclude/);
    expect(() => rolloutParamsFromOptions(o({ overrides: ['VM REQUIRES'] }))).toThrow(/overrides/);
    expect(() => rolloutParamsFromOptions(o({ expectedPaths: 33 }))).toThrow(/expected_paths/);
    expect(() => rolloutParamsFromOptions(o({ maxParallel: 17 }))).toThrow(/max_parallel/);
    expect(() => rolloutParamsFromOptions(o({ layout: MultipathLayout.UNRECOGNIZED }))).toThrow(/layout/);
    expect(rolloutParamsFromOptions(o({ expectedPaths: 32, maxParallel: 16, layout: MultipathLayout.MULTIPATH_LAYOUT_CONF_D })).expectedPaths).toBe(32);
  });
  it('the rolling upgrade parts run one host at a time, without the agent check after a reboot (there is none)', () => {
    const p = hostStageParams(rolloutParamsFromOptions(o({ maxParallel: 3, exclude: ['xs9'], overrides: ['VM_REQUIRES_SR'], pollIntervalMs: 50 })));
    expect(p).toMatchObject({ maxHostsDown: 1, maxParallel: 3, exclude: ['xs9'], overrides: ['VM_REQUIRES_SR'], pollIntervalMs: 50, agentCheck: false });
  });
});

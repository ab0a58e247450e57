import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UpgradeOptions } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { ValidationError } from '@xsctl/common/errors/index';
import { loadControllerConfig } from '../../config/inventory.js';
import { paramsFromOptions } from './upgrade-service.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// Issue 10, defect 13: the simulator-only `simulated` action is refused unless the controller
// config turns it on (testing.simulatedUpgrade), before any workflow starts.
describe('the simulated upgrade action', () => {
  const options = UpgradeOptions.fromPartial({ pool: 'prod', action: 'simulated' });

  it('is refused by default with VALIDATION_FAILED naming options.action', () => {
    const err = (() => {
      try {
        paramsFromOptions(options);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION_FAILED');
    expect((err as ValidationError).field).toBe('options.action');
    expect((err as ValidationError).message).toMatch(/testing\.simulatedUpgrade/);
    expect(() => paramsFromOptions(options, { allowSimulated: false })).toThrow(ValidationError);
  });

  it('is accepted when the config allows it; the real actions are accepted either way', () => {
    expect(paramsFromOptions(options, { allowSimulated: true }).action).toBe('simulated');
    expect(paramsFromOptions(UpgradeOptions.fromPartial({ pool: 'prod', action: 'apply-updates' })).action).toBe('apply-updates');
    expect(paramsFromOptions(UpgradeOptions.fromPartial({ pool: 'prod' })).action).toBe('xcp-ng-update');
  });

  it('the config switch is off unless set, and strict', async () => {
    const dir = await tempDir('xsctl-sim-gate-');
    const base = 'tls: {ca: a, cert: b, key: c}\npools:\n  - {name: p, xapi: {url: "https://x", password: y}}\n';
    await writeFile(join(dir, 'off.yaml'), base);
    await writeFile(join(dir, 'on.yaml'), `testing: {simulatedUpgrade: true}\n${base}`);
    await writeFile(join(dir, 'typo.yaml'), `testing: {simulatedUpgrades: true}\n${base}`);
    expect((await loadControllerConfig(join(dir, 'off.yaml'))).testing).toEqual({ simulatedUpgrade: false });
    // The metadata dump cap (defect 13) defaults to 512 MiB.
    expect((await loadControllerConfig(join(dir, 'off.yaml'))).metadataBackup).toEqual({ maxBytes: 512 * 1024 * 1024 });
    expect((await loadControllerConfig(join(dir, 'on.yaml'))).testing).toEqual({ simulatedUpgrade: true });
    await expect(loadControllerConfig(join(dir, 'typo.yaml'))).rejects.toThrow(/testing\.simulatedUpgrades: unknown key/);
  });
});

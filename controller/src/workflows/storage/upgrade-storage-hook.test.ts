import { describe, expect, it } from 'vitest';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { HA_LIZARD_POOL_KEY, haLizardFindings } from './upgrade-storage-hook.js';

const status = (o: Partial<StorageStatus>): StorageStatus => ({ hostname: '', drbd: [], drbdVersion: undefined, tgtdRunning: false, targets: [], floatingIpPresent: false, floatingIp: '', apparentRole: 'slave', bootEnabled: [], warnings: [], haProcessesRunning: [], haLizardInstalled: false, floatingIpMac: '', ...o });

describe('HA-Lizard before a rolling upgrade of a two-node pool', () => {
  it('blocks when the pool flag says HA-Lizard is enabled, and names the way out', () => {
    const f = haLizardFindings('hc1', { [HA_LIZARD_POOL_KEY]: 'true' }, []);
    expect(f).toEqual([expect.objectContaining({ check: 'ha-lizard', severity: 'blocker', host: '' })]);
    expect(f[0]?.message).toMatch(/HA-Lizard manages pool hc1 \(pool other-config XenCenter\.CustomFields\.ha-lizard-enabled=true\)/);
    expect(f[0]?.message).toMatch(/`ha-cfg ha-disable`/);
  });

  it('blocks while its processes run on a host, even with the pool flag off', () => {
    const f = haLizardFindings('hc1', { [HA_LIZARD_POOL_KEY]: 'false' }, [
      { host: 'xcp1', status: status({ haProcessesRunning: ['ha-lizard', 'iscsi-ha'], haLizardInstalled: true }) },
      { host: 'xcp2', status: status({}) },
    ]);
    expect(f).toEqual([expect.objectContaining({ host: 'xcp1', severity: 'blocker', message: expect.stringMatching(/^ha-lizard and iscsi-ha running on xcp1/) })]);
  });

  it('only warns when it is installed but off everywhere; nothing at all without it', () => {
    expect(haLizardFindings('hc1', {}, [{ host: 'xcp2', status: status({ haLizardInstalled: true }) }])).toEqual([expect.objectContaining({ host: 'xcp2', severity: 'warning' })]);
    expect(haLizardFindings('hc1', { 'XenCenter.CustomFields.other': 'true' }, [{ host: 'xcp1', status: status({}) }, { host: 'xcp2', status: null }])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { PoolStorageConfig } from '../../config/pool-storage-config.js';
import { watchSpecFor } from './storage-pool.js';

// Only what watchSpecFor reads of a pool's storage section.
const storage = {
  spec: { drbdResources: ['iscsi1'] },
  hosts: {
    xs1: { managementInterface: 'xenbr0', replicationAddress: '10.10.10.1', replicationInterface: 'eth1' },
    xs2: { managementInterface: 'xenbr0', replicationAddress: '10.10.10.2', replicationInterface: 'eth1' },
  },
  failover: { selfFenceAfterMs: 1_500, selfFenceTeardownMs: 1_000, pollIntervalMs: 500 },
} as unknown as PoolStorageConfig;

describe('watchSpecFor: the witness names the storage master in every heartbeat (witnessRole)', () => {
  it('MASTER to the master, SLAVE to its peer, UNSPECIFIED when the witness knows none (or the caller does not say)', () => {
    expect(watchSpecFor(storage, 'xs1', 'xs2')).toMatchObject({ witnessRole: StorageRole.STORAGE_ROLE_SLAVE, peerReplicationAddress: '10.10.10.2', selfFenceAfterMs: 1_500 });
    expect(watchSpecFor(storage, 'xs2', 'xs2').witnessRole).toBe(StorageRole.STORAGE_ROLE_MASTER);
    expect(watchSpecFor(storage, 'xs1', '').witnessRole).toBe(StorageRole.STORAGE_ROLE_UNSPECIFIED);
    expect(watchSpecFor(storage, 'xs1').witnessRole).toBe(StorageRole.STORAGE_ROLE_UNSPECIFIED);
  });
});

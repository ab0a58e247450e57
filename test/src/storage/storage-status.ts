import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';

/** One DRBD resource as GetStorageStatus reports it, in drbdadm's words: minor 1, Secondary, Connected to an UpToDate Primary, unless told otherwise. */
export function drbdResourceState(o: Partial<DrbdResourceState> = {}): DrbdResourceState {
  return { name: 'iscsi1', minor: 1, role: 'Secondary', peerRole: 'Primary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '', ...o };
}

/** A host's GetStorageStatus: a master runs tgtd and holds the floating IP, anything else neither; one resource per entry of `resources`. */
export function storageStatus(apparentRole: string, resources: readonly Partial<DrbdResourceState>[] = [{}]): StorageStatus {
  const serving = apparentRole === 'master';
  return { hostname: '', drbd: resources.map(drbdResourceState), drbdVersion: undefined, tgtdRunning: serving, targets: [], floatingIpPresent: serving, floatingIpMac: '', floatingIp: '', apparentRole, bootEnabled: [], warnings: [], haProcessesRunning: [], haLizardInstalled: false };
}

/** What `f` throws; a test that expected a refusal fails when it returns. */
export function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, nothing was thrown');
}

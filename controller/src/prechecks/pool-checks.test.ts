import { describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { generatePoolRecords } from '@xsctl/test/pools/generate-pool';
import { snapshotFromRecords, type PoolRecords } from '../workflows/rolling-upgrade/pool-records.js';
import { evacuationFindings, explainEvacuationReason, metadataBackupFinding, poolPrecheckFindings } from './pool-checks.js';

const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;

describe('evacuation reasons', () => {
  const records = generatePoolRecords({ hosts: 3, vms: 9, seed: 3 });
  const snapshot = snapshotFromRecords(records);
  const host = snapshot.hosts[1]!;
  const vm = snapshot.vms.find((v) => v.residentOn === host.ref && !v.isControlDomain)!;

  // host.get_vms_which_prevent_evacuation answers {VM ref: [code, ...params]} (XAPI's
  // compute_evacuation_plan_no_wlb errors, the codes XenCenter's AssertCanEvacuateCheck maps).
  it.each([
    ['VM_HAS_PCI_ATTACHED', [vm.ref], /PCI device/],
    ['VM_HAS_VGPU', [vm.ref], /vGPU/],
    ['VM_HAS_SRIOV_VIF', [vm.ref], /SR-IOV/],
    ['VM_MISSING_PV_DRIVERS', [vm.ref], /PV drivers/],
    ['VM_REQUIRES_NETWORK', [vm.ref, 'OpaqueRef:net'], /network/],
  ])('%s blocks and says why', (code, params, text) => {
    const [f] = evacuationFindings(records, snapshot, new Map([[host.ref, { [vm.ref]: [code, ...params] }]]));
    expect(f).toMatchObject({ id: 'evacuation', host: host.name, severity: BLOCKER });
    const vms = f!.details?.$case === 'evacuation' ? f!.details.value.vms : [];
    expect(vms).toEqual([expect.objectContaining({ vm: vm.name, vmUuid: vm.uuid, code, params: params })]);
    expect(vms[0]!.explanation).toMatch(text);
  });

  it('leaves memory to the capacity check', () => {
    expect(explainEvacuationReason(records, 'HOST_NOT_ENOUGH_FREE_MEMORY', [vm.ref]).blocker).toBe(false);
    const [f] = evacuationFindings(records, snapshot, new Map([[host.ref, { [vm.ref]: ['HOST_NOT_ENOUGH_FREE_MEMORY', vm.ref] }]]));
    expect(f!.severity).toBe(WARNING);
  });

  it('reports a failed query as a warning, not a pass', () => {
    const [f] = evacuationFindings(records, snapshot, new Map([[host.ref, { error: 'XAPI_TIMEOUT' }]]));
    expect(f).toMatchObject({ severity: WARNING, host: host.name });
  });

  it('adds running VMs on local storage that XAPI reported for another reason', () => {
    const local = generatePoolRecords({ hosts: 3, vms: 12, seed: 5, localFraction: 0.5 });
    const snap = snapshotFromRecords(local);
    const onLocal = snap.vms.find((v) => v.name.endsWith('-local') && v.powerState === 'Running')!;
    const findings = evacuationFindings(local, snap, new Map([[onLocal.residentOn, { [onLocal.ref]: ['VM_MISSING_PV_DRIVERS', onLocal.ref] }]]));
    const vms = findings.flatMap((f) => (f.details?.$case === 'evacuation' ? f.details.value.vms : []));
    const mine = vms.find((v) => v.vmUuid === onLocal.uuid)!;
    expect(mine.code).toBe('VM_MISSING_PV_DRIVERS');
    expect(mine.explanation).toMatch(/and its disks are on local storage/);
    // Other local VMs XAPI did not mention (no answer for their hosts) are still found.
    expect(vms.filter((v) => v.code === 'LOCAL_STORAGE').length).toBeGreaterThan(0);
  });
});

describe('metadata backup', () => {
  const now = new Date('2024-06-01T12:00:00Z');
  it('wants a recent dump or a database replica', () => {
    expect(metadataBackupFinding({ metadataVdis: [] }, now, 24, 'p').severity).toBe(BLOCKER);
    expect(metadataBackupFinding({ metadataVdis: ['OpaqueRef:vdi'] }, now, 24, 'p').severity).toBe(INFO);
    expect(metadataBackupFinding({ metadataVdis: [], latest: { file: 'f', takenAt: new Date('2024-06-01T01:00:00Z') } }, now, 24, 'p').severity).toBe(INFO);
    const old = metadataBackupFinding({ metadataVdis: [], latest: { file: 'f', takenAt: new Date('2024-05-01T00:00:00Z') } }, now, 24, 'p');
    expect(old.severity).toBe(BLOCKER);
    expect(old.fix).toContain('xsctl precheck --pool p --backup-metadata');
  });
});

describe('poolPrecheckFindings', () => {
  it('gives every check an answer on a healthy generated pool', () => {
    const records: PoolRecords = generatePoolRecords({ hosts: 4, vms: 20, seed: 2, fill: 0.5 });
    const findings = poolPrecheckFindings(
      { records, evacuation: new Map(), agentHotfixes: new Map(), agentErrors: new Map(), metadata: { metadataVdis: ['OpaqueRef:x'] }, now: new Date(), maxBackupAgeHours: 24 },
      'gen',
    );
    expect(findings.map((f) => f.id)).toEqual(['hosts', 'ha', 'wlb', 'versions', 'hotfix-uniformity', 'evacuation', 'local-storage', 'cds', 'capacity', 'metadata-backup']);
    expect(findings.every((f) => f.severity === INFO)).toBe(true);
  });
});

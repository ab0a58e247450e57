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

describe('safe2upgrade with a local SR on the boot disk', () => {
  // A host's local LVM SR on partition 3 of its boot disk (the legacy layout), holding two VDIs.
  function pool(device: string, vdis: number): PoolRecords {
    const records = generatePoolRecords({ hosts: 2, vms: 2, seed: 4 });
    const host = Object.keys(records.host ?? {})[0]!;
    records.SR = { ...records.SR, 'OpaqueRef:sr-local': { uuid: 'sr-local', name_label: 'Local storage', type: 'lvm', shared: false, content_type: 'user', other_config: {} } };
    records.PBD = { ...records.PBD, 'OpaqueRef:pbd-local': { uuid: 'pbd-local', host, SR: 'OpaqueRef:sr-local', device_config: { device }, currently_attached: true } };
    for (let i = 0; i < vdis; i++) records.VDI = { ...records.VDI, [`OpaqueRef:vdi-l${i}`]: { uuid: `vdi-l${i}`, name_label: `disk ${i}`, SR: 'OpaqueRef:sr-local', is_a_snapshot: false } };
    return records;
  }
  const run = (records: PoolRecords, layout: { bootDisk: string; safe2upgrade: boolean; localSrOnBootDisk: boolean }, accept: string[] = []) => {
    const host = Object.keys(records.host ?? {})[0]!;
    const findings = poolPrecheckFindings(
      { records, evacuation: new Map(), agentHotfixes: new Map(), agentErrors: new Map(), agentLayouts: new Map([[host, layout]]), acceptLocalSrLoss: new Set(accept), metadata: { metadataVdis: ['OpaqueRef:x'] }, now: new Date(), maxBackupAgeHours: 24 },
      'gen',
    );
    return { name: String(records.host?.[host]?.['name_label']), f: findings.filter((x) => x.id === 'safe2upgrade-local-sr') };
  };

  it('blocks when the marker is set and the SR on the boot disk holds VDIs; the admin can accept the loss per host', () => {
    const records = pool('/dev/sda3', 2);
    const { name, f } = run(records, { bootDisk: '/dev/sda', safe2upgrade: true, localSrOnBootDisk: true });
    expect(f).toEqual([expect.objectContaining({ severity: BLOCKER, host: name })]);
    expect(f[0]!.summary).toContain('would destroy 2 VDI(s)');
    expect(f[0]!.evidence).toContain('SR Local storage (device /dev/sda3): 2 VDI(s): disk 0, disk 1');
    expect(f[0]!.fix).toContain(`--accept-local-sr-loss ${name}`);
    const accepted = run(records, { bootDisk: '/dev/sda', safe2upgrade: true, localSrOnBootDisk: true }, [name]).f;
    expect(accepted).toEqual([expect.objectContaining({ severity: WARNING })]);
    expect(accepted[0]!.summary).toContain('accepted with --accept-local-sr-loss');
  });

  it('says nothing without the marker, with an empty SR, or with the SR on another disk; warns when the disk cannot be told', () => {
    expect(run(pool('/dev/sda3', 2), { bootDisk: '/dev/sda', safe2upgrade: false, localSrOnBootDisk: true }).f).toEqual([]);
    expect(run(pool('/dev/sda3', 0), { bootDisk: '/dev/sda', safe2upgrade: true, localSrOnBootDisk: true }).f).toEqual([]);
    expect(run(pool('/dev/sdb1', 2), { bootDisk: '/dev/sda', safe2upgrade: true, localSrOnBootDisk: true }).f).toEqual([]);
    expect(run(pool('/dev/cciss/c0d0p3', 1), { bootDisk: '/dev/cciss/c0d0', safe2upgrade: true, localSrOnBootDisk: true }).f[0]?.severity).toBe(BLOCKER);
    expect(run(pool('', 1), { bootDisk: '/dev/sda', safe2upgrade: true, localSrOnBootDisk: true }).f[0]?.severity).toBe(WARNING);
  });
});

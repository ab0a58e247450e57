import { describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { PoolPrecheckFinding } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { generatePool, generatePoolRecords } from '@xsctl/test/pools/generate-pool';
import { buildPoolModel, inputFromRaw, type PoolInput, type XapiReason } from '../pool-model/index.js';
import { smallPool } from '@xsctl/test/pools/small-pool';
import { planRollingUpgrade } from '../placement/plan.js';
import { capacityFinding, evacuationFindings, explainEvacuationReason, metadataBackupFinding, poolPrecheckFindings } from './pool-checks.js';

const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;

describe('evacuation reasons', () => {
  const input = generatePool({ hosts: 3, vms: 9, seed: 3 });
  const records = input.records;
  const snapshot = buildPoolModel(input);
  const answering = (pool: PoolInput, evacuation: Map<string, Record<string, XapiReason> | { error: string }>): PoolInput => ({ records: pool.records, answers: { evacuation, bootHere: new Map() } });
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
    const [f] = evacuationFindings(answering(input, new Map([[host.ref, { [vm.ref]: [code, ...params] }]])), snapshot);
    expect(f).toMatchObject({ id: 'evacuation', host: host.name, severity: BLOCKER });
    const vms = f!.details?.$case === 'evacuation' ? f!.details.value.vms : [];
    expect(vms).toEqual([expect.objectContaining({ vm: vm.name, vmUuid: vm.uuid, code, params: params })]);
    expect(vms[0]!.explanation).toMatch(text);
  });

  it('leaves memory to the capacity check', () => {
    expect(explainEvacuationReason(records, 'HOST_NOT_ENOUGH_FREE_MEMORY', [vm.ref]).blocker).toBe(false);
    const [f] = evacuationFindings(answering(input, new Map([[host.ref, { [vm.ref]: ['HOST_NOT_ENOUGH_FREE_MEMORY', vm.ref] }]])), snapshot);
    expect(f!.severity).toBe(WARNING);
  });

  it('reports a failed query as a warning, not a pass', () => {
    const [f] = evacuationFindings(answering(input, new Map([[host.ref, { error: 'XAPI_TIMEOUT' }]])), snapshot);
    expect(f).toMatchObject({ severity: WARNING, host: host.name });
  });

  it('adds running VMs on local storage that XAPI reported for another reason', () => {
    const local = generatePool({ hosts: 3, vms: 12, seed: 5, localFraction: 0.5 });
    const snap = buildPoolModel(local);
    const onLocal = snap.vms.find((v) => v.name.endsWith('-local') && v.powerState === 'Running')!;
    const findings = evacuationFindings(answering(local, new Map([[onLocal.residentOn, { [onLocal.ref]: ['VM_MISSING_PV_DRIVERS', onLocal.ref] }]])), snap);
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
    const pool = generatePool({ hosts: 4, vms: 20, seed: 2, fill: 0.5 });
    const findings = poolPrecheckFindings(
      { pool, wlbUrl: '', agentHotfixes: new Map(), agentErrors: new Map(), metadata: { metadataVdis: ['OpaqueRef:x'] }, now: new Date(), maxBackupAgeHours: 24 },
      'gen',
    );
    expect(findings.map((f) => f.id)).toEqual(['hosts', 'ha', 'wlb', 'versions', 'hotfix-uniformity', 'evacuation', 'local-storage', 'cds', 'capacity', 'metadata-backup']);
    expect(findings.every((f) => f.severity === INFO)).toBe(true);
  });
});

describe('safe2upgrade with a local SR on the boot disk', () => {
  // A host's local LVM SR on partition 3 of its boot disk (the legacy layout), holding two VDIs.
  function pool(device: string, vdis: number): PoolInput {
    const records = generatePoolRecords({ hosts: 2, vms: 2, seed: 4 });
    const host = Object.keys(records['host'] ?? {})[0]!;
    records['SR'] = { ...records['SR'], 'OpaqueRef:sr-local': { uuid: 'sr-local', name_label: 'Local storage', type: 'lvm', shared: false, content_type: 'user', other_config: {} } };
    records['PBD'] = { ...records['PBD'], 'OpaqueRef:pbd-local': { uuid: 'pbd-local', host, SR: 'OpaqueRef:sr-local', device_config: { device }, currently_attached: true } };
    for (let i = 0; i < vdis; i++) records['VDI'] = { ...records['VDI'], [`OpaqueRef:vdi-l${i}`]: { uuid: `vdi-l${i}`, name_label: `disk ${i}`, SR: 'OpaqueRef:sr-local', is_a_snapshot: false } };
    return inputFromRaw(records);
  }
  const run = (input: PoolInput, layout: { bootDisk: string; safe2upgrade: boolean; localSrOnBootDisk: boolean }, accept: string[] = []) => {
    const [host, record] = [...input.records.host.entries()][0]!;
    const findings = poolPrecheckFindings(
      { pool: input, wlbUrl: '', agentHotfixes: new Map(), agentErrors: new Map(), agentLayouts: new Map([[host, layout]]), acceptLocalSrLoss: new Set(accept), metadata: { metadataVdis: ['OpaqueRef:x'] }, now: new Date(), maxBackupAgeHours: 24 },
      'gen',
    );
    return { name: record.name_label, f: findings.filter((x) => x.id === 'safe2upgrade-local-sr') };
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

describe('capacity: the precheck and the plan give one answer', () => {
  const GiB = 2 ** 30;
  const hosts = [{ name: 'A', gib: 10 }, { name: 'B', gib: 10 }, { name: 'C', gib: 10 }];
  it('a pool that fits only by making room passes both', () => {
    // Nowhere has 6 GiB for big; moving t1 (3) from C to B makes it (see plan.test.ts).
    const input = smallPool(hosts, [{ name: 'big', host: 'A', gib: 6 }, ...['s1', 's2', 's3'].map((name) => ({ name, host: 'B', gib: 2 })), { name: 't1', host: 'C', gib: 3 }, { name: 't2', host: 'C', gib: 3 }]);
    const finding = capacityFinding(buildPoolModel(input));
    expect(finding.severity).not.toBe(BLOCKER);
    expect(planRollingUpgrade(buildPoolModel(input)).runnable).toBe(true);
  });
  it('a pool that does not fit fails both, naming the same VMs', () => {
    // big needs 7: C can free at most 6 (t1 + t2) and B has no room for them.
    const input = smallPool(hosts, [{ name: 'big', host: 'A', gib: 7 }, ...['s1', 's2', 's3'].map((name) => ({ name, host: 'B', gib: 2 })), { name: 't1', host: 'C', gib: 3 }, { name: 't2', host: 'C', gib: 3 }]);
    const finding = capacityFinding(buildPoolModel(input));
    const plan = planRollingUpgrade(buildPoolModel(input));
    expect(finding.severity).toBe(BLOCKER);
    expect(plan.runnable).toBe(false);
    const shortfalls = finding.details?.$case === 'capacity' ? finding.details.value.steps.flatMap((s) => s.shortfalls) : [];
    // big stays on A (it has nowhere to go), so A has less room for what follows: the same cascade in both.
    expect(shortfalls[0]).toMatchObject({ vm: 'big', host: 'A', requiredBytes: 7 * GiB, bestFreeBytes: 3 * GiB });
    expect(shortfalls.map((x) => x.vm)).toEqual(plan.blockers.map((b) => b.vm));
    expect(() => PoolPrecheckFinding.encode(finding).finish()).not.toThrow();
  });
  it('a VM on local storage is listed without memory figures, and the finding goes over gRPC', () => {
    // VM_REQUIRES_SR's parameters are [vm, sr] refs, not byte counts (they once became NaN, which protobuf cannot carry).
    const input = smallPool(hosts, [{ name: 'l1', host: 'B', gib: 2, local: true }, { name: 's1', host: 'B', gib: 2 }], {
      evacuation: new Map([['OpaqueRef:h-B', { 'OpaqueRef:v-l1': ['VM_REQUIRES_SR', 'OpaqueRef:v-l1', 'OpaqueRef:sr-local-B'] }]]),
      bootHere: new Map(),
    });
    const finding = capacityFinding(buildPoolModel(input));
    const local = finding.details?.$case === 'capacity' ? finding.details.value.steps.flatMap((s) => s.shortfalls).filter((x) => x.code === 'VM_REQUIRES_SR') : [];
    expect(local.length).toBeGreaterThan(0);
    expect(local.every((x) => x.requiredBytes === 0 && x.bestFreeBytes === 0)).toBe(true);
    expect(() => PoolPrecheckFinding.encode(finding).finish()).not.toThrow();
  });
});

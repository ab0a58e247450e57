import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { DrbdServiceDefinition, DrbdSyntax, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StepOutcome, StorageRole, StorageServiceDefinition, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { Fleet, isRoot } from '../src/fleet/fleet.js';
import { startStorageNode, type StorageNode } from '../src/fleet/storage-node.js';

/**
 * Two XenServer hosts and an iSCSI initiator as network namespaces on one switch. Real: tgtd (one
 * per host namespace), libiscsi iscsi-inq/iscsi-perf from the initiator, ip, iputils arping, the
 * agents' gRPC over mTLS, drbdadm. Simulated: the DRBD kernel module (drbdadm drives the
 * simulator through -s/-m).
 */
const chapPassword = 'Xs-CHAP-secret-42';
const identity = { scsiId: 'XSCTL-ISCSI1', scsiSn: 'XS0000000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN' };

describe.skipIf(!isRoot())('storage failover between two namespaced hosts (real tgtd, iSCSI, ARP)', () => {
  let fleet: Fleet;
  let base: string;
  let xs1: StorageNode;
  let xs2: StorageNode;
  let floating: string;
  let lunImage: string;
  const controlPort = 20_000 + Math.floor(Math.random() * 10_000);

  const drbdSpec = (): DrbdResourceSpec => ({
    name: 'iscsi1',
    minor: 1,
    nodes: [xs1, xs2].map((n) => ({ hostname: n.name, disk: n.backingDisk, address: n.host.address, port: 7789 })),
    protocol: 'C',
    afterSb0pri: '',
    afterSb1pri: '',
    afterSb2pri: '',
    sharedSecret: 'PUTyourSECREThere',
    cramHmacAlg: 'sha1',
    resyncRate: '100M',
    quorum: '',
    onNoQuorum: '',
  });

  /** The same identity on both hosts; only the tgtd instance (control port) differs in this lab. */
  const storageSpec = (node: StorageNode, overrides: Partial<StorageSpec> = {}): StorageSpec => ({
    drbdResources: ['iscsi1'],
    target: {
      tid: 1,
      iqn: 'iqn.2013-05.com.example:xsctl.iscsi1',
      luns: [{ lun: 10, backingStore: lunImage, bsType: 'rdwr', ...identity }],
      initiatorAddresses: [fleet.subnet],
      initiatorNames: [],
      incomingUser: { user: 'xsinit', password: chapPassword },
    },
    floatingIp: { address: floating, prefixLength: 24, interface: 'eth0', garpCount: 2 },
    tgtd: { controlPort: node === xs1 ? controlPort : controlPort + 1 },
    peerSafety: undefined,
    stopGraceMs: 2_000,
    ...overrides,
  });

  const lunUrl = () => `iscsi://xsinit%${chapPassword}@${floating}/iqn.2013-05.com.example:xsctl.iscsi1/10`;

  /** What the initiator sees: standard INQUIRY, VPD 0x80 serial, VPD 0x83 T10 vendor designator. */
  async function inquiry() {
    const ini = fleet.host('ini');
    const std = await ini.exec('iscsi-inq', [lunUrl()]);
    const sn = await ini.exec('iscsi-inq', ['-e', '1', '-c', '128', lunUrl()]);
    const id = await ini.exec('iscsi-inq', ['-e', '1', '-c', '131', lunUrl()]);
    return {
      vendor: /^Vendor:(.*)$/m.exec(String(std.stdout))?.[1]?.trim(),
      product: /^Product:(.*)$/m.exec(String(std.stdout))?.[1]?.trim(),
      serial: /Unit Serial Number:\[\s*(.*?)\]/.exec(String(sn.stdout))?.[1],
      t10: /Designator Type:\(1\) T10_VENDORT_ID\nDesignator:\[(.*?)\]/.exec(String(id.stdout))?.[1],
    };
  }

  beforeAll(async () => {
    fleet = await Fleet.create({ hosts: ['xs1', 'xs2', 'ini'] });
    floating = fleet.address(100);
    base = await mkdtemp(join(tmpdir(), 'xsctl-e2e-storage-'));
    lunImage = join(base, 'lun10.img');
    await writeFile(lunImage, Buffer.alloc(64 * 1024 * 1024));
    const pki = await makeTestPki();
    const controllerTls = await pki.issue({ kind: 'controller', name: 'ctl' });
    const common = { fleet, simDir: join(base, 'drbd-sim'), kernelVersion: '8.4.11', pki, controllerTls, base };
    xs1 = await startStorageNode({ ...common, name: 'xs1' });
    xs2 = await startStorageNode({ ...common, name: 'xs2' });
  }, 60_000);

  afterAll(async () => {
    for (const n of [xs1, xs2]) {
      if (n === undefined) continue;
      await n.client(TargetServiceDefinition).stopTgtd({ instance: storageSpec(n).tgtd, graceMs: 1_000 }).catch(() => undefined);
      await n.close();
    }
    await fleet?.destroy();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  }, 60_000);

  it('sets DRBD up on both hosts: drbd.conf checked by drbdadm, metadata, attach, initial sync', async () => {
    for (const n of [xs1, xs2]) {
      const drbd = n.client(DrbdServiceDefinition);
      const w = await drbd.writeDrbdConfig({ resources: [drbdSpec()], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true });
      expect(w).toMatchObject({ syntax: DrbdSyntax.DRBD_SYNTAX_V84, written: true });
      expect((await drbd.createDrbdMetadata({ resource: 'iscsi1', confirm: true, wipe: false })).result?.changed).toBe(true);
      expect((await drbd.attachDrbd({ resource: 'iscsi1' })).result?.commands).toEqual(['drbdadm up iscsi1']);
    }
    const status = await xs1.client(DrbdServiceDefinition).getDrbdStatus({ resource: '' });
    expect(status.source).toBe('proc-drbd');
    expect(status.resources[0]).toMatchObject({ name: 'iscsi1', connection: 'Connected', disk: 'Inconsistent', peerDisk: 'Inconsistent' });
    // Promotion without UpToDate data is refused; the initial sync is the one forced promotion.
    await expect(xs1.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs1), dryRun: false })).resolves.toMatchObject({
      ok: false,
      failedStep: 'drbd-primary:iscsi1',
      steps: [expect.objectContaining({ errorCode: 'DRBD_NOT_UP_TO_DATE' }), ...['tgtd', 'target', 'portal-open', 'floating-ip', 'garp'].map((name) => expect.objectContaining({ name, outcome: StepOutcome.STEP_OUTCOME_SKIPPED }))],
    });
    const sync = await xs1.client(DrbdServiceDefinition).startDrbdInitialSync({ resource: 'iscsi1', confirm: true });
    expect(sync.result?.commands).toEqual(['drbdadm primary --force iscsi1']);
    expect(sync.result?.state).toMatchObject({ role: 'Primary', disk: 'UpToDate', peerDisk: 'UpToDate' });
    await xs1.client(DrbdServiceDefinition).demoteDrbd({ resource: 'iscsi1' });
  });

  it('xs1 becomes master in order: DRBD Primary, tgtd, target/LUN, floating IP, GARP', async () => {
    const storage = xs1.client(StorageServiceDefinition);
    const plan = await storage.assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs1), dryRun: true });
    expect(plan.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['drbd-primary:iscsi1', StepOutcome.STEP_OUTCOME_PLANNED],
      ['tgtd', StepOutcome.STEP_OUTCOME_PLANNED],
      ['target', StepOutcome.STEP_OUTCOME_PLANNED],
      ['portal-open', StepOutcome.STEP_OUTCOME_ALREADY],
      ['floating-ip', StepOutcome.STEP_OUTCOME_PLANNED],
      ['garp', StepOutcome.STEP_OUTCOME_PLANNED],
    ]);
    const r = await storage.assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs1), dryRun: false });
    expect(r.steps.map((s) => `${s.name}=${StepOutcome[s.outcome]}`)).toEqual([
      'drbd-primary:iscsi1=STEP_OUTCOME_DONE',
      'tgtd=STEP_OUTCOME_DONE',
      'target=STEP_OUTCOME_DONE',
      // No switchover's portal block here (handover.ts): nothing to remove.
      'portal-open=STEP_OUTCOME_ALREADY',
      'floating-ip=STEP_OUTCOME_DONE',
      'garp=STEP_OUTCOME_DONE',
    ]);
    expect(r.ok).toBe(true);
    const shown = await xs1.client(TargetServiceDefinition).showTargets({ instance: storageSpec(xs1).tgtd });
    expect(shown.targets[0]).toMatchObject({ tid: 1, iqn: 'iqn.2013-05.com.example:xsctl.iscsi1', state: 'ready', accounts: ['xsinit'], acls: [fleet.subnet] });
    expect(shown.targets[0]?.luns.find((l) => l.lun === 10)).toMatchObject({ scsiId: identity.scsiId, scsiSn: identity.scsiSn, backingStorePath: lunImage, backingStoreType: 'rdwr' });
  }, 60_000);

  it('the initiator sees the fixed identity on the floating IP (CHAP required)', async () => {
    expect(await inquiry()).toEqual({ vendor: identity.vendorId, product: identity.productId, serial: identity.scsiSn, t10: identity.scsiId });
    const noChap = await fleet.host('ini').exec('iscsi-inq', [`iscsi://${floating}/iqn.2013-05.com.example:xsctl.iscsi1/10`], { reject: false });
    expect(noChap.exitCode).not.toBe(0);
    expect((await fleet.host('ini').neighbour(floating))?.mac).toBe(await xs1.host.mac());
  }, 60_000);

  it('asserting the same role again changes nothing', async () => {
    const r = await xs1.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs1), dryRun: false });
    expect(r).toMatchObject({ ok: true, unchanged: true });
    expect(r.steps.every((s) => s.outcome === StepOutcome.STEP_OUTCOME_ALREADY)).toBe(true);
  }, 60_000);

  it('xs2 cannot become master while xs1 is Primary; it stops at the first step', async () => {
    const r = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs2), dryRun: false });
    expect(r).toMatchObject({ ok: false, failedStep: 'drbd-primary:iscsi1' });
    expect(r.steps[0]).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'DRBD_PEER_PRIMARY' });
    expect(r.steps.slice(1).every((s) => s.outcome === StepOutcome.STEP_OUTCOME_SKIPPED)).toBe(true);
    // Nor may xs2 take the floating IP while xs1 still answers for it (arping -D).
    await expect(xs2.client(FloatingIpServiceDefinition).addFloatingIp({ ip: storageSpec(xs2).floatingIp })).rejects.toThrow(/FLOATING_IP_IN_USE: .* still answers on eth0/);
  }, 60_000);

  it('xs1 steps down in reverse order while an initiator is logged in (sessions are forced off)', async () => {
    const ini = fleet.host('ini');
    const perf = ini.exec('iscsi-perf', ['-r', '-t', '30', '-n', '-x', '0', lunUrl()], { reject: false, timeout: 40_000 });
    const tgt = xs1.client(TargetServiceDefinition);
    let nexus = 0;
    for (let i = 0; i < 50 && nexus === 0; i++) {
      nexus = (await tgt.showTargets({ instance: storageSpec(xs1).tgtd })).targets[0]?.nexuses.length ?? 0;
      if (nexus === 0) await new Promise((res) => setTimeout(res, 100));
    }
    const shown = (await tgt.showTargets({ instance: storageSpec(xs1).tgtd })).targets[0];
    expect(shown?.nexuses[0]).toMatchObject({ initiator: expect.stringMatching(/^iqn\./), connections: [expect.objectContaining({ ipAddress: ini.address })] });
    const r = await xs1.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: storageSpec(xs1), dryRun: false });
    expect(r.steps.map((s) => `${s.name}=${StepOutcome[s.outcome]}`)).toEqual(['floating-ip=STEP_OUTCOME_DONE', 'target=STEP_OUTCOME_DONE', 'tgtd=STEP_OUTCOME_DONE', 'drbd-secondary:iscsi1=STEP_OUTCOME_DONE', 'portal-open=STEP_OUTCOME_ALREADY']);
    expect(r.steps[1]?.detail).toMatch(/1 sessions dropped/);
    perf.kill('SIGKILL');
    await perf;
    expect((await tgt.showTargets({ instance: storageSpec(xs1).tgtd })).running).toBe(false);
  }, 90_000);

  it('xs2 takes over: the floating IP moves, the GARP repoints the initiator, the identity is the same', async () => {
    // Right after a failover the initiator's ARP cache still points at the old master.
    const ini = fleet.host('ini');
    await execa('ip', ['-n', ini.ns, 'neigh', 'replace', floating, 'lladdr', await xs1.host.mac(), 'dev', 'eth0', 'nud', 'stale']);
    const before = await ini.neighbour(floating);
    expect(before?.mac).toBe(await xs1.host.mac());
    const r = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: storageSpec(xs2), dryRun: false });
    expect(r.ok).toBe(true);
    // No traffic from the initiator in between: only the gratuitous ARP can have changed its entry.
    // The burst runs on after the assertion returns (garp-burst.ts); its first announcement repoints.
    const mac2 = await xs2.host.mac();
    await expect.poll(async () => (await ini.neighbour(floating))?.mac, { timeout: 3_000 }).toBe(mac2);
    const after = await ini.neighbour(floating);
    expect(after?.mac).toBe(mac2);
    expect(after?.mac).not.toBe(before?.mac);
    expect(await inquiry()).toEqual({ vendor: identity.vendorId, product: identity.productId, serial: identity.scsiSn, t10: identity.scsiId });
    const s1 = await xs1.client(StorageServiceDefinition).getStorageStatus({ spec: storageSpec(xs1) });
    const s2 = await xs2.client(StorageServiceDefinition).getStorageStatus({ spec: storageSpec(xs2) });
    expect([s1.status?.apparentRole, s2.status?.apparentRole]).toEqual(['slave', 'master']);
    expect(s2.status?.drbd[0]).toMatchObject({ role: 'Primary', peerRole: 'Secondary', connection: 'Connected' });
  }, 90_000);

  it('a tear-down that fails names the step and leaves the rest; the retry finishes the job', async () => {
    const holders = join(base, 'drbd-sim', 'xs2', 'iscsi1.holders');
    await writeFile(holders, 'xapi\n'); // the simulator now says /dev/drbd1 is held open
    const r = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: storageSpec(xs2), dryRun: false });
    expect(r).toMatchObject({ ok: false, failedStep: 'drbd-secondary:iscsi1' });
    expect(r.steps.find((s) => s.name === 'drbd-secondary:iscsi1')).toMatchObject({ errorCode: 'DRBD_STATE_CHANGE_FAILED', detail: expect.stringMatching(/held open/) });
    await rm(holders);
    const again = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: storageSpec(xs2), dryRun: false });
    expect(again.steps.map((s) => StepOutcome[s.outcome])).toEqual(['STEP_OUTCOME_ALREADY', 'STEP_OUTCOME_ALREADY', 'STEP_OUTCOME_ALREADY', 'STEP_OUTCOME_DONE', 'STEP_OUTCOME_ALREADY']);
  }, 60_000);

  it('the CHAP secret never reached either agent log', async () => {
    for (const n of [xs1, xs2]) {
      const log = await readFile(n.logFile, 'utf8');
      expect(log).toContain('tgt target applied');
      expect(log).not.toContain(chapPassword);
      expect(log).not.toContain('PUTyourSECREThere');
    }
  });

  it('reports tgtd/drbd units that would start at boot (rule 8), as systemctl sees them', async () => {
    const expected: string[] = [];
    for (const unit of ['tgtd', 'tgt', 'drbd']) {
      const r = await execa('systemctl', ['is-enabled', `${unit}.service`], { reject: false });
      if (String(r.stdout).trim() === 'enabled') expected.push(unit);
    }
    const status = (await xs1.client(StorageServiceDefinition).getStorageStatus({ spec: storageSpec(xs1) })).status;
    expect(status?.bootEnabled).toEqual(expected);
    for (const unit of expected) expect(status?.warnings).toContain(`${unit} is enabled at boot: disable it, the storage role starts it (rule 8)`);
  });
});

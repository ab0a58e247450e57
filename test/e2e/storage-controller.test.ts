import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { AgentConnection } from '@xsctl/controller/agents/agent-connection';
import type { ControllerContext, ResolvedHost } from '@xsctl/controller/server/controller-context';
import { poolStorageService } from '@xsctl/controller/services/storage/pool-storage-service';
import { DrbdServiceDefinition, DrbdSyntax, FailoverReason, SplitBrainState, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageRole, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { renderPoolStorage } from 'xsctl/commands/storage/storage';
import { Fleet, isRoot } from '../src/fleet/fleet.js';
import { startStorageNode, type StorageNode } from '../src/fleet/storage-node.js';

/**
 * The controller's PoolStorageService over real mTLS agent connections, against two namespaced
 * hosts running DRBD 9 (simulated kernel, real drbdadm), tgtd and arping. XAPI is replaced by a
 * context that lists the two hosts (xs1 is the pool master).
 */
describe.skipIf(!isRoot())('PoolStorageService against two namespaced agents (DRBD 9)', () => {
  let fleet: Fleet;
  let base: string;
  let nodes: StorageNode[];
  let hosts: ResolvedHost[];
  let ctx: ControllerContext;
  const controlPort = 10_000 + Math.floor(Math.random() * 9_000);
  const call = { signal: new AbortController().signal } as never;

  const spec = (): StorageSpec => ({
    drbdResources: ['iscsi1'],
    target: {
      tid: 1,
      iqn: 'iqn.2013-05.com.example:xsctl.ctl',
      luns: [{ lun: 10, backingStore: join(base, 'lun10.img'), bsType: 'rdwr', scsiId: 'XSCTL-CTL', scsiSn: 'XSCTL0000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN' }],
      initiatorAddresses: [fleet.subnet],
      initiatorNames: [],
      incomingUser: undefined,
    },
    floatingIp: { address: fleet.address(200), prefixLength: 24, interface: 'eth0', garpCount: 1 },
    tgtd: undefined, // tgtd's default port, as on a real host (the lab gives each host its own, see storage-node)
    peerSafety: undefined,
    stopGraceMs: 2_000,
  });

  beforeAll(async () => {
    fleet = await Fleet.create({ hosts: ['xs1', 'xs2'] });
    base = await mkdtemp(join(tmpdir(), 'xsctl-e2e-ctl-'));
    await writeFile(join(base, 'lun10.img'), Buffer.alloc(16 * 1024 * 1024));
    const pki = await makeTestPki();
    const controllerTls = await pki.issue({ kind: 'controller', name: 'ctl' });
    const common = { fleet, simDir: join(base, 'drbd-sim'), kernelVersion: '9.1.0', pki, controllerTls, base };
    nodes = [await startStorageNode({ ...common, name: 'xs1', tgtdControlPort: controlPort }), await startStorageNode({ ...common, name: 'xs2', tgtdControlPort: controlPort + 1 })];
    hosts = nodes.map(
      (n, i): ResolvedHost => ({
        pool: { name: 'lab', xapi: { url: 'https://xapi.invalid', user: 'root', password: '', allowUnauthorized: false, allowPlainHttp: false, followMasterRedirect: false }, agentPort: n.agent.port },
        ref: `OpaqueRef:${n.name}`,
        uuid: `uuid-${n.name}`,
        nameLabel: n.name,
        hostname: n.name,
        address: n.host.address,
        isMaster: i === 0,
        agent: new AgentConnection({ address: `127.0.0.1:${n.agent.port}`, serverName: n.name }, controllerTls),
      }),
    );
    ctx = {
      logger: pino({ level: 'silent' }),
      pool: () => hosts[0]!.pool,
      poolHosts: async () => hosts,
      // No XAPI here: the pool record a split-brain recovery reads, with XAPI's HA off.
      openXapi: async () => ({ getAllRecords: async () => new Map([['OpaqueRef:pool', { ha_enabled: false }]]), close: async () => undefined }),
      resolveHost: async (name: string) => {
        const h = hosts.find((x) => x.nameLabel === name);
        if (h === undefined) throw new Error(`no host ${name}`);
        return h;
      },
    } as unknown as ControllerContext;
    const drbdSpec: DrbdResourceSpec = {
      name: 'iscsi1',
      minor: 1,
      nodes: nodes.map((n) => ({ hostname: n.name, disk: n.backingDisk, address: n.host.address, port: 7789 })),
      protocol: 'C',
      afterSb0pri: '',
      afterSb1pri: '',
      afterSb2pri: '',
      sharedSecret: '',
      cramHmacAlg: '',
      resyncRate: '',
      quorum: '',
      onNoQuorum: '',
    };
    for (const n of nodes) {
      const drbd = n.client(DrbdServiceDefinition);
      await drbd.writeDrbdConfig({ resources: [drbdSpec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true });
      await drbd.createDrbdMetadata({ resource: 'iscsi1', confirm: true, wipe: false });
      await drbd.attachDrbd({ resource: 'iscsi1' });
    }
    await nodes[0]!.client(DrbdServiceDefinition).startDrbdInitialSync({ resource: 'iscsi1', confirm: true });
    await nodes[0]!.client(DrbdServiceDefinition).demoteDrbd({ resource: 'iscsi1' });
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes ?? []) {
      await n.client(TargetServiceDefinition).stopTgtd({ instance: spec().tgtd, graceMs: 1_000 }).catch(() => undefined);
      await n.close();
    }
    for (const h of hosts ?? []) h.agent.close();
    await fleet?.destroy();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  }, 60_000);

  it('puts the pool master in the storage master role and shows both hosts side by side', async () => {
    const svc = poolStorageService(ctx);
    const r = await svc.assertPoolStorageRole({ pool: 'lab', host: 'xs1', role: StorageRole.STORAGE_ROLE_MASTER, spec: spec(), dryRun: false }, call);
    expect(r.result).toMatchObject({ ok: true });
    const status = GetPoolStorageStatusResponse.fromPartial(await svc.getPoolStorageStatus({ pool: 'lab', spec: spec() }, call));
    expect(status.hosts.map((h) => [h.host, h.status?.apparentRole, h.status?.drbd[0]?.role, h.status?.drbdVersion?.syntax])).toEqual([
      ['xs1', 'master', 'Primary', DrbdSyntax.DRBD_SYNTAX_V9],
      ['xs2', 'slave', 'Secondary', DrbdSyntax.DRBD_SYNTAX_V9],
    ]);
    expect(status.problems).toEqual([]);
    const text = renderPoolStorage(status);
    expect(text).toMatch(/^ +xs1 \(pool master\) +xs2\n/);
    expect(text).toMatch(/\ndrbd iscsi1 role +Primary\/Secondary +Secondary\/Primary\n/);
  }, 60_000);

  it('refuses to promote xs2 while xs1 is Primary, before asking xs2', async () => {
    await expect(poolStorageService(ctx).promotePoolDrbd({ pool: 'lab', host: 'xs2', resource: 'iscsi1', peerSafety: undefined }, call)).rejects.toMatchObject({ code: 'STORAGE_PRIMARY_ELSEWHERE', host: 'xs1' });
  });

  it('reports a split brain loudly and resolves it naming the victim (DRBD 9 syntax)', async () => {
    const [xs1, xs2] = nodes as [StorageNode, StorageNode];
    // The replication link drops; xs2 is fenced-promoted by mistake and writes; the link returns.
    await xs1.client(DrbdServiceDefinition).disconnectDrbd({ resource: 'iscsi1' });
    await xs2.client(DrbdServiceDefinition).promoteDrbd({ resource: 'iscsi1', peerSafety: { peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED } });
    await xs2.client(DrbdServiceDefinition).demoteDrbd({ resource: 'iscsi1' });
    await xs1.client(DrbdServiceDefinition).connectDrbd({ resource: 'iscsi1' });
    const svc = poolStorageService(ctx);
    const status = GetPoolStorageStatusResponse.fromPartial(await svc.getPoolStorageStatus({ pool: 'lab', spec: undefined }, call));
    expect(status.hosts.every((h) => h.status?.drbd[0]?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED)).toBe(true);
    expect(status.problems.filter((p) => p.startsWith('SPLIT BRAIN'))).toHaveLength(2);
    const plan = await svc.resolvePoolDrbdSplitBrain({ pool: 'lab', resource: 'iscsi1', victim: 'xs2', confirm: false }, call);
    expect(plan).toMatchObject({ victim: 'xs2', survivor: 'xs1', victimResult: { dryRun: true, commands: ['drbdadm connect --discard-my-data iscsi1'] }, survivorResult: { dryRun: true, commands: ['drbdadm connect iscsi1'] } });
    const done = await svc.resolvePoolDrbdSplitBrain({ pool: 'lab', resource: 'iscsi1', victim: 'xs2', confirm: true }, call);
    expect(done.survivorResult?.state).toMatchObject({ role: 'Primary', connection: 'Connected', peerDisk: 'UpToDate', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE });
    const after = await svc.getPoolStorageStatus({ pool: 'lab', spec: spec() }, call);
    expect(after.problems).toEqual([]);
  }, 60_000);
});

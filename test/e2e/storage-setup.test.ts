import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from 'nice-grpc-common';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { AgentConnection } from '@xsctl/controller/agents/agent-connection';
import { Journal } from '@xsctl/controller/journal/journal';
import { ControllerMetrics } from '@xsctl/controller/metrics/controller-metrics';
import type { ControllerContext, ResolvedHost } from '@xsctl/controller/server/controller-context';
import { storageSetupService } from '@xsctl/controller/services/storage/storage-setup-service';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { StorageSetupEvent, StorageSetupServicePlanResponse, StorageSetupServiceStatusResponse, type StorageSetupOptions } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { Fleet, isRoot } from '../src/fleet/fleet.js';
import { startStorageNode, type StorageNode } from '../src/fleet/storage-node.js';

/**
 * `xsctl storage setup` end to end: the controller's StorageSetupService and its journaled workflow
 * over real mTLS agents on two namespaced hosts running DRBD 8.3 (the how-to's version; simulated
 * kernel, real drbdadm, whose simulator refuses a connect whose `syncer` settings were never
 * loaded), real tgtd, iptables and iptables-restore in each namespace, the real `multipath -t`.
 * XAPI is replaced by a context that lists the two hosts (xs1 is the pool master).
 */
const fixture = (p: string) => fileURLToPath(new URL(`../../agent/src/${p}`, import.meta.url));
const drbdSecret = 'Drbd-Shared-Secret-77';
const chapSecret = 'Setup-CHAP-secret-42';

// The devices section of a XenServer dom0's lvm.conf (agent/src/drbd/lvm-conf.test.ts has the long form).
const dom0LvmConf = 'devices {\n    dir = "/dev"\n    scan = [ "/dev" ]\n    filter = [ "r|/dev/xvd.|", "r|/dev/VG_Xen.*/*|"]\n    cache_dir = "/etc/lvm/cache"\n    write_cache_state = 1\n}\n';
const xs7MultipathConf = 'defaults {\n\tuser_friendly_names no\n}\nblacklist {\n\tdevnode "^(ram|raw|loop)[0-9]*"\n}\n';

describe.skipIf(!isRoot())('storage setup: the iSCSI-HA how-to as one journaled workflow (DRBD 8.3, real tgtd and iptables)', () => {
  let fleet: Fleet;
  let base: string;
  let nodes: StorageNode[];
  let hosts: ResolvedHost[];
  let ctx: ControllerContext;
  let journal: Journal;
  const controlPort = 12_000 + Math.floor(Math.random() * 18_000); // tgtd -C takes at most 32767
  const call = (signal = new AbortController().signal) => ({ signal, metadata: Metadata() }) as never;

  const options = (o: Partial<StorageSetupOptions> = {}): StorageSetupOptions => ({
    pool: 'lab',
    spec: {
      drbd: [
        {
          name: 'iscsi1',
          minor: 1,
          nodes: nodes.map((n) => ({ hostname: n.name, disk: n.backingDisk, address: n.host.address, port: 7789 })),
          protocol: 'C',
          afterSb0pri: '',
          afterSb1pri: '',
          afterSb2pri: '',
          sharedSecret: drbdSecret,
          cramHmacAlg: 'sha1',
          resyncRate: '100M',
          quorum: '',
          onNoQuorum: '',
        },
      ],
      storage: {
        drbdResources: ['iscsi1'],
        target: {
          tid: 1,
          iqn: 'iqn.2013-05.com.example:xsctl.setup',
          luns: [{ lun: 10, backingStore: join(base, 'lun10.img'), bsType: 'rdwr', scsiId: 'XSCTL-SETUP', scsiSn: 'XSSETUP00001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN' }],
          initiatorAddresses: [fleet.subnet],
          initiatorNames: [],
          incomingUser: { user: 'xsinit', password: chapSecret },
        },
        floatingIp: { address: fleet.address(210), prefixLength: 24, interface: 'eth0', garpCount: 1 },
        tgtd: undefined,
        peerSafety: undefined,
        stopGraceMs: 2_000,
      },
      firewall: { subnet: fleet.subnet, drbdPorts: [], iscsiPort: 0, chain: '' },
      timing: undefined,
      // Not the pool master: the sync leaves xs2 Primary, so the roles must demote it before xs1 is promoted (rule 4).
      syncFrom: 'xs2',
    },
    createMd: true,
    wipeSignatures: false,
    ...o,
  });

  async function run(o: StorageSetupOptions): Promise<StorageSetupEvent[]> {
    const events: StorageSetupEvent[] = [];
    for await (const r of storageSetupService(ctx).start({ options: o, confirm: true }, call())) if (r.event !== undefined) events.push(StorageSetupEvent.fromPartial(r.event));
    return events;
  }
  const started = (events: StorageSetupEvent[]) => events.filter((e) => e.kind === 'step-started').map((e) => (e.host === '' ? e.step : `${e.step}:${e.host}`));
  const file = (n: StorageNode, p: string) => readFile(join(n.root, p), 'utf8');

  beforeAll(async () => {
    fleet = await Fleet.create({ hosts: ['xs1', 'xs2'] });
    base = await mkdtemp(join(tmpdir(), 'xsctl-e2e-setup-'));
    await writeFile(join(base, 'lun10.img'), Buffer.alloc(16 * 1024 * 1024));
    const pki = await makeTestPki();
    const controllerTls = await pki.issue({ kind: 'controller', name: 'ctl' });
    const common = { fleet, simDir: join(base, 'drbd-sim'), kernelVersion: '8.3.16', pki, controllerTls, base };
    nodes = [await startStorageNode({ ...common, name: 'xs1', tgtdControlPort: controlPort }), await startStorageNode({ ...common, name: 'xs2', tgtdControlPort: controlPort + 1 })];
    for (const n of nodes) {
      await mkdir(join(n.root, 'etc/lvm'), { recursive: true });
      await mkdir(join(n.root, 'etc/sysconfig'), { recursive: true });
      await mkdir(join(n.root, 'etc/multipath/conf.d'), { recursive: true });
      await writeFile(join(n.root, 'etc/lvm/lvm.conf'), dom0LvmConf);
      await writeFile(join(n.root, 'etc/multipath.conf'), xs7MultipathConf);
      await writeFile(join(n.root, 'etc/xensource-inventory'), "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.0'\n");
      await copyFile(fixture('network/__fixtures__/xenserver-sysconfig-iptables.txt'), join(n.root, 'etc/sysconfig/iptables'));
    }
    // xs1's running firewall is the dom0's; xs2's has no RH-Firewall-1-INPUT chain yet, so the
    // setup stops at xs2's firewall step (an admin's half-configured host).
    await nodes[0]!.host.exec('iptables-restore', [join(nodes[0]!.root, 'etc/sysconfig/iptables')]);
    journal = new Journal(':memory:');
    const pool = { name: 'lab', xapi: { url: 'https://xapi.invalid', user: 'root', password: '', allowUnauthorized: false, allowPlainHttp: false, followMasterRedirect: false }, agentPort: 0 };
    hosts = nodes.map(
      (n, i): ResolvedHost => ({
        pool,
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
      journal,
      metrics: new ControllerMetrics({ defaultMetrics: false }),
      config: { journal: ':memory:', pools: [pool] },
      pool: () => pool,
      poolHosts: async () => hosts,
    } as unknown as ControllerContext;
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes ?? []) {
      await n.client(TargetServiceDefinition).stopTgtd({ instance: undefined, graceMs: 1_000 }).catch(() => undefined);
      await n.close();
    }
    for (const h of hosts ?? []) h.agent.close();
    await fleet?.destroy();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  }, 60_000);

  it('dry run: every step on both hosts in the how-to order, nothing written; create-md needs its own confirmation', { timeout: 120_000 }, async () => {
    const svc = storageSetupService(ctx);
    const plan = StorageSetupServicePlanResponse.fromPartial(await svc.plan({ options: options({ createMd: false }) }, call()));
    expect(plan.steps.map((s) => `${s.step}:${s.host}`)).toEqual([
      'lvm:xs1', 'lvm:xs2', 'multipath-blacklist:xs1', 'multipath-blacklist:xs2', 'firewall:xs1', 'firewall:xs2', 'drbd-conf:xs1', 'drbd-conf:xs2',
      'create-md:xs1', 'create-md:xs2', 'drbd-up:xs1', 'drbd-up:xs2', 'initial-sync:xs2', 'targets-conf:xs1', 'targets-conf:xs2',
      'role-slave:xs2', 'role-master:xs1', 'role-config:xs1', 'role-config:xs2',
    ]);
    expect(plan.steps.find((s) => s.step === 'lvm')?.changes).toBe(true);
    expect(plan.steps.find((s) => s.step === 'multipath-blacklist')?.diff).toContain('+\tdevnode "^drbd[0-9]+"');
    expect(plan.steps.find((s) => s.step === 'drbd-conf')?.detail).toBe('/etc/drbd.conf for DRBD 8.3');
    expect(plan.problems.filter((p) => p.includes('--create-md'))).toHaveLength(2);
    expect(await file(nodes[0]!, 'etc/lvm/lvm.conf')).toBe(dom0LvmConf);
    await expect(run(options({ createMd: false }))).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await expect(svc.start({ options: options(), confirm: false }, call())[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
  });

  it("stops at the first failure (xs2's firewall chain is missing) with each host's state, and a re-run continues where it stopped", async () => {
    const first = await run(options());
    expect(started(first)).toEqual(['hosts', 'lvm:xs1', 'lvm:xs2', 'multipath-blacklist:xs1', 'multipath-blacklist:xs2', 'firewall:xs1', 'firewall:xs2']);
    expect(first.find((e) => e.kind === 'step-failed')).toMatchObject({ step: 'firewall', host: 'xs2', code: 'FIREWALL_CHAIN_NOT_FOUND' });
    expect(first.filter((e) => e.kind === 'host-state').map((e) => e.message)).toEqual([
      'xs1: drbd: no resource up; tgtd stopped; targets none; floating IP not here; role unknown',
      'xs2: drbd: no resource up; tgtd stopped; targets none; floating IP not here; role unknown',
    ]);
    expect(first.at(-1)).toMatchObject({ kind: 'workflow-finished', state: 'failed' });
    const status = StorageSetupServiceStatusResponse.fromPartial(await storageSetupService(ctx).status({ pool: 'lab', workflowId: '' }, call()));
    expect(status.steps.map((s) => `${s.step}:${s.host}=${s.status}`)).toEqual(['hosts:=done', 'lvm:xs1=done', 'lvm:xs2=done', 'multipath-blacklist:xs1=done', 'multipath-blacklist:xs2=done', 'firewall:xs1=done', 'firewall:xs2=failed']);
    // What the finished steps wrote: the how-to's lvm.conf edits, the blacklist, xs1's rules.
    const lvm = await file(nodes[1]!, 'etc/lvm/lvm.conf');
    expect(lvm).toMatch(/write_cache_state = 0/);
    expect(lvm).toContain('r|^/dev/drbd.*|');
    expect(await file(nodes[1]!, 'etc/multipath.conf')).toContain('devnode "^drbd[0-9]+"');
    expect(String((await nodes[0]!.host.exec('iptables', ['-S', 'RH-Firewall-1-INPUT'])).stdout)).toContain(`-A RH-Firewall-1-INPUT -s ${fleet.subnet} -p tcp -m tcp --dport 7789 -j ACCEPT`);

    // The admin fixes xs2's firewall and runs the same command again: the journaled setup continues.
    await nodes[1]!.host.exec('iptables-restore', [join(nodes[1]!.root, 'etc/sysconfig/iptables')]);
    const second = await run(options());
    expect(started(second)).toEqual([
      'firewall:xs2', 'drbd-conf:xs1', 'drbd-conf:xs2', 'create-md:xs1', 'create-md:xs2', 'drbd-up:xs1', 'drbd-up:xs2', 'initial-sync:xs2',
      'targets-conf:xs1', 'targets-conf:xs2', 'role-slave:xs2', 'role-master:xs1', 'role-config:xs1', 'role-config:xs2',
    ]);
    expect(second.at(-1)).toMatchObject({ kind: 'workflow-finished', state: 'done' });
    expect(second.filter((e) => e.kind === 'progress' && e.step === 'initial-sync').at(-1)).toMatchObject({ host: 'xs2', percent: 100 });
    expect(new Set(second.map((e) => e.workflowId))).toEqual(new Set(first.map((e) => e.workflowId)));
    // ~60 drbdadm/tgtadm/iptables calls through the simulator: about a minute on an idle 2-core machine.
  }, 360_000);

  it('leaves the pool as the how-to does: xs1 serves (Primary, target, floating IP), xs2 is a Secondary in sync, files in place', { timeout: 60_000 }, async () => {
    const status = StorageSetupServiceStatusResponse.fromPartial(await storageSetupService(ctx).status({ pool: 'lab', workflowId: '' }, call()));
    expect(status.state).toBe('done');
    expect(status.hosts.map((h) => [h.host, h.status?.apparentRole, h.status?.drbd[0]?.role, h.status?.drbd[0]?.disk, h.status?.drbd[0]?.peerDisk, h.status?.drbd[0]?.connection, h.status?.floatingIpPresent])).toEqual([
      ['xs1', 'master', 'Primary', 'UpToDate', 'UpToDate', 'Connected', true],
      ['xs2', 'slave', 'Secondary', 'UpToDate', 'UpToDate', 'Connected', false],
    ]);
    for (const n of nodes) {
      const drbdConf = await file(n, 'etc/drbd.conf');
      // 8.3 syntax with the how-to's syncer rate, which the 8.3 bring-up loaded (the simulator refuses a connect without it).
      expect(drbdConf).toMatch(/syncer \{[^}]*rate 100M;/);
      expect(await file(n, 'etc/tgt/targets.conf')).toMatch(/scsi_id XSCTL-SETUP[\s\S]*scsi_sn XSSETUP00001/);
      const sysconfig = await file(n, 'etc/sysconfig/iptables');
      expect(sysconfig.indexOf(`-A RH-Firewall-1-INPUT -s ${fleet.subnet} -p tcp -m tcp --dport 3260 -j ACCEPT`)).toBeGreaterThan(0);
      expect(sysconfig.indexOf(`--dport 3260 -j ACCEPT`)).toBeLessThan(sysconfig.indexOf('-j REJECT --reject-with icmp-host-prohibited'));
      const roleConfig = await file(n, 'etc/xsctl/storage.yaml');
      expect(roleConfig).toContain('XSCTL-SETUP');
      expect(roleConfig).not.toContain(chapSecret);
    }
  });

  it('never journals a secret', () => {
    const dump = JSON.stringify(journal.db.prepare('SELECT * FROM workflow').all()) + JSON.stringify(journal.db.prepare('SELECT * FROM step').all()) + JSON.stringify(journal.db.prepare('SELECT * FROM event').all());
    expect(dump).toContain('iscsi1');
    expect(dump).not.toContain(drbdSecret);
    expect(dump).not.toContain(chapSecret);
  });

  it('a dry run after the setup finds nothing left to change', async () => {
    const plan = StorageSetupServicePlanResponse.fromPartial(await storageSetupService(ctx).plan({ options: options() }, call()));
    expect(plan.problems).toEqual([]);
    expect(plan.steps.filter((s) => s.changes).map((s) => `${s.step}:${s.host}: ${s.detail}`)).toEqual([]);
  }, 120_000);
});

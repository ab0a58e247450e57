import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { caCertFile, issueCertificate } from '@xsctl/common/pki/index';
import { makeTestPki, type TestPki } from '@xsctl/common/testing/make-test-pki';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { DrbdServiceDefinition, DrbdSyntax, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageRole, StorageServiceDefinition, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { spawnReady, type ReadyProcess } from '../demo/spawn-ready.js';
import { drbdSimPath } from '../drbd-sim/drbd-sim-runner.js';
import { setHostLive } from '../xapi-sim/methods/failover/failover-methods.js';
import { startXapiSimulator, type XapiSimulator } from '../xapi-sim/start-xapi-simulator.js';
import { setXapiState } from '../xapi-sim/xapi-process.js';
import { startBmcSim, type BmcSim } from './bmc-sim.js';
import { Fleet } from './fleet.js';
import { killNamespaceProcesses } from './kill-namespace.js';
import { ManagementRelay } from './management-relay.js';
import { startStorageNode, type StorageNode } from './storage-node.js';

/**
 * A two-node DRBD + tgtd pool as the controller sees it, end to end:
 *
 *   CLI (process) -> controller (process, its own journal) -> relays on the hosts' XAPI addresses
 *   -> agents (mTLS) -> commands inside the host namespaces (tgtd, arping, ip, drbdadm + simulator)
 *   controller -> XAPI simulator (one listener per host address: a dead host's xapi refuses)
 *   controller -> ipmitool -> ipmi_sim (one BMC per host; power off really takes the host down)
 *   initiator namespace -> iscsi-inq on the floating IP
 *
 * Networks: eth0 management (10.213.N.0/24), eth1 storage/replication (10.214.N.0/24, the floating
 * IP and the DRBD link, as the how-to has them). A powered-off host (the BMC's chassis says 0)
 * loses its cables and processes (bmc-chassis.mjs), its agent and its xapi (this harness).
 */
export interface StorageLabOptions {
  automatic?: boolean;
  /** ipmi (default) or self (quorum: the witness and the self-fence bound). */
  fencing?: 'ipmi' | 'self';
  /** Hosts whose BMC accepts power off and leaves the power on (fencing fails). */
  stuckBmc?: readonly string[];
  detectAfterMs?: number;
  selfFenceAfterMs?: number;
  /** The agents' self-fence tear-down deadline (default 1.5 s: 4 s + 1.5 s < the 6 s failover delay). */
  selfFenceTeardownMs?: number;
  holdDownMs?: number;
  pollIntervalMs?: number;
  couplePoolMaster?: boolean;
  /** The XAPI pool master (default xs1, which also starts as the storage master). */
  xapiMaster?: LabHost;
}

export const LAB_RESOURCE = 'iscsi1';
export const LAB_IDENTITY = { scsiId: 'XSCTL-LAB1', scsiSn: 'XSLAB0000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN' };
const IQN = 'iqn.2013-05.com.example:xsctl.lab';
const CHAP = { user: 'xsinit', password: 'Lab-CHAP-secret-77' };
const HOSTS = ['xs1', 'xs2'] as const;
export type LabHost = (typeof HOSTS)[number];

const require = createRequire(import.meta.url);
const repo = join(require.resolve('@xsctl/test/package.json'), '..', '..');
const controllerBin = join(repo, 'controller', 'dist', 'bin', 'xsctl-controller.js');
const xsctlBin = join(repo, 'cli', 'bin', 'xsctl.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class StorageLab {
  readonly nodes = new Map<LabHost, StorageNode>();
  readonly relays = new Map<LabHost, ManagementRelay>();
  readonly bmcs = new Map<LabHost, BmcSim>();
  readonly addresses: Record<LabHost, string>;
  readonly powered: Record<LabHost, boolean> = { xs1: true, xs2: true };
  controller: ReadyProcess | null = null;
  controllerAddress = '';
  #powerTimer: NodeJS.Timeout | undefined;
  #controllerTls!: TlsMaterial;
  #cliFiles!: { ca: string; cert: string; key: string };
  #agentPort: number;
  #tgtPorts: Record<LabHost, number>;

  private constructor(
    readonly fleet: Fleet,
    readonly base: string,
    readonly pki: TestPki,
    readonly sim: XapiSimulator,
    readonly options: StorageLabOptions,
  ) {
    const rnd = Math.floor(Math.random() * 200) + 20;
    this.addresses = { xs1: `127.${rnd}.9.11`, xs2: `127.${rnd}.9.12` };
    this.#agentPort = 0;
    const tgt = 10_000 + Math.floor(Math.random() * 9_000);
    this.#tgtPorts = { xs1: tgt, xs2: tgt + 1 };
  }

  get lunImage(): string {
    return join(this.base, 'lun10.img');
  }

  get floatingIp(): string {
    return this.fleet.storageAddress(100);
  }

  get controllerLog(): string {
    return join(this.base, 'controller.log');
  }

  node(name: LabHost): StorageNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`${name} is powered off`);
    return n;
  }

  hostRef(name: LabHost): string {
    return this.sim.db.find('host', (h) => h['name_label'] === name)[0]![0];
  }

  spec(name: LabHost): StorageSpec {
    return {
      drbdResources: [LAB_RESOURCE],
      target: {
        tid: 1,
        iqn: IQN,
        luns: [{ lun: 10, backingStore: this.lunImage, bsType: 'rdwr', ...LAB_IDENTITY }],
        initiatorAddresses: [this.fleet.storageSubnet ?? ''],
        initiatorNames: [],
        incomingUser: CHAP,
      },
      floatingIp: { address: this.floatingIp, prefixLength: 24, interface: 'eth1', garpCount: 2 },
      tgtd: { controlPort: this.#tgtPorts[name] },
      peerSafety: undefined,
      stopGraceMs: 3_000,
    };
  }

  static async start(options: StorageLabOptions = {}): Promise<StorageLab> {
    const fleet = await Fleet.create({ hosts: ['xs1', 'xs2', 'ini'], storageNetwork: true });
    let lab: StorageLab | undefined;
    try {
      const base = await mkdtemp(join(tmpdir(), 'xsctl-lab-'));
      const pki = await makeTestPki();
      const rnd = Math.floor(Math.random() * 200) + 20;
      const addresses = { xs1: `127.${rnd}.9.11`, xs2: `127.${rnd}.9.12` };
      const sim = await startXapiSimulator({
        source: {
          description: {
            pool: { name: 'hc-lab', master: options.xapiMaster ?? 'xs1' },
            hosts: HOSTS.map((name) => ({ name, address: addresses[name], version: '8.2.1', brand: 'XCP-ng' })),
            srs: [{ name: 'drbd-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
            vms: [
              { name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
              { name: 'db-1', memoryGiB: 1, vcpus: 1, host: 'xs2', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
            ],
          },
        },
        hostListeners: true,
      });
      lab = new StorageLab(fleet, base, pki, sim, options);
      (lab as { addresses: Record<LabHost, string> }).addresses = addresses;
      await lab.#init();
      return lab;
    } catch (err) {
      await (lab?.close() ?? fleet.destroy());
      throw err;
    }
  }

  async #init(): Promise<void> {
    await writeFile(this.lunImage, Buffer.alloc(16 * 1024 * 1024));
    this.#controllerTls = await this.pki.issue({ kind: 'controller', name: 'xsctl-controller', ipAddresses: ['127.0.0.1'] });
    const ctl = await issueCertificate(this.pki.dir, { kind: 'controller', name: 'lab-controller', ipAddresses: ['127.0.0.1'] });
    const cli = await issueCertificate(this.pki.dir, { kind: 'cli', name: 'alice', role: 'operator' });
    this.#cliFiles = { ca: caCertFile(this.pki.dir), cert: cli.cert, key: cli.key };
    this.#ctlFiles = { ca: caCertFile(this.pki.dir), cert: ctl.cert, key: ctl.key };
    this.#agentPort = 20_000 + Math.floor(Math.random() * 20_000);
    for (const name of HOSTS) {
      const node = await this.#startNode(name, false);
      this.relays.set(name, await ManagementRelay.start(node.agent.port, { host: this.addresses[name], port: this.#agentPort }));
    }
    for (const name of HOSTS) {
      const node = this.node(name);
      const host = this.fleet.host(name);
      const bmc = await startBmcSim({
        dir: join(this.base, `bmc-${name}`),
        name,
        stuck: this.options.stuckBmc?.includes(name) === true,
        host: {
          ns: host.ns,
          switchNs: this.fleet.switchNs,
          ports: this.fleet.portsOf(name),
          keep: { eth0: host.address, eth1: host.storageAddress ?? '' },
          sim: { script: drbdSimPath(), env: node.drbdSimEnv },
        },
      });
      this.bmcs.set(name, bmc);
    }
    this.#powerTimer = setInterval(() => void this.#followPower(), 100);
    await this.#setUpDrbd();
  }

  #ctlFiles!: { ca: string; cert: string; key: string };
  readonly #issued = new Map<string, Promise<TlsMaterial>>();
  /** A host keeps its certificate across boots (the CA refuses a second one of the same name). */
  readonly #oncePki: TestPki = {
    dir: '',
    issue: (o) => {
      let t = this.#issued.get(o.name);
      if (t === undefined) {
        t = this.pki.issue(o);
        this.#issued.set(o.name, t);
      }
      return t;
    },
  };

  async #startNode(name: LabHost, boot: boolean): Promise<StorageNode> {
    const simEnv = {
      XSCTL_DRBD_SIM_NETWORK: '1',
      // No ping-int/ping-timeout here: the simulator takes them from the drbd.conf the agent
      // writes (drbdsetup's --ping-int/--ping-timeout, render-drbd-conf.ts from
      // common/src/drbd/drbd-net-timers.ts) and otherwise runs DRBD's defaults (10 s, 500 ms), as
      // the kernel would. So the lab and the bench measure the net section `xsctl storage setup`
      // ships, and a product that stopped writing it would fail over late here too.
    };
    const node = await startStorageNode({ fleet: this.fleet, name, simDir: join(this.base, 'drbd-sim'), kernelVersion: '8.4.11', pki: this.#oncePki, controllerTls: this.#controllerTls, base: this.base, simEnv, tgtdControlPort: this.#tgtPorts[name], boot });
    this.nodes.set(name, node);
    return node;
  }

  /** A BMC's chassis went off: the host's xapi and agent go with it; on again: a boot. */
  async #followPower(): Promise<void> {
    for (const name of HOSTS) {
      const bmc = this.bmcs.get(name);
      if (bmc === undefined) continue;
      const on = (await readFile(bmc.stateFile, 'utf8').catch(() => '1')).trim() !== '0';
      if (on === this.powered[name]) continue;
      this.powered[name] = on;
      if (!on) await this.#hostDown(name);
    }
  }

  async #hostDown(name: LabHost): Promise<void> {
    this.relays.get(name)?.cut();
    const node = this.nodes.get(name);
    this.nodes.delete(name);
    // The chassis off takes the host's xapi down at the same instant as its agent (stopping the
    // agent below is the harness's bookkeeping, up to 5 s behind a cut relay). Its
    // host_metrics.live stays true, as on a real pool, until the simulator's heartbeat timeout
    // (xapi's host_assumed_dead_interval, host-heartbeat.ts): a failover's recovery must not
    // depend on the flag (issue 11; xapi's is_host_alive asks the host, and it does not answer).
    setXapiState(this.sim.db, this.hostRef(name), 'down');
    // A dead host's agent just stops; do not wait on calls the cut relay holds open.
    await stopAgent(node);
  }

  /** The whole host is lost at once, without its BMC (cables, processes, agent, xapi). */
  async loseHost(name: LabHost, cablesCut?: () => void): Promise<void> {
    for (const iface of ['eth0', 'eth1'] as const) {
      await this.fleet.cutLink(name, iface);
      // The relay is the management link's path to the agent (the agents run in this process):
      // it goes with eth0, not after the kills and the DRBD crash below. Cut later, as before,
      // the dead host's agent went on answering the witness for 0.5-1.5 s after its death (the
      // `ip netns pids` and `drbd-sim --crash` spawns on a loaded machine), and every failover's
      // detection was measured that much late.
      if (iface === 'eth0') this.relays.get(name)?.cut();
    }
    cablesCut?.();
    await killNamespaceProcesses(this.fleet.host(name).ns);
    // The kernel goes with the host: the DRBD simulator forgets the node's state without a `down`.
    const simEnv = this.nodes.get(name)?.drbdSimEnv;
    if (simEnv !== undefined) await execa(process.execPath, [drbdSimPath(), '--crash'], { env: { ...process.env, ...simEnv }, reject: false });
    this.powered[name] = false;
    await this.#hostDown(name);
  }

  /** Power on (the BMC) and boot: cables back, xapi up, the agent starts on the same disk. */
  async bootHost(name: LabHost): Promise<StorageNode> {
    const bmc = this.bmcs.get(name)!;
    await writeFile(bmc.stateFile, '1');
    this.powered[name] = true;
    for (const iface of ['eth0', 'eth1'] as const) await this.fleet.restoreLink(name, iface);
    const node = await this.#startNode(name, true);
    const relay = this.relays.get(name)!;
    relay.retarget(node.agent.port);
    relay.restore();
    setXapiState(this.sim.db, this.hostRef(name), 'up');
    setHostLive(this.sim.db, this.hostRef(name), true);
    return node;
  }

  /** Only the agent dies (the host, tgtd, DRBD and its xapi stay). */
  async killAgent(name: LabHost): Promise<void> {
    const node = this.nodes.get(name);
    this.nodes.delete(name);
    await stopAgent(node);
  }

  async restartAgent(name: LabHost): Promise<StorageNode> {
    const node = await this.#startNode(name, true);
    this.relays.get(name)!.retarget(node.agent.port);
    this.relays.get(name)!.restore();
    return node;
  }

  drbdSpec(): DrbdResourceSpec {
    return {
      name: LAB_RESOURCE,
      minor: 1,
      nodes: HOSTS.map((n) => ({ hostname: n, disk: this.node(n).backingDisk, address: this.fleet.host(n).storageAddress ?? '', port: 7789 })),
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
  }

  async drbdState(name: LabHost) {
    return (await this.node(name).client(DrbdServiceDefinition).getDrbdStatus({ resource: LAB_RESOURCE })).resources[0];
  }

  /** The simulator's own record of a node's resource (what the "kernel" holds), read directly. */
  async kernelState(name: LabHost): Promise<{ role: string; disk: string } | null> {
    try {
      const dir = join(this.base, 'drbd-sim', name);
      const r = JSON.parse(await readFile(join(dir, `res-${LAB_RESOURCE}.json`), 'utf8')) as Record<string, unknown>;
      if (r['configured'] !== true) return { role: 'Unconfigured', disk: 'Diskless' };
      const md = JSON.parse(await readFile(join(dir, 'md-1.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
      return { role: String(r['role']), disk: r['attached'] === true ? String(md['disk'] ?? '') : 'Diskless' };
    } catch {
      return null;
    }
  }

  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const start = performance.now();
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** drbd.conf, metadata, up on both; the initial sync from xs1; xs1 serves. */
  async #setUpDrbd(): Promise<void> {
    for (const n of HOSTS) {
      const drbd = this.node(n).client(DrbdServiceDefinition);
      await drbd.writeDrbdConfig({ resources: [this.drbdSpec()], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true });
      await drbd.createDrbdMetadata({ resource: LAB_RESOURCE, confirm: true, wipe: false });
      await drbd.attachDrbd({ resource: LAB_RESOURCE });
    }
    await this.until('both Connected', async () => ((await this.drbdState('xs1'))?.connection === 'Connected' && (await this.drbdState('xs2'))?.connection === 'Connected' ? true : undefined), 20_000);
    await this.node('xs1').client(DrbdServiceDefinition).startDrbdInitialSync({ resource: LAB_RESOURCE, confirm: true });
    const r = await this.node('xs1').client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: this.spec('xs1'), dryRun: false });
    if (!r.ok) throw new Error(`xs1 did not become master: ${r.failedStep}`);
  }

  controllerConfig(): Record<string, unknown> {
    const o = this.options;
    const secrets = join(this.base, 'secrets');
    return {
      listen: '127.0.0.1:0',
      tls: this.#ctlFiles,
      journal: join(this.base, 'journal.sqlite'),
      logLevel: 'debug',
      watch: { xapiEvents: false, agentProbeSeconds: 0 },
      pools: [
        {
          name: 'lab',
          // The simulator speaks plain HTTP; couplePoolMaster moves the master (HOST_IS_SLAVE redirects).
          xapi: { url: `http://${this.addresses.xs1}:${this.sim.port}`, user: 'root', passwordFile: join(secrets, 'xapi.pw'), allowPlainHttp: true, followMasterRedirect: true },
          agentPort: this.#agentPort,
          storage: {
            // Self-fencing has no power proof, so rule 2's other half, quorum, must be provable by
            // the survivor: a heuristic address on its management link (as HA-Lizard's is the
            // gateway), here the initiator's. Without one the agent's promotion guard refuses every
            // failover (DRBD_PEER_UNVERIFIED: neither fenced nor outvoted by a witness).
            spec: { ...configSpec(this.spec('xs1'), join(secrets, 'chap.pw')), ...((o.fencing ?? 'ipmi') === 'self' ? { peerSafety: { witnessAddress: this.fleet.host('ini').address, witnessInterface: 'eth0' } } : {}) },
            hosts: Object.fromEntries(
              HOSTS.map((n) => [n, { replicationAddress: this.fleet.host(n).storageAddress, replicationInterface: 'eth1', managementInterface: 'eth0', tgtdControlPort: this.#tgtPorts[n] }]),
            ),
            couplePoolMaster: o.couplePoolMaster ?? true,
            failover: {
              automatic: o.automatic ?? true,
              detectAfterMs: o.detectAfterMs ?? 6_000,
              selfFenceAfterMs: o.selfFenceAfterMs ?? 4_000,
              selfFenceTeardownMs: o.selfFenceTeardownMs ?? 1_500,
              holdDownMs: o.holdDownMs ?? 30_000,
              pollIntervalMs: o.pollIntervalMs ?? 500,
            },
            fencing:
              (o.fencing ?? 'ipmi') === 'ipmi'
                ? { method: 'ipmi', hosts: Object.fromEntries(HOSTS.map((n) => [n, { address: '127.0.0.1', port: this.bmcs.get(n)!.port, user: 'fence', passwordFile: this.bmcs.get(n)!.passwordFile, cipherSuite: 3 }])) }
                : { method: 'self' },
            initiatorProbe: { via: ['ip', 'netns', 'exec', this.fleet.host('ini').ns], timeoutMs: 20_000 },
          },
        },
      ],
    };
  }

  /** Writes controller.yaml and its secrets; returns the file (an in-process controller context reads it too). */
  async writeControllerConfig(): Promise<string> {
    const secrets = join(this.base, 'secrets');
    await mkdir(secrets, { recursive: true });
    await writeFile(join(secrets, 'xapi.pw'), 'xsctl-sim\n', { mode: 0o600 });
    await writeFile(join(secrets, 'chap.pw'), `${CHAP.password}\n`, { mode: 0o600 });
    const file = join(this.base, 'controller.yaml');
    await writeFile(file, stringify(this.controllerConfig()), { mode: 0o600 });
    return file;
  }

  /** The controller's certificate files (for an in-process controller context). */
  get controllerTlsFiles(): { ca: string; cert: string; key: string } {
    return this.#ctlFiles;
  }

  async startController(env: Record<string, string> = {}): Promise<void> {
    const file = await this.writeControllerConfig();
    this.controller = await spawnReady(controllerBin, ['--config', file], { logFile: this.controllerLog, env: { PATH: process.env['PATH'] ?? '', ...env }, timeoutMs: 30_000 });
    this.controllerAddress = `127.0.0.1:${String(this.controller.ready['port'])}`;
  }

  /** SIGKILL: no shutdown, the journal is what survives. */
  async killController(): Promise<void> {
    const c = this.controller;
    this.controller = null;
    if (c === null) return;
    c.child.kill('SIGKILL');
    await c.child.catch(() => undefined);
  }

  async stopController(): Promise<void> {
    const c = this.controller;
    this.controller = null;
    await c?.stop();
  }

  /** The CLI as an admin runs it. */
  async xsctl(args: readonly string[], timeoutMs = 600_000): Promise<CliResult> {
    const r = await execa(process.execPath, [xsctlBin, '--controller', this.controllerAddress, '--ca', this.#cliFiles.ca, '--cert', this.#cliFiles.cert, '--key', this.#cliFiles.key, ...args], { reject: false, timeout: timeoutMs, env: { XSCTL_CONFIG: '/nonexistent', NO_COLOR: '1' } });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** What the initiator sees on the floating IP (standard INQUIRY and VPD 0x80), or null. */
  async inquiry(timeoutMs = 3_000): Promise<{ vendor: string; product: string; serial: string } | null> {
    const ini = this.fleet.host('ini');
    const url = `iscsi://${CHAP.user}%${CHAP.password}@${this.floatingIp}/${IQN}/10`;
    const std = await ini.exec('iscsi-inq', [url], { reject: false, timeout: timeoutMs });
    if (std.exitCode !== 0) return null;
    const sn = await ini.exec('iscsi-inq', ['-e', '1', '-c', '128', url], { reject: false, timeout: timeoutMs });
    if (sn.exitCode !== 0) return null;
    return {
      vendor: /^Vendor:(.*)$/m.exec(String(std.stdout))?.[1]?.trim() ?? '',
      product: /^Product:(.*)$/m.exec(String(std.stdout))?.[1]?.trim() ?? '',
      serial: /Unit Serial Number:\[\s*(.*?)\]/.exec(String(sn.stdout))?.[1] ?? '',
    };
  }

  /** Whether the LUN answers a standard INQUIRY on the floating IP now (a fresh login, as a host's rescan does). */
  async answers(timeoutMs = 3_000): Promise<boolean> {
    const url = `iscsi://${CHAP.user}%${CHAP.password}@${this.floatingIp}/${IQN}/10`;
    const r = await this.fleet.host('ini').exec('iscsi-inq', [url], { reject: false, timeout: timeoutMs });
    return r.exitCode === 0 && /^Vendor:/m.test(String(r.stdout));
  }

  /** Who holds the floating IP now, as `ip addr` in each host namespace says. */
  async ipHolders(): Promise<LabHost[]> {
    const out: LabHost[] = [];
    for (const n of HOSTS) {
      const r = await execa('ip', ['-n', this.fleet.host(n).ns, '-o', '-4', 'addr', 'show', 'dev', 'eth1'], { reject: false });
      if (String(r.stdout).includes(`inet ${this.floatingIp}/`)) out.push(n);
    }
    return out;
  }

  /**
   * Tears everything down; each part bounded in time, so one stuck part (a tgtd that does not
   * answer, a relay with a session open) never leaves namespaces and daemons behind.
   */
  async close(): Promise<void> {
    clearInterval(this.#powerTimer);
    const bounded = (p: Promise<unknown> | undefined, ms = 5_000) => Promise.race([Promise.resolve(p).catch(() => undefined), new Promise((r) => setTimeout(r, ms))]);
    await bounded(this.killController());
    for (const n of HOSTS) {
      await bounded(stopAgent(this.nodes.get(n)), 8_000);
      await bounded(this.relays.get(n)?.close());
      await bounded(this.bmcs.get(n)?.close());
    }
    await bounded(this.sim.close());
    // Kills what still runs in the namespaces (tgtd, DRBD link processes) and deletes them.
    await bounded(this.fleet.destroy(), 30_000);
    // XSCTL_LAB_KEEP=1 keeps the logs and journal for a look after a failure.
    if (process.env['XSCTL_LAB_KEEP'] === '1') return;
    await rm(this.base, { recursive: true, force: true }).catch(() => undefined);
    await rm(this.pki.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Closes an agent, bounded: a server shutdown can wait on sessions a cut link keeps half open. */
async function stopAgent(node: StorageNode | undefined): Promise<void> {
  if (node === undefined) return;
  await Promise.race([node.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
}

/** The spec as the controller config's YAML has it: no per-host tgtd port, the CHAP secret in a file. */
function configSpec(spec: StorageSpec, chapFile: string): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  delete json['tgtd'];
  const target = json['target'] as Record<string, unknown>;
  target['incomingUser'] = { user: CHAP.user, passwordFile: chapFile };
  return json;
}

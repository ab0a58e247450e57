import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { initCa, issueCertificate, type IssuedFiles } from '@xsctl/common/pki/index';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { makeHostRoot } from './make-host-root.js';
import { spawnReady, spawnReadyExecutable, type ReadyProcess } from './spawn-ready.js';

const require = createRequire(import.meta.url);
const bin = (pkg: string, file: string) => join(require.resolve(`${pkg}/package.json`), '..', 'dist', 'bin', file);

export interface SimulatedHost {
  nameLabel: string;
  hostname: string;
  address: string;
  root: string;
  isMaster: boolean;
}

export interface SimulatedPool {
  dir: string;
  poolName: string;
  xapiUrl: string;
  controllerAddress: string;
  httpAddress: string | null;
  /** The controller's process id (e.g. to read which native modules it loaded). */
  controllerPid: number;
  hosts: SimulatedHost[];
  /** Environment for `xsctl` as an operator, and as a viewer. */
  operatorEnv: Record<string, string>;
  viewerEnv: Record<string, string>;
  pkiDir: string;
  stopAgent(hostname: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  dir: string;
  poolName?: string;
  /** `--pool` description (YAML/JSON) or `--dump` XML for the simulator. */
  source: { pool: string } | { dump: string };
  agentPort?: number;
  /** Hosts (by hostname) whose agent is not started, to show an unreachable agent. */
  withoutAgents?: string[];
  http?: boolean;
  /**
   * Adds to a host's sandbox root after the standard files are laid out and before its agent
   * starts (e.g. multipath.conf, sysfs trees). Called for every host, with or without an agent.
   */
  prepareRoot?: (hostname: string, rootDir: string) => Promise<void> | void;
  /** Runs this controller program (e.g. a package's installed bundle) instead of the dev build. */
  controllerScript?: string;
  /** The Node binary that runs the controller script (default: the one running this code). */
  controllerRuntime?: string;
}

const password = 'demo-password';

/**
 * A whole simulated pool on this machine without root: a XAPI simulator, one agent per host
 * (each on its own loopback address with its own sandbox root), and the controller, all over mTLS.
 */
export async function startSimulatedPool(options: StartOptions): Promise<SimulatedPool> {
  const dir = options.dir;
  const pkiDir = join(dir, 'pki');
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { recursive: true });
  const started: ReadyProcess[] = [];
  const agentsByHost = new Map<string, ReadyProcess>();
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => undefined);
  };
  try {
    await initCa(pkiDir, { name: 'xsctl demo CA' });
    await writeFile(join(dir, 'xapi-password'), `${password}\n`, { mode: 0o600 });

    const sim = await spawnReady(
      bin('@xsctl/test', 'xsctl-xapi-sim.js'),
      ['pool' in options.source ? '--pool' : '--dump', 'pool' in options.source ? options.source.pool : options.source.dump, '--user', 'root', '--password-file', join(dir, 'xapi-password')],
      { logFile: join(logDir, 'xapi-sim.log') },
    );
    started.push(sim);
    const xapiUrl = String(sim.ready['url']);

    const xapi = await XapiClient.connect({ url: xapiUrl, user: 'root', password, readOnly: true, allowPlainHttp: true });
    const [hostRecords, pools] = await Promise.all([xapi.getAllRecords('host'), xapi.getAllRecords('pool')]);
    await xapi.close();
    const master = [...pools.values()][0]?.master;
    const masterAddress = [...hostRecords].find(([ref]) => ref === master)?.[1].address ?? '';

    const agentPort = options.agentPort ?? 17443;
    const hosts: SimulatedHost[] = [];
    for (const [ref, h] of hostRecords) {
      const root = join(dir, 'hosts', h.hostname, 'root');
      await makeHostRoot(root, {
        hostname: h.hostname,
        productBrand: h.software_version['product_brand'] ?? 'XenServer',
        productVersion: h.software_version['product_version'] ?? '',
        buildNumber: h.software_version['build_number'] ?? '',
        installationUuid: h.uuid,
        controlDomainUuid: String(h.control_domain ?? ''),
        poolConf: ref === master ? 'master' : { slaveOf: masterAddress },
        uptimeSeconds: 3600 * (hosts.length + 2) + 17,
      });
      await options.prepareRoot?.(h.hostname, root);
      hosts.push({ nameLabel: h.name_label, hostname: h.hostname, address: h.address, root, isMaster: ref === master });
      if (options.withoutAgents?.includes(h.hostname)) continue;
      const tls = await issueCertificate(pkiDir, { kind: 'agent', name: h.hostname, ipAddresses: [h.address] });
      const agentArgs = ['serve', '--listen', `${h.address}:${agentPort}`, '--root', root, '--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key];
      const agentLog = { logFile: join(logDir, `agent-${h.hostname}.log`) };
      // XSCTL_E2E_AGENT_BIN: run the packaged agent (e.g. the RPM's /usr/bin/xsctl-agent) instead of the dev build.
      const packaged = process.env['XSCTL_E2E_AGENT_BIN'];
      const agent =
        packaged === undefined || packaged === ''
          ? await spawnReady(bin('@xsctl/agent', 'xsctl-agent.js'), agentArgs, agentLog)
          : await spawnReadyExecutable(packaged, agentArgs, { ...agentLog, timeoutMs: 60_000 });
      started.push(agent);
      agentsByHost.set(h.hostname, agent);
    }

    const ctlTls = await issueCertificate(pkiDir, { kind: 'controller', name: 'xsctl-controller', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const poolName = options.poolName ?? 'demo';
    const configFile = join(dir, 'controller.yaml');
    await writeFile(
      configFile,
      JSON.stringify(
        {
          listen: '127.0.0.1:0',
          ...(options.http === true ? { http: { listen: '127.0.0.1:0' } } : {}),
          tls: { ca: ctlTls.ca, cert: ctlTls.cert, key: ctlTls.key },
          journal: join(dir, 'journal.sqlite'),
          // The upgrade tests and the demo run the simulator's `simulated` action.
          testing: { simulatedUpgrade: true },
          pools: [{ name: poolName, xapi: { url: xapiUrl, user: 'root', passwordFile: join(dir, 'xapi-password'), allowPlainHttp: true }, agentPort }],
        },
        null,
        2,
      ),
    );
    const controllerScript = options.controllerScript ?? bin('@xsctl/controller', 'xsctl-controller.js');
    const controllerLog = { logFile: join(logDir, 'controller.log') };
    const controller =
      options.controllerRuntime === undefined
        ? await spawnReady(controllerScript, ['--config', configFile], controllerLog)
        : await spawnReadyExecutable(options.controllerRuntime, [controllerScript, '--config', configFile], controllerLog, controllerScript);
    started.push(controller);
    const controllerAddress = `127.0.0.1:${String(controller.ready['port'])}`;

    const cliEnv = (files: IssuedFiles) => ({ XSCTL_CONTROLLER: controllerAddress, XSCTL_SERVER_NAME: 'xsctl-controller', XSCTL_CA: files.ca, XSCTL_CERT: files.cert, XSCTL_KEY: files.key, XSCTL_CONFIG: join(dir, 'no-cli-config.yaml') });
    const operatorEnv = cliEnv(await issueCertificate(pkiDir, { kind: 'cli', name: 'demo-operator', role: 'operator' }));
    const viewerEnv = cliEnv(await issueCertificate(pkiDir, { kind: 'cli', name: 'demo-viewer', role: 'viewer' }));

    return {
      dir,
      poolName,
      xapiUrl,
      controllerAddress,
      httpAddress: typeof controller.ready['http'] === 'string' ? controller.ready['http'] : null,
      controllerPid: controller.child.pid ?? 0,
      hosts,
      operatorEnv,
      viewerEnv,
      pkiDir,
      async stopAgent(hostname) {
        await agentsByHost.get(hostname)?.stop();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { credentials, type ChannelCredentials, type Client } from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { initCa, issueCertificate, loadTlsMaterial, type TlsMaterial } from '@xsctl/common/pki/index';
import { startAgentServer, type RunningAgentServer } from '@xsctl/agent/server/create-agent-server';
import { SandboxRoot } from '@xsctl/agent/fs/sandbox-root';
import { loadControllerConfig } from '@xsctl/controller/config/inventory';
import { Journal } from '@xsctl/controller/journal/journal';
import { createControllerContext } from '@xsctl/controller/server/create-controller-context';
import { startControllerServer, type RunningControllerServer } from '@xsctl/controller/server/create-controller-server';
import { startXapiSimulator, type XapiSimulator } from '../xapi-sim/start-xapi-simulator.js';
import { demoPoolFile } from '../xapi-sim/fixture-paths.js';
import { rawClient } from './raw-call.js';
import { fakeHost, RecordingRunner } from './recording-runner.js';
import { ResettableSandbox, stateDir } from './sandbox-tree.js';

/** Error-level log lines of the targets: "unhandled error" from the error middleware is an untyped failure. */
export class LogTap {
  readonly lines: { msg: string; err?: unknown; method?: string }[] = [];
  readonly logger: Logger;
  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          try {
            this.lines.push(JSON.parse(line) as { msg: string });
          } catch {
            this.lines.push({ msg: line });
          }
        }
        cb();
      },
    });
    this.logger = pino({ level: 'error' }, stream);
  }
}

export interface FuzzAgent {
  name: string;
  sandbox: ResettableSandbox;
  runner: RecordingRunner;
  server: RunningAgentServer;
  client: Client;
}

export interface FuzzPki {
  ca: string;
  controller: TlsMaterial;
  controllerFiles: { ca: string; cert: string; key: string };
  operator: TlsMaterial;
  dir: string;
}

export async function makeFuzzPki(dir: string): Promise<FuzzPki> {
  const pki = join(dir, 'pki');
  await initCa(pki);
  const controllerFiles = await issueCertificate(pki, { kind: 'controller', name: 'xsctl-controller', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  return {
    ca: controllerFiles.ca,
    controller: await loadTlsMaterial(controllerFiles),
    controllerFiles,
    operator: await loadTlsMaterial(await issueCertificate(pki, { kind: 'cli', name: 'fuzz-operator', role: 'operator' })),
    dir: pki,
  };
}

const presenting = (ca: Buffer, who: TlsMaterial): ChannelCredentials => credentials.createSsl(ca, who.key, who.cert);

/** An in-process agent on its own sandbox, every command a recording stub, called as the controller. */
export async function startFuzzAgent(dir: string, pki: FuzzPki, name: string, options: { traps: boolean; listen: string; address: string; logger: Logger }): Promise<FuzzAgent> {
  const sandbox = await ResettableSandbox.create(dir, name, options.traps);
  const runner = new RecordingRunner(options.logger, fakeHost());
  const tls = await loadTlsMaterial(await issueCertificate(pki.dir, { kind: 'agent', name, ipAddresses: [options.address] }));
  const server = await startAgentServer({ ctx: { root: new SandboxRoot(sandbox.root), runner, logger: options.logger, stateDir }, tls, listen: options.listen, logger: options.logger });
  const client = rawClient(`${options.address}:${server.port}`, presenting(pki.controller.ca, pki.controller), name);
  return { name, sandbox, runner, server, client };
}

export interface FuzzController {
  sim: XapiSimulator;
  agents: FuzzAgent[];
  server: RunningControllerServer;
  client: Client;
  close(): Promise<void>;
}

/**
 * The controller with the XAPI simulator (the demo pool: three hosts on 127.0.0.11-13) and one
 * fuzz agent per host on the host's address, so the controller's fan-out reaches recording stubs
 * on sandboxes (xs-demo-2's sandbox is the trapped one). Two of the hosts are the storage pair.
 */
export async function startFuzzController(dir: string, pki: FuzzPki, logger: Logger): Promise<FuzzController> {
  const sim = await startXapiSimulator({ source: { descriptionFile: demoPoolFile }, credentials: { user: 'root', password: 'fuzz-password' } });
  const hosts = [
    ['xs-demo-1', '127.0.0.11', false],
    ['xs-demo-2', '127.0.0.12', true],
    ['xs-demo-3', '127.0.0.13', false],
  ] as const;
  // One port for all three (the pool config has one agentPort): the first agent picks it.
  const agents: FuzzAgent[] = [];
  let port = 0;
  for (const [name, address, traps] of hosts) {
    const a = await startFuzzAgent(dir, pki, name, { traps, listen: `${address}:${port}`, address, logger });
    port = a.server.port;
    agents.push(a);
  }
  await writeFile(join(dir, 'xapi-password'), 'fuzz-password\n', { mode: 0o600 });
  await writeFile(join(dir, 'chap.pw'), 'S3cretChapPass\n', { mode: 0o600 });
  const configFile = join(dir, 'controller.yaml');
  const pkiFiles = { ca: pki.controllerFiles.ca, cert: pki.controllerFiles.cert, key: pki.controllerFiles.key };
  await writeFile(
    configFile,
    JSON.stringify({
      listen: '127.0.0.1:0',
      tls: pkiFiles,
      // A file, not ':memory:': metadata backups go beside the journal (prechecks/metadata-backup.ts), here into the campaign's directory.
      journal: join(dir, 'journal.sqlite'),
      logLevel: 'error',
      watch: { xapiEvents: false, agentProbeSeconds: 0 },
      // The fuzzer is one operator sending thousands of calls: the per-identity budget is not under test here.
      limits: { viewer: { callsPerMinute: 100000, concurrent: 64, streams: 64 }, operator: { callsPerMinute: 100000, concurrent: 64, streams: 64 } },
      pools: [
        {
          name: 'demo',
          xapi: { url: sim.url, user: 'root', passwordFile: join(dir, 'xapi-password'), allowPlainHttp: true },
          agentPort: port,
          storage: {
            spec: {
              drbdResources: ['iscsi1'],
              target: { tid: 1, iqn: 'iqn.2026-12.com.example:storage.lun1', luns: [{ lun: 10, backingStore: '/dev/drbd1' }], incomingUser: { user: 'xsinit', passwordFile: join(dir, 'chap.pw') } },
              floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1' },
              // fencing: self (the default) needs a quorum witness (rule 2), refused at load without one.
              peerSafety: { witnessAddress: '10.10.10.254', witnessInterface: 'xenbr0' },
            },
            hosts: {
              'xs-demo-1': { replicationAddress: '10.10.10.1', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
              'xs-demo-2': { replicationAddress: '10.10.10.2', replicationInterface: 'xapi1', managementInterface: 'xenbr0' },
            },
          },
        },
      ],
    }),
  );
  const config = await loadControllerConfig(configFile);
  const tls = pki.controller;
  const ctx = createControllerContext({ configFile, config, tls, journal: new Journal(config.journal), logger });
  const server = await startControllerServer({ ctx, tls, listen: '127.0.0.1:0', logger });
  const client = rawClient(`127.0.0.1:${server.port}`, presenting(pki.operator.ca, pki.operator), 'xsctl-controller');
  return {
    sim,
    agents,
    server,
    client,
    async close() {
      client.close();
      await server.shutdown(200);
      ctx.close();
      for (const a of agents) {
        a.client.close();
        await a.server.shutdown(200);
      }
      await sim.close();
    },
  };
}

import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createChannel, createClient, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { createLogger } from '@xsctl/common/log/create-logger';
import { mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { TestPki } from '@xsctl/common/testing/make-test-pki';
import { CommandRunner } from '@xsctl/agent/exec/command-runner';
import { SandboxRoot } from '@xsctl/agent/fs/sandbox-root';
import type { AgentContext } from '@xsctl/agent/server/agent-context';
import { startAgentServer, type RunningAgentServer } from '@xsctl/agent/server/create-agent-server';
import { drbdSimRunnerOptions } from '../drbd-sim/drbd-sim-runner.js';
import type { Fleet, FleetHost } from './fleet.js';

/**
 * A storage node of a two-node pool: a fleet host (network namespace) with its own agent, served
 * over mTLS on loopback. The agent's files live under `root`; DRBD is the simulator (the kernel
 * module cannot load here), everything else (tgtd, arping, ip) is real and runs in the namespace.
 */
export interface StorageNode {
  name: string;
  host: FleetHost;
  root: string;
  ctx: AgentContext;
  /** The same programs without the tool-option table: a test's own calls the agent never makes (a reboot's `drbdadm down`). */
  inspector: CommandRunner;
  agent: RunningAgentServer;
  /** Debug-level agent log, for checks that secrets never reach it. */
  logFile: string;
  /** The backing disk DRBD sits on, as the agent sees it (under root). */
  backingDisk: string;
  client<S extends CompatServiceDefinition>(definition: S): Client<S>;
  close(): Promise<void>;
}

export interface StorageNodeOptions {
  fleet: Fleet;
  name: string;
  /** Shared by the nodes of one pool. */
  simDir: string;
  kernelVersion: string;
  pki: TestPki;
  controllerTls: TlsMaterial;
  base: string;
  /**
   * tgtd's control socket is a file (/var/run/tgtd/socket.N), shared by every namespace: each lab
   * host gets its own port, so `tgtadm` without -C (port 0, as on a real host) reaches its own tgtd.
   */
  tgtdControlPort?: number;
  /** Extra environment for the DRBD simulator (network mode, ping timers). */
  simEnv?: Record<string, string>;
}

export async function startStorageNode(o: StorageNodeOptions): Promise<StorageNode> {
  const host = o.fleet.host(o.name);
  const root = join(o.base, o.name);
  const backingDisk = '/dev/xsvg/drbd1';
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'var/log'), { recursive: true });
  await mkdir(join(root, 'var/lib/xsctl-agent'), { recursive: true });
  await mkdir(join(root, 'dev/xsvg'), { recursive: true });
  await writeFile(join(root, backingDisk), Buffer.alloc(8 * 1024 * 1024));
  // A freshly installed drbd-utils ships a drbd.conf; drbdadm refuses to run without one.
  await writeFile(join(root, 'etc/drbd.conf'), '# drbd-utils default: no resources yet\nglobal { usage-count no; }\n');
  const logFile = join(root, 'agent.log');
  const fh = await open(logFile, 'a');
  const logger = createLogger(`agent-${o.name}`, { level: 'debug', destination: fh.fd });
  const base = drbdSimRunnerOptions({ node: o.name, kernelVersion: o.kernelVersion, root, simDir: o.simDir });
  const sim = { ...base, env: { ...base.env, ...o.simEnv } };
  const tgtPort = o.tgtdControlPort === undefined ? {} : { tgtd: ['-C', String(o.tgtdControlPort)], tgtadm: ['-C', String(o.tgtdControlPort)] };
  const runner = host.runner(logger, { ...sim, prefixArgs: { ...sim.prefixArgs, ...tgtPort } });
  const ctx: AgentContext = { root: new SandboxRoot(root), runner, logger, stateDir: '/var/lib/xsctl-agent' };
  const inspector = new CommandRunner({ logger, defaultTimeoutMs: 30_000, ...host.runnerOptions({ ...sim, prefixArgs: { ...sim.prefixArgs, ...tgtPort } }), checkToolOptions: false });
  const agent = await startAgentServer({
    ctx,
    tls: await o.pki.issue({ kind: 'agent', name: o.name, ipAddresses: ['127.0.0.1'] }),
    listen: '127.0.0.1:0',
    logger,
  });
  const channel: Channel = createChannel(`127.0.0.1:${agent.port}`, mtlsChannelCredentials(o.controllerTls));
  return {
    name: o.name,
    host,
    root,
    ctx,
    inspector,
    agent,
    logFile,
    backingDisk,
    client: (definition) => createClient(definition, channel),
    async close() {
      channel.close();
      await agent.shutdown(500);
      // Background work stopped by the shutdown (the peer watch) may log one last line.
      await new Promise((r) => setTimeout(r, 300));
      logger.flush();
      await fh.close();
    },
  };
}

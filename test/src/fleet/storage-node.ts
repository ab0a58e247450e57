import { openSync } from 'node:fs';
import { chmod, mkdir, readlink, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createClient, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { createLogger } from '@xsctl/common/log/create-logger';
import { mtlsChannel } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { TestPki } from '@xsctl/common/testing/make-test-pki';
import { CommandRunner, type CommandRunnerOptions } from '@xsctl/agent/exec/command-runner';
import { SandboxRoot } from '@xsctl/agent/fs/sandbox-root';
import type { AgentContext } from '@xsctl/agent/server/agent-context';
import { startAgentServer } from '@xsctl/agent/server/create-agent-server';
import type { AllowedCommand } from '@xsctl/agent/exec/command-table';
import { drbdSimRunnerOptions } from '../drbd-sim/drbd-sim-runner.js';
import { spawnReadyExecutable } from '../demo/spawn-ready.js';
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
  /** The node's runner and files, for the test's own actions (a "reboot", a tap); the agent may be another process. */
  ctx: AgentContext;
  /** The same programs without the tool-option table: a test's own calls the agent never makes (a reboot's `drbdadm down`). */
  inspector: CommandRunner;
  agent: { port: number };
  /** Debug-level agent log, for checks that secrets never reach it. */
  logFile: string;
  /** The backing disk DRBD sits on, as the agent sees it (under root). */
  backingDisk: string;
  /** The DRBD simulator's environment for this node (what a power-off's crash needs). */
  drbdSimEnv: Record<string, string>;
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
  /**
   * The host boots again (after a power-off): keep its disk, drbd.conf and agent state, start
   * only the agent. Default false: a freshly installed host.
   */
  boot?: boolean;
}

const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The packaged agent (XSCTL_E2E_AGENT_BIN, e.g. the RPM's /usr/bin/xsctl-agent) cannot be handed a
 * runner: it runs each tool by name from its fixed PATH, /usr/local/sbin first. So it runs in a
 * private mount namespace whose /usr/local/sbin holds one wrapper per allowed command, doing what
 * the in-process runner does (the namespace, the simulator's paths, prefix arguments and
 * environment). The agent itself stays in the root network namespace, on loopback, like the
 * in-process one; its own option checks see only its own arguments, as on a dom0.
 */
async function startPackagedAgent(bin: string, o: { dir: string; root: string; logFile: string; listen: string; tls: TlsMaterial; lunFileDirs: string[]; runner: Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'> }) {
  const wrappers = join(o.dir, 'usr-local-sbin');
  await mkdir(wrappers, { recursive: true });
  // The tool inside must not find these wrappers again: PATH without /usr/local/sbin.
  const path = (o.runner.env?.['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => d !== '/usr/local/sbin').join(':');
  const env = Object.entries({ ...o.runner.env, PATH: path }).map(([k, v]) => `${k}=${sh(v)}`).join(' ');
  for (const [cmd, file] of Object.entries(o.runner.paths ?? {}) as [AllowedCommand, string][]) {
    const resolved = (await execa('sh', ['-c', 'command -v "$1"', 'sh', file], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, reject: false })).stdout.trim() || file;
    const args = (o.runner.prefixArgs?.[cmd] ?? []).map(sh).join(' ');
    await writeFile(join(wrappers, cmd), `#!/bin/sh\nexec env ${env} ${sh(resolved)} ${args} "$@"\n`);
    await chmod(join(wrappers, cmd), 0o755);
  }
  const script = 'mount --bind "$1" /usr/local/sbin && shift && exec "$@"';
  const files = { ca: join(o.dir, 'ca.crt'), cert: join(o.dir, 'agent.crt'), key: join(o.dir, 'agent.key') };
  for (const k of ['ca', 'cert', 'key'] as const) await writeFile(files[k], o.tls[k], { mode: 0o600 });
  // The same file-backed LUN directories the in-process agent is given, through the agent's config file as on a dom0.
  const config = join(o.dir, 'agent.json');
  await writeFile(config, JSON.stringify({ lunFileDirs: o.lunFileDirs }));
  const agent = await spawnReadyExecutable(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', wrappers, bin, 'serve', '--config', config, '--listen', o.listen, '--root', o.root, '--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key, '--log-level', 'debug'],
    { logFile: o.logFile, timeoutMs: 60_000, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } },
    bin,
  );
  // What answers is the packaged binary itself (unshare and sh exec'd into it), not a fallback.
  const exe = await readlink(`/proc/${String(agent.child.pid)}/exe`);
  if (exe !== (await realpath(bin))) {
    await agent.stop();
    throw new Error(`the packaged agent's process runs ${exe}, not ${bin}`);
  }
  return { port: Number(agent.ready['port']), shutdown: () => agent.stop() };
}

export async function startStorageNode(o: StorageNodeOptions): Promise<StorageNode> {
  const host = o.fleet.host(o.name);
  const root = join(o.base, o.name);
  const backingDisk = '/dev/xsvg/drbd1';
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'var/log'), { recursive: true });
  await mkdir(join(root, 'var/lib/xsctl-agent'), { recursive: true });
  await mkdir(join(root, 'dev/xsvg'), { recursive: true });
  if (o.boot !== true) {
    await writeFile(join(root, backingDisk), Buffer.alloc(8 * 1024 * 1024));
    // A freshly installed drbd-utils ships a drbd.conf; drbdadm refuses to run without one.
    await writeFile(join(root, 'etc/drbd.conf'), '# drbd-utils default: no resources yet\nglobal { usage-count no; }\n');
  }
  const logFile = join(root, 'agent.log');
  // A plain descriptor, never closed: a FileHandle nobody references is closed by the garbage
  // collector, its number reused by the next socket, and pino's lines then went into a TLS
  // connection ("ssl3_get_record:wrong version number") or to EBADF. Work an agent's shutdown
  // aborted may still log a last line, so close() leaves it open too; the process exit releases it.
  const logFd = openSync(logFile, 'a');
  const logger = createLogger(`agent-${o.name}`, { level: 'debug', destination: logFd });
  const base = drbdSimRunnerOptions({ node: o.name, kernelVersion: o.kernelVersion, root, simDir: o.simDir });
  const sim = { ...base, env: { ...base.env, ...o.simEnv } };
  const tgtPort = o.tgtdControlPort === undefined ? {} : { tgtd: ['-C', String(o.tgtdControlPort)], tgtadm: ['-C', String(o.tgtdControlPort)] };
  const tools = { ...sim, prefixArgs: { ...sim.prefixArgs, ...tgtPort } };
  const runner = host.runner(logger, tools);
  // The lab's LUNs are image files beside the hosts' roots (tgtd runs on this machine's filesystem).
  const ctx: AgentContext = { root: new SandboxRoot(root), runner, logger, stateDir: '/var/lib/xsctl-agent', lunFileDirs: [o.base] };
  const inspector = new CommandRunner({ logger, defaultTimeoutMs: 30_000, ...host.runnerOptions(tools), checkToolOptions: false });
  const tls = await o.pki.issue({ kind: 'agent', name: o.name, ipAddresses: ['127.0.0.1'] });
  const packaged = process.env['XSCTL_E2E_AGENT_BIN'] ?? '';
  const agent =
    packaged === ''
      ? await startAgentServer({ ctx, tls, listen: '127.0.0.1:0', logger }).then((a) => ({ port: a.port, shutdown: () => a.shutdown(500) }))
      : await startPackagedAgent(packaged, { dir: join(o.base, `${o.name}-packaged`), root, logFile, listen: '127.0.0.1:0', tls, lunFileDirs: [o.base], runner: host.runnerOptions(tools) });
  // The agent's certificate names 127.0.0.1: checked as the controller checks it, without an IP
  // address as SNI (mtlsChannel; Node's DEP0123 warning in every storage e2e run otherwise).
  const channel = mtlsChannel(`127.0.0.1:${agent.port}`, o.controllerTls, { kind: 'agent' });
  return {
    name: o.name,
    host,
    root,
    ctx,
    inspector,
    agent: { port: agent.port },
    logFile,
    backingDisk,
    drbdSimEnv: { ...(sim.env ?? {}) },
    client: (definition) => createClient(definition, channel),
    async close() {
      channel.close();
      await agent.shutdown();
      // Background work stopped by the shutdown (the peer watch) may log one last line.
      await new Promise((r) => setTimeout(r, 300));
      logger.flush();
    },
  };
}

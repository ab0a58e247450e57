import type { Command } from 'commander';
import { loadTlsMaterial } from '@xsctl/common/tls-trust/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { loadAgentConfig } from '../config/agent-config.js';
import { resolveListen } from '../config/resolve-listen.js';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { startAgentServer } from '../server/create-agent-server.js';
import { releaseStartupCode } from '../server/release-startup-code.js';

/**
 * From the end of the start's work to releaseStartupCode: one call pays its full collection and
 * the recompiling of what it runs, once. Short, so the agent runs lean from its first second on;
 * not zero, so that a GetFacts sent at the ready line (bench/agent.mjs's cold start) does not wait.
 */
const startupCodeReleaseDelayMs = 250;

interface ServeFlags {
  config?: string;
  listen?: string;
  root?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCrl?: string;
  logLevel?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the gRPC agent (mTLS; only the controller certificate is accepted)')
    .option('--config <file>', 'YAML/JSON config file')
    .option('--listen <addr:port>', 'listen address, e.g. 10.0.0.5:7443; default management:7443 (the XAPI management interface\'s address)')
    .option('--root <dir>', 'filesystem root every path is resolved under (default /)')
    .option('--tls-ca <file>', 'CA certificate')
    .option('--tls-cert <file>', 'agent certificate')
    .option('--tls-key <file>', 'agent key')
    .option('--tls-crl <file>', 'revocation list installed with the agent (the controller sends newer ones)')
    .option('--log-level <level>', 'pino level')
    .action(async (flags: ServeFlags) => {
      const config = await loadAgentConfig(flags.config, {
        ...(flags.listen === undefined ? {} : { listen: flags.listen }),
        ...(flags.root === undefined ? {} : { root: flags.root }),
        ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
        tls: {
          ...(flags.tlsCa === undefined ? {} : { ca: flags.tlsCa }),
          ...(flags.tlsCert === undefined ? {} : { cert: flags.tlsCert }),
          ...(flags.tlsKey === undefined ? {} : { key: flags.tlsKey }),
          ...(flags.tlsCrl === undefined ? {} : { crl: flags.tlsCrl }),
        } as never,
      });
      const logger = createLogger('xsctl-agent', { level: config.logLevel });
      const root = new SandboxRoot(config.root);
      const runner = new CommandRunner({ logger, defaultTimeoutMs: config.commandTimeoutMs });
      const listen = await resolveListen(config.listen, root, runner);
      if (/^(?:0\.0\.0\.0|\[?::\]?):/.test(listen)) logger.warn({ listen }, 'the agent listens on every interface (storage and replication networks too): prefer management:PORT or an address');
      // One context for the server and the boot-time role: they share the witness's word (witness-word.ts).
      const ctx = { root, runner, logger, stateDir: config.stateDir, lunFileDirs: config.lunFileDirs };
      const running = await startAgentServer({
        ctx,
        tls: await loadTlsMaterial(config.tls),
        listen,
        logger,
        ...(config.tls.crl === undefined ? {} : { crlFile: config.tls.crl }),
      });
      logger.info({ listen, port: running.port, root: config.root }, 'agent listening');
      // A machine-readable ready line for supervisors and tests.
      process.stdout.write(`${JSON.stringify({ ready: true, port: running.port })}\n`);
      // After the ready line: the storage code loads in the background, never before the first answer.
      const booted = import('../storage/boot-role.js').then(
        ({ assertStorageRoleOnBoot }) => assertStorageRoleOnBoot(ctx, { signal: running.signal }),
        (err: unknown) => logger.error({ err }, 'boot storage role: the storage code did not load'),
      );
      // Once the start's work is over (the boot role too), its compiled code goes (releaseStartupCode
      // says why): a moment after, not at once, so that the first answers never wait for it.
      const release = (): void => void setTimeout(releaseStartupCode, startupCodeReleaseDelayMs).unref();
      void booted.then(release, release);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        running.shutdown().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

#!/usr/bin/env node
import { Command } from 'commander';
import { loadTlsMaterial } from '@xsctl/common/pki/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { XsctlError } from '@xsctl/common/errors/index';
import { loadControllerConfig } from '../config/inventory.js';
import { Journal } from '../journal/journal.js';
import { acquireJournalLock } from '../journal/journal-lock.js';
import { createControllerContext } from '../server/create-controller-context.js';
import { startControllerServer } from '../server/create-controller-server.js';
import { startHttpServer } from '../http/start-http-server.js';
import { ControllerTrust } from '../trust/controller-trust.js';

const program = new Command('xsctl-controller')
  .description('xsctl controller: talks to XAPI and the agents, runs workflows')
  .requiredOption('--config <file>', 'controller config and inventory (YAML/JSON)')
  .option('--listen <addr:port>', 'gRPC listen address (overrides the config)')
  .option('--http <addr:port>', 'dashboard/API listen address (overrides the config)')
  .option('--journal <file>', 'SQLite journal path (overrides the config)')
  .action(async (flags: { config: string; listen?: string; http?: string; journal?: string }) => {
    const config = await loadControllerConfig(flags.config);
    if (flags.listen !== undefined) config.listen = flags.listen;
    if (flags.http !== undefined) config.http.listen = flags.http;
    if (flags.journal !== undefined) config.journal = flags.journal;
    const logger = createLogger('xsctl-controller', { level: config.logLevel });
    // One controller per journal: a second one would resume the same workflows and repeat them.
    const lock = acquireJournalLock(config.journal);
    const journal = new Journal(config.journal);
    const tls = await loadTlsMaterial(config.tls);
    // The CA's revocation list: refused CLI and agent certificates, handed to every agent.
    const trust = new ControllerTrust(tls.ca, config.tls.crl, logger);
    await trust.load();
    trust.watch();
    if (config.tls.crl === null) logger.warn('no tls.crl in the config: revoked certificates are not refused');
    const ctx = createControllerContext({ configFile: flags.config, config, tls, journal, logger, revocations: trust.store });
    const grpc = await startControllerServer({ ctx, tls, listen: config.listen, logger });
    const http = config.http.listen === null ? null : await startHttpServer({ ctx, listen: config.http.listen, logger, tls });
    logger.info({ listen: config.listen, port: grpc.port, http: http?.address ?? null, pools: config.pools.map((p) => p.name) }, 'controller listening');
    process.stdout.write(`${JSON.stringify({ ready: true, port: grpc.port, http: http?.address ?? null })}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      void Promise.allSettled([grpc.shutdown(), http?.close()]).finally(() => {
        ctx.close();
        trust.close();
        journal.close();
        lock.release();
        process.exit(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`xsctl-controller: ${err instanceof XsctlError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});

#!/usr/bin/env node
import { Command } from 'commander';
import { registerCommands } from '../commands/register-commands.js';
import { describeFailure } from '../client/describe-failure.js';
import { cliVersion } from '../version.js';
import { Status } from 'nice-grpc-common';
import { RemoteError } from '@xsctl/common/errors/index';
import { loadCliConfig, type GlobalFlags } from '../config/cli-config.js';
import { probeTls, type ProbeResult } from '../client/probe-tls.js';

const program = new Command('xsctl')
  .version(cliVersion)
  .description('keep XenServer / XCP-ng pools and their storage healthy while you change them')
  .option('--config <file>', 'CLI config (default ~/.config/xsctl/cli.yaml or $XSCTL_CONFIG)')
  .option('--controller <host:port>', 'controller address ($XSCTL_CONTROLLER)')
  .option('--server-name <name>', 'name in the controller certificate, if not the address')
  .option('--ca <file>', 'CA certificate ($XSCTL_CA)')
  .option('--cert <file>', 'client certificate ($XSCTL_CERT)')
  .option('--key <file>', 'client key ($XSCTL_KEY)');
registerCommands(program);

program.parseAsync(process.argv).catch(async (err: unknown) => {
  const flags = program.opts<GlobalFlags>();
  const controller = flags.controller ?? process.env['XSCTL_CONTROLLER'];
  let probe: ProbeResult | undefined;
  if (err instanceof RemoteError && err.grpcStatus === Status.UNAVAILABLE) {
    probe = await loadCliConfig(flags).then(probeTls, () => undefined);
  }
  process.stderr.write(`xsctl: ${describeFailure(err, controller, probe)}\n`);
  process.exit(2);
});

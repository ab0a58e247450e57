#!/usr/bin/env node
import { Command } from 'commander';
import { registerCommands } from '../commands/register-commands.js';
import { describeFailure } from '../client/describe-failure.js';
import { cliVersion } from '../version.js';

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

program.parseAsync(process.argv).catch((err: unknown) => {
  const controller = program.opts<{ controller?: string }>().controller ?? process.env['XSCTL_CONTROLLER'];
  process.stderr.write(`xsctl: ${describeFailure(err, controller)}\n`);
  process.exit(2);
});

import { Command } from 'commander';
import { registerCommands } from './commands/register-commands.js';
import { applyExamples } from './help/with-examples.js';
import { cliVersion } from './version.js';

/** The whole CLI: global options, every command, their examples. The bin parses argv with it; tests walk it. */
export function buildProgram(): Command {
  const program = new Command('xsctl')
    .version(cliVersion)
    .description('keep XenServer / XCP-ng pools and their storage healthy while you change them')
    .option('--config <file>', 'CLI config (default ~/.config/xsctl/cli.yaml or $XSCTL_CONFIG)')
    .option('--controller <host:port>', 'controller address ($XSCTL_CONTROLLER)')
    .option('--server-name <name>', 'name in the controller certificate, if not the address')
    .option('--ca <file>', 'CA certificate ($XSCTL_CA)')
    .option('--cert <file>', 'client certificate ($XSCTL_CERT)')
    .option('--key <file>', 'client key ($XSCTL_KEY)')
    // Usage errors exit 2 (commander's default is 1, which means "findings" here); set before the
    // subcommands are added so they inherit it.
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 findings/blockers, 2 usage or connection, 3 refused, 4 workflow failed/aborted,\n5 conflict, 6 workflow paused, 7 other failure (docs/CLI.md). Completion: xsctl completion bash|zsh.\n',
    );
  registerCommands(program);
  applyExamples(program);
  return program;
}

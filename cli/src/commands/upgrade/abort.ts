import type { Command } from 'commander';
import type { GlobalFlags } from '../../config/cli-config.js';
import { runControl, type ControlFlags } from './control.js';

export function registerUpgradeAbort(upgrade: Command): void {
  upgrade
    .command('abort')
    .description('stop the upgrade and undo what is pending: re-enable hosts, restore HA, WLB and auto power-on')
    .option('--pool <name>', "the pool's latest upgrade")
    .option('--id <workflow>', 'the upgrade by id')
    .option('--no-watch', 'return at once instead of following the compensations')
    .option('--json', 'print JSON (one event per line while following)')
    // --pool and --json are also options of `upgrade` itself: read them merged.
    .action((_flags: ControlFlags, cmd: Command) => runControl('abort', cmd.optsWithGlobals<ControlFlags>(), cmd.optsWithGlobals<GlobalFlags>()));
}

import type { Command } from 'commander';
import type { GlobalFlags } from '../../config/cli-config.js';
import { runControl, type ControlFlags } from './control.js';

export function registerUpgradePause(upgrade: Command): void {
  upgrade
    .command('pause')
    .description('pause at the next host boundary (the current host finishes first)')
    .option('--pool <name>', "the pool's active upgrade")
    .option('--id <workflow>', 'the upgrade by id')
    .option('--watch', 'follow the progress until it pauses')
    .option('--json', 'print JSON')
    // --pool and --json are also options of `upgrade` itself: read them merged.
    .action((_flags: ControlFlags, cmd: Command) => runControl('pause', cmd.optsWithGlobals<ControlFlags>(), cmd.optsWithGlobals<GlobalFlags>()));
}

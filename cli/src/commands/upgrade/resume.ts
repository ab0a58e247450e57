import type { Command } from 'commander';
import type { GlobalFlags } from '../../config/cli-config.js';
import { runControl, type ControlFlags } from './control.js';

export function registerUpgradeResume(upgrade: Command): void {
  upgrade
    .command('resume')
    .description('continue a paused upgrade (this also confirms a manual ISO step), or retry a failed one')
    .option('--pool <name>', "the pool's latest upgrade")
    .option('--id <workflow>', 'the upgrade by id')
    .option('--no-watch', 'return at once instead of following the progress')
    .option('--json', 'print JSON (one event per line while following)')
    // --pool and --json are also options of `upgrade` itself: read them merged.
    .action((_flags: ControlFlags, cmd: Command) => runControl('resume', cmd.optsWithGlobals<ControlFlags>(), cmd.optsWithGlobals<GlobalFlags>()));
}

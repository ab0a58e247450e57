import type { Command } from 'commander';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { registerUpgradeAbort } from './abort.js';
import { registerUpgradePause } from './pause.js';
import { registerUpgradeResume } from './resume.js';
import { addRollingOptions, runRolling, type RollingFlags } from './rolling.js';
import { registerUpgradeStatus } from './status.js';
import { registerUpgradeWatch } from './watch.js';

/** `xsctl upgrade --rolling ...` plus `xsctl upgrade status|pause|resume|abort`. */
export function registerUpgrade(program: Command): void {
  const upgrade = addRollingOptions(program.command('upgrade').description('rolling pool upgrades: plan, run, status, watch, pause, resume, abort'));
  upgrade.action(async (flags: RollingFlags, cmd: Command) => {
    if (flags.rolling !== true) throw new CliError('BAD_FLAG', 'which upgrade?', 'xsctl upgrade --rolling --pool NAME [--plan | --yes], or xsctl upgrade status|pause|resume|abort');
    await runRolling(flags, cmd.optsWithGlobals<GlobalFlags>());
  });
  registerUpgradeStatus(upgrade);
  registerUpgradeWatch(upgrade);
  registerUpgradePause(upgrade);
  registerUpgradeResume(upgrade);
  registerUpgradeAbort(upgrade);
}

import type { Command } from 'commander';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { printJson } from '../../output/output.js';
import { renderSummary, renderWorkflows } from './render-upgrade.js';
import { upgradeClient } from './upgrade-client.js';
import { activeStates } from './finish-workflow.js';

export function registerUpgradeStatus(upgrade: Command): void {
  upgrade
    .command('status')
    .description('rolling upgrades (newest first); with --id, one with its report')
    .option('--pool <name>', 'only this pool')
    .option('--id <workflow>', 'one workflow')
    .option('--json', 'print JSON')
    .action(async (_flags: unknown, cmd: Command) => {
      // --pool and --json are also options of `upgrade` itself: read them merged.
      const flags = cmd.optsWithGlobals<{ pool?: string; id?: string; json?: boolean }>();
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) => upgradeClient(channel).status({ pool: flags.pool ?? '', workflowId: flags.id ?? '' }));
      if (flags.json === true) {
        printJson(res);
        return;
      }
      process.stdout.write(renderWorkflows(res.workflows));
      const one = flags.id !== undefined ? res.workflows[0] : res.workflows.find((w) => activeStates.has(w.state));
      if (one !== undefined) process.stdout.write(`\n${renderSummary(one)}`);
    });
}

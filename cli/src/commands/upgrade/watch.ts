import type { Command } from 'commander';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { stderrPaint } from '../../output/colour.js';
import { progress } from '../../output/output.js';
import { ProgressDisplay } from './render-upgrade.js';
import { activeStates, finishWorkflow } from './finish-workflow.js';
import { upgradeClient } from './upgrade-client.js';

/**
 * `xsctl upgrade watch`: re-attaches to a workflow's live display, from another terminal or after
 * the one that started it closed. The journal is replayed without output to rebuild the display,
 * which is then drawn once and follows the live events until the workflow ends or pauses. `--id`
 * takes any workflow (a rolling upgrade, a storage switchover, ...).
 */
export function registerUpgradeWatch(upgrade: Command): void {
  upgrade
    .command('watch')
    .description("re-attach to a running workflow's live display (the pool's rolling upgrade, or any workflow by --id)")
    .option('--pool <name>', "the pool's active (else latest) rolling upgrade")
    .option('--id <workflow>', 'a workflow id (any kind)')
    .option('--json', 'print every event as one JSON line (history first)')
    .action(async (_flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<{ pool?: string; id?: string; json?: boolean }>();
      if (flags.pool === undefined && flags.id === undefined) throw new CliError('BAD_FLAG', 'which workflow?', 'give --pool NAME or --id WORKFLOW');
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) => {
        const client = upgradeClient(channel);
        const { workflows } = await client.status({ pool: flags.id === undefined ? (flags.pool ?? '') : '', workflowId: flags.id ?? '' });
        const w = flags.id !== undefined ? workflows[0] : (workflows.find((x) => activeStates.has(x.state)) ?? workflows[0]);
        if (w === undefined) throw new CliError('NOT_FOUND', `no rolling upgrade on pool ${flags.pool ?? ''}`, 'see `xsctl upgrade status`');
        if (flags.json !== true) progress(`watching ${w.kind} ${w.id} on pool ${w.pool} (${w.state})`);
        const display = new ProgressDisplay(process.stderr.isTTY === true, (s) => process.stderr.write(s), stderrPaint());
        let drawn = false;
        for await (const { event } of client.watch({ pool: '', workflowId: w.id, afterEventId: 0 })) {
          if (event === undefined) continue;
          if (flags.json === true) {
            process.stdout.write(`${JSON.stringify(event)}\n`);
            continue;
          }
          const history = event.id !== 0 && event.id <= w.lastEventId;
          display.handle(event, { draw: !history });
          if (!drawn && (!history || event.id === w.lastEventId)) {
            if (history) display.render();
            drawn = true;
          }
        }
        if (flags.json !== true && !drawn) display.render(true);
        await finishWorkflow(client, w.id, display, flags.json === true);
      });
    });
}

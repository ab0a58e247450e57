import type { Command } from 'commander';
import type { MultipathRolloutServiceStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { exitCodeForWorkflowState } from '../../output/exit-codes.js';
import { formatTable, printJson } from '../../output/output.js';
import { multipathRolloutClient } from './rollout.js';

/** The journal of a rollout: its state, then one row per step and host. */
export function renderRolloutStatus(s: MultipathRolloutServiceStatusResponse): string {
  const head = `rollout ${s.workflowId} on ${s.pool}: ${s.state.toUpperCase()}${s.error === '' ? '' : ` (${s.error})`}`;
  const rows = s.steps.map((x) => [x.host, x.step, x.status, x.status === 'failed' ? x.detail : '']);
  return `${head}\n${formatTable(['HOST', 'STEP', 'STATUS', 'DETAIL'], rows)}`;
}

export function registerMultipathRolloutStatus(mp: Command): void {
  mp.command('rollout-status')
    .description("the pool's latest multipath rollout (or --id): its state and each step on each host; exit 6 while paused, 4 when it failed")
    .option('--pool <name>', 'the pool')
    .option('--id <workflow>', 'a given rollout')
    .option('--json', 'print JSON')
    .action(async (flags: { pool?: string; id?: string; json?: boolean }, cmd: Command) => {
      await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) => {
        const s = await multipathRolloutClient(channel, 60_000).status({ pool: flags.pool ?? '', workflowId: flags.id ?? '' });
        if (flags.json === true) printJson(s);
        else process.stdout.write(renderRolloutStatus(s));
        process.exitCode = exitCodeForWorkflowState(s.state);
      });
    });
}
